"""<prosody> with the real voices: slower is measurably slower, softer measurably softer in the
mixed file, and the file still follows its timeline to the sample."""

from __future__ import annotations

import numpy as np
import pytest

import measure
from audio_checks import RATE, assert_follows_timeline, window_db
from conftest import needs_piper
from letgo import session
from letgo.file import ffmpeg
from letgo.settings.groups import MixSettings, PlanSettings
from letgo.voice.engines import make_engine

pytestmark = pytest.mark.e2e

LINE = "Let the breath be easy, and let your shoulders soften and settle."
TEMPLATE = f"""{{#
title = "Prosody probe"
description = "The same sentence plain, slower, softer."
minutes = 1
#}}
## Plain
{LINE}
{{{{ pause(2) }}}}
## Slower
<prosody rate="70%">{LINE}</prosody>
{{{{ pause(2) }}}}
## Softer
<prosody volume="-8dB">{LINE}</prosody>
{{{{ hold(10, min=4, cues=["Come back to the breath."]) }}}}
Done.
"""


@pytest.mark.parametrize("engine", ["pyttsx3", pytest.param("piper", marks=needs_piper)])
def test_slower_and_softer_passages_are_so_and_the_timeline_stays_exact(tmp_path, engine):
    template = tmp_path / "probe.j2"
    template.write_text(TEMPLATE, encoding="utf-8")
    out = tmp_path / "probe.mp3"
    request = session.Request(
        str(template),
        minutes=1.5,
        engine=engine,
        cache_dir=str(tmp_path / "cache"),
        plan=PlanSettings(hold_split=20),
        mix=MixSettings(background="none"),
    )
    result = session.render(request, out)
    timeline = result.prepared.timeline
    plain, slower, softer, *rest = timeline.speech
    assert plain.text == slower.text == softer.text == LINE
    # 70% rate: about 1/0.7 = 1.43 times as long (engines do not scale pauses exactly)
    assert 1.25 < slower.duration / plain.duration < 1.7
    # the hold grew past its 20 s split limit, so its cue was said inside it
    assert "Come back to the breath." in [e.text for e in rest]
    assert abs(measure.stream_info(out).duration - 90.0) < 0.2
    assert assert_follows_timeline(out, timeline) >= 3
    samples = ffmpeg.decode(out, RATE)[:, 0]
    loud = window_db(samples, plain.start, plain.end)
    soft = window_db(samples, softer.start, softer.end)
    assert 6.0 < loud - soft < 10.0, (loud, soft)
    assert abs(window_db(samples, slower.start, slower.end) - loud) < 2.0


def median_f0(clip) -> float:
    """The voice's median fundamental, by autocorrelation over voiced 40 ms frames."""
    x, rate = clip.samples.astype(np.float64), clip.sample_rate
    size = int(0.04 * rate)
    low, high = int(rate / 400), int(rate / 60)
    found = []
    for start in range(0, len(x) - size, size // 2):
        frame = x[start : start + size]
        if np.sqrt(np.mean(frame * frame)) < 0.02:
            continue
        corr = np.correlate(frame, frame, "full")[size - 1 :]
        lag = low + int(np.argmax(corr[low:high]))
        if corr[lag] > 0.3 * corr[0]:
            found.append(rate / lag)
    assert len(found) > 20, "too few voiced frames to measure"
    return float(np.median(found))


def test_a_lower_pitch_is_measurably_lower_with_pyttsx3():
    engine = make_engine("pyttsx3")
    try:
        (plain,) = engine.synthesize([LINE])
        (lower,) = engine.variant(1.0, -0.2).synthesize([LINE])
    finally:
        engine.close()
    assert median_f0(lower) < 0.95 * median_f0(plain)
