"""Engines' own padding is trimmed, so the planner's gaps are the gaps heard."""

from __future__ import annotations

import numpy as np
import pytest

from letgo import session
from letgo.voice.engines import Clip
from letgo.voice.engines.fake import FakeEngine, fake_duration
from letgo.voice.engines.trim import LEAD_MARGIN, TAIL_MARGIN


class PaddedEngine(FakeEngine):
    """The fake tone with half a second of silence before and a second after, like real voices."""

    def synthesize(self, sentences, progress=None):
        for clip in super().synthesize(sentences, progress):
            rate = clip.sample_rate
            yield Clip(
                np.concatenate(
                    [np.zeros(rate // 2, np.float32), clip.samples, np.zeros(rate, np.float32)]
                ),
                rate,
            )


def test_padding_is_trimmed_to_a_short_margin(tmp_path):
    template = tmp_path / "t.j2"
    template.write_text('{#\ntitle = "T"\n#}\nBreathe in. Breathe out.\n')
    request = session.Request(template=str(template), engine="fake", cache=False)
    prepared = session.prepare(request, PaddedEngine())
    for clip, event in zip(prepared.clips, prepared.timeline.speech, strict=False):
        assert clip.duration == pytest.approx(
            fake_duration(event.text) + LEAD_MARGIN + TAIL_MARGIN, abs=0.01
        )
    plain = session.prepare(request, FakeEngine())
    assert [c.duration for c in plain.clips] == [
        fake_duration(e.text) for e in plain.timeline.speech
    ]
