"""Phrase pauses: the engine's pause at a comma is lengthened; words are never cut into."""

from __future__ import annotations

import numpy as np
import pytest

from letgo import session
from letgo.voice.engines import Clip
from letgo.voice.engines.fake import FakeEngine
from letgo.words import phrasing

RATE = 22050


def speech(*pieces: tuple[str, float]) -> Clip:
    """('tone', seconds) and ('quiet', seconds) pieces, the tone standing in for words."""
    parts = []
    for kind, seconds in pieces:
        n = round(seconds * RATE)
        t = np.arange(n) / RATE
        parts.append(
            (0.3 * np.sin(2 * np.pi * 200 * t) if kind == "tone" else np.zeros(n)).astype(
                np.float32
            )
        )
    return Clip(np.concatenate(parts), RATE)


def quiet_stretches(clip: Clip) -> list[float]:
    return [round((b - a) / RATE, 2) for a, b in phrasing.pauses(clip)]


def test_the_pause_at_a_comma_is_lengthened_to_the_phrase_gap():
    clip = speech(("tone", 1.0), ("quiet", 0.25), ("tone", 1.0))
    wider = phrasing.widen(clip, "Breathe in, slowly now.", 0.5)
    assert wider.duration == pytest.approx(clip.duration + 0.25, abs=0.02)  # 10 ms frames
    assert quiet_stretches(wider) == [pytest.approx(0.5, abs=0.02)]
    assert np.max(np.abs(wider.samples[: round(0.99 * RATE)])) > 0.29  # the words as they were


@pytest.mark.parametrize(
    "parts, text",
    [
        # a pause already long enough is kept
        ((("tone", 1.0), ("quiet", 0.6), ("tone", 1.0)), "Breathe in, slowly."),
        # a stop consonant's closure is shorter than SHORTEST: left alone even at a comma
        ((("tone", 1.0), ("quiet", 0.08), ("tone", 1.0)), "Breathe in, slowly."),
        # a pause far from its mark (the comma near the start, the pause near the end)
        (
            (("tone", 2.0), ("quiet", 0.25), ("tone", 0.2)),
            "So, let the breath come and go by itself now.",
        ),
    ],
)
def test_a_pause_that_is_not_a_short_phrase_break_is_left_alone(parts, text):
    clip = speech(*parts)
    assert phrasing.widen(clip, text, 0.5) is clip


def test_a_sentence_without_marks_or_a_zero_gap_is_unchanged():
    clip = speech(("tone", 1.0), ("quiet", 0.25), ("tone", 1.0))
    assert phrasing.widen(clip, "Breathe in slowly.", 0.5) is clip
    assert phrasing.widen(clip, "Breathe in, slowly.", 0.0) is clip


def test_two_commas_two_pauses():
    clip = speech(("tone", 0.8), ("quiet", 0.25), ("tone", 0.8), ("quiet", 0.3), ("tone", 0.8))
    wider = phrasing.widen(clip, "A face, a voice, a name.", 0.6)
    assert quiet_stretches(wider) == [pytest.approx(0.6, abs=0.02)] * 2


class PausingEngine(FakeEngine):
    """Speaks every sentence as two tones with a 0.25 s pause between, like eSpeak at a comma."""

    def synthesize(self, sentences, progress=None):
        for _ in sentences:
            yield speech(("tone", 1.0), ("quiet", 0.25), ("tone", 1.0))


def test_the_timeline_places_the_widened_clips(tmp_path):
    template = tmp_path / "t.j2"
    template.write_text('{#\ntitle = "T"\n#}\nBreathe in, slowly.\nBreathe out, slowly.\n')
    request = session.Request(template=str(template), engine="fake", cache=False)
    prepared = session.prepare(request, PausingEngine())
    gap = request.plan.phrase_gap
    assert [e.duration for e in prepared.timeline.speech] == [
        pytest.approx(2.0 + gap, abs=0.02)
    ] * 2
