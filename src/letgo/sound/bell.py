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
def strike(
    sample_rate: int,
    fundamental: float = 196.0,
    seconds: float = 14.0,
    peak: float = 0.5,
    seed: int = 7,
) -> np.ndarray:
    """One strike, mono float32, `peak` at its loudest; it decays to silence within `seconds`.
    Made once per process and shared, so it is read-only."""
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    t32 = t.astype(np.float32)
    sound = np.zeros(n, dtype=np.float32)
    for ratio, level, decay, beat in PARTIALS:
        f = fundamental * ratio
        if f > 0.45 * sample_rate:
            continue
        m = min(n, int(decay * np.log(1e6) * sample_rate))  # until it is 120 dB down
        # The phase in float64, its sine in float32: as exact, four times faster (every
        # render strikes the bell before its first block).
        cycles = f * t[:m] + ratio / (2 * np.pi)
        cycles -= np.floor(cycles)
        mode = np.sin(np.float32(2 * np.pi) * cycles.astype(np.float32))
        mode *= np.exp(t32[:m] * np.float32(-1 / decay))
        # Two slightly split modes: cos(a) + cos(b) = 2 cos((a-b)/2) cos((a+b)/2); keep the
        # beating shallow so the tone swells rather than pulses.
        mode *= np.float32(0.75) + np.float32(0.25) * np.cos(np.float32(np.pi * beat) * t32[:m])
        sound[:m] += np.float32(level) * mode
    mallet = np.random.default_rng(seed).standard_normal(int(0.012 * sample_rate))
    mallet *= np.hanning(len(mallet))
    mallet = np.convolve(mallet, np.hanning(9), mode="same")  # soften: felt, not metal
    sound[: len(mallet)] += 0.15 * mallet / (np.max(np.abs(mallet)) or 1)
    onset = int(np.ceil(0.003 * sample_rate))  # 3 ms onset: a strike, not a click
    sound[:onset] *= t32[:onset] / np.float32(0.003)
    tail = min(n, sample_rate)  # reach zero over the last second, before the buffer ends
    sound[-tail:] *= np.clip((t32[-1] - t32[-tail:]) / np.float32(1.0), 0, 1)
    sound *= np.float32(peak / np.max(np.abs(sound)))
    sound.flags.writeable = False
    return sound
