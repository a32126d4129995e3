"""The command line: help, examples, clear one-line errors and exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from letgo import __version__
from letgo.cli import main

README = Path(__file__).parents[1] / "README.md"


def commands(group=main, prefix=""):
    """Every command name, with group prefixes ('series build')."""
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if hasattr(command, "commands"):
            yield from commands(command, full + " ")
        else:
            yield full


def test_version(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


@pytest.mark.parametrize("name", list(commands()))
def test_every_command_has_help_with_an_example(runner, name):
    result = runner.invoke(main, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert re.search(r"Examples?:\s+letgo ", result.output), result.output


@pytest.mark.parametrize("name", list(commands()))
def test_the_readme_shows_every_command(name):
    assert f"letgo {name}" in README.read_text()


def test_render_with_the_fake_engine(runner, short_template, tmp_path):
    out = tmp_path / "out.mp3"
    result = runner.invoke(
        main,
        [
            "render",
            str(short_template),
            "--engine",
            "fake",
            "-m",
            "0.6",
            "-v",
            "name=Sam",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.exists() and f"Wrote {out}" in result.output


def test_render_defaults_to_audio_out(runner, short_template, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["render", str(short_template), "--engine", "fake", "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "audio_out" / "short.mp3").exists()
    assert result.output == ""


def test_script_shows_sections_times_pauses_and_total(runner, short_template):
    result = runner.invoke(main, ["script", str(short_template), "--engine", "fake", "-m", "1"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "## Start  [0:00.0]" in out and "## End" in out
    assert "0:04.0  [bell]" in out
    assert "[pause 3.0 s]" in out and "[flexible pause" in out
    assert "Total: 1:00.0 (60.0 s)" in out


def test_list_shows_the_built_in_templates(runner):
    result = runner.invoke(main, ["list"])
    assert result.exit_code == 0
    assert "letting-go" in result.output and "(built-in)" in result.output
    # the lengths line up however long a name is ("before-a-hard-conversation": 26 letters)
    meditations = result.output.split("\n\n")[0].splitlines()[1:]
    assert len({line.index(" min ") for line in meditations}) == 1, meditations


def broken_template(tmp_path: Path) -> str:
    path = tmp_path / "broken.j2"
    path.write_text("{#\ntitle = 'x'\n#}\nFine line.\n{% for x in %}\n")
    return str(path)


def undefined_template(tmp_path: Path) -> str:
    path = tmp_path / "undefined.j2"
    path.write_text('{#\ntitle = "Undefined"\n#}\nHello.\nHello {{ nobody }}.\n')
    return str(path)


@pytest.mark.parametrize(
    "args, code, message",
    [
        (
            ["render", "leting-go"],
            2,
            "no template or file named 'leting-go'; did you mean letting-go?",
        ),
        (
            ["render", "letting-go", "-v", "nmae=Sam"],
            2,
            "has no variable 'nmae'; did you mean 'name'?",
        ),
        (["render", "letting-go", "-v", "Sam"], 2, "'Sam' is not NAME=VALUE"),
        (["render", "letting-go", "-m", "0"], 2, "--minutes 0.0: must be more than 0"),
        (["render", "letting-go", "-m", "-5"], 2, "--minutes -5.0: must be more than 0"),
        (["render", "letting-go", "-m", "100000"], 2, "and at most 720"),
        (["render", "letting-go", "-m", "90"], 2, "runs at most 40 minutes"),
        (["render", "letting-go", "-m", "1"], 2, "the script needs at least"),
        (["render", "letting-go", "--background", "nowhere.flac"], 2, "nowhere.flac"),
        (
            ["render", "letting-go", "-o", "/proc/letgo/x.mp3"],
            2,
            "cannot create folder /proc/letgo",
        ),
        (["render", "letting-go", "-o", "/"], 2, "is a folder"),
        (["render", "letting-go", "--engine", "nope"], 2, "Invalid value for '--engine'"),
    ],
)
def test_user_mistakes_are_one_clear_line(runner, args, code, message, tmp_path):
    result = runner.invoke(main, [*args, "--engine", "fake"] if "--engine" not in args else args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    if not message.startswith("Invalid"):  # click's own usage errors have their own layout
        errors = [line for line in result.output.splitlines() if "error" in line]
        assert errors == [line for line in errors if line.startswith("letgo: error: ")]
        assert len(errors) == 1


@pytest.mark.parametrize(
    "make, location", [(broken_template, ":5: "), (undefined_template, ":5: ")]
)
def test_template_errors_name_file_and_line(runner, tmp_path, make, location):
    path = make(tmp_path)
    result = runner.invoke(
        main, ["render", path, "--engine", "fake", "-o", str(tmp_path / "o.mp3")]
    )
    assert result.exit_code == 2
    assert f"{path}{location}" in result.output
    assert not (tmp_path / "o.mp3").exists()


def test_an_existing_file_survives_a_failed_render(runner, tmp_path):
    out = tmp_path / "keep.mp3"
    out.write_bytes(b"earlier")
    result = runner.invoke(
        main, ["render", "letting-go", "--engine", "fake", "-m", "1", "-o", str(out)]
    )
    assert result.exit_code == 2
    assert out.read_bytes() == b"earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.mp3"]


@pytest.mark.parametrize(
    "seconds, shown", [(0, "0:00.0"), (719.97, "12:00.0"), (61.25, "1:01.2"), (3600, "60:00.0")]
)
def test_clock_rounds_before_splitting_minutes(seconds, shown):
    from letgo.timefmt import clock

    assert clock(seconds) == shown
