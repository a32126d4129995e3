"""`letgo voices download` and `letgo voices --available`, end to end against a local server.

The server on 127.0.0.1 serves a voice the way Piper's source does: the catalogue at
/voices.json (each file's size and MD5) and the files at the catalogue's paths (model, config,
model card), `?download=true` and all. The voice is the installed joe's own files, offered as
en_US-joe-medium and, for the README's examples, as en_GB-alba-medium. Misbehaviours are
switched on per test: a body cut off halfway, a file of the wrong size, a wrong MD5, and no
server at all (connection refused).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
from pathlib import Path

import pytest

import voice_source
from conftest import DATA, needs_piper
from letgo.cli import main
from letgo.file import tags
from letgo.voice import download
from letgo.voice.engines import piper
from voice_source import serving

pytestmark = needs_piper


@pytest.fixture
def source(monkeypatch):
    with serving() as server:
        monkeypatch.setenv(download.SOURCE_VARIABLE, server.url)
        yield server


@pytest.fixture
def digests():
    return voice_source.digests()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def one_error_line(result, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("letgo: error:")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_the_default_source_is_piper_s_own_and_the_url_format_is_its_format():
    from piper import download_voices

    assert download.SOURCE + "/voices.json?download=true" == download_voices.VOICES_JSON
    expected = download_voices.URL_FORMAT.format(
        lang_family="en",
        lang_code="en_GB",
        voice_name="alba",
        voice_quality="medium",
        extension=".onnx",
    )
    assert download.url("en/en_GB/alba/medium/en_GB-alba-medium.onnx", download.SOURCE) == expected


def test_a_voice_downloads_checked_and_whole_into_the_voices_folder(runner, source, digests):
    result = runner.invoke(main, ["voices", "download", "en_US-joe-medium"])
    assert result.exit_code == 0, result.output
    folder = piper.voices_dir()
    assert leftovers(folder) == [
        "en_US-joe-medium.MODEL_CARD",
        "en_US-joe-medium.onnx",
        "en_US-joe-medium.onnx.json",
    ]
    model = folder / "en_US-joe-medium.onnx"
    assert hashlib.md5(model.read_bytes()).hexdigest() == digests[".onnx"][1]
    assert "Downloaded en_US-joe-medium (63 MB)" in result.stdout
    assert "research only" in result.stdout  # its licence, said at once
    assert all(r.endswith("?download=true") for r in source.requests)
    again = runner.invoke(main, ["voices", "download", "en_US-joe-medium"])
    assert again.exit_code == 0 and "already in" in again.stdout
    listed = runner.invoke(main, ["voices", "--engine", "piper"]).stdout
    assert "en_US-joe-medium" in listed and "fine-tuned from lessac" in listed


def test_a_speaker_s_name_will_do_where_the_catalogue_has_one_voice_of_theirs(runner, source):
    result = runner.invoke(main, ["voices", "download", "alba", "-q"])
    assert result.exit_code == 0, result.output
    assert (piper.voices_dir() / "en_GB-alba-medium.onnx").is_file()
    assert piper.resolve_voice("alba").name == "en_GB-alba-medium"


def test_a_download_cut_off_halfway_keeps_nothing(runner, source):
    source.cut = ".onnx"
    error = one_error_line(runner.invoke(main, ["voices", "download", "en_US-joe-medium"]), 1)
    assert "en_US-joe-medium.onnx" in error and "nothing was kept" in error
    assert leftovers(piper.voices_dir()) == []
    source.cut = None  # and the next try succeeds
    assert runner.invoke(main, ["voices", "download", "en_US-joe-medium"]).exit_code == 0
    assert piper.resolve_voice("en_US-joe-medium").model.is_file()


def test_a_file_of_the_wrong_size_keeps_nothing(runner, source):
    entry = source.entries["en_US-joe-medium"]["files"]
    config = next(p for p in entry if p.endswith(".onnx.json"))
    entry[config] = {**entry[config], "size_bytes": entry[config]["size_bytes"] + 1}
    error = one_error_line(runner.invoke(main, ["voices", "download", "en_US-joe-medium"]), 1)
    assert "en_US-joe-medium.onnx.json arrived with only" in error
    assert "the catalogue says" in error
    assert leftovers(piper.voices_dir()) == []


def test_a_file_that_does_not_match_its_md5_keeps_nothing(runner, source):
    entry = source.entries["en_US-joe-medium"]["files"]
    card = next(p for p in entry if p.endswith("MODEL_CARD"))
    entry[card] = {**entry[card], "md5_digest": "0" * 32}
    error = one_error_line(runner.invoke(main, ["voices", "download", "en_US-joe-medium"]), 1)
    assert "does not match the catalogue's MD5" in error
    assert leftovers(piper.voices_dir()) == []


def test_an_unknown_name_is_a_usage_error_with_close_matches(runner, source):
    error = one_error_line(runner.invoke(main, ["voices", "download", "en_US-jo-medium"]), 2)
    assert "no Piper voice 'en_US-jo-medium'" in error and "en_US-joe-medium" in error


def test_offline_is_one_line_and_changes_nothing(runner, monkeypatch):
    monkeypatch.setenv(download.SOURCE_VARIABLE, f"http://127.0.0.1:{closed_port()}")
    error = one_error_line(runner.invoke(main, ["voices", "download", "en_US-joe-medium"]), 1)
    assert "cannot reach" in error and "refused" in error and "offline" in error
    assert leftovers(piper.voices_dir()) == []
    listed = one_error_line(runner.invoke(main, ["voices", "--available"]), 1)
    assert "cannot reach" in listed


def test_the_list_fetches_the_catalogue_only_when_asked_and_keeps_it(runner, source, monkeypatch):
    plain = runner.invoke(main, ["voices", "--engine", "piper"])
    assert plain.exit_code == 0 and "letgo voices --available" in plain.stdout
    assert source.requests == []  # nothing fetched unasked
    listed = runner.invoke(main, ["voices", "--available", "--language", "en_GB"])
    assert listed.exit_code == 0, listed.output
    assert source.requests == ["/voices.json?download=true"]
    row = next(line for line in listed.stdout.splitlines() if line.startswith("en_GB-alba"))
    assert row.split()[:6] == ["en_GB-alba-medium", "en_GB", "alba", "female", "medium", "63"]
    assert row.rstrip().endswith("CC BY 4.0 (credit the speaker)")
    assert "en_US-joe-medium" not in listed.stdout
    assert "fetched less than a minute ago from " + source.url in listed.stdout
    # offline now: the kept catalogue still lists them, and says how old it is
    monkeypatch.setenv(download.SOURCE_VARIABLE, source.url)
    source.shutdown()
    again = runner.invoke(main, ["voices", "--engine", "piper"])
    assert again.exit_code == 0 and "en_GB-alba-medium" in again.stdout
    assert "fetched less than a minute ago" in again.stdout


def test_a_damaged_catalogue_is_a_clear_error(runner, source):
    source.entries = {"en_US-joe-medium": {"files": {"../../etc/passwd": {}}}}
    error = one_error_line(runner.invoke(main, ["voices", "--available"]), 1)
    assert "is not a Piper voice catalogue" in error


@pytest.mark.e2e
def test_a_downloaded_voice_renders_by_name(runner, source, tmp_path):
    assert runner.invoke(main, ["voices", "download", "en_GB-alba-medium", "-q"]).exit_code == 0
    out = tmp_path / "alba.mp3"
    result = runner.invoke(
        main,
        [
            "render",
            str(DATA / "short.j2"),
            "--voice",
            "en_GB-alba-medium",
            "--background",
            "none",
            "-o",
            str(out),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    inputs = json.loads(tags.read_extra(out)[tags.INPUTS_KEY])
    assert inputs["engine"] == "piper" and inputs["voice"] == "en_GB-alba-medium"
    shutil.rmtree(piper.voices_dir())
