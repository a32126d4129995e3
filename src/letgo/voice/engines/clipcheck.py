"""Is this clip plausibly the sentence it claims to be? Engines fail quietly; we do not."""

from __future__ import annotations

import re

import numpy as np

from letgo.voice.engines import Clip

#: Below this RMS (about -50 dBFS) a clip is silence, not speech.
MIN_RMS = 0.003


def expected_seconds(text: str, words_per_minute: float) -> float:
    words = max(1, len(re.findall(r"\w+", text)))
    return words * 60.0 / max(words_per_minute, 1)


def problem(clip: Clip | None, text: str, words_per_minute: float) -> str | None:
    """None if the clip looks like speech of `text`; otherwise what is wrong with it."""
    if clip is None or clip.frames == 0:
        return "no audio was written"
    rms = float(np.sqrt(np.mean(np.square(clip.samples, dtype=np.float64))))
    if rms < MIN_RMS:
        return f"the audio is silent (RMS {rms:.5f})"
    expected = expected_seconds(text, words_per_minute)
    if clip.duration < 0.25 * expected:
        return f"the audio is too short ({clip.duration:.2f} s for about {expected:.1f} s of text)"
    if clip.duration > 4.0 * expected + 2.0:
        return f"the audio is too long ({clip.duration:.2f} s for about {expected:.1f} s of text)"
    return None
