"""Fault injection: nothing outside the job is touched, nothing hangs, the server shows only
the series, and every failure is one clear line (issue 14).

Each test provokes one fault for real: special files made in the test's own folder, pipes
closed under a running render, signals sent to real processes, requests over real sockets on
127.0.0.1. Every wait is bounded, so a regression fails the test instead of hanging it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

import measure
from letgo.cli import main
from letgo.file import atomic
from letgo.series import serve

DATA = Path(__file__).parent / "series_data"
SHORT = Path(__file__).parent / "data" / "short.j2"
LETGO = [sys.executable, "-c", "from letgo.cli import main; main()"]
#: Generous bound on anything that should stop "promptly": a hang fails instead of blocking.
BOUND = 60


def named() -> dict[str, str]:
    """The environment for a run that writes its temporary files under names from the start,
    the way where there are no unnamed files (O_TMPFILE): what these tests watch for and clean
    up. tests/test_hardening_three.py covers the unnamed way."""
    return {**os.environ, "LETGO_TEMPORARIES": "named"}


def letgo(*args, **popen) -> subprocess.Popen:
    args = [a if isinstance(a, bytes) else str(a) for a in args]  # bytes: not UTF-8 on purpose
    return subprocess.Popen([*LETGO, *args], start_new_session=True, **popen)


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("letgo: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def wait_for(condition, what: str, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + BOUND
    while not (found := condition()):
        assert process is None or process.poll() is None, f"ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within {BOUND} s"
        time.sleep(0.05)
    return found


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if atomic.is_temporary(p)]


# --- 1. only regular files are created or replaced --------------------------------------------


def special_files(folder: Path) -> dict[str, Path]:
    """A device node, a FIFO and a socket, all in the test's own folder."""
    made = {}
    device = folder / "full"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # what /dev/full is
        made["character device"] = device
    except PermissionError:
        pass  # not root: the FIFO and the socket still cover special files
    os.mkfifo(folder / "fifo")
    made["FIFO"] = folder / "fifo"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(folder / "sock"))
    listener.close()  # the socket file stays
    made["socket"] = folder / "sock"
    return made


def test_a_special_file_as_output_is_a_usage_error_and_left_alone(tmp_path):
    for kind, path in special_files(tmp_path).items():
        link = tmp_path / f"link-to-{path.name}.mp3"
        link.symlink_to(path)
        for target in (path, link):
            before = os.lstat(target)
            result = CliRunner().invoke(
                main,
                [
                    "render",
                    "letting-go",
                    "--engine",
                    "fake",
                    "-m",
                    "5",
                    "-o",
                    str(target),
                    "--force",
                ],
            )
            assert result.exit_code == 2, result.output
            line = one_error_line(result.stderr)
            assert f"is a {kind}" in line
            after = os.lstat(target)
            assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert not temporaries(tmp_path)


@pytest.mark.parametrize(
    "command",
    [
        ["render", "{fifo}", "--engine", "fake", "-o", "{folder}/x.mp3"],
        ["check", "{fifo}"],
        ["show", "{fifo}"],
        ["series", "build", "{fifo}", "--engine", "fake", "-o", "{folder}/out"],
        [
            "series",
            "build",
            "seven-days-of-release",
            "--listeners",
            "{fifo}",
            "--engine",
            "fake",
            "-o",
            "{folder}/out",
        ],
    ],
)
def test_a_fifo_as_input_is_refused_not_waited_on(tmp_path, command):
    """A template, plan or listeners CSV that is a FIFO (nothing writing to it) would block a
    read for ever; it is named for what it is instead."""
    fifo = tmp_path / "fifo.j2"
    os.mkfifo(fifo)
    process = letgo(
        *[part.format(fifo=fifo, folder=tmp_path) for part in command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, stderr = process.communicate(timeout=BOUND)
    assert process.returncode == 2
    assert "is a FIFO (named pipe), not a regular file" in one_error_line(stderr)


def test_a_folder_as_output_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(
        main, ["render", "letting-go", "--engine", "fake", "-m", "5", "-o", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "is a folder" in one_error_line(result.stderr)


def test_a_build_never_locks_through_a_symlink(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".letgo-series.lock").symlink_to(tmp_path / "victim")
    result = CliRunner().invoke(
        main, ["series", "build", str(plan_of(tmp_path / "plan", 1, 1)), "-o", str(out)]
    )
    assert result.exit_code == 2
    assert "is a symlink" in one_error_line(result.stderr)
    assert not (tmp_path / "victim").exists()


def test_a_symlinked_output_is_written_through(tmp_path):
    real = tmp_path / "real" / "session.mp3"
    real.parent.mkdir()
    real.write_bytes(b"an older session")
    link = tmp_path / "link.mp3"
    link.symlink_to(real)
    result = CliRunner().invoke(
        main, ["render", str(SHORT), "--engine", "fake", "-m", "1", "-o", str(link)]
    )
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(real)  # the link stays a link
    assert measure.stream_info(real).duration == pytest.approx(60, abs=0.1)
    assert not temporaries(tmp_path)


# --- 2. a closed stdout or stderr never hangs ---------------------------------------------------


def test_a_render_whose_stderr_closes_stops_cleanly(tmp_path):
    process = letgo(
        "render",
        "letting-go",
        "--engine",
        "fake",
        "-m",
        "30",
        "-o",
        tmp_path / "p.mp3",
        "--force",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    process.stdout.readline()  # as `2>&1 | head -n 1` does: one line, then the pipe closes
    process.stdout.close()
    try:
        assert process.wait(timeout=BOUND) == 141
    finally:
        process.kill()
    assert not list(tmp_path.iterdir()), "a temporary or partial file was left"


def test_a_build_whose_stderr_closes_stops_cleanly(tmp_path):
    plan = plan_of(tmp_path / "plan", sessions=3, minutes=2)
    out = tmp_path / "out"
    process = letgo(
        "series",
        "build",
        plan,
        "-o",
        out,
        "--jobs",
        "2",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    process.stdout.readline()
    process.stdout.close()
    try:
        assert process.wait(timeout=BOUND) == 141
    finally:
        process.kill()
    assert not temporaries(out)
    wait_for(lambda: not descendants_alive(process.pid), "end of the workers")


def test_a_render_started_with_stderr_closed_writes_its_file(tmp_path):
    out = tmp_path / "closed.mp3"
    command = [*LETGO, "render", str(SHORT), "--engine", "fake", "-m", "1", "-o", str(out)]
    process = subprocess.run(
        ["sh", "-c", 'exec "$@" 2>&-', "sh", *command],
        capture_output=True,
        text=True,
        timeout=BOUND,
    )
    assert process.returncode == 0 and f"Wrote {out}" in process.stdout
    assert measure.stream_info(out).duration == pytest.approx(60, abs=0.1)
    assert [p.name for p in tmp_path.iterdir()] == ["closed.mp3"]


# --- 3 and 4. the server shows only the series, and copes with bad and slow clients ------------


def plan_of(folder: Path, sessions: int, minutes: float, listeners: str | None = None) -> Path:
    shutil.copytree(DATA, folder)
    body = "".join(
        f'\n[[sessions]]\ntemplate = "tiny"\ntitle = "Part {n}"\n' for n in range(1, sessions + 1)
    )
    extra = ""
    if listeners is not None:
        (folder / "people.csv").write_text(listeners, encoding="utf-8")
        extra = '[listeners]\ncsv = "people.csv"\n'
    plan = folder / "plan.toml"
    plan.write_text(
        f'[series]\ntitle = "Hardened"\ntemplates = ["."]\n{extra}[defaults]\n'
        f'minutes = {minutes}\nengine = "fake"\nbackground = "none"\n{body}'
    )
    return plan


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A built series, with things beside it the server must never show."""
    root = tmp_path_factory.mktemp("served")
    out = root / "out"
    result = CliRunner().invoke(
        main,
        ["series", "build", str(plan_of(root / "plan", 2, 1)), "-o", str(out), "-q"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    secret = root / "secret"
    secret.mkdir()
    (secret / "passwords.txt").write_text("not for the network")
    (out / "passwords.txt").symlink_to(secret / "passwords.txt")  # a symlink out: a file
    (out / "etc").symlink_to(secret)  # and a folder
    (out / "notes.txt").write_text("a file the build did not make")
    srt = next(out.glob("01-*.srt"))
    srt.rename(out / "real-transcript.srt")
    srt.symlink_to(out / "real-transcript.srt")  # a symlink inside the folder: still served
    return out


@pytest.fixture(scope="module")
def server(built):
    httpd = serve.make_server(built, "127.0.0.1", 0, request_timeout=1.0, max_connections=3)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def status(httpd, path: str) -> int:
    url = f"http://127.0.0.1:{httpd.server_address[1]}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def raw(httpd, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", httpd.server_address[1]), timeout=10) as conn:
        conn.sendall(request)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return reply


@pytest.mark.e2e
def test_the_server_serves_the_series_files(built, server):
    for path in built.glob("[!.]*"):
        if (
            path.suffix in (".mp3", ".vtt", ".srt", ".m3u", ".xml", ".html", ".png")
            and path.name != "real-transcript.srt"
        ):
            assert status(server, f"/{path.name}") == 200, path.name
    assert status(server, "/") == 200  # the set's page, not a listing
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    with urllib.request.urlopen(url, timeout=10) as reply:
        assert reply.read() == (built / "index.html").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/passwords.txt",
        "/etc/",
        "/etc/passwords.txt",
        "/notes.txt",
        "/.letgo-series.json",
        "/.letgo-series.lock",
        "/real-transcript.srt",
        "/%2e%2e/secret/passwords.txt",
        "/../secret/passwords.txt",
    ],
)
def test_the_server_shows_nothing_else(server, path):
    assert status(server, path) in (400, 404)


def test_an_allowed_name_linked_out_of_the_folder_is_not_served(built, server):
    cover = built / "cover.png"
    kept = cover.read_bytes()
    cover.unlink()
    cover.symlink_to(built.parent / "secret" / "passwords.txt")
    try:
        assert status(server, "/cover.png") == 404
    finally:
        cover.unlink()
        cover.write_bytes(kept)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /%00 HTTP/1.0\r\n\r\n",
        b"HEAD /%00 HTTP/1.0\r\n\r\n",
        b"GET /feed.xml HTTP/1.0\r\nHost: 127.0.0.1\x00evil\r\n\r\n",
        b"GET /%ff%fe HTTP/1.0\r\n\r\n",
    ],
)
def test_bad_requests_get_400(server, request_bytes):
    assert raw(server, request_bytes).startswith(b"HTTP/1.0 400 ")
    assert status(server, "/index.html") == 200  # and the server carries on


def test_an_idle_connection_is_closed_by_the_server(server):
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=30) as conn:
        assert conn.recv(1024) == b""  # closed after the server's 1 s, long before ours


def test_a_trickled_request_is_cut_off(server):
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=30) as conn:
        conn.sendall(b"GET /index.html HTTP/1.0\r\nX-Slow: ")
        deadline = time.monotonic() + 30
        closed = False
        while time.monotonic() < deadline and not closed:
            try:
                conn.sendall(b"a")  # a byte at a time, well within the socket's own timeout
                conn.settimeout(0.2)
                closed = conn.recv(1024) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
        assert closed, "the server kept a trickling request open"


def test_connections_are_bounded(server):
    port = server.server_address[1]
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
    try:
        time.sleep(0.2)  # let the server take them
        with socket.create_connection(("127.0.0.1", port), timeout=10) as extra:
            assert extra.recv(1024).startswith(b"HTTP/1.0 503")
    finally:
        for conn in idle:
            conn.close()
    wait_for(lambda: status(server, "/index.html") == 200, "a free connection")


@pytest.mark.e2e
def test_serve_prints_a_working_feed_for_each_listener(tmp_path):
    out = tmp_path / "out"
    plan = plan_of(tmp_path / "plan", 1, 1, listeners="name,person\nAnna,Ben\nCleo,Dan\n")
    result = CliRunner().invoke(main, ["series", "build", str(plan), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    process = letgo(
        "series",
        "serve",
        out,
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(5)]
        feeds = [
            line.split("podcast feed: ")[1].strip() for line in lines if "podcast feed: " in line
        ]
        assert len(feeds) == 2
        for feed in feeds:
            with urllib.request.urlopen(feed, timeout=10) as reply:
                assert reply.status == 200 and b"<enclosure" in reply.read()
        root = feeds[0].split("/anna/")[0] + "/"
        with urllib.request.urlopen(root, timeout=10) as reply:  # the listeners' pages
            page = reply.read().decode("utf-8")
        assert 'href="anna/index.html"' in page and 'href="cleo/index.html"' in page
    finally:
        process.terminate()
        process.wait(timeout=BOUND)


def test_serve_says_it_listens_on_every_interface(built):
    process = letgo("series", "serve", built, "--port", "0", stdout=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(4)]
    finally:
        process.terminate()
        process.wait(timeout=BOUND)
    assert "every network interface" in lines[3] and "--host 127.0.0.1" in lines[3]


# --- 5. workers stop when their build dies -----------------------------------------------------


def descendants_alive(pid: int) -> list[int]:
    """Live (not zombie) processes descended from `pid`, or formerly so: found by their
    process group, which the build's helpers keep (start_new_session made it pid's own)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == pid:
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgid = fields[0], int(fields[2])
        if pgid == pid and state not in "ZX":
            found.append(int(entry.name))
    return found


@pytest.mark.e2e
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_of_a_killed_build_stop_and_leave_no_partial_files(tmp_path):
    plan = plan_of(tmp_path / "plan", sessions=3, minutes=2)
    out = tmp_path / "out"
    process = letgo("series", "build", plan, "-o", out, "--jobs", "2", "-q", env=named())
    wait_for(lambda: len(temporaries(out)) >= 1, "session being encoded", process)
    helpers = descendants_alive(process.pid)
    assert len(helpers) >= 3  # two workers and the manager (and encoders)
    process.send_signal(signal.SIGKILL)  # the build alone: its clean-up never runs
    process.wait()
    wait_for(lambda: not descendants_alive(process.pid), "end of every worker")
    # what the workers write; the build itself (the manifest) was killed without a chance
    assert not [p for p in temporaries(out) if p.suffix in (".mp3", ".vtt", ".srt")], (
        "a worker left a partial file"
    )


# --- 6. every failure is one line -----------------------------------------------------------


@pytest.mark.parametrize("output", ["/proc/x.mp3", "/sys/x.mp3"])
def test_unwritable_system_folders_are_one_line(output):
    result = CliRunner().invoke(
        main, ["render", "letting-go", "--engine", "fake", "-m", "5", "-o", output]
    )
    assert result.exit_code == 2, result.output
    assert "cannot write to" in one_error_line(result.stderr)


@pytest.mark.parametrize(
    "code, words",
    [(errno.EACCES, "the folder is read-only"), (errno.EROFS, "read-only file system")],
)
def test_a_read_only_folder_says_so(tmp_path, monkeypatch, code, words):
    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic, "_create", refuse)
    result = CliRunner().invoke(
        main, ["render", "letting-go", "--engine", "fake", "-m", "5", "-o", str(tmp_path / "x.mp3")]
    )
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert words in line and "permission denied" not in line.lower()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
def test_a_read_only_folder_says_so_for_real(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o555)
    result = CliRunner().invoke(
        main, ["render", "letting-go", "--engine", "fake", "-m", "5", "-o", str(folder / "x.mp3")]
    )
    assert result.exit_code == 2
    assert "the folder is read-only" in one_error_line(result.stderr)


@pytest.mark.parametrize(
    "content, words",
    [
        (b"name,person\nAnna,Ben,extra\n", "line 2: 3 cells, but the header names 2"),
        ("name,person\nJosé,Ben\n".encode("latin-1"), "not UTF-8"),
    ],
)
def test_a_bad_listeners_csv_is_one_line(tmp_path, content, words):
    plan = plan_of(tmp_path / "plan", 1, 1, listeners="")
    (plan.parent / "people.csv").write_bytes(content)
    result = CliRunner().invoke(main, ["series", "build", str(plan), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert words in one_error_line(result.stderr)


def test_a_variable_with_a_lone_surrogate_renders(tmp_path):
    """What `-v $'person=Alex\\x85'` passes: a byte that is not UTF-8, as a surrogate."""
    process = letgo(
        "render",
        SHORT,
        "--engine",
        "fake",
        "-m",
        "1",
        "-q",
        "-o",
        tmp_path / "x.mp3",
        "-v",
        b"name=Alex\x85",
        stderr=subprocess.PIPE,
        text=True,
    )
    _, stderr = process.communicate(timeout=BOUND)
    assert process.returncode == 0 and "Traceback" not in stderr, stderr
    assert (tmp_path / "x.mp3").is_file()


def test_an_unwritable_cache_warns_once(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    process = letgo(
        "render",
        SHORT,
        "--engine",
        "fake",
        "-m",
        "1",
        "-q",
        "-o",
        tmp_path / "x.mp3",
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LETGO_CACHE_DIR": str(blocker / "cache")},
    )
    _, stderr = process.communicate(timeout=BOUND)
    assert process.returncode == 0, stderr
    assert stderr.count("cannot write to the speech cache") == 1, stderr
    assert len(stderr.strip().splitlines()) == 1


# --- 7. SIGTERM cleans up; what SIGKILL leaves, the next render removes -----------------------


def render_until_encoding(folder: Path, name: str = "long.mp3") -> subprocess.Popen:
    process = letgo(
        "render",
        "letting-go",
        "--engine",
        "fake",
        "-m",
        "40",
        "-q",
        "-o",
        folder / name,
        stderr=subprocess.PIPE,
        text=True,
        env=named(),
    )
    wait_for(lambda: temporaries(folder), "temporary file", process)
    return process


def test_sigterm_stops_a_render_like_ctrl_c(tmp_path):
    process = render_until_encoding(tmp_path)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=BOUND)
    assert process.returncode == 143
    assert "stopped" in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir()), "a temporary or partial file was left"


@pytest.mark.e2e
def test_sigterm_stops_a_build_and_its_workers(tmp_path):
    plan = plan_of(tmp_path / "plan", sessions=3, minutes=2)
    out = tmp_path / "out"
    process = letgo(
        "series",
        "build",
        plan,
        "-o",
        out,
        "--jobs",
        "2",
        "-q",
        stderr=subprocess.PIPE,
        text=True,
        env=named(),
    )
    wait_for(lambda: temporaries(out), "session being encoded", process)
    process.send_signal(signal.SIGTERM)  # the build alone, as `kill PID` does
    _, stderr = process.communicate(timeout=BOUND)
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr
    wait_for(lambda: not descendants_alive(process.pid), "end of every worker")
    assert not temporaries(out)


@pytest.mark.e2e
def test_the_next_render_removes_what_a_killed_one_left(tmp_path):
    process = render_until_encoding(tmp_path)
    process.send_signal(signal.SIGKILL)
    process.wait()
    wait_for(lambda: not descendants_alive(process.pid), "end of the orphaned encoder")
    left = temporaries(tmp_path)
    assert left, "SIGKILL gives no chance to clean up: a temporary file stays for now"
    for path in left:  # older than a file just being made (the moment before its lock)
        os.utime(path, (time.time() - 60, time.time() - 60))
    held = tmp_path / ".other.abcd1234.part.mp3"  # one a live render is writing
    held.write_bytes(b"being written")
    os.utime(held, (time.time() - 60, time.time() - 60))
    with open(held) as handle, pytest.MonkeyPatch.context() as patch:
        patch.setattr(atomic, "UNNAMED", False)
        fcntl.flock(handle, fcntl.LOCK_EX)
        result = CliRunner().invoke(
            main,
            [
                "render",
                str(SHORT),
                "--engine",
                "fake",
                "-m",
                "1",
                "-q",
                "-o",
                str(tmp_path / "next.mp3"),
            ],
        )
    assert result.exit_code == 0, result.output
    assert temporaries(tmp_path) == [held]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["next.mp3"]
