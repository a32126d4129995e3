"""The built-in library: what `letgo list` shows, lengths fitted to the minute, variables."""

from __future__ import annotations

import re
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letgo import session
from letgo.cli import main
from letgo.errors import FitError
from letgo.overview import overview
from letgo.sound import timeline as plan
from letgo.voice.engines.fake import FakeEngine
from letgo.words import script, templates

BUILTIN = sorted(p.name[:-3] for p in templates.builtin_dir().glob("*.j2"))
SERIES = templates.builtin_dir() / "series" / "seven-days-of-release.toml"


def prepare(template, minutes=None, **variables):
    request = session.Request(template, variables=variables, minutes=minutes, engine="fake")
    return session.prepare(request, engine=FakeEngine())


def shortest_minutes(name) -> float:
    """The shortest length with the fake engine: the text may grow with `minutes`, so it is
    found by rendering at candidate lengths (what `letgo show` and the error message do)."""
    request = session.Request(name, engine="fake", cache=False)
    return overview(request, engine=FakeEngine()).shortest / 60


def test_the_library_has_at_least_eight_meditations_a_sleep_and_a_check_in():
    infos = [templates.TemplateLibrary().find(name) for name in BUILTIN]
    assert len(infos) >= 8
    assert any(info.sleep and info.max_minutes >= 480 for info in infos)
    assert any(info.minutes <= 5 for info in infos)
    for info in infos:
        assert info.title and info.description and info.minutes and info.max_minutes
        assert info.minutes <= info.max_minutes
        assert all(v.help for v in info.variables), info.name


def test_list_shows_meditations_and_the_series_with_their_origin(runner):
    result = runner.invoke(main, ["list"])
    assert result.exit_code == 0, result.output
    meditations, _, series = result.output.partition("Series:")
    for name in BUILTIN:
        assert re.search(rf"^\s+{name}\s.*\(built-in\)$", meditations, re.M), name
    assert "seven-days-of-release" in series and "Seven days of release" in series


@pytest.mark.parametrize("name", BUILTIN)
@pytest.mark.parametrize("which", ["shortest", "default", "longest"])
def test_each_template_fits_its_range_to_the_second(name, which):
    info = templates.TemplateLibrary().find(name)
    minutes = {
        "shortest": shortest_minutes(name),
        "default": info.minutes,
        "longest": info.max_minutes,
    }[which]
    prepared = prepare(name, minutes=minutes)
    timeline = prepared.timeline
    assert abs(timeline.duration - minutes * 60) < 1.0
    # the spoken text is intact and in order, whatever the length (a hold's cues aside)
    sentences = prepared.script.sentences
    assert [e.text for e in timeline.speech if e.clip < len(sentences)] == [
        s.text for s in sentences
    ]
    # every flexible pause is min + weight * the one stretch of the whole script
    pauses = [item for item in prepared.script.items if isinstance(item, script.Pause)]
    lengths = pause_lengths(prepared.script, timeline)
    assert len(pauses) == len(lengths)
    for written, length in zip(pauses, lengths, strict=False):
        assert length == pytest.approx(written.length(timeline.stretch), abs=1e-6)
        assert length >= written.min_length - 1e-6


def pause_lengths(parsed: script.Script, timeline: plan.Timeline) -> list[float]:
    """Each written pause's length on the timeline: a hold split past the limit counts its
    silent parts and the cues said between them (a cue starts where the part before it ends)."""
    cues = [e for e in timeline.speech if e.clip >= len(parsed.sentences)]
    silences = list(timeline.silences)
    lengths = []
    for item in parsed.items:
        if not isinstance(item, script.Pause):
            continue
        part = silences.pop(0)
        total, end = part.duration, part.start + part.duration
        while cues and abs(cues[0].start - end) < 1e-6:
            cue, part = cues.pop(0), silences.pop(0)
            total += cue.duration + part.duration
            end = part.start + part.duration
        lengths.append(total)
    assert not silences and not cues
    return lengths


@pytest.mark.parametrize("name", BUILTIN)
def test_below_the_range_is_a_clear_error_naming_the_shortest(name):
    shortest = shortest_minutes(name)
    with pytest.raises(FitError, match=r"needs at least \d+ min \d\d s") as caught:
        prepare(name, minutes=shortest - 0.1)
    suggested = float(re.search(r"ask for (\d+\.\d) minutes", str(caught.value)).group(1))
    assert suggested >= shortest
    prepare(name, minutes=suggested)  # the suggestion works


def test_above_max_minutes_is_a_clear_error(runner):
    result = runner.invoke(
        main, ["script", "daily-check-in", "--engine", "fake", "--minutes", "11"]
    )
    assert result.exit_code == 2
    assert "at most 10 minutes" in result.output and "Traceback" not in result.output


def test_the_sleep_meditation_puts_added_length_into_the_drifting_silence():
    evening = prepare("sleep-release").timeline
    night = prepare("sleep-release", minutes=480).timeline
    assert night.duration == pytest.approx(480 * 60, abs=1.0)
    *spoken_gaps, drift = night.silences
    assert [s.duration for s in spoken_gaps] == pytest.approx(
        [s.duration for s in evening.silences[:-1]], abs=1.0
    )
    assert drift.duration - evening.silences[-1].duration > 0.99 * (
        night.duration - evening.duration
    )
    assert evening.speech[-1].end >= 20 * 60  # it guides for twenty minutes at its default
    assert night.speech[-1].end < 30 * 60  # and is over early; the night is silence
    assert night.chapters[-1].title == "Drifting"


@pytest.mark.parametrize("name", BUILTIN)
def test_text_reads_naturally_with_variables_empty_or_given(name):
    info = templates.TemplateLibrary().find(name)
    given = {"name": "Robin", "person": "Alex", "intention": "walking by the river"}
    filled = {k: v for k, v in given.items() if k in info.variable_names()}
    for values in ({}, filled):
        text = templates.render(info, values)
        spoken = " ".join(s.text for s in script.parse(text).sentences)
        assert not re.search(r"\s[,.;:!?]|,[.,]|\s{2,}|\bNone\b|[{}]|^[a-z]", spoken), spoken
        for sentence in script.parse(text).sentences:
            assert sentence.text[0].isupper() or sentence.text[0].isdigit(), sentence.text
        for key, value in given.items():  # a value may start with a capital when spoken
            assert (value[1:] in spoken) == (key in values), (key, values)


def test_the_series_plan_walks_seven_days_over_existing_templates():
    plan_ = tomllib.loads(SERIES.read_text(encoding="utf-8"))
    assert plan_["series"]["title"] == "Seven days of release"
    assert plan_["series"]["author"] and plan_["series"]["description"]
    sessions = plan_["sessions"]
    assert len(sessions) == 7
    assert sessions[0]["template"] == "meeting-the-pain"
    assert sessions[-1]["template"] == "whole"
    library = templates.TemplateLibrary()
    defaults = plan_["defaults"]
    for number, entry in enumerate(sessions, start=1):
        assert entry["title"].startswith(f"Day {number}: ")
        info = library.find(entry["template"])
        variables = {**defaults.get("variables", {}), **entry.get("variables", {})}
        variables = {k: v for k, v in variables.items() if k in info.variable_names()}
        minutes = entry.get("minutes", defaults["minutes"])
        assert minutes <= info.max_minutes
        prepared = prepare(entry["template"], minutes=minutes, **variables)
        assert prepared.timeline.duration == pytest.approx(minutes * 60, abs=1.0)


@pytest.fixture(scope="module")
def spoken_scripts():
    """Each built-in script with its fake clip lengths, spoken once for the property test."""
    found = {}
    for name in BUILTIN:
        prepared = prepare(name)
        found[name] = (prepared.info, prepared.script, [c.duration for c in prepared.clips])
    return found


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_length_in_range_is_hit_with_silences_in_proportion(spoken_scripts, data):
    name = data.draw(st.sampled_from(BUILTIN))
    info, parsed, seconds = spoken_scripts[name]
    shortest = plan.shortest_seconds(parsed, seconds)
    target = data.draw(st.floats(shortest, info.max_minutes * 60))
    timeline = plan.plan(parsed, seconds, target)
    assert abs(timeline.duration - target) < 1.0
    flexible = [
        (p, s)
        for p, s in zip(
            [i for i in parsed.items if isinstance(i, script.Pause)],
            pause_lengths(parsed, timeline),
            strict=False,
        )
        if p.flexible and p.stretch_weight > 0
    ]
    grown = {round((s - p.min_length) / p.stretch_weight, 6) for p, s in flexible}
    assert len(grown) == 1  # every flexible pause grew by the same multiple of its weight


def test_a_user_series_plan_is_listed_with_its_origin(runner, tmp_path):
    (tmp_path / "series").mkdir()
    (tmp_path / "series" / "my-week.toml").write_text(
        '[series]\ntitle = "My week"\ndescription = "Mine."\n'
        '[[sessions]]\ntemplate = "whole"\ntitle = "One"\n',
        encoding="utf-8",
    )
    result = runner.invoke(main, ["list", "--templates", str(tmp_path)])
    assert re.search(
        rf"my-week\s+1 session\s+My week: Mine\.\s+\(--templates: "
        rf"{re.escape(str(tmp_path))}\)",
        result.output,
    ), result.output
