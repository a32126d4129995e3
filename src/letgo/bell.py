"""A singing-bowl strike: inharmonic partials, each with its own slow decay and gentle beating."""

from __future__ import annotations

import numpy as np

#: (frequency ratio, relative level, decay time constant in seconds)
PARTIALS = ((1.0, 1.0, 4.0), (2.71, 0.55, 2.8), (5.15, 0.3, 1.6), (8.43, 0.14, 0.9))


def strike(sample_rate: int, fundamental: float = 196.0, seconds: float = 9.0,
           peak: float = 0.35) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    sound = np.zeros_like(t)
    for ratio, level, decay in PARTIALS:
        f = fundamental * ratio
        beating = 1.0 + 0.25 * np.sin(2 * np.pi * (0.7 + ratio * 0.3) * t)
        sound += level * np.exp(-t / decay) * beating * np.sin(2 * np.pi * f * t)
    attack = np.minimum(1.0, t / 0.004)  # 4 ms onset: a strike, not a click
    release = np.minimum(1.0, (t[-1] - t) / 0.5)  # reach zero before the buffer ends
    sound *= attack * release
    return (sound * (peak / np.max(np.abs(sound)))).astype(np.float32)
