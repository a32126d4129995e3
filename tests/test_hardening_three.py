"""Fault injection, round three (issue 22): numbers that are not numbers, runaway rules and
sentences, byte order marks, misleading errors, files from elsewhere, folders left behind,
full disks, the server under load, and what SIGKILL leaves.

Each test provokes its fault for real, with the fake engine; servers run over real sockets on
127.0.0.1 and every wait is bounded, so a regression fails instead of hanging.
"""

from __future__ import annotations

import contextlib
import decimal
import errno
import fractions
import http.client
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import letgo
from letgo import session
from letgo.cli import main
from letgo.file import atomic, ffmpeg
from letgo.series import serve
from letgo.voice import cache
from letgo.words import speakable

DATA = Path(__file__).parent / "data"
SHORT = DATA / "short.j2"
LETGO = [sys.executable, "-c", "from letgo.cli import main; main()"]
#: Generous bound on anything that should stop promptly: a hang fails instead of blocking.
BOUND = 60
BOM = "\ufeff"


def run(*args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("letgo: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def template(folder: Path, body: str, name: str = "t.j2", header: str = "") -> Path:
    path = folder / name
    path.write_text(
        header
        + '{#\ntitle = "Test"\ndescription = "A test."\nminutes = 2\nmax_minutes = 10\n#}\n'
        + body,
        encoding="utf-8",
    )
    return path


# --- 8. NaN and infinity are not numbers ---------------------------------------------------------


@pytest.mark.parametrize("flag", ["--minutes", "--lufs", "--sentence-gap", "--beat", "--duck-db"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400"])
def test_nan_and_infinity_flags_are_usage_errors(tmp_path, flag, value):
    out = tmp_path / "x.wav"
    result = run("render", SHORT, "--engine", "fake", flag, value, "-o", out)
    assert result.exit_code == 2, result.output
    assert "must be a number" in one_error_line(result.stderr)
    assert not out.exists()


def test_nan_in_config_csv_and_api_is_refused(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text("[pacing]\nsentence_gap = nan\n")
    monkeypatch.setenv("LETGO_CONFIG_DIR", str(config))
    result = run("script", SHORT, "--engine", "fake")
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert "config.toml" in line and "sentence_gap" in line and "must be a number" in line
    monkeypatch.delenv("LETGO_CONFIG_DIR")

    plan = tmp_path / "plan.toml"
    shutil.copy(SHORT, tmp_path / "short.j2")  # a plan's template lies in its own folder
    plan.write_text('[series]\ntitle = "T"\n[[sessions]]\ntemplate = "short.j2"\n')
    people = tmp_path / "people.csv"
    people.write_text("name,loudness\nSam,inf\n")
    result = run(
        "series", "build", plan, "--listeners", people, "--engine", "fake", "-o", tmp_path / "o"
    )
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert "people.csv" in line and "loudness" in line and "must be a number" in line

    for value in (float("nan"), float("inf"), np.float64("nan"), decimal.Decimal("NaN")):
        with pytest.raises(letgo.SettingError, match="must be a number"):
            letgo.Session(SHORT, engine="fake", minutes=value)


def test_numbers_of_any_numeric_type_are_numbers():
    for value in (np.float32(1.5), np.int64(2), decimal.Decimal("1.5"), fractions.Fraction(3, 2)):
        session = letgo.Session(SHORT, engine="fake", minutes=value, rate=np.int32(150))
        made, _ = session._request(session.settings)
        assert made.minutes == float(value) and type(made.minutes) is float
        assert made.voice.rate == 150 and type(made.voice.rate) is int
    with pytest.raises(letgo.SettingError, match="must be a whole number"):
        letgo.Session(SHORT, engine="fake", rate=150.5)
    with pytest.raises(letgo.SettingError, match="must be a number"):
        letgo.Session(SHORT, engine="fake", minutes="5")


# --- 9. pronunciation rules run on a budget ----------------------------------------------------


def rules(folder: Path, text: str) -> Path:
    path = folder / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_backtracking_rule_is_stopped_and_named(tmp_path, monkeypatch):
    monkeypatch.setattr(speakable, "RULE_SECONDS", 0.2)
    path = rules(tmp_path, "[regex]\n'(a|aa)+$' = 'x'\n")
    words = template(tmp_path, "Breathe " + "a" * 40 + "b in.\n")
    result = run("script", words, "--engine", "fake", "--pronunciations", path, "--spoken")
    assert result.exit_code == 2, result.output
    line = one_error_line(result.stderr)
    assert str(path) in line and "'(a|aa)+$'" in line and "takes over 0.2 s" in line


def test_a_rule_that_multiplies_the_text_is_stopped(tmp_path):
    doubling = "".join(f"'(?s)(.{{{n},}})' = '\\1\\1'\n" for n in range(1, 5))
    path = rules(tmp_path, "[regex]\n" + doubling)
    words = template(tmp_path, "Breathe in slowly, " * 15 + "and rest.\n")  # one sentence
    result = run("script", words, "--engine", "fake", "--pronunciations", path, "--spoken")
    assert result.exit_code == 2, result.output
    line = one_error_line(result.stderr)
    assert str(path) in line and "grows a sentence" in line


@pytest.mark.parametrize(
    "rule, says",
    [
        ("'x{99999999999}' = 'x'", "is not a valid regex"),
        ("'(' = 'x'", "is not a valid regex"),
        ("'(a)' = '\\2'", "its replacement"),
    ],
)
def test_a_bad_rule_is_one_line_naming_file_and_rule(tmp_path, rule, says):
    path = rules(tmp_path, "[regex]\n" + rule + "\n")
    words = template(tmp_path, "Breathe in a little.\n")
    result = run("script", words, "--engine", "fake", "--pronunciations", path, "--spoken")
    assert result.exit_code == 2, result.output
    line = one_error_line(result.stderr)
    assert str(path) in line and rule.split(" = ")[0] in line and says in line


def test_ordinary_rules_still_apply(tmp_path):
    path = rules(tmp_path, "[plain]\n\"Qi\" = \"chee\"\n[regex]\n'(?i)\\bt(ai)\\b' = 'ty\\1'\n")
    words = template(tmp_path, "Feel the Qi of tai chi.\n")
    result = run("script", words, "--engine", "fake", "--pronunciations", path, "--spoken")
    assert result.exit_code == 0, result.output
    assert "Feel the chee of tyai chi." in result.output


# --- 10. a runaway sentence is refused before it is spoken --------------------------------------


def test_a_huge_sentence_is_refused_in_little_memory(tmp_path):
    words = template(tmp_path, " ".join(["softly"] * 110_000) + ".\n")  # 750 KB, one sentence
    limit = 1024**3  # spoken as one clip it would need 3 GB: under this, that fails loudly
    code = (
        f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit})); "
        "from letgo.cli import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "script", str(words), "--engine", "fake"],
        capture_output=True,
        text=True,
        timeout=BOUND,
    )
    assert result.returncode == 2, result.stderr
    line = one_error_line(result.stderr)
    assert "a sentence of 770,000 characters" in line and "at most 1,000" in line


# --- 11. a byte order mark is skipped ----------------------------------------------------------


def test_a_bom_hides_nothing(tmp_path):
    path = template(tmp_path, "Breathe in.\n{{ pause(20, flex=True, min=5) }}\n", header=BOM)
    result = run("show", path)
    assert result.exit_code == 0 and result.output.startswith("Test"), result.output
    result = run("script", path, "--engine", "fake", "--spoken")
    assert result.exit_code == 0, result.output
    assert "2:00" in result.output or "2 min" in result.output
    assert BOM not in result.output
    assert run("check", path).exit_code == 0

    plan = tmp_path / "plan.toml"
    plan.write_text(BOM + f'[series]\ntitle = "T"\n[[sessions]]\ntemplate = "{path.name}"\n')
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text(BOM + "[pacing]\nsentence_gap = 1.5\n", encoding="utf-8")
    pron = rules(tmp_path, BOM + '[plain]\n"Breathe" = "Breeethe"\n')
    env = {"LETGO_CONFIG_DIR": str(config)}
    result = run("script", path, "--engine", "fake", "--spoken", "--pronunciations", pron, env=env)
    assert result.exit_code == 0, result.output
    assert "Breeethe in." in result.output
    result = run("series", "build", plan, "--engine", "fake", "-o", tmp_path / "out", env=env)
    assert result.exit_code == 0, result.output


# --- 14. errors that say what is wrong ---------------------------------------------------------


@pytest.mark.parametrize("bitrate", ["128x", "5k", "9999k", "fast", "-128k"])
def test_a_bad_bitrate_is_a_usage_error(tmp_path, bitrate):
    out = tmp_path / "x.mp3"
    result = run("render", SHORT, "--engine", "fake", "--bitrate", bitrate, "-o", out)
    assert result.exit_code == 2, result.output
    assert "must be a bitrate from 8k to 512k" in one_error_line(result.stderr)
    assert not out.exists()


def test_good_bitrates_pass(tmp_path):
    for bitrate in ("8k", "96K", "320k", "128000"):
        out = tmp_path / f"x{bitrate}.mp3"
        result = run("render", SHORT, "--engine", "fake", "--bitrate", bitrate, "-o", out)
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "args, kwargs, error",
    [
        ((None,), {}, letgo.LetgoError),
        ((5,), {}, letgo.LetgoError),
        ((SHORT,), {"variables": ["a"]}, letgo.VariableError),
        ((SHORT,), {"variables": "name=Sam"}, letgo.VariableError),
        ((SHORT,), {"variables": {1: "x"}}, letgo.VariableError),
        ((SHORT,), {"templates": 5}, letgo.LetgoError),
        ((SHORT,), {"templates": "folder"}, letgo.LetgoError),
    ],
)
def test_api_type_mistakes_raise_letgo_errors(args, kwargs, error):
    with pytest.raises(error) as caught:
        letgo.Session(*args, engine="fake", **kwargs)
    assert "must be" in str(caught.value)


# --- 15-17. the server holds a crowd, drops stalled readers, reads ranges as RFC 9110 says ----

SERIES = Path(__file__).parent / "series_data"


@pytest.fixture(scope="module")
def built_series(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("crowd")
    shutil.copytree(SERIES, root / "plan")
    plan = root / "plan" / "plan.toml"
    plan.write_text(
        '[series]\ntitle = "Crowd"\ntemplates = ["."]\n[defaults]\nminutes = 5\n'
        'engine = "fake"\nbackground = "none"\n[[sessions]]\ntemplate = "tiny"\n'
    )
    out = root / "out"
    result = run("series", "build", plan, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    return out


@contextlib.contextmanager
def serving(folder: Path, host: str = "127.0.0.1", start: bool = True, **limits):
    httpd = serve.make_server(folder, host, 0, limits=serve.Limits(**limits))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    httpd.begin = thread.start  # type: ignore[attr-defined]  # for start=False
    if start:
        thread.start()
    try:
        yield httpd
    finally:
        if not thread.is_alive():
            thread.start()  # shutdown() waits for serve_forever to have run
        httpd.shutdown()
        httpd.server_close()
        thread.join(BOUND)


def ask(httpd, path: str, headers: dict | None = None, source: str | None = None):
    """(status, headers, body) of one GET, optionally from another loopback address."""
    conn = http.client.HTTPConnection(
        httpd.server_address[0],
        httpd.server_address[1],
        timeout=BOUND,
        source_address=(source, 0) if source else None,
    )
    try:
        conn.request("GET", path, headers=headers or {})
        reply = conn.getresponse()
        return reply.status, dict(reply.getheaders()), reply.read()
    finally:
        conn.close()


def audio(folder: Path) -> Path:
    return next(folder.glob("*.mp3"))


def wait_until(condition, what: str):
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {BOUND} s"
        time.sleep(0.05)


def test_a_crowd_waits_in_the_queue_and_is_answered(built_series):
    """100 connections arrive while the server is not yet accepting: all are queued by the
    system (a backlog of 5 would leave most of them hanging in connect), then each gets an
    answer, the file or an immediate 503."""
    with serving(built_series, start=False, max_connections=8, max_per_client=8) as httpd:
        assert httpd.request_queue_size >= 128
        port = httpd.server_address[1]
        crowd = []
        for _ in range(100):
            conn = socket.socket()
            conn.settimeout(2.0)  # queued by the system: connect returns at once
            conn.connect(("127.0.0.1", port))
            conn.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
            crowd.append(conn)
        httpd.begin()
        answers = []
        for conn in crowd:
            conn.settimeout(BOUND)
            with conn:
                reply = b""
                while chunk := conn.recv(65536):
                    reply += chunk
            answers.append(reply.split(b" ", 2)[1])
        assert set(answers) <= {b"200", b"503"} and b"200" in answers, answers


def test_one_address_cannot_take_every_slot(built_series):
    with serving(built_series, max_connections=6, max_per_client=2) as httpd:
        port = httpd.server_address[1]
        idle = [socket.create_connection(("127.0.0.1", port), timeout=BOUND) for _ in range(2)]
        try:
            wait_until(lambda: httpd.clients.get("127.0.0.1") == 2, "two connections taken")
            assert ask(httpd, "/index.html")[0] == 503  # a third from the same address
            try:
                other = ask(httpd, "/index.html", source="127.0.0.2")
            except OSError:
                pytest.skip("no second loopback address to connect from")
            assert other[0] == 200  # another client is still served
        finally:
            for conn in idle:
                conn.close()
        wait_until(lambda: ask(httpd, "/index.html")[0] == 200, "the slots given back")


def test_a_reader_that_stops_reading_is_dropped(built_series):
    mp3 = audio(built_series)
    with serving(built_series, min_rate=64 * 1024, rate_window=0.5) as httpd:
        conn = socket.socket()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: small
        conn.settimeout(BOUND)
        with conn:
            conn.connect(("127.0.0.1", httpd.server_address[1]))
            conn.sendall(f"GET /{mp3.name} HTTP/1.0\r\n\r\n".encode())
            time.sleep(0.2)  # let the server take it
            wait_until(lambda: not httpd.clients, "the stalled reply dropped")  # never read
            received = 0
            try:
                while chunk := conn.recv(65536):
                    received += len(chunk)
            except ConnectionResetError:
                pass
            assert received < mp3.stat().st_size  # cut off, not sent whole
        # a client that reads keeps its reply, however long the window
        status, _, body = ask(httpd, f"/{mp3.name}")
        assert status == 200 and body == mp3.read_bytes()


def test_ranges_as_rfc_9110_reads_them(built_series, caplog):
    mp3 = audio(built_series)
    data, size = mp3.read_bytes(), mp3.stat().st_size
    name = f"/{mp3.name}"
    with serving(built_series) as httpd, caplog.at_level(logging.INFO, logger=serve.__name__):
        status, headers, body = ask(httpd, name, {"Range": "bytes=" + "9" * 4300 + "-"})
        assert status == 416 and headers["Content-Range"] == f"bytes */{size}"
        status, headers, body = ask(httpd, name, {"Range": "bytes=0-" + "9" * 4300})
        assert status == 206 and body == data
        status, _, body = ask(httpd, name, {"Range": "bytes=-" + "9" * 4300})
        assert status == 206 and body == data
        status, _, body = ask(httpd, name, {"Range": "bytes=5-3"})
        assert status == 200 and body == data  # invalid: ignored
        assert ask(httpd, name, {"Range": "bytes=-0"})[0] == 416
        status, headers, body = ask(httpd, name, {"Range": "bytes=10-19"})
        assert status == 206 and body == data[10:20]
        etag, modified = headers["ETag"], headers["Last-Modified"]
        assert etag.startswith('"')
        for still in (etag, modified):
            status, _, body = ask(httpd, name, {"Range": "bytes=10-19", "If-Range": still})
            assert status == 206 and body == data[10:20]
        for other in ('"0-0"', f"W/{etag}", "Sat, 01 Jan 2000 00:00:00 GMT", "yesterday"):
            status, _, body = ask(httpd, name, {"Range": "bytes=10-19", "If-Range": other})
            assert status == 200 and body == data, other  # the whole file, not a stale piece
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_serve_on_ipv6_or_says_why_not(built_series):
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with serving(built_series, host="::1") as httpd:
        assert ask(httpd, "/index.html")[0] == 200


@pytest.mark.parametrize(
    "host, says", [("192.0.2.1", "Cannot assign"), ("no.such.invalid", "not an address")]
)
def test_an_address_not_here_is_not_blamed_on_the_port(built_series, host, says):
    result = run("series", "serve", built_series, "--host", host, "--port", "0")
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert says in line and "--port" not in line


def test_a_port_in_use_is_blamed_on_the_port(built_series):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("series", "serve", built_series, "--host", "127.0.0.1", "--port", port)
    assert result.exit_code == 2
    assert "try another --port" in one_error_line(result.stderr)


# --- 3. a background is a local file, and nothing it names reaches the network ---------------


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections made to it."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.1)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self):
        self.running = False
        self.thread.join(BOUND)
        self.socket.close()


def a_sound(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rate, seconds = 44100, 3
    tone = (0.1 * np.sin(2 * np.pi * 220 * np.arange(rate * seconds) / rate)).astype("<f4")
    command = ffmpeg.command("-y", *ffmpeg.raw(rate, 1), "-i", "pipe:0", ffmpeg.local(path))
    subprocess.run(command, input=tone.tobytes(), check=True, capture_output=True)
    return path


def test_a_background_path_that_looks_like_a_url_is_a_local_file(tmp_path, monkeypatch):
    listener = Listener()
    try:
        monkeypatch.chdir(tmp_path)
        named = f"http:/127.0.0.1:{listener.port}/y.wav"  # a folder called 'http:'
        a_sound(tmp_path / named)
        (tmp_path / "concat:a.wav|b.wav").mkdir()  # 'concat:' names a protocol too
        a_sound(tmp_path / "concat:a.wav|b.wav" / "c.wav")
        playlist = tmp_path / "bed.m3u8"  # a local playlist that names a remote piece
        playlist.write_text(
            "#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\n"
            f"http://127.0.0.1:{listener.port}/piece.wav\n#EXT-X-ENDLIST\n"
        )
        for background in (named, "concat:a.wav|b.wav/c.wav"):
            out = tmp_path / "x.wav"
            result = run("render", SHORT, "--engine", "fake", "--background", background, "-o", out)
            assert result.exit_code == 0, result.output
            assert out.stat().st_size > 0
        result = run("render", SHORT, "--engine", "fake", "--background", playlist, "-o", "y.wav")
        assert result.exit_code != 0  # refused: it is no sound of its own
        assert "Traceback" not in result.output
        time.sleep(0.3)  # a connection, had one been made, is counted by now
        assert listener.connections == 0
    finally:
        listener.close()


# --- 4. the cache never follows a symlink out of itself --------------------------------------


def cached_render(tmp_path: Path, store: Path):
    env = {"LETGO_CACHE_DIR": str(store)}
    return run("script", SHORT, "--engine", "fake", env=env)


def test_a_dangling_entry_link_is_replaced_not_written_through(tmp_path):
    store = tmp_path / "cache"
    assert cached_render(tmp_path, store).exit_code == 0
    entries = sorted(store.glob(f"*/*{cache.SUFFIX}"))
    assert entries
    outside = tmp_path / "outside"
    outside.mkdir()
    for n, entry in enumerate(entries):
        entry.unlink()
        entry.symlink_to(outside / f"victim-{n}")  # dangling: a write through it creates it
    (store / "zz").symlink_to(outside)  # and a subfolder that leads out
    result = cached_render(tmp_path, store)
    assert result.exit_code == 0, result.output
    assert list(outside.iterdir()) == []
    for entry in entries:
        assert not entry.is_symlink() and entry.is_file()  # spoken again, stored in place


def test_a_link_to_a_fifo_in_the_cache_is_a_miss_not_a_hang(tmp_path):
    store = tmp_path / "cache"
    assert cached_render(tmp_path, store).exit_code == 0
    entry = next(store.glob(f"*/*{cache.SUFFIX}"))
    entry.unlink()
    os.mkfifo(entry)
    result = subprocess.run(
        [*LETGO, "script", str(SHORT), "--engine", "fake"],
        env={**os.environ, "LETGO_CACHE_DIR": str(store)},
        capture_output=True,
        timeout=BOUND,
    )
    assert result.returncode == 0, result.stderr
    assert entry.is_file() and not entry.is_fifo()


def test_cache_clear_and_prune_stay_inside_the_cache(tmp_path):
    store = tmp_path / "cache"
    assert cached_render(tmp_path, store).exit_code == 0
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    victims = [outside / "sub" / f"precious{cache.SUFFIX}", outside / f"mine{cache.SUFFIX}"]
    for victim in victims:
        victim.write_bytes(b"not letgo's" * 1000)
    (store / "ab").mkdir(exist_ok=True)
    (store / "ab" / f"ab{'0' * 62}{cache.SUFFIX}").symlink_to(victims[1])  # an entry link
    (store / "zz").symlink_to(outside / "sub")  # a subfolder link
    held = cache.ClipCache(store, max_bytes=0)
    assert held.stats().entries > 0
    held.prune()
    assert all(v.exists() for v in victims)
    env = {"LETGO_CACHE_DIR": str(store)}
    result = run("cache", "clear", env=env)
    assert result.exit_code == 0, result.output
    assert all(v.exists() for v in victims)
    assert not (store / "zz").exists() and not list(store.glob(f"*/*{cache.SUFFIX}"))


# --- 6. a failed request leaves no folders behind ---------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["render", "nonexistent"],
        ["render", str(SHORT), "--minutes", "0.01"],  # too short: fails after speaking
        ["render", str(SHORT), "--background", "nowhere.wav"],
    ],
)
def test_a_failed_render_leaves_no_folders(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    result = run(*args, "--engine", "fake", "-q", "-o", "newdir1/sub/x.mp3")
    assert result.exit_code == 2, result.output
    one_error_line(result.stderr)
    assert not (tmp_path / "newdir1").exists()


def test_an_encoder_failing_mid_write_removes_the_folders_it_made(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise letgo.LetgoError("the encoder failed (a test)")

    monkeypatch.setattr(session.export, "encode", broken)
    result = run("render", SHORT, "--engine", "fake", "-o", tmp_path / "a" / "b" / "x.mp3")
    assert result.exit_code == 1
    assert list(tmp_path.iterdir()) == []


def test_a_render_makes_the_folders_it_writes_into(tmp_path):
    out = tmp_path / "a" / "b" / "x.mp3"
    assert run("render", SHORT, "--engine", "fake", "-o", out).exit_code == 0
    assert out.stat().st_size > 0


def test_a_file_in_the_way_of_a_folder_is_one_line(tmp_path):
    (tmp_path / "a").write_text("a file")
    result = run("render", SHORT, "--engine", "fake", "-o", tmp_path / "a" / "b" / "x.mp3")
    assert result.exit_code == 2
    assert "is not a folder" in one_error_line(result.stderr)


# --- 18. a full disk is one line -------------------------------------------------------------


def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("unnamed", [True, False])
def test_a_full_disk_while_writing_the_listening_files_is_one_line(tmp_path, monkeypatch, unnamed):
    monkeypatch.setattr(atomic, "UNNAMED", unnamed)
    shutil.copytree(SERIES, tmp_path / "plan")
    plan = tmp_path / "plan" / "plan.toml"
    plan.write_text(
        '[series]\ntitle = "Full"\ntemplates = ["."]\n[defaults]\nminutes = 1\n'
        'engine = "fake"\nbackground = "none"\n[[sessions]]\ntemplate = "tiny"\n'
    )
    out = tmp_path / "out"
    monkeypatch.setattr(atomic, "_put", full_disk)  # the writer of every small file
    result = run("series", "build", plan, "-o", out, "--jobs", "1", "-q")
    assert result.exit_code == 1, result.output
    line = one_error_line(result.stderr)
    assert "the disk is full" in line and "MB free" in line
    assert not [p for p in out.rglob("*") if atomic.is_temporary(p)]


def test_series_new_on_a_full_disk_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_put", full_disk)
    result = run("series", "new", tmp_path / "course.toml")
    assert result.exit_code == 1, result.output
    assert "the disk is full" in one_error_line(result.stderr)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs mounted on a folder of the test's own, where the test may mount one."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
        capture_output=True,
        timeout=BOUND,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=BOUND)


@pytest.mark.parametrize("unnamed", [True, False])
def test_a_full_tmpfs_is_one_line_and_left_clean(small_disk, monkeypatch, unnamed):
    monkeypatch.setattr(atomic, "UNNAMED", unnamed)
    filler = os.open(small_disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:  # every block the disk has
        with contextlib.suppress(OSError):
            while True:
                os.write(filler, b"\0" * 4096)
    finally:
        os.close(filler)
    shutil.copytree(SERIES, small_disk.parent / "plan")
    plan = small_disk.parent / "plan" / "plan.toml"
    plan.write_text(
        '[series]\ntitle = "Full"\ntemplates = ["."]\n[defaults]\nminutes = 1\n'
        'engine = "fake"\nbackground = "none"\n[[sessions]]\ntemplate = "tiny"\n'
    )
    result = run("series", "build", plan, "-o", small_disk / "out", "--jobs", "1", "-q")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "full" in result.stderr or "No space" in result.stderr, result.stderr
    left = [p for p in small_disk.rglob("*") if atomic.is_temporary(p)]
    assert not left
    result = run("series", "new", small_disk / "course.toml")
    assert result.exit_code == 1
    assert "the disk is full" in one_error_line(result.stderr)
    assert not (small_disk / "course.toml").exists()
    result = run("render", SHORT, "--engine", "fake", "-q", "-o", small_disk / "x.wav")
    assert result.exit_code != 0 and "Traceback" not in result.output
    one_error_line(result.stderr)
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "out"]


# --- nothing left behind, even after SIGKILL: unnamed temporary files -------------------------


def unnamed_files_in(pid: int, folder: Path) -> list[str]:
    """The files process `pid` holds open in `folder` that have no name (O_TMPFILE)."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(f"{folder}/#") and target.endswith(" (deleted)"):
            found.append(target)
    return found


needs_unnamed = pytest.mark.skipif(not atomic.UNNAMED, reason="no O_TMPFILE here")


def render_process(folder: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*LETGO, "render", "letting-go", "--engine", "fake", "-m", "40", "-q"]
        + ["-o", str(folder / "long.mp3")],
        start_new_session=True,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_encoding(process: subprocess.Popen, folder: Path) -> None:
    deadline = time.monotonic() + BOUND
    while not unnamed_files_in(process.pid, folder):
        assert process.poll() is None, "ended before encoding"
        assert time.monotonic() < deadline, f"no unnamed file within {BOUND} s"
        time.sleep(0.05)


@needs_unnamed
def test_sigkill_mid_render_leaves_nothing_at_all(tmp_path):
    process = render_process(tmp_path)
    wait_encoding(process, tmp_path)
    assert list(tmp_path.iterdir()) == []  # being written, and nameless
    process.kill()
    process.wait(timeout=BOUND)
    deadline = time.monotonic() + BOUND
    while subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "the orphaned encoder did not stop"
        time.sleep(0.1)
    assert list(tmp_path.iterdir()) == []


@needs_unnamed
def test_sigterm_mid_render_leaves_nothing_at_all(tmp_path):
    process = render_process(tmp_path)
    wait_encoding(process, tmp_path)
    process.terminate()
    _, stderr = process.communicate(timeout=BOUND)
    assert process.returncode == 143 and "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("unnamed", [True, False])
def test_both_ways_write_replace_and_refuse_alike(tmp_path, monkeypatch, unnamed):
    monkeypatch.setattr(atomic, "UNNAMED", unnamed)
    path = tmp_path / "sub" / "file.txt"
    assert atomic.write(path, b"one")
    assert path.read_bytes() == b"one"
    assert not atomic.write(path, b"one")  # the same bytes: not written
    assert atomic.write(path, b"two") and path.read_bytes() == b"two"
    with pytest.raises(FileExistsError):
        atomic.write(path, b"three", exclusive=True)
    assert atomic.write(tmp_path / "new.txt", b"new", exclusive=True)
    link = tmp_path / "link.txt"
    link.symlink_to(path)
    atomic.write(link, b"through")
    assert link.is_symlink() and path.read_bytes() == b"through"
    with atomic.writing(tmp_path / "w.bin") as temporary:
        assert atomic.folder_of(temporary) == tmp_path
        with open(temporary, "r+b") as handle:
            handle.write(b"written in place")
        named = [p.name for p in tmp_path.iterdir() if atomic.is_temporary(p)]
        assert (named == []) == unnamed  # an unnamed file has no name to be seen
    assert (tmp_path / "w.bin").read_bytes() == b"written in place"
    assert not [p for p in tmp_path.rglob("*") if atomic.is_temporary(p)]
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~current_umask()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_file_system_without_unnamed_files_gets_the_named_way(tmp_path, monkeypatch):
    calls = []
    real_open = os.open

    def no_tmpfile(path, flags, *args, **kwargs):
        if flags & getattr(os, "O_TMPFILE", 0) == getattr(os, "O_TMPFILE", -1):
            calls.append(path)
            raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(atomic, "UNNAMED", True)
    monkeypatch.setattr(atomic.os, "open", no_tmpfile)
    with atomic.writing(tmp_path / "x.bin") as temporary:
        assert atomic.is_temporary(temporary) and temporary.parent == tmp_path
        temporary.write_bytes(b"named")
    assert (tmp_path / "x.bin").read_bytes() == b"named"
    assert calls or not hasattr(os, "O_TMPFILE")


# --- 23. the starter, a misspelt helper and an optional description ---------------------------


def test_the_starter_passes_its_own_check_without_a_warning(tmp_path):
    assert run("new", "morning-ease", "--dir", tmp_path).exit_code == 0
    starter = tmp_path / "morning-ease.j2"
    result = run("check", starter)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "ok: 1 template(s) checked", result.output
    for minutes in ("3", "25"):  # its shortest and longest
        made = run("script", starter, "--engine", "fake", "-m", minutes)
        assert made.exit_code == 0, made.output


def test_a_misspelt_helper_is_named(tmp_path):
    path = template(tmp_path, "Breathe.\n{{ pase(3) }}\nRest.\n{{ brething(times=2) }}\n")
    result = run("check", path)
    assert result.exit_code == 1
    assert "'pase' is not defined; did you mean pause()?" in result.output
    assert "'brething' is not defined; did you mean breath()?" in result.output
    result = run("script", path, "--engine", "fake")
    assert result.exit_code == 2
    assert "did you mean pause()?" in one_error_line(result.stderr)
    path = template(tmp_path, "Hello {{ nmae }}.\n", name="v.j2")
    path.write_text(
        path.read_text().replace(
            "#}\n", '[variables.name]\ndefault = ""\nhelp = "A name."\n#}\n', 1
        )
    )
    assert "did you mean 'name'?" in run("check", path).output


def test_a_header_without_a_description_passes_check_with_a_warning(tmp_path):
    path = tmp_path / "plain.j2"
    path.write_text(
        '{#\ntitle = "Plain"\nminutes = 1\n#}\nBreathe in.\n{{ pause(20, flex=True, min=8) }}\n'
    )
    result = run("check", path)
    assert result.exit_code == 0, result.output
    assert "warning: the header has no 'description'" in result.output
    readme = (Path(__file__).parents[1] / "templates" / "README.md").read_text()
    assert "`description`, `max_minutes`, `sleep` and the variables are optional" in readme


def test_no_thread_is_left_running():
    """The servers and listeners above are all stopped (later tests count threads)."""
    deadline = time.monotonic() + BOUND
    while threading.active_count() > 1:
        assert time.monotonic() < deadline, [t.name for t in threading.enumerate()]
        time.sleep(0.1)
