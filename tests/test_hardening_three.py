"""Fault injection, round three (issue 22): numbers that are not numbers, runaway rules and
sentences, byte order marks, misleading errors, files from elsewhere, folders left behind,
full disks, the server under load, and what SIGKILL leaves.

Each test provokes its fault for real, with the fake engine; servers run over real sockets on
127.0.0.1 and every wait is bounded, so a regression fails instead of hanging.
"""

from __future__ import annotations

import decimal
import fractions
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import letgo
from letgo.cli import main
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
    plan.write_text(f'[series]\ntitle = "T"\n[[sessions]]\ntemplate = "{SHORT}"\n')
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
