"""The clip layer: sentences, the bell and spoken passages as pydub AudioSegments, placed by the
block mixer exactly where the timeline says."""

from __future__ import annotations

import numpy as np
import pytest

from letgo import session
from letgo.settings.groups import MixSettings
from letgo.sound import mix
from letgo.sound import timeline as plan
from letgo.sound.backgrounds import make_background
from letgo.sound.levels import Levels, plan_levels
from letgo.voice import clips
from letgo.voice.clips import AudioSegment
from letgo.voice.engines import Clip
from letgo.voice.engines.fake import FakeEngine
from letgo.words import script

RATE = 44100

BODY = """{#
title = "Passages"
description = "Paragraphs between flexible pauses, a fixed pause, a hold with cues."
minutes = 6
#}
{{ bell() }}
Settle in. Let the breath come and go. Notice the chair beneath you.

Let the shoulders drop.
{{ pause(30, min=5) }}
Breathe in slowly. [pause 2s] And out again.
{{ hold(60, min=10, cues=["Come back to the breath.", "Return, gently."]) }}
Rest now.
{{ bell() }}
"""


def prepared(tmp_path, minutes: float = 6) -> session.TimedScript:
    path = tmp_path / "passages.j2"
    path.write_text(BODY, encoding="utf-8")
    return session.prepare(
        session.Request(str(path), minutes=minutes, engine="fake", cache=False), engine=FakeEngine()
    )


def levels_of(prepared_: session.TimedScript, settings: MixSettings) -> Levels:
    return plan_levels(
        prepared_.timeline, prepared_.clips, mix.BedLevel(float("-inf")), 1, settings
    )


def test_float_sound_goes_into_a_segment_and_back_unchanged():
    rng = np.random.default_rng(3)
    x = (rng.uniform(-0.9, 0.9, (5000, 2))).astype(np.float32)
    x[:100] *= np.float32(1e-4)  # quiet samples round to 32-bit steps, by at most 2**-32
    seg = clips.segment(x, RATE)
    assert (seg.sample_width, seg.channels, seg.frame_rate, int(seg.frame_count())) == (
        4,
        2,
        RATE,
        5000,
    )
    back = clips.samples(seg)
    loud = np.abs(x) >= 2.0**-8  # 24 significant bits from there up: 31 bits hold them
    assert loud.sum() > 9000 and np.array_equal(back[loud], x[loud])
    assert np.abs(back[~loud] - x[~loud]).max() <= 2.0**-32


@pytest.mark.parametrize("width", [1, 2, 4])
def test_samples_reads_any_width_pydub_holds(width):
    x = np.array([0.0, 0.5, -0.5, -1.0], dtype=np.float32)
    seg = clips.segment(x, 8000, width=width)
    assert seg.sample_width == width
    assert np.allclose(clips.samples(seg)[:, 0], x, atol=1 / 2 ** (8 * width - 1))


def test_speech_between_flexible_pauses_and_bells_is_one_passage_each(tmp_path):
    made = prepared(tmp_path, minutes=12)  # long enough that the hold is split by its cues
    timeline = made.timeline
    groups = clips.passages(timeline, lambda i: round(made.clips[i].duration * RATE), RATE)
    texts = {e.clip: e.text for e in timeline.speech}
    said = [[texts[clip] for clip, _ in p.sentences] for p in groups]
    cues = [e.text for e in timeline.speech if e.text.startswith(("Come back", "Return"))]
    assert len(cues) >= 2
    assert said[0] == [
        "Settle in.",
        "Let the breath come and go.",
        "Notice the chair beneath you.",
        "Let the shoulders drop.",
    ]
    assert said[1] == ["Breathe in slowly.", "And out again."]  # a fixed pause stays inside
    assert said[2:-1] == [[cue] for cue in cues]  # each cue stands between silent parts
    assert said[-1] == ["Rest now."]
    for p in groups:
        assert p.start == p.sentences[0][1] and p.end > p.start


def test_a_passage_is_placed_exactly_where_the_timeline_says(tmp_path):
    """The mixer's voice (no bed) is each sentence as heard, at round(start * rate), sample
    for sample; the passages were assembled by pydub, several sentences in one."""
    made = prepared(tmp_path)
    settings = MixSettings(background="none", loudness=-19.0)
    levels = levels_of(made, settings)
    timeline = made.timeline
    total = round(timeline.duration * RATE)
    expected = np.zeros(total, dtype=np.float32)
    for event in timeline.speech:
        start = round(event.start * RATE)
        heard = levels.speech(event.clip)
        expected[start : start + len(heard)] += heard
    groups = clips.passages(timeline, levels.frames, RATE)
    assert max(len(p.sentences) for p in groups) >= 3
    for p in groups:
        built = p.build(levels)
        assert isinstance(built, AudioSegment) and built.sample_width == 4
        assert int(built.frame_count()) == p.end - p.start
        assert np.array_equal(clips.samples(built)[:, 0], expected[p.start : p.end])
    out = np.concatenate(
        list(mix.blocks(timeline, levels, make_background("none", RATE), settings))
    )[:, 0]
    bells = np.zeros(total, dtype=bool)
    for event in timeline.events:
        if event.kind == "bell":
            start = round(event.start * RATE)
            bells[start : start + len(levels.bell)] = True
    assert len(out) == total
    assert np.array_equal(out[~bells], expected[~bells])
    first = timeline.speech[0]
    start = round(first.start * RATE)
    assert np.abs(out[start - 200 : start]).max() < 0.2 * np.abs(out[start : start + 2000]).max()


def test_sentences_that_touch_by_a_frame_are_overlaid():
    """Rounding can start a sentence one frame before the last ends: both are heard there."""
    tone = Clip((0.2 * np.sin(np.arange(4410) * 0.05)).astype(np.float32), RATE)
    parsed = script.parse("One.\nTwo.")
    timeline = plan.plan(
        parsed,
        [tone.duration, tone.duration],
        settings=plan.PlanSettings(sentence_gap=0, paragraph_gap=0),
    )
    second = timeline.speech[1]
    moved = plan.Timeline(
        timeline.duration,
        (
            timeline.speech[0],
            plan.Event(second.start - 1 / RATE, second.duration, "speech", second.text, 1),
        ),
    )
    levels = plan_levels(
        moved, [tone, tone], mix.BedLevel(float("-inf")), 1, MixSettings(loudness=-19)
    )
    [passage] = clips.passages(moved, levels.frames, RATE)
    assert [first for _, first in passage.sentences] == [
        round(moved.speech[0].start * RATE),
        round(moved.speech[0].start * RATE) + 4410 - 1,
    ]
    built = clips.samples(passage.build(levels))[:, 0]
    expected = np.zeros(passage.end - passage.start, dtype=np.float32)
    for clip, first in passage.sentences:
        at = first - passage.start
        expected[at : at + 4410] += levels.speech(clip)
    assert len(built) == 2 * 4410 - 1
    assert np.allclose(built, expected, atol=2.0**-30)


def test_a_softer_sentence_is_made_softer_by_pydub(tmp_path):
    path = tmp_path / "soft.j2"
    path.write_text(
        '{#\ntitle = "Soft"\ndescription = "x"\nminutes = 2\n#}\n'
        'Breathe in.\n<prosody volume="-6dB">Breathe in.</prosody>\n'
        "{{ pause(30, min=5) }}\n",
        encoding="utf-8",
    )
    made = session.prepare(
        session.Request(str(path), engine="fake", cache=False), engine=FakeEngine()
    )
    levels = levels_of(made, MixSettings(loudness=-19.0))
    plain, soft = clips.sentence(levels, 0), clips.sentence(levels, 1)
    assert plain.dBFS - soft.dBFS == pytest.approx(6.0, abs=0.01)  # pydub's own measure
