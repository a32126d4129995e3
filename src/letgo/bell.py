"""A singing-bowl strike, synthesized: no recordings to ship.

A struck bowl rings in inharmonic modes (roughly the ratios of a free-edged plate). Each mode is
really a pair a fraction of a hertz apart, because no bowl is perfectly round, so it beats
slowly ("wah-wah"); higher modes die away much faster than the fundamental, which is what
leaves the long, pure hum. A few milliseconds of soft mallet noise gives the strike its start.
"""

from __future__ import annotations

import functools

import numpy as np

#: (frequency ratio, relative level, decay time constant in seconds, beat in Hz)
PARTIALS = (
    (1.000, 1.00, 5.5, 0.45),
    (2.756, 0.50, 3.2, 0.9),
    (5.404, 0.22, 1.7, 1.4),
    (8.933, 0.10, 0.9, 2.1),
    (13.34, 0.05, 0.5, 2.9),
)


@functools.lru_cache(maxsize=4)
def strike(sample_rate: int, fundamental: float = 196.0, seconds: float = 14.0,
           peak: float = 0.5, seed: int = 7) -> np.ndarray:
    """One strike, mono float32, `peak` at its loudest; it decays to silence within `seconds`.
    Made once per process and shared, so it is read-only."""
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    sound = np.zeros(n)
    for ratio, level, decay, beat in PARTIALS:
        f = fundamental * ratio
        if f > 0.45 * sample_rate:
            continue
        # Two slightly split modes: cos(a) + cos(b) = 2 cos((a-b)/2) cos((a+b)/2); keep the
        # beating shallow so the tone swells rather than pulses.
        beating = 0.75 + 0.25 * np.cos(np.pi * beat * t)
        sound += level * np.exp(-t / decay) * beating * np.sin(2 * np.pi * f * t + ratio)
    mallet = np.random.default_rng(seed).standard_normal(int(0.012 * sample_rate))
    mallet *= np.hanning(len(mallet))
    mallet = np.convolve(mallet, np.hanning(9), mode="same")  # soften: felt, not metal
    sound[:len(mallet)] += 0.15 * mallet / (np.max(np.abs(mallet)) or 1)
    attack = np.minimum(1.0, t / 0.003)  # 3 ms onset: a strike, not a click
    release = np.clip((t[-1] - t) / 1.0, 0, 1)  # reach zero before the buffer ends
    sound *= attack * release
    sound = (sound * (peak / np.max(np.abs(sound)))).astype(np.float32)
    sound.flags.writeable = False
    return sound
