"""The planner: fitting flexible pauses to the minute, and what the timeline promises."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from letgo.errors import FitError
from letgo.settings.groups import PlanSettings
from letgo.sound.timeline import natural_seconds, plan, shortest_fit, shortest_seconds, split_hold
from letgo.words.script import Cue, Pause, Script, Section, Speech

SETTINGS = PlanSettings()


def script_of(*sections) -> Script:
    return Script(tuple(Section(title, tuple(items)) for title, items in sections))


EXAMPLE = script_of(
    (
        "Arrival",
        [
            Cue("bell", 1),
            Speech("Sit.", 2),
            Pause(2, 3),
            Speech("Breathe.", 4, True),
            Pause(10, 5, flexible=True),
        ],
    ),
    ("Return", [Speech("Go well.", 6, True), Pause(20, 7, flexible=True, minimum=5, weight=30)]),
)
CLIPS = [1.0, 2.0, 1.5]


def test_natural_length_uses_pauses_as_written():
    timeline = plan(EXAMPLE, CLIPS)
    # every sentence here is followed by a written pause, so no natural gaps are added
    fixed = SETTINGS.lead_in + SETTINGS.tail + SETTINGS.bell_gap + sum(CLIPS) + 2
    assert timeline.stretch == 1.0
    assert timeline.duration == pytest.approx(natural_seconds(EXAMPLE, CLIPS))
    assert timeline.duration == pytest.approx(fixed + 10 + 35)


def test_target_is_hit_and_weights_share_the_stretch():
    timeline = plan(EXAMPLE, CLIPS, target_seconds=300)
    assert timeline.duration == pytest.approx(300)
    flex = [s for s in timeline.silences if s.flexible]
    # each flexible pause grows by weight * stretch from its minimum
    assert flex[0].duration == pytest.approx(3.0 + 7.0 * timeline.stretch)
    assert flex[1].duration == pytest.approx(5.0 + 30.0 * timeline.stretch)


def test_events_follow_the_script_and_chapters_cover_the_file():
    timeline = plan(EXAMPLE, CLIPS, target_seconds=120)
    kinds = [e.kind for e in timeline.events]
    assert kinds == ["bell", "speech", "speech", "speech"]
    assert timeline.events[0].start == SETTINGS.lead_in
    assert [c.title for c in timeline.chapters] == ["Arrival", "Return"]
    assert timeline.chapters[0].start == 0
    assert timeline.chapters[-1].end == pytest.approx(timeline.duration)
    assert timeline.chapters[1].start == timeline.speech[2].start


def test_too_short_a_target_names_the_shortest_length():
    shortest = shortest_seconds(EXAMPLE, CLIPS)
    with pytest.raises(FitError, match=r"at least 0 min \d\d s"):
        plan(EXAMPLE, CLIPS, target_seconds=shortest - 1)
    assert plan(EXAMPLE, CLIPS, target_seconds=shortest).duration == pytest.approx(shortest)


def test_a_script_with_no_flexible_pause_lets_the_tail_carry_the_length():
    script = script_of((None, [Speech("Only this.", 1, True)]))
    timeline = plan(script, [2.0], target_seconds=60)
    assert timeline.duration == pytest.approx(60)
    assert timeline.speech[0].start == SETTINGS.lead_in


# --- properties ------------------------------------------------------------------------------

speech = st.builds(Speech, st.just("Words."), st.just(1), st.booleans())
fixed_pause = st.builds(Pause, st.floats(0.1, 30), st.just(1))
flex_pause = st.builds(
    lambda s, w: Pause(s, 1, True, None, w),
    st.floats(0.5, 60),
    st.one_of(st.none(), st.floats(0.1, 50)),
)
items = st.lists(
    st.one_of(speech, fixed_pause, flex_pause, st.just(Cue("bell", 1))), min_size=1, max_size=25
)


@given(items, st.data(), st.floats(0, 3000))
def test_any_reachable_target_is_hit_and_nothing_overlaps(entries, data, extra):
    script = script_of(("Body", entries))
    clips = data.draw(
        st.lists(st.floats(0.2, 15), min_size=len(script.sentences), max_size=len(script.sentences))
    )
    target = shortest_seconds(script, clips) + extra
    timeline = plan(script, clips, target_seconds=target)
    assert timeline.duration == pytest.approx(target, abs=1e-6)
    spans = sorted(
        [(e.start, e.end) for e in timeline.events]
        + [(s.start, s.start + s.duration) for s in timeline.silences]
    )
    for (_, a_end), (b_start, _) in itertools.pairwise(spans):
        assert a_end <= b_start + 1e-9
    assert all(end <= timeline.duration + 1e-9 for _, end in spans)
    flexible = [p for p in entries if isinstance(p, Pause) and p.flexible]
    planned = [s for s in timeline.silences if s.flexible]
    for pause, silence in zip(flexible, planned, strict=False):
        assert silence.duration >= pause.min_length - 1e-9


@given(items, st.data())
def test_below_the_shortest_length_is_refused(entries, data):
    script = script_of(("Body", entries))
    clips = data.draw(
        st.lists(st.floats(0.2, 15), min_size=len(script.sentences), max_size=len(script.sentences))
    )
    shortest = shortest_seconds(script, clips)
    assume(shortest > 1)
    with pytest.raises(FitError):
        plan(script, clips, target_seconds=shortest - 0.5)


# --- holds: long silences that keep guiding ---------------------------------------------------


def hold(seconds, minimum, *cues, weight=None):
    return Pause(seconds, 1, True, minimum, weight, tuple(Speech(c, 1) for c in cues))


def test_a_hold_within_the_limit_is_one_silence_and_says_nothing():
    script = script_of(("Body", [Speech("Sit.", 1), hold(60, 10, "Come back."), Speech("End.", 2)]))
    timeline = plan(script, [1.0, 1.0, 1.2], target_seconds=90)
    assert [e.text for e in timeline.speech] == ["Sit.", "End."]
    assert len(timeline.silences) == 1


def test_a_stretched_hold_is_split_with_its_cues_in_turn_and_the_total_stays_exact():
    script = script_of(
        ("Body", [Speech("Sit.", 1), hold(60, 10, "Come back.", "Return."), Speech("End.", 2)])
    )
    clips = [1.0, 1.0, 1.5, 2.0]  # Sit., End., then the cues
    timeline = plan(script, clips, target_seconds=20 * 60)
    assert timeline.duration == pytest.approx(20 * 60)
    said = [e.text for e in timeline.speech]
    assert said[0] == "Sit." and said[-1] == "End."
    cues = said[1:-1]
    assert cues[:4] == ["Come back.", "Return.", "Come back.", "Return."]
    parts = [s.duration for s in timeline.silences]
    assert len(parts) == len(cues) + 1
    assert max(parts) <= SETTINGS.hold_split + 1e-9
    assert max(parts) - min(parts) < 1e-9  # equal parts
    # the hold as a whole still lasts min + weight * stretch
    hold_span = timeline.speech[-1].start - timeline.speech[0].end
    assert hold_span == pytest.approx(script.items[1].length(timeline.stretch))
    # each cue's event points at its own clip (after the sentences)
    assert {e.clip for e in timeline.speech[1:-1]} == {2, 3}


def test_the_split_limit_is_a_plan_setting():
    script = script_of(("Body", [Speech("Sit.", 1), hold(60, 10, "Back.")]))
    loose = plan(script, [1.0, 0.5], 10 * 60, PlanSettings(hold_split=1000))
    tight = plan(script, [1.0, 0.5], 10 * 60, PlanSettings(hold_split=60))
    assert len(loose.speech) == 1 and len(tight.speech) > 5


cue_lists = st.lists(st.floats(0.3, 8), min_size=0, max_size=4)


@settings(deadline=None)  # no wall-time limit: the machine is shared
@given(st.floats(0, 20_000), cue_lists, st.floats(30, 600))
def test_split_hold_parts_are_equal_bounded_and_fill_the_hold(length, cues, limit):
    parts = split_hold(length, cues, limit)
    said = sum(cues[n % len(cues)] for n in range(len(parts) - 1)) if cues else 0.0
    assert sum(parts) + said == pytest.approx(length, abs=1e-6)
    assert all(p >= 0 for p in parts) and max(parts) - min(parts) < 1e-9
    if cues:
        assert parts[0] <= limit + 1e-9
        if len(parts) > 1:  # the fewest parts: one fewer would run over the limit
            fewer = sum(cues[n % len(cues)] for n in range(len(parts) - 2))
            assert (length - fewer) / (len(parts) - 1) > limit
    else:
        assert parts == [length]


hold_pause = st.builds(
    lambda s, m, n: Pause(
        s, 1, True, min(m, s), None, tuple(Speech(f"Cue {i}.", 1) for i in range(n))
    ),
    st.floats(1, 120),
    st.floats(0, 30),
    st.integers(0, 3),
)


@settings(deadline=None)  # no wall-time limit: the machine is shared
@given(
    st.lists(st.one_of(speech, fixed_pause, flex_pause, hold_pause), min_size=1, max_size=15),
    st.data(),
    st.floats(0, 20_000),
)
def test_with_holds_any_reachable_target_is_hit_and_no_hold_part_runs_past_the_limit(
    entries, data, extra
):
    entries = [replace(item, line=n) for n, item in enumerate(entries, start=1)]
    script = script_of(("Body", entries))
    n = len(script.spoken)
    clips = data.draw(st.lists(st.floats(0.2, 10), min_size=n, max_size=n))
    target = shortest_seconds(script, clips) + extra
    timeline = plan(script, clips, target_seconds=target)
    assert timeline.duration == pytest.approx(target, abs=1e-6)
    spans = sorted(
        [(e.start, e.end) for e in timeline.events]
        + [(s.start, s.start + s.duration) for s in timeline.silences]
    )
    for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False):
        assert a_end <= b_start + 1e-6
    assert all(0 <= e.clip < n for e in timeline.speech)
    for item in entries:
        if not isinstance(item, Pause):
            continue
        parts = [s for s in timeline.silences if s.line == item.line]
        assert parts and parts[0].duration >= 0
        if item.cues:
            assert all(p.duration <= SETTINGS.hold_split + 1e-6 for p in parts)
            start, end = parts[0].start, parts[-1].start + parts[-1].duration
            assert end - start == pytest.approx(item.length(timeline.stretch), abs=1e-6)
        else:
            assert len(parts) == 1
        if sum(p.duration for p in parts) < item.min_length - 1e-6:
            # only a hold's cues take from its silence, never below its minimum in total
            assert item.cues


@settings(deadline=None)  # no wall-time limit: the machine is shared
@given(st.data())
def test_shortest_fit_finds_the_shortest_length_whose_own_text_fits(data):
    # a text that grows by whole sentences at thresholds of minutes (as templates do)
    thresholds = sorted(data.draw(st.lists(st.floats(0.1, 30), max_size=5)))
    base = data.draw(st.floats(5, 200))

    def at(minutes):
        extra = sum(1 for t in thresholds if minutes >= t)
        items = [Speech("Words.", 1), Pause(base, 1, True, base, None)]
        items += [Speech("More.", 1) for _ in range(extra)]
        script = script_of(("Body", items))
        return script, [10.0] * len(script.spoken)

    found = shortest_fit(at, SETTINGS)
    script, clips = at(found / 60)
    assert shortest_seconds(script, clips) <= found + 1e-6  # it fits ...
    for seconds in (found * 0.99, found - 1):  # ... and nothing shorter does
        if seconds > 0:
            s, c = at(seconds / 60)
            assert shortest_seconds(s, c) > seconds
    typed = shortest_fit(at, SETTINGS, rounded=True)
    assert round(typed / 6, 6) == int(round(typed / 6, 6))  # a tenth of a minute
    s, c = at(typed / 60)
    assert shortest_seconds(s, c) <= typed + 1e-6
