"""Choosing engines and voices, pacing options and the config file, through the CLI."""

from __future__ import annotations

import re

import pytest

from conftest import needs_piper
from letgo.cli import main
from letgo.settings.groups import PlanSettings
from letgo.voice.engines import piper

TEMPLATE = '{#\ntitle = "Gaps"\n#}\nOne. Two. Three.\n'


@pytest.fixture
def template(tmp_path):
    path = tmp_path / "gaps.j2"
    path.write_text(TEMPLATE)
    return path


def total(output: str) -> float:
    line = output.strip().splitlines()[-1]  # "Total: 0:21.5 (21.5 s)"
    return float(line.split("(")[1].split(" s)")[0])


def one_line_error(result, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("letgo: error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


@needs_piper
def test_voices_lists_every_engine_with_language_and_state(runner):
    result = runner.invoke(main, ["voices"])
    assert result.exit_code == 0, result.output
    table = result.output.split("\n\n")[0]  # then a line on the voices to download
    header, *rows = [re.split(r"\s{2,}", line.strip()) for line in table.splitlines()]
    assert header == ["ENGINE", "VOICE", "LANGUAGE", "STATE", "LICENCE", "NAME"]
    assert {row[0] for row in rows} == {"pyttsx3", "piper"}
    joe = next(row for row in rows if row[:2] == ["piper", "joe"])
    assert joe[2:4] == ["en_US", "installed"] and joe[-1].endswith("(default)")
    assert joe[4] == "CC0 recordings, fine-tuned from lessac: research only"
    assert all(row[4] != "-" for row in rows)  # every voice says its licence
    assert "letgo voices --available" in result.output
    assert any(row[0] == "pyttsx3" and row[3] == "installed" for row in rows)
    for engine in ("pyttsx3", "piper"):  # each engine marks the one voice it speaks by default
        assert sum(row[0] == engine and row[-1].endswith("(default)") for row in rows) == 1


def test_voices_by_language(runner):
    result = runner.invoke(main, ["voices", "--engine", "pyttsx3", "--language", "EN_us"])
    assert result.exit_code == 0, result.output
    languages = [line.split()[2] for line in result.output.splitlines()[1:]]
    assert "en-us" in languages and all(code.startswith("en-us") for code in languages)
    none = runner.invoke(main, ["voices", "--language", "xx"])
    assert none.exit_code == 0 and "No voice for language 'xx'" in none.output


@pytest.mark.parametrize(
    "language, wanted, yes",
    [
        ("en-gb", "en", True),
        ("en_US", "en-us", True),
        ("en", "en", True),
        ("eng", "en", False),
        ("fr, en-gb", "en", True),
        ("en", "en-gb", False),
        ("", "en", False),
    ],
)
def test_a_language_code_matches_its_varieties(language, wanted, yes):
    from letgo.voice.engines import VoiceInfo, speaks

    assert speaks(VoiceInfo("x", "v", "V", language), wanted) is yes


def test_piper_without_the_extra_says_how_to_install_it(runner, monkeypatch, template):
    monkeypatch.setattr(piper, "_piper_installed", lambda: False)
    listed = runner.invoke(main, ["voices", "--engine", "piper"])
    assert listed.exit_code == 0
    assert "missing" in listed.output and "pip install 'letgo[neural]'" in listed.output
    error = one_line_error(runner.invoke(main, ["script", str(template), "--engine", "piper"]), 2)
    assert "pip install 'letgo[neural]'" in error


@needs_piper
def test_an_unknown_piper_voice_is_a_clear_error(runner, template):
    error = one_line_error(
        runner.invoke(main, ["script", str(template), "--engine", "piper", "--voice", "nobody"]), 2
    )
    assert "--voice nobody: there is no such Piper voice" in error and ".onnx" in error


@needs_piper
def test_a_piper_voice_in_the_voices_folder_is_listed_and_found(runner, tmp_path):
    folder = piper.voices_dir()
    folder.mkdir(parents=True)
    joe = piper.resolve_voice("joe")
    (folder / "calm.onnx").symlink_to(joe.model)
    (folder / "calm.onnx.json").symlink_to(joe.config)
    (folder / "broken.onnx").symlink_to(joe.model)
    result = runner.invoke(main, ["voices", "--engine", "piper"])
    assert result.exit_code == 0
    calm = next(line for line in result.output.splitlines() if " calm " in line)
    assert "en_US" in calm and "installed" in calm
    broken = next(line for line in result.output.splitlines() if " broken " in line)
    assert "missing" in broken and "broken.onnx.json is missing" in broken
    assert piper.resolve_voice("calm").model == folder / "calm.onnx"
    assert piper.resolve_voice(str(folder / "calm.onnx")).name == "calm"
    with pytest.raises(Exception, match="has no config"):
        piper.resolve_voice(str(folder / "broken.onnx"))


@needs_piper
def test_pitch_is_for_pyttsx3_only(runner, template):
    error = one_line_error(
        runner.invoke(main, ["script", str(template), "--engine", "piper", "--pitch", "40"]), 2
    )
    assert "--pitch 40: works with pyttsx3 only" in error


#: Slower gaps than the defaults: the template has two sentence gaps and one paragraph gap.
SLOW = {
    "sentence_gap": PlanSettings.sentence_gap + 1.0,
    "paragraph_gap": PlanSettings.paragraph_gap + 1.5,
}
ADDED = 2 * 1.0 + 1.5


def test_gap_options_reach_the_timeline(runner, template):
    plain = runner.invoke(main, ["script", str(template), "--engine", "fake"])
    slow = runner.invoke(
        main,
        [
            "script",
            str(template),
            "--engine",
            "fake",
            "--sentence-gap",
            str(SLOW["sentence_gap"]),
            "--paragraph-gap",
            str(SLOW["paragraph_gap"]),
        ],
    )
    assert plain.exit_code == 0 and slow.exit_code == 0, slow.output
    assert total(slow.output) - total(plain.output) == pytest.approx(ADDED, abs=0.11)


def test_the_config_file_sets_defaults_and_flags_win(runner, template, tmp_path, monkeypatch):
    monkeypatch.setenv("LETGO_CONFIG_DIR", str(tmp_path / "conf"))
    plain = total(runner.invoke(main, ["script", str(template), "--engine", "fake"]).output)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.toml").write_text(
        '[voice]\nengine = "fake"\n[pacing]\n'
        + "".join(f"{name} = {value}\n" for name, value in SLOW.items())
    )
    configured = runner.invoke(main, ["script", str(template)])
    assert configured.exit_code == 0, configured.output
    assert total(configured.output) - plain == pytest.approx(ADDED, abs=0.11)
    flagged = runner.invoke(
        main,
        [
            "script",
            str(template),
            "--sentence-gap",
            str(PlanSettings.sentence_gap),
            "--paragraph-gap",
            str(PlanSettings.paragraph_gap),
        ],
    )
    assert total(flagged.output) == pytest.approx(plain, abs=0.11)


@pytest.mark.parametrize(
    "content, message",
    [
        ("[voice]\nspeed = 3\n", "unknown setting 'speed' in [voice]"),
        (
            "[voice]\nsentence_gap = 3\n",
            "unknown setting 'sentence_gap' in [voice]; it belongs in [pacing]",
        ),
        ("[noise]\n", "unknown table [noise]"),
        ("[pacing]\nsentence_gap = 'long'\n", "[pacing] sentence_gap = 'long': must be a number"),
        ("[voice]\nengine = 'loud'\n", "[voice] engine = 'loud': must be one of: pyttsx3, piper"),
        ("[voice]\nrate = 5000\n", "[voice] rate = 5000: must be from 60 to 400"),
        ("[sound]\nduck_db = -1\n", "[sound] duck_db = -1: must be from 0 to 40"),
        ("[file]\nformat = 'mp4'\n", "[file] format = 'mp4': must be one of: mp3, wav"),
    ],
)
def test_a_bad_config_file_is_one_clear_line(
    runner, template, tmp_path, monkeypatch, content, message
):
    monkeypatch.setenv("LETGO_CONFIG_DIR", str(tmp_path))
    (tmp_path / "config.toml").write_text(content)
    error = one_line_error(runner.invoke(main, ["script", str(template)]), 2)
    assert message in error and "config.toml" in error


def test_the_config_files_voice_goes_with_its_engine(runner, template, tmp_path, monkeypatch):
    monkeypatch.setenv("LETGO_CONFIG_DIR", str(tmp_path))
    (tmp_path / "config.toml").write_text('[voice]\nengine = "piper"\nvoice = "nobody"\n')
    error = one_line_error(runner.invoke(main, ["script", str(template)]), 2)
    assert "config.toml: [voice] voice = 'nobody': there is no such Piper voice" in error
    other = runner.invoke(main, ["script", str(template), "--engine", "fake"])
    assert other.exit_code == 0, other.output


def test_an_unknown_pyttsx3_voice_is_a_clear_error(runner, template):
    error = one_line_error(
        runner.invoke(main, ["script", str(template), "--engine", "pyttsx3", "--voice", "nobody"]),
        2,
    )
    assert "--voice nobody: there is no such pyttsx3 voice" in error and "letgo voices" in error


@pytest.mark.e2e
def test_pyttsx3_pitch_and_rate_change_the_voice(runner, template):
    def seconds(*flags):
        result = runner.invoke(main, ["script", str(template), "--engine", "pyttsx3", *flags])
        assert result.exit_code == 0, result.output
        return total(result.output)

    assert seconds("--rate", "90") > seconds("--rate", "200", "--pitch", "30") + 1.0


@needs_piper
def test_a_damaged_piper_voice_is_a_clear_error(runner, template, tmp_path):
    model = tmp_path / "bad.onnx"
    model.write_bytes(b"not a model")
    (tmp_path / "bad.onnx.json").write_bytes(piper.resolve_voice("joe").config.read_bytes())
    error = one_line_error(
        runner.invoke(
            main,
            ["script", str(template), "--engine", "piper", "--voice", str(model), "--no-cache"],
        ),
        2,
    )
    assert f"cannot load the Piper voice {model}" in error


@needs_piper
@pytest.mark.parametrize(
    "config, reason",
    [("not json", "Expecting value"), ('{"audio": {"sample_rate": 22050}}', "no 'num_symbols'")],
)
def test_a_wrong_piper_voice_config_is_named(runner, template, tmp_path, config, reason):
    model = tmp_path / "odd.onnx"
    model.symlink_to(piper.resolve_voice("joe").model)
    (tmp_path / "odd.onnx.json").write_text(config)
    error = one_line_error(
        runner.invoke(
            main,
            ["script", str(template), "--engine", "piper", "--voice", str(model), "--no-cache"],
        ),
        2,
    )
    assert f"{model}.json is not a Piper voice config ({reason}" in error
