"""Checks of a real audio file against the timeline that made it."""

from __future__ import annotations

import numpy as np

import measure
from letgo.file import ffmpeg

RATE = 44100
BELL_RING = 15.0  # a bell rings on into what follows it; its tail is sound, not a fault


def window_db(samples: np.ndarray, start: float, end: float) -> float:
    return measure.rms_db(samples[int(start * RATE) : int(end * RATE)])


def assert_follows_timeline(path, timeline, background: bool = False) -> int:
    """Speech is audible where the timeline puts it; pauses are silent (without a background).
    Returns how many pauses were checked, so a caller can see the check was not empty."""
    samples = ffmpeg.decode(path, RATE)[:, 0]
    assert abs(len(samples) / RATE - timeline.duration) < 0.1
    for event in timeline.speech:
        level = window_db(samples, event.start + 0.05, event.end - 0.05)
        assert level > -40, f"no speech at {event.start:.2f} s ({event.text!r}): {level:.1f} dB"
    if background:
        return 0
    checked = 0
    bells = [e.start for e in timeline.events if e.kind == "bell"]
    for silence in timeline.silences:
        start, end = silence.start + 0.3, silence.start + silence.duration - 0.3
        start = max([start] + [b + BELL_RING for b in bells if b <= start < b + BELL_RING])
        if end - start < 0.5:
            continue
        level = window_db(samples, start, end)
        assert level < -60, f"sound in the pause at {silence.start:.2f} s: {level:.1f} dB"
        checked += 1
    return checked
