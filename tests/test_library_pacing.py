"""Every built-in meditation keeps guiding at its longest length and keeps its key pauses at
its shortest (fake voice: exact clip lengths, and quicker than a real voice, so the silences
measured here are if anything longer than a real session's)."""

from __future__ import annotations

import math
import re

import pytest

from letgo import session
from letgo.overview import overview
from letgo.settings.groups import PlanSettings
from letgo.voice.engines.fake import FakeEngine
from letgo.words import pacing, templates
from letgo.words.lint import check
from letgo.words.script import Pause, Speech

BUILTIN = sorted(p.name[:-3] for p in templates.builtin_dir().glob("*.j2"))


def prepare(name: str, minutes: float) -> session.TimedScript:
    request = session.Request(name, minutes=minutes, engine="fake", cache=False)
    return session.prepare(request, engine=FakeEngine())


def shortest_minutes(name: str) -> float:
    """As `letgo show` finds it (the text may grow with minutes)."""
    request = session.Request(name, engine="fake", cache=False)
    return overview(request, engine=FakeEngine()).shortest / 60


@pytest.mark.parametrize("name", BUILTIN)
def test_at_its_longest_length_no_silence_between_spoken_lines_passes_two_minutes(name):
    info = templates.TemplateLibrary().find(name)
    timeline = prepare(name, info.max_minutes).timeline
    gap = pacing.longest_gap(timeline, sleep=info.sleep)  # a sleep session's night aside
    assert gap.seconds <= pacing.MAX_SILENCE, (
        f"{name} at {info.max_minutes:g} min: {gap.seconds:.0f} s without a spoken line "
        f"from {gap.start:.0f} s"
    )


@pytest.mark.parametrize("name", BUILTIN)
def test_at_its_shortest_length_the_key_pauses_keep_their_minimums(name):
    prepared = prepare(name, shortest_minutes(name))
    items = prepared.script.items
    pauses = [(i, item) for i, item in enumerate(items) if isinstance(item, Pause)]
    silences = prepared.timeline.silences
    assert len(silences) == len(pauses)  # no hold is split at the shortest length
    reflective = beats = 0
    for (i, pause), silence in zip(pauses, silences, strict=False):
        assert silence.duration >= pause.min_length - 1e-6
        before = items[i - 1] if i else None
        if isinstance(before, Speech) and before.repeat:  # the beat after a phrase to repeat
            beats += 1
            assert silence.duration >= pacing.REPEAT_BEAT - 1e-6, before.text
        if pause.flexible and pause.seconds >= pacing.REFLECTIVE:  # a reflective pause
            reflective += 1
            assert pause.minimum is not None, f"{name}: line {pause.line} has no min="
            assert silence.duration >= pause.minimum - 1e-6
    assert reflective or beats, f"{name} has no reflective pause to protect"


#: A sentence that asks the listener to reflect, remember or look inward.
PROMPT = re.compile(
    r"^(Think (of|about|back)|Bring .* to mind|Remember|Picture|Recall|Imagine|Let .* come to mind)"
    r"|\?$"
)
#: The least silence after a prompt to reflect, at any length.
REFLECT = 15.0


@pytest.mark.parametrize("name", BUILTIN)
def test_a_prompt_to_reflect_is_followed_by_fifteen_seconds_at_least(name):
    """At the shortest length (every pause at its minimum), a prompt to reflect is given 15 s
    of silence or more: the longest silence after it (its own sentences, and any that go on
    setting the scene, said) before the next prompt, phrase to repeat or section."""
    info = templates.TemplateLibrary().find(name)
    minutes = shortest_minutes(name)
    values = {v.name: "Alex" if v.name == "person" else "" for v in info.variables}
    parsed = prepare_script(name, minutes, values)
    section_of = {id(item): n for n, sec in enumerate(parsed.sections) for item in sec.items}
    items = parsed.items
    for i, item in enumerate(items):
        if not (isinstance(item, Speech) and PROMPT.search(item.text)):
            continue
        longest = run = 0.0
        paused = False  # a prompt said straight after another is the same prompt
        for later in items[i + 1 :]:
            if section_of[id(later)] != section_of[id(item)]:
                break
            if isinstance(later, Pause):
                run += later.min_length
                longest = max(longest, run)
                paused = True
                continue
            run = 0.0
            if later.repeat or (paused and PROMPT.search(later.text)):
                break
        else:
            continue  # the session's last words: the end is silence enough
        assert longest >= REFLECT, (
            f"{name} at {minutes:.1f} min: '{item.text}' is followed by {longest:.1f} s"
        )


def prepare_script(name: str, minutes: float, values: dict[str, str]):
    from letgo.words import script

    info = templates.TemplateLibrary().find(name)
    return script.parse(templates.render(info, values, minutes=minutes))


@pytest.mark.parametrize("name", BUILTIN)
def test_the_lint_passes_every_built_in_template(name):
    found = check(templates.TemplateLibrary().find(name).path)
    assert not found, "\n".join(map(str, found))


#: The five-minute practices and shorter: their default leaves the least room over the real
#: voice's shortest (the rest are checked by the library sweep, scripts/test.sh --library).
SHORT = [name for name in BUILTIN if templates.TemplateLibrary().find(name).minutes <= 5]


@pytest.mark.e2e
@pytest.mark.parametrize("name", SHORT)
def test_a_short_practice_fits_its_default_length_with_the_default_voice(name, tmp_path):
    """The fake voice is quicker than a real one: the shortest practices, whose default
    leaves the least room, are spoken with the default engine (the voice a first render uses)."""
    request = session.Request(name, cache_dir=str(tmp_path))
    info = templates.TemplateLibrary().find(name)
    timeline = session.prepare(request).timeline
    assert timeline.duration == pytest.approx(info.minutes * 60, abs=1.0)


def test_the_sleep_practice_slows_and_softens_as_it_goes():
    spoken = prepare("sleep-release", 30).script.sentences
    third = len(spoken) // 3
    first, last = spoken[:third], spoken[-third:]

    def mean(values):
        return sum(values) / len(values)

    assert mean([s.prosody.rate for s in last]) < mean([s.prosody.rate for s in first]) - 0.1
    assert mean([s.prosody.volume for s in last]) < mean([s.prosody.volume for s in first]) - 4
    # and the engine really says it slower: the fake voice's clips follow the rate exactly
    timeline = prepare("sleep-release", 30).timeline
    pace = [e.duration / len(e.text) for e in timeline.speech]
    assert mean(pace[-third:]) > 1.1 * mean(pace[:third])


#: A cue for a mind that has wandered: it names the wandering and brings the listener back.
WANDERING = re.compile(
    r"\b(wander\w*|drift\w*|carried (you )?off|pulled you away|gone (off|somewhere|looking)"
    r"|lost in a (thought|memory)|mind has|swept away|story (pulls|starts)|run ahead|slipped away"
    r"|mind wandering)\b",
    re.I,
)


@pytest.mark.parametrize("name", BUILTIN)
def test_a_practice_over_twenty_minutes_has_varied_cues_for_a_wandering_mind(name):
    info = templates.TemplateLibrary().find(name)
    if (info.max_minutes or 0) <= 20 or info.sleep:
        return
    said = {e.text for e in prepare(name, info.max_minutes).timeline.speech}
    wandering = {s for s in said if WANDERING.search(s)}
    assert len(wandering) >= 2, (name, sorted(wandering))


@pytest.mark.parametrize("name", BUILTIN)
def test_every_whole_minute_from_the_shortest_to_the_longest_fits_a_real_voice(name):
    """The text grows with `minutes` in steps; at each whole minute a listener may ask for, from
    the shortest to the longest, the text for that length fits it at a real voice's pace
    (`pacing.REAL_WPM`), with 5 % to spare: a step must not come before its text fits."""
    from letgo.sound import timeline as plan
    from letgo.words import script

    info = templates.TemplateLibrary().find(name)

    def at(minutes: float):
        parsed = script.parse(templates.render(info, {}, minutes=minutes))
        return parsed, pacing.paced_clips(parsed)

    first = math.ceil(plan.shortest_fit(at, PlanSettings()) * SPARE / 60)
    last = first + 15 if info.sleep else int(info.max_minutes)
    for minutes in range(first, last + 1):
        need = plan.shortest_seconds(*at(minutes), PlanSettings())
        assert need * SPARE <= minutes * 60, f"{name} at {minutes} min needs {need:.0f} s"


#: A real voice may run a little slower than `pacing.REAL_WPM` on some text.
SPARE = 1.05
