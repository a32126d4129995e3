"""The voice's level chain, measured on its output: a limiter that holds the true peak with a
smooth gain (look-ahead attack, release over tens of milliseconds), and a plan that takes no
more than LIMIT_MOST dB off any sentence's peaks."""

from __future__ import annotations

import numpy as np

from letgo.settings.groups import MixSettings
from letgo.sound import dsp, mix
from letgo.sound import timeline as plan
from letgo.sound.levels import LIMIT_MOST, TRIM_MOST, plan_levels
from letgo.voice.engines import Clip
from letgo.words import script

RATE = 44100


def voice_like(seconds: float = 1.0, burst_db: float = 8.0, at: float = 0.5) -> np.ndarray:
    """A 180 Hz tone at -20 dBFS with a 10 ms burst `burst_db` louder at `at` seconds."""
    t = np.arange(round(seconds * RATE)) / RATE
    x = 0.1 * np.sin(2 * np.pi * 180 * t)
    burst = (t >= at) & (t < at + 0.01)
    x[burst] *= 10 ** (burst_db / 20)
    return x.astype(np.float32)


def gain_db(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The limiter's gain at each sample where the input is not near a zero crossing."""
    loud = np.abs(x) > 0.05
    ratio = np.abs(y) / np.where(loud, np.abs(x), 1)
    return np.where(loud, 20 * np.log10(np.maximum(ratio, 1e-9)), np.nan)


def test_the_limiter_holds_the_true_peak_under_the_ceiling():
    x = voice_like(burst_db=12)
    ceiling = dsp.db(-17.0)  # the burst's peak is near -8 dBFS: 9 dB to take off
    y = dsp.limit(x, RATE, ceiling)
    assert dsp.true_peak(y) <= ceiling * 1.001
    assert dsp.true_peak(x) > ceiling * 2


def test_the_limiter_is_down_before_the_peak_and_rises_over_tens_of_ms():
    x = voice_like(burst_db=8, at=0.5)
    ceiling = dsp.db(-14.0)  # the burst peaks at -12 dBFS: about 2 dB to take off
    g = gain_db(x, dsp.limit(x, RATE, ceiling))
    at = round(0.5 * RATE)
    assert np.nanmax(g[at : at + round(0.01 * RATE)]) < -1.5  # already down as the burst arrives
    assert np.nanmax(g[: at - round(2 * dsp.ATTACK * RATE)]) > -0.01  # untouched well before
    after = at + round(0.01 * RATE)
    ten_ms, sixty_ms = after + round(0.012 * RATE), after + round(0.06 * RATE)
    assert np.nanmin(g[ten_ms - 200 : ten_ms]) < -1.0  # still well down 10 ms after the burst
    assert np.nanmin(g[sixty_ms:]) > -0.3  # and nearly back within tens of milliseconds
    where = np.flatnonzero(~np.isnan(g))
    slope = np.abs(np.diff(g[where])) / np.diff(where)
    assert slope.max() < 0.02  # dB per sample: the gain never jumps at audio rate


def test_quiet_audio_passes_the_limiter_untouched():
    x = voice_like(burst_db=0)
    assert np.array_equal(dsp.limit(x, RATE, dsp.db(-1.0)), x)


def sentences(*texts: str) -> script.Script:
    return script.parse("\n".join(texts))


def test_no_sentence_loses_more_than_limit_most_to_the_limiter():
    """A sentence with a peak far above its loudness is set a little lower, so the limiter
    still takes at most LIMIT_MOST dB off it; an ordinary one is not trimmed at all."""
    plain = Clip(voice_like(2.0, burst_db=0), RATE)
    peaky = Clip(voice_like(2.0, burst_db=17, at=1.0), RATE)  # peaks ~4 dB over the ceiling
    timeline = plan.plan(sentences("One.", "Two."), [plain.duration, peaky.duration])
    settings = MixSettings(loudness=-19.0)
    levels = plan_levels(timeline, [plain, peaky], mix.BedLevel(float("-inf")), 1, settings)
    to_target = [settings.loudness - dsp.loudness(c.samples, RATE) for c in (plain, peaky)]
    below = [to_target[i] - 20 * np.log10(levels.gains[i]) for i in range(2)]  # less master
    assert 0.5 < below[1] - below[0] <= TRIM_MOST + 0.01
    for i, clip in enumerate((plain, peaky)):
        heard = levels.speech(i)
        assert dsp.true_peak(heard) <= levels.ceiling * 1.001
        before = 20 * np.log10(dsp.true_peak(clip.samples) * levels.gains[i])
        taken = before - 20 * np.log10(dsp.true_peak(heard))
        assert taken <= LIMIT_MOST + 0.1, (i, taken)
