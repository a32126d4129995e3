"""Every promise the CLI and the README make is kept: Click's errors read like letgo's, an
unknown output extension is a usage error, the MP3 comment is for people, `letgo new` writes
an ordinary file, `show` says lengths, a failed build does not say 'open', and the set-up
scripts say what they are doing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mutagen.id3 import ID3

from letgo.cli import main
from letgo.file import tags
from letgo.voice.engines import DEFAULT_ENGINE

ROOT = Path(__file__).resolve().parents[1]
LETGO = str(Path(sys.executable).parent / "letgo")
SHORT = Path(__file__).parent / "data" / "short.j2"


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["render", "letting-go", "--rate", "abc"],
            "Invalid value for '--rate': 'abc' is not a valid integer (see 'letgo render --help')",
        ),
        (["render"], "Missing argument 'TEMPLATE' (see 'letgo render --help')"),
        (
            ["render", "x", "--engine", "nope"],
            "Invalid value for '--engine': 'nope' is not one of 'pyttsx3', 'piper', 'fake' "
            "(see 'letgo render --help')",
        ),
        (["rendr"], "No such command 'rendr'. Did you mean 'render'? (see 'letgo --help')"),
        (
            ["script", "x", "--minuts", "3"],
            "No such option '--minuts'. Did you mean '--minutes'? (see 'letgo script --help')",
        ),
        (["series", "build", "p.toml", "--jobs", "0"], "Invalid value for '-j' / '--jobs'"),
    ],
)
def test_clicks_own_errors_are_one_letgo_line_exit_2(runner, args, message):
    result = runner.invoke(main, args, prog_name="letgo")
    assert result.exit_code == 2
    assert result.output.startswith(f"letgo: error: {message}"), result.output
    assert result.output.count("\n") == 1


def test_help_and_a_bare_group_still_show_help(runner):
    assert runner.invoke(main, ["render", "--help"], prog_name="letgo").output.startswith(
        "Usage: letgo render"
    )
    bare = runner.invoke(main, ["series"], prog_name="letgo")
    assert bare.output.startswith("Usage: letgo series") and "build" in bare.output


def test_an_unknown_output_extension_is_a_usage_error_listing_the_formats(runner, tmp_path):
    out = tmp_path / "out.xyz"
    result = runner.invoke(main, ["render", str(SHORT), "--engine", "fake", "-o", str(out)])
    assert result.exit_code == 2
    assert result.output == (
        "letgo: error: out.xyz: '.xyz' is not an audio format letgo "
        "writes; name the file .mp3 .wav .flac .ogg .m4a (or .opus .oga "
        ".mp4 .aac .wave), or choose one with --format\n"
    )
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_the_mp3_comment_is_the_description_and_the_inputs_keep_their_frame(runner, tmp_path):
    out = tmp_path / "short.mp3"
    result = runner.invoke(
        main,
        [
            "render",
            str(SHORT),
            "--engine",
            "fake",
            "--background",
            "none",
            "-o",
            str(out),
            "-v",
            "name=Sam",
        ],
    )
    assert result.exit_code == 0, result.output
    comments = ID3(out).getall("COMM")
    assert [c.text for c in comments] == [["Every kind of markup, in under a minute."]]
    inputs = json.loads(tags.read_extra(out)[tags.INPUTS_KEY])
    assert inputs["template"] == "short" and inputs["variables"] == {"name": "Sam"}


def test_new_writes_an_ordinary_file_under_the_usual_umask(tmp_path):
    result = subprocess.run(
        [LETGO, "new", "morning-ease", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "morning-ease.j2").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["morning-ease.j2"]


def test_show_labels_section_lengths_as_lengths(runner):
    result = runner.invoke(main, ["show", str(SHORT), "--engine", "fake"])
    assert result.exit_code == 0, result.output
    assert "Sections and how long each lasts (at the default length):" in result.output
    assert all(
        line.split()[1] == "long"
        for line in result.output.split("how long each lasts")[1].splitlines()[1:]
        if line.strip()
    )


@pytest.mark.e2e
def test_a_build_with_nothing_built_does_not_say_open(runner, tmp_path):
    shutil.copytree(Path(__file__).parent / "series_data", tmp_path / "plan")
    plan = tmp_path / "plan" / "course.toml"
    plan.write_text(
        plan.read_text()
        .replace("minutes = 1\n", "minutes = 0.2\n")
        .replace("minutes = 1.25", "minutes = 0.2")
    )
    result = runner.invoke(main, ["series", "build", str(plan), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "0 built, 0 unchanged, 3 failed" in result.stdout
    assert "; open" not in result.stdout  # (a worker's tmp folder, "popen-gw1", may say open)
    good = runner.invoke(
        main,
        [
            "series",
            "build",
            str(Path(__file__).parent / "series_data" / "course.toml"),
            "-o",
            str(tmp_path / "good"),
            "--jobs",
            "2",
        ],
    )
    assert good.exit_code == 0 and f"open {tmp_path / 'good' / 'index.html'}" in good.stdout


def test_the_setup_scripts_say_what_they_do_while_pip_works(tmp_path):
    """_venv.sh with pip stood in for by a recorder: each step is announced before it runs."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    for name in ("_venv.sh", "demo.sh"):
        shutil.copy(ROOT / "scripts" / name, project / "scripts" / name)
    bin_ = project / ".venv" / "bin"
    bin_.mkdir(parents=True)
    log = tmp_path / "log"
    for tool in ("python", "letgo"):
        (bin_ / tool).write_text(
            f'#!/bin/sh\necho "ran {tool} $*" >&2\necho "ran {tool} $*" >> {log}\n'
        )
        (bin_ / tool).chmod(0o755)
    result = subprocess.run(
        ["bash", str(project / "scripts" / "demo.sh")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    installing = next(i for i, line in enumerate(lines) if line.startswith("installing letgo"))
    assert "a minute or more" in lines[installing]
    assert lines[installing + 1].startswith("ran python -m pip install --quiet -e")
    assert lines[installing + 1].endswith(".[neural,align]")  # Piper, checked by pocketsphinx
    assert lines.index("updating pip...") < installing
    assert any(line.startswith("rendering letting-go") for line in lines)


def test_the_starter_plan_suggests_a_voice_that_is_installed(runner, tmp_path):
    plan = tmp_path / "course.toml"
    assert runner.invoke(main, ["series", "new", str(plan)]).exit_code == 0
    suggested = re.search(r'^# voice = "([^"]+)"', plan.read_text(), re.M).group(1)
    listed = runner.invoke(main, ["voices", "--engine", DEFAULT_ENGINE]).output
    pattern = rf"^{DEFAULT_ENGINE} +{re.escape(suggested)} +\S+ +installed"
    assert re.search(pattern, listed, re.M), listed


@pytest.mark.e2e
def test_minutes_on_a_build_is_each_sessions_nearest_length_a_quick_draft(runner, tmp_path):
    plan = Path(__file__).parent / "series_data" / "course.toml"
    short = runner.invoke(
        main,
        [
            "series",
            "build",
            str(plan),
            "-o",
            str(tmp_path / "short"),
            "--minutes",
            "0.2",
            "--json",
            "--jobs",
            "2",
        ],
    )
    assert short.exit_code == 0, short.output
    lengths = [s["duration"] for s in json.loads(short.stdout)["sessions"]]
    assert all(12 < length < 60 for length in lengths), lengths  # each at its shortest
    shown = runner.invoke(main, ["show", str(plan.parent / "tiny.j2"), "--engine", "fake"])
    shortest = re.search(r"shortest (\d+) min (\d+) s", shown.output)
    assert lengths[0] == pytest.approx(int(shortest[1]) * 60 + int(shortest[2]), abs=6)
    long = runner.invoke(
        main,
        [
            "series",
            "build",
            str(plan),
            "-o",
            str(tmp_path / "long"),
            "--minutes",
            "100",
            "--json",
            "--jobs",
            "2",
            "--background",
            "none",
        ],
    )
    assert long.exit_code == 0, long.output
    assert [s["duration"] for s in json.loads(long.stdout)["sessions"]] == [300, 300, 300]
