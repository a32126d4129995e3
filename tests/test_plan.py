"""The planner: fitting flexible pauses to the minute, and what the timeline promises."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from letgo.errors import FitError
from letgo.plan import natural_seconds, plan, shortest_seconds
from letgo.script import Cue, Pause, Script, Section, Speech
from letgo.settings import PlanSettings

SETTINGS = PlanSettings()


def script_of(*sections) -> Script:
    return Script(tuple(Section(title, tuple(items)) for title, items in sections))


EXAMPLE = script_of(
    ("Arrival", [Cue("bell", 1), Speech("Sit.", 2), Pause(2, 3), Speech("Breathe.", 4, True),
                 Pause(10, 5, flexible=True)]),
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
flex_pause = st.builds(lambda s, w: Pause(s, 1, True, None, w),
                       st.floats(0.5, 60), st.one_of(st.none(), st.floats(0.1, 50)))
items = st.lists(st.one_of(speech, fixed_pause, flex_pause, st.just(Cue("bell", 1))),
                 min_size=1, max_size=25)


@given(items, st.data(), st.floats(0, 3000))
def test_any_reachable_target_is_hit_and_nothing_overlaps(entries, data, extra):
    script = script_of(("Body", entries))
    clips = data.draw(st.lists(st.floats(0.2, 15), min_size=len(script.sentences),
                               max_size=len(script.sentences)))
    target = shortest_seconds(script, clips) + extra
    timeline = plan(script, clips, target_seconds=target)
    assert timeline.duration == pytest.approx(target, abs=1e-6)
    spans = sorted([(e.start, e.end) for e in timeline.events] +
                   [(s.start, s.start + s.duration) for s in timeline.silences])
    for (a_start, a_end), (b_start, _) in zip(spans, spans[1:]):
        assert a_end <= b_start + 1e-9
    assert all(end <= timeline.duration + 1e-9 for _, end in spans)
    flexible = [p for p in entries if isinstance(p, Pause) and p.flexible]
    planned = [s for s in timeline.silences if s.flexible]
    for pause, silence in zip(flexible, planned):
        assert silence.duration >= pause.min_length - 1e-9


@given(items, st.data())
def test_below_the_shortest_length_is_refused(entries, data):
    script = script_of(("Body", entries))
    clips = data.draw(st.lists(st.floats(0.2, 15), min_size=len(script.sentences),
                               max_size=len(script.sentences)))
    shortest = shortest_seconds(script, clips)
    assume(shortest > 1)
    with pytest.raises(FitError):
        plan(script, clips, target_seconds=shortest - 0.5)
