"""Loudness and peaks, measured per ITU-R BS.1770, so levels are set from measurement.

A loudness normaliser run over the finished mix would undo the ducking, and a second pass over
an eight-hour mix would double the work. Instead the parts are measured (each speech clip, the
bell, a stretch of the background) and the session's gated loudness is predicted from the
timeline: K-weighted energy per 100 ms hop, voice + bell + (bed x its planned gain), summed as
uncorrelated powers, then gated exactly as BS.1770 gates 400 ms blocks. The K-weighting filters
are pyloudnorm's.
"""

from __future__ import annotations

import numpy as np
import pyloudnorm
from scipy import ndimage, signal

HOP_SECONDS = 0.1
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
OVERSAMPLE = 4


def db(value: float) -> float:
    """Decibels to a linear gain."""
    return float(10 ** (value / 20))


def k_weighting(sample_rate: int) -> np.ndarray:
    """The BS.1770 K-weighting (pre-filter shelf and RLB high-pass) as second-order sections."""
    shelf = pyloudnorm.IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, sample_rate, "high_shelf")
    highpass = pyloudnorm.IIRfilter(0.0, 0.5, 38.0, sample_rate, "high_pass")
    return np.vstack([np.r_[f.b, f.a] / f.a[0] for f in (shelf, highpass)])


def k_weighted(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    return signal.sosfilt(k_weighting(sample_rate), samples.astype(np.float64), axis=0)


def hop_energy(samples: np.ndarray, sample_rate: int, offset: int = 0) -> np.ndarray:
    """Sum of K-weighted squares (over channels too) per hop, for audio starting `offset`
    frames into a hop grid. Index 0 is the hop holding the first frame."""
    hop = round(HOP_SECONDS * sample_rate)
    weighted = k_weighted(samples, sample_rate) ** 2
    if weighted.ndim > 1:
        weighted = weighted.sum(axis=1)
    first = offset % hop
    return np.bincount((first + np.arange(len(weighted))) // hop, weights=weighted)


def gated_loudness(energy: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness (LUFS) from per-hop energies: 400 ms blocks, 75 % overlap, gated."""
    hop = round(HOP_SECONDS * sample_rate)
    if len(energy) < 4:
        return float("-inf")
    blocks = (energy[:-3] + energy[1:-2] + energy[2:-1] + energy[3:]) / (4 * hop)
    with np.errstate(divide="ignore"):
        loud = -0.691 + 10 * np.log10(blocks)
    kept = blocks[loud > ABSOLUTE_GATE]
    if not len(kept):
        return float("-inf")
    gate = -0.691 + 10 * np.log10(np.mean(kept)) + RELATIVE_GATE
    kept = blocks[(loud > ABSOLUTE_GATE) & (loud > gate)]
    return float(-0.691 + 10 * np.log10(np.mean(kept)))


def loudness(samples: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness of a piece of audio (LUFS); short pieces are padded with silence."""
    samples = np.asarray(samples, dtype=np.float64)
    if len(samples) < round(0.4 * sample_rate):
        # Too short for one gating block: measure its energy over its own length.
        energy = np.mean(np.sum(np.atleast_2d(k_weighted(samples, sample_rate).T) ** 2, axis=0))
        return -0.691 + 10 * np.log10(energy) if energy > 0 else float("-inf")
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(samples))


def true_peak(samples: np.ndarray) -> float:
    """The true peak (linear), from 4x oversampling as BS.1770 describes."""
    if len(samples) == 0:
        return 0.0
    return float(np.max(np.abs(signal.resample_poly(samples, OVERSAMPLE, 1, axis=0))))


def limit(samples: np.ndarray, sample_rate: int, ceiling: float) -> np.ndarray:
    """Hold a clip's true peak under `ceiling` (linear) with a look-ahead limiter.

    The gain each sample needs is spread back and forth by a minimum filter (the look-ahead) and
    smoothed by a shorter moving average, so the gain is already down when a peak arrives and
    the ride back up is gentle. Clips live in memory, so this runs on whole clips, once."""
    out = np.asarray(samples, dtype=np.float32)
    reach = max(1, round(0.005 * sample_rate))
    for _ in range(4):
        over = np.abs(signal.resample_poly(out, OVERSAMPLE, 1))[:len(out) * OVERSAMPLE]
        peak = over.reshape(len(out), OVERSAMPLE).max(axis=1)
        if not len(peak) or peak.max() <= ceiling:
            return out
        need = np.minimum(1.0, ceiling * 0.995 / np.maximum(peak, 1e-12))
        gain = ndimage.minimum_filter1d(need, 4 * reach + 1)
        gain = ndimage.uniform_filter1d(gain, 2 * reach + 1)
        out = (out * gain).astype(np.float32)
    return out
