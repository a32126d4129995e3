"""One settings vocabulary: every setting in every layer, the layers' order, where errors point,
and one freshness key for render and series; through the CLI."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from mutagen.mp3 import MP3

import measure
from letgo import freshness, session
from letgo.cli import flag, main
from letgo.errors import SettingError
from letgo.file import tags
from letgo.series import plan as series_plan
from letgo.settings import config, request

DATA = Path(__file__).parent / "series_data"
#: A value other than the default for each kind of setting, for the every-layer test.
SAMPLE = {
    int: lambda s: int(s.low + 1 if s.low is not None else 7),
    float: lambda s: (
        float((s.low or 0) + (0.5 if s.high is None or s.high > 1 else 0.1))
        if s.low is not None
        else 2.5
    ),
    str: lambda s: (
        (s.choices[1] if s.choices[1] != s.default else s.choices[0])
        if s.choices
        else s.form[2]
        if s.form
        else "x-sample"
    ),
    bool: lambda s: not s.default,
    request.Paths: lambda s: ("sample.toml",),
}


def run(*args: str, **kwargs):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, **kwargs)


def options_of(command: str) -> set[str]:
    """The long options `letgo COMMAND --help` lists."""
    text = run(command.split()[0], *command.split()[1:], "--help").output
    return set(re.findall(r"^\s+(?:-\w, )?(--[\w-]+)", text, re.M))


def sample_value(setting: request.Setting):
    value = SAMPLE[setting.kind](setting)
    if value == setting.default and setting.kind is float:  # the usual sample is the default
        value /= 2
    assert value != setting.default and setting.check(value) == value
    return value


def toml(value) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value)


@pytest.fixture
def course(tmp_path, monkeypatch) -> Path:
    shutil.copytree(DATA, tmp_path / "plan")
    monkeypatch.setenv("LETGO_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "config").mkdir()
    return tmp_path / "plan" / "course.toml"


# --- every setting, everywhere ----------------------------------------------------------------


def test_the_options_are_the_declared_settings():
    """render, series build and the declaration agree; a new setting is an option at once."""
    flags = {flag(s.name) for s in request.SETTINGS}
    assert flags <= options_of("render")
    assert flags <= options_of("series build")
    assert {flag(s.name) for s in request.SETTINGS if s.table in ("voice", "pacing")} <= options_of(
        "script"
    ) & options_of("show")
    others = {"--var", "--templates", "--no-cache", "--output", "--force", "--quiet", "--help"}
    assert options_of("render") - flags == others, "a render option that is not a setting"


@pytest.mark.parametrize("setting", request.SETTINGS, ids=lambda s: s.name)
def test_every_setting_can_be_set_in_every_layer(setting, course, tmp_path):
    """config.toml, a plan's [defaults], a session and a listener row each set `setting`."""
    value = sample_value(setting)
    base = course.parent
    expected = value
    if setting.kind is request.Paths:  # relative to the file that names them
        expected = tuple(str(base / p) for p in value)
    # the plan's own engine, and its own value of this setting, are left out
    text = re.sub(rf"^(engine|{setting.name}) = .*\n", "", course.read_text(), flags=re.M)
    course.write_text(text)
    # config.toml alone
    (tmp_path / "config" / "config.toml").write_text(
        f"[{setting.table}]\n{setting.name} = {toml(value)}\n"
    )
    config_expected = (
        value
        if setting.kind is not request.Paths
        else tuple(str(tmp_path / "config" / p) for p in value)
    )
    assert _settings(course)[setting.name] == config_expected
    (tmp_path / "config" / "config.toml").unlink()
    # plan [defaults]
    course.write_text(
        text.replace("[defaults]\n", f"[defaults]\n{setting.name} = {toml(value)}\n", 1)
    )
    assert _settings(course)[setting.name] == expected
    # one session
    course.write_text(
        text.replace(
            'title = "Day 1: Arriving"\n',
            f'title = "Day 1: Arriving"\n{setting.name} = {toml(value)}\n',
            1,
        )
    )
    assert _settings(course)[setting.name] == expected
    # a listener row: the CSV holds text
    course.write_text(text)
    cell = value[0] if isinstance(value, tuple) else value
    (base / "people.csv").write_text(f"name,{setting.name}\nSam,{cell}\n")
    loaded = series_plan.load(course, listeners=base / "people.csv")
    assert {e.request.settings()[setting.name] for e in loaded.episodes} == {expected}


def _settings(course: Path) -> dict:
    loaded = series_plan.load(course)
    return loaded.episodes[0].request.settings()


# --- the layers' order, through the CLI -------------------------------------------------------

#: A voice, a pacing, two mix and an export setting: each set in every layer up to one higher.
STAIRS = [
    ("rate", "voice", 130, 140, 150, 160, 170),
    ("sentence_gap", "pacing", 1.0, 1.5, 2.0, 2.5, 3.0),
    ("duck_db", "sound", 3.0, 4.0, 5.0, 7.0, 8.0),
    ("bitrate", "file", "96k", "112k", "160k", "192k", "256k"),
    ("loudness", "sound", -18.0, -19.0, -20.0, -21.0, -23.0),
]
LAYERS = ["config", "defaults", "session", "row", "flag"]


@pytest.mark.e2e
def test_each_layer_overrides_the_one_below(course, tmp_path):
    base = course.parent
    (tmp_path / "config" / "config.toml").write_text(
        "\n".join(f"{table}.{name} = {toml(values[0])}" for name, table, *values in STAIRS) + "\n"
    )
    defaults = "".join(f"{name} = {toml(v[1])}\n" for name, _, *v in STAIRS[1:])
    own = "".join(f"{name} = {toml(v[2])}\n" for name, _, *v in STAIRS[2:])
    text = course.read_text().replace("[defaults]\n", f"[defaults]\n{defaults}", 1)
    text = text.replace('title = "Day 1: Arriving"\n', f'title = "Day 1: Arriving"\n{own}', 1)
    course.write_text(text)
    (base / "people.csv").write_text(
        "name," + ",".join(name for name, *_ in STAIRS[3:]) + "\n"
        "Sam," + ",".join(str(v[3]) for _, _, *v in STAIRS[3:]) + "\n"
    )
    out = tmp_path / "out"
    result = run(
        "series",
        "build",
        str(course),
        "-o",
        str(out),
        "--listeners",
        str(base / "people.csv"),
        "--lufs",
        str(STAIRS[4][-1]),
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    first = next((out / "sam").glob("01-*.mp3"))
    inputs = json.loads(tags.read_extra(first)[tags.INPUTS_KEY])
    for n, (name, _, *values) in enumerate(STAIRS):
        assert inputs[name] == values[n], f"{name} should come from the {LAYERS[n]} layer"
    assert inputs["beat"] == request.BY_NAME["beat"].default  # set nowhere: the built-in
    assert measure.loudness(first).integrated_lufs == pytest.approx(-23.0, abs=1.0)
    # a session that sets none of them takes [defaults] and the row over config.toml
    second = json.loads(tags.read_extra(next((out / "sam").glob("02-*.mp3")))[tags.INPUTS_KEY])
    assert [second[name] for name, *_ in STAIRS] == [130, 1.5, 4.0, "192k", -23.0]


def test_render_takes_config_toml_under_its_flags(course, tmp_path, short_template):
    (tmp_path / "config" / "config.toml").write_text(
        '[voice]\nengine = "fake"\n[sound]\nbackground = "none"\nduck_db = 3\n'
        '[file]\nbitrate = "96k"\n[pacing]\nsentence_gap = 2.0\n'
    )
    out = tmp_path / "s.mp3"
    assert run("render", str(short_template), "-o", str(out), "--duck-db", "9").exit_code == 0
    inputs = json.loads(tags.read_extra(out)[tags.INPUTS_KEY])
    assert (
        inputs["engine"],
        inputs["background"],
        inputs["duck_db"],
        inputs["bitrate"],
        inputs["sentence_gap"],
    ) == ("fake", "none", 9.0, "96k", 2.0)
    assert MP3(out).info.bitrate == 96_000


def test_a_higher_layers_engine_drops_the_voice_and_pitch_below_it(course, tmp_path):
    (tmp_path / "config" / "config.toml").write_text(
        '[voice]\nengine = "pyttsx3"\nvoice = "gmw/en-us"\npitch = 40\n'
    )
    settings = _settings(course)  # the plan's [defaults] says engine = "fake"
    assert (settings["engine"], settings["voice"], settings["pitch"]) == ("fake", None, None)


# --- errors name their layer and place ---------------------------------------------------------


def one_line(result) -> str:
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert line.startswith("letgo: error: ") and "\n" not in line, line
    return line


def test_errors_name_their_layer_and_place(course, tmp_path):
    base = course.parent
    text = course.read_text()
    conf = tmp_path / "config" / "config.toml"
    conf.write_text("[pacing]\nsentence_gap = -1\n")
    assert f"{conf}: [pacing] sentence_gap = -1: must be from 0 to 30" in one_line(
        run("series", "build", str(course), "-o", str(tmp_path / "o"))
    )
    conf.unlink()
    course.write_text(text.replace('background = "pink"', 'background = "pink"\nminutes = 0'))
    assert (
        f"{course}: session 3 ('Day 3: Returning'): minutes = 0: must be more than 0"
        in one_line(run("series", "build", str(course), "-o", str(tmp_path / "o")))
    )
    course.write_text(text)
    (base / "people.csv").write_text("name,rate\nSam,130\nAlex,fast\n")
    assert f"{base / 'people.csv'} row 3, column rate = 'fast': must be a whole number" in one_line(
        run(
            "series",
            "build",
            str(course),
            "-o",
            str(tmp_path / "o"),
            "--listeners",
            str(base / "people.csv"),
        )
    )
    assert "--rate 5000: must be from 60 to 400" in one_line(
        run("series", "build", str(course), "-o", str(tmp_path / "o"), "--rate", "5000")
    )


def test_a_library_error_names_the_layer_its_value_came_from(course, tmp_path, short_template):
    (tmp_path / "config" / "config.toml").write_text('[sound]\nbackground = "nowhere.flac"\n')
    line = one_line(
        run("render", str(short_template), "--engine", "fake", "-o", str(tmp_path / "s.mp3"))
    )
    assert (
        f"{tmp_path / 'config' / 'config.toml'}: [sound] background = 'nowhere.flac': no such"
        in line
    )
    line = one_line(
        run(
            "render",
            str(short_template),
            "--engine",
            "fake",
            "--background",
            "elsewhere.flac",
            "-o",
            str(tmp_path / "s.mp3"),
        )
    )
    assert "--background elsewhere.flac: no such file" in line


def test_the_python_api_checks_keywords_by_setting_name(course):
    with pytest.raises(SettingError, match=r"^rate=5000: must be from 60 to 400$"):
        request.make("letting-go", {"rate": 5000})
    with pytest.raises(SettingError, match=r"did you mean 'rate'"):
        request.make("letting-go", {"rat": 130})
    made = request.make("letting-go", {"rate": 130, "loudness": -19, "format": "ogg"})
    assert (made.voice.rate, made.mix.loudness, made.export.format) == (130, -19.0, "ogg")


def test_config_toml_holds_only_known_tables(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[cache]\nmax_mb = 300\n[voice]\nrate = 140\n")
    assert config.cache_max_mb(path) == 300
    assert config.settings_layer(path).values == {"rate": 140}


# --- one freshness key ------------------------------------------------------------------------


def mtimes(folder: Path) -> dict[str, int]:
    return {
        p.name: p.stat().st_mtime_ns
        for p in folder.iterdir()
        if p.suffix in (".mp3", ".vtt", ".srt")
    }


def build(course: Path, out: Path) -> dict:
    result = run("series", "build", str(course), "-o", str(out), "--json", "--jobs", "2")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.e2e
def test_a_series_rebuilds_what_a_pronunciation_or_config_change_alters(course, tmp_path):
    out = tmp_path / "out"
    assert build(course, out)["built"] == 3
    before = mtimes(out)
    # a rule that changes one word of one session ("Let Alex go" is said in session 2 only)
    (tmp_path / "config" / "pronunciations.toml").write_text('[plain]\n"Alex" = "Alexander"\n')
    summary = build(course, out)
    assert [s["status"] for s in summary["sessions"]] == ["skipped", "built", "skipped"]
    after = mtimes(out)
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {f"02-day-2-releasing{ext}" for ext in (".mp3", ".vtt", ".srt")}
    # a config.toml change that alters the audio of every session
    (tmp_path / "config" / "config.toml").write_text("[pacing]\nsentence_gap = 2.5\n")
    assert build(course, out)["built"] == 3
    # nothing changed: nothing is rewritten
    settled = {
        p: p.stat().st_mtime_ns
        for p in out.rglob("*")
        if p.is_file() and p.name != ".letgo-series.lock"
    }
    assert build(course, out)["skipped"] == 3
    assert {p: p.stat().st_mtime_ns for p in settled} == settled


def test_render_is_up_to_date_until_a_pronunciation_changes_a_word(tmp_path, short_template):
    rules = tmp_path / "words.toml"
    rules.write_text("[plain]\n")
    args = [
        "render",
        str(short_template),
        "--engine",
        "fake",
        "--background",
        "none",
        "--pronunciations",
        str(rules),
        "-o",
        str(tmp_path / "s.mp3"),
    ]
    assert "Wrote" in run(*args).output
    assert "is up to date" in run(*args).output
    rules.write_text('[plain]\n"Rest" = "Rest now"\n')
    assert "Wrote" in run(*args).output


# --- show agrees with script --------------------------------------------------------------------


def shortest(output: str) -> float:
    found = re.search(r"shortest (\d+) min (\d+) s", output)
    return int(found.group(1)) * 60 + int(found.group(2))


@pytest.mark.parametrize(
    "words", [None, "[regex]\n'^' = 'Now, slowly: '\n"], ids=["as written", "with pronunciations"]
)
def test_show_gives_the_shortest_length_script_finds(words, tmp_path):
    extra = ["--engine", "fake"]
    if words:
        (tmp_path / "words.toml").write_text(words)
        extra += ["--pronunciations", str(tmp_path / "words.toml")]
    shown = run("show", "small-steps", *extra)
    assert shown.exit_code == 0, shown.output
    seconds = shortest(shown.output)
    # show rounds to the second: 2 s below fails, 2 s above fits
    too_short = run("script", "small-steps", "-m", f"{(seconds - 2) / 60:.5f}", *extra)
    assert too_short.exit_code == 2 and "needs at least" in too_short.output
    fits = run("script", "small-steps", "-m", f"{(seconds + 2) / 60:.5f}", *extra)
    assert fits.exit_code == 0, fits.output
    if words:
        plain = shortest(run("show", "small-steps", "--engine", "fake").output)
        assert seconds > plain  # the longer words are counted (one "shoulders" adds 1.75 s)


def test_the_readme_lists_every_setting_under_its_table():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `\[(\w+)\]` \| (.+) \|$", readme, re.M))
    for setting in request.SETTINGS:
        assert f"`{setting.name}`" in rows.get(setting.table, ""), (
            f"README's settings table has no `{setting.name}` under [{setting.table}]"
        )


@pytest.mark.e2e
def test_a_series_in_another_format(course, tmp_path):
    course.write_text(course.read_text().replace("[defaults]\n", '[defaults]\nformat = "ogg"\n'))
    out = tmp_path / "out"
    assert build(course, out)["built"] == 3
    files = sorted(p.name for p in out.glob("01-*"))
    assert files == [
        "01-day-1-arriving.chapters.json",
        "01-day-1-arriving.ogg",
        "01-day-1-arriving.srt",
        "01-day-1-arriving.vtt",
    ]
    assert measure.stream_info(out / "01-day-1-arriving.ogg").codec == "opus"
    assert 'type="audio/ogg"' in (out / "feed.xml").read_text()
    assert build(course, out)["skipped"] == 3


@pytest.mark.parametrize("setting", request.SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_in_the_freshness_key(setting, tmp_path, monkeypatch, short_template):
    """A new setting changes the key that render's up-to-date check and a series compare."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sample.toml").write_text('[plain]\n"Rest" = "Rest now"\n')
    value = sample_value(setting)
    plain = request.make(str(short_template), {"engine": "fake"})
    changed = request.make(str(short_template), {"engine": "fake", setting.name: value})
    keys = [
        freshness.freshness_key(r, freshness.words_hash(session.compose(r)))
        for r in (plain, changed)
    ]
    assert keys[0] != keys[1]


def test_a_format_that_contradicts_the_file_name_is_named_as_its_flag(tmp_path, short_template):
    line = one_line(
        run(
            "render",
            str(short_template),
            "--engine",
            "fake",
            "--format",
            "ogg",
            "-o",
            str(tmp_path / "s.mp3"),
        )
    )
    assert "--format ogg: does not match the file name s.mp3" in line
    assert not (tmp_path / "s.mp3").exists()
