"""The little signal processing the mixer needs, in numpy alone.

Why not scipy.signal: importing it takes about a second (it pulls in scipy.stats and more),
which by itself would eat most of the time a 20-minute session may take beyond the encoder's.
What is needed here is small: first-order filters that carry their state across blocks,
pink noise, BS.1770 K-weighted energy per 100 ms hop, and a true-peak limiter for clips.
"""

from __future__ import annotations

import functools
from typing import overload

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

HOP_SECONDS = 0.1
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
K_OFFSET = -0.691
"""BS.1770's constant: loudness (LUFS) = K_OFFSET + 10 log10 of the K-weighted mean square."""


# --- decibels -----------------------------------------------------------------------------------


@overload
def db(value: float) -> float: ...
@overload
def db(value: np.ndarray) -> np.ndarray: ...
def db(value: float | np.ndarray) -> float | np.ndarray:
    """Decibels to a linear (amplitude) gain: 10 ** (dB / 20)."""
    if isinstance(value, np.ndarray):
        return 10 ** (value / 20)
    return float(10 ** (value / 20))


@overload
def gain_db(gain: float) -> float: ...
@overload
def gain_db(gain: np.ndarray) -> np.ndarray: ...
def gain_db(gain: float | np.ndarray) -> float | np.ndarray:
    """A linear (amplitude) gain in decibels: 20 log10(gain); -inf for 0."""
    with np.errstate(divide="ignore"):
        return 20 * np.log10(gain)


def power(value: float) -> float:
    """Decibels to a ratio of power (energy): 10 ** (dB / 10)."""
    return float(10 ** (value / 10))


@overload
def lufs(energy: float) -> float: ...
@overload
def lufs(energy: np.ndarray) -> np.ndarray: ...
def lufs(energy: float | np.ndarray) -> float | np.ndarray:
    """Loudness (LUFS) of a K-weighted mean square (BS.1770)."""
    return K_OFFSET + 10 * np.log10(energy)


def energy_of(loudness: float) -> float:
    """The K-weighted mean square of a loudness in LUFS (BS.1770): `lufs` undone."""
    return 10 ** ((loudness - K_OFFSET) / 10)


# --- equal-power fades --------------------------------------------------------------------------


def rising(x: np.ndarray) -> np.ndarray:
    """An equal-power fade-in's gain at `x` from 0 to 1: sin(x pi/2)."""
    return np.sin(0.5 * np.pi * x)


def falling(x: np.ndarray) -> np.ndarray:
    """An equal-power fade-out's gain at `x` from 0 to 1: cos(x pi/2)."""
    return np.cos(0.5 * np.pi * x)


def crossfade(ending: np.ndarray, starting: np.ndarray) -> np.ndarray:
    """`ending` faded out into `starting` faded in, over their length (frames first: shape
    (n,) or (n, channels)), with equal-power gains so the summed power stays level; frame k
    sits at (k + 0.5) / n of the way. float64, whatever comes in."""
    n = len(ending)
    x = (np.arange(n) + 0.5) / n
    if ending.ndim > 1:
        x = x[:, None]
    return ending * falling(x) + starting * rising(x)


def white(rng: np.random.Generator, *shape: int, dtype: type = np.float64) -> np.ndarray:
    """White noise of unit variance. Uniform rather than Gaussian: eight times cheaper to draw,
    and any filtering makes it Gaussian anyway (and the ear cannot tell unfiltered)."""
    x = rng.random(shape, dtype=dtype)
    x -= 0.5
    x *= np.sqrt(12.0, dtype=dtype)
    return x


# --- filters with state -------------------------------------------------------------------------


def pole(cutoff: float, sample_rate: int) -> float:
    """The pole of a one-pole smoother with its -3 dB point near `cutoff` Hz."""
    return float(np.exp(-2 * np.pi * cutoff / sample_rate))


def one_pole(x: np.ndarray, a: float, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """y[n] = a*y[n-1] + x[n] along axis 0, starting from y[-1] = `state` (one per channel).

    Vectorised in chunks: inside a chunk y = a**i * cumsum(x * a**-i), with the chunk length
    kept short enough that a**-i stays well inside float64; the chunks are then chained
    through their end states. Returns (y, new state)."""
    n, channels = x.shape
    m = int(max(1, min(2048, 300 / max(-np.log(a), 1e-9))))
    rows = -(-n // m)
    i = np.arange(m, dtype=np.float64)
    grow, shrink = a**-i, a**i
    chunks = np.zeros((channels, rows * m))
    chunks[:, :n] = x.T
    chunks = chunks.reshape(channels, rows, m)
    chunks *= grow
    np.cumsum(chunks, axis=2, out=chunks)
    chunks *= shrink
    carry = np.empty((channels, rows))
    s = np.array(state, dtype=np.float64)
    step = a**m
    ends = chunks[:, :, -1]
    for r in range(rows):
        carry[:, r] = s
        s = ends[:, r] + step * s
    chunks += carry[:, :, None] * (shrink * a)
    y = chunks.reshape(channels, rows * m)[:, :n].T
    return y, y[-1].copy() if n else s


class Lowpass:
    """First-order low-pass (6 dB/octave), unity gain at DC, state kept between blocks."""

    def __init__(self, cutoff: float, sample_rate: int, channels: int):
        self.a = pole(cutoff, sample_rate)
        self.state = np.zeros(channels)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y, self.state = one_pole(x * (1 - self.a), self.a, self.state)
        return y


class Highpass:
    """First-order high-pass: the input minus its low-passed self."""

    def __init__(self, cutoff: float, sample_rate: int, channels: int):
        self.low = Lowpass(cutoff, sample_rate, channels)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x - self.low(x)


class VossPink:
    """Pink noise (-3 dB/octave) by the Voss-McCartney method: white noise plus rows of random
    values, row k redrawn every 2**(k+1) samples, counted from the stream's start so blocks
    join without a seam. The rows' sum is kept as a running total: each redraw adds its
    change at its sample, one cumulative sum per block."""

    ROWS = 13  # down to ~3 Hz at 44.1 kHz

    def __init__(self, channels: int, rng: np.random.Generator):
        self.rng = rng
        self.channels = channels
        self.current = white(rng, self.ROWS, channels)
        self.position = 0
        self.scale = 1 / np.sqrt(self.ROWS + 1)

    def read(self, frames: int) -> np.ndarray:
        firsts = [(-self.position) % (2 << k) for k in range(self.ROWS)]
        counts = [max(0, -(-(frames - f) // (2 << k))) for k, f in enumerate(firsts)]
        fresh_all = white(self.rng, frames + sum(counts), self.channels, dtype=np.float32)
        out = fresh_all[:frames]  # the white row, fresh every sample
        steps = np.zeros((frames, self.channels), dtype=np.float32)
        steps[0] = self.current.sum(axis=0)
        used = frames
        for k, (first, count) in enumerate(zip(firsts, counts, strict=False)):
            if count == 0:
                continue
            fresh = fresh_all[used : used + count]
            used += count
            steps[first :: 2 << k] += np.diff(fresh, axis=0, prepend=self.current[k : k + 1])
            self.current[k] = fresh[-1]
        self.position += frames
        out += np.cumsum(steps, axis=0, dtype=np.float32)
        out *= self.scale
        return out


# --- loudness (ITU-R BS.1770) -------------------------------------------------------------------


@functools.cache
def k_weighting(sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(b, a) of the BS.1770 pre-filter (high shelf) and RLB high-pass at any rate, as
    libebur128 derives them from the 48 kHz definitions."""
    f0, gain, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = np.tan(np.pi * f0 / sample_rate)
    vh = db(gain)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf_b = (
        np.array([(vh + vb * k / q + k * k), 2 * (k * k - vh), (vh - vb * k / q + k * k)]) / a0
    )
    shelf_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    f0, q = 38.13547087602444, 0.5003270373238773
    k = np.tan(np.pi * f0 / sample_rate)
    a0 = 1 + k / q + k * k
    high_b = np.array([1.0, -2.0, 1.0])
    high_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    return shelf_b, shelf_a, high_b, high_a


@functools.cache
def _hop_weights(sample_rate: int, hop: int) -> np.ndarray:
    """|K(f)|^2 at the rfft bins of one hop, with Parseval's one-sided factors folded in."""
    z = np.exp(-1j * 2 * np.pi * np.fft.rfftfreq(hop, 1 / sample_rate) / sample_rate)
    response = np.ones_like(z)
    sb, sa, hb, ha = k_weighting(sample_rate)
    for b, a in ((sb, sa), (hb, ha)):
        response *= np.polyval(b[::-1], z) / np.polyval(a[::-1], z)
    weights = np.abs(response) ** 2 * 2
    weights[0] /= 2
    if hop % 2 == 0:
        weights[-1] /= 2
    return weights / hop


def hop_energy(samples: np.ndarray, sample_rate: int, offset: int = 0) -> np.ndarray:
    """K-weighted energy (sum of squares over frames and channels) per 100 ms hop, for audio
    that starts `offset` frames into the session; element 0 is hop `offset // hop`.

    Each hop is weighted in the frequency domain (Parseval): exact but for the filters'
    memory across hop edges, which moves a session's loudness by hundredths of a LU."""
    hop = round(HOP_SECONDS * sample_rate)
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[:, None]
    lead = offset % hop
    rows = -(-(lead + len(samples)) // hop)
    frames = np.zeros((rows * hop, samples.shape[1]), dtype=np.float32)
    frames[lead : lead + len(samples)] = samples
    spectrum = np.fft.rfft(frames.reshape(rows, hop, -1), axis=1)
    power = spectrum.real**2 + spectrum.imag**2
    return np.einsum("rbc,b->r", power, _hop_weights(sample_rate, hop))


def block_energy(energy: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean-square energy of each 400 ms gating block (4 hops, 75 % overlap)."""
    hop = round(HOP_SECONDS * sample_rate)
    return (energy[:-3] + energy[1:-2] + energy[2:-1] + energy[3:]) / (4 * hop)


def relative_gate(blocks: np.ndarray) -> float:
    """The BS.1770 relative gate, as a block energy: 10 LU under the mean of the blocks that
    pass the absolute gate."""
    kept = blocks[blocks > energy_of(ABSOLUTE_GATE)]
    return float(np.mean(kept)) * power(RELATIVE_GATE) if len(kept) else float("inf")


def gated_loudness(energy: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness (LUFS) from hop energies: 400 ms blocks, 75 % overlap, gated."""
    hop = round(HOP_SECONDS * sample_rate)
    if len(energy) < 4:
        total = float(np.sum(energy)) / (max(len(energy), 1) * hop)
        return lufs(total) if total > 0 else float("-inf")
    blocks = block_energy(energy, sample_rate)
    with np.errstate(divide="ignore"):
        loud = lufs(blocks)
    kept = blocks[loud > ABSOLUTE_GATE]
    if not len(kept):
        return float("-inf")
    gate = lufs(np.mean(kept)) + RELATIVE_GATE
    kept = blocks[(loud > ABSOLUTE_GATE) & (loud > gate)]
    return float(lufs(np.mean(kept)))


def loudness(samples: np.ndarray, sample_rate: int) -> float:
    """Integrated, gated loudness of a piece of audio in LUFS (-inf for silence)."""
    if len(samples) == 0:
        return float("-inf")
    return energy_loudness(hop_energy(samples, sample_rate), len(samples), sample_rate)


def energy_loudness(energy: np.ndarray, frames: int, sample_rate: int) -> float:
    """`loudness` of `frames` of audio from its `hop_energy`: gated, or for a piece shorter
    than one gating block, its mean."""
    if frames < round(0.4 * sample_rate):
        total = float(np.sum(energy)) / max(frames, 1)
        return lufs(total) if total > 0 else float("-inf")
    return gated_loudness(energy, sample_rate)


# --- true peak ----------------------------------------------------------------------------------

TAPS = 8  # each side of the interpolation point: within 0.1 dB, and the margin is 1.5 dB
NEAR = 0.7  # only samples within 3 dB of a ceiling can have a true peak over it (in practice)


@functools.cache
def _interpolator() -> np.ndarray:
    """Windowed-sinc weights for the points 1/4, 2/4 and 3/4 of the way to the next sample."""
    j = np.arange(-TAPS + 1, TAPS + 1)
    phases = np.array([0.25, 0.5, 0.75])
    x = j[:, None] - phases[None, :]
    window = 0.5 + 0.5 * np.cos(np.pi * x / (TAPS + 1))
    return (np.sinc(x) * window).astype(np.float64)  # (2*TAPS, 3)


def peaks_at(x: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The largest |value| from each sample in `index` to the next, 4x oversampled."""
    padded = np.concatenate([np.zeros(TAPS), x, np.zeros(TAPS + 1)])
    taps = np.arange(-TAPS + 1, TAPS + 1)[None, :] + TAPS
    out = np.abs(x[index])
    for lo in range(0, len(index), 16384):  # in slices: bounded memory
        part = index[lo : lo + 16384]
        between = np.abs(padded[part[:, None] + taps] @ _interpolator()).max(axis=1)
        np.maximum(out[lo : lo + 16384], between, out=out[lo : lo + 16384])
    return out


def _near(x: np.ndarray, level: float) -> np.ndarray:
    """Samples whose span to the next sample could peak over `level`: each loud sample and the
    one before it."""
    mask = np.abs(x) > level
    mask[:-1] |= mask[1:]
    return np.flatnonzero(mask)


def true_peak(x: np.ndarray) -> float:
    """True peak (linear) of mono or multichannel audio, 4x oversampled as in BS.1770."""
    x = np.asarray(x, dtype=np.float64)
    channels = x.T if x.ndim > 1 else [x]
    best = 0.0
    for c in channels:
        sample_peak = float(np.max(np.abs(c))) if len(c) else 0.0
        index = _near(c, sample_peak * NEAR)
        if len(index):
            best = max(best, float(peaks_at(c, index).max()))
    return best


#: Seconds the limiter looks ahead: its gain is fully down when a peak arrives, having eased
#: down over this long, so no peak is caught by a sudden change.
ATTACK = 0.005
#: How fast the limiter's gain rises again after a peak, in dB a second: 3 dB takes 75 ms, so
#: the gain follows syllables, never the waveform (no change at audio rate, no distortion).
RELEASE_DB_PER_SECOND = 40.0
#: Frames per step of the limiter's gain curve (0.7 ms at 44.1 kHz), interpolated between.
STEP = 32


def limiter_gain(x: np.ndarray, sample_rate: int, ceiling: float) -> np.ndarray | None:
    """The gain (dB, one value per STEP frames) that holds `x`'s true peak under `ceiling`
    (linear); None when no peak reaches it.

    Each peak's need is held ATTACK either side (a minimum filter), released at
    RELEASE_DB_PER_SECOND (a running minimum of a rising line), then smoothed by a moving
    average a little narrower than the hold, so the average never rises above any need."""
    x = np.asarray(x, dtype=np.float32)
    index = _near(x, ceiling * NEAR)
    if not len(index):
        return None
    peak = peaks_at(x.astype(np.float64), index)
    over = peak > ceiling
    if not over.any():
        return None
    steps = -(-len(x) // STEP)
    need = np.zeros(steps)
    np.minimum.at(need, index[over] // STEP, gain_db(ceiling * 0.995 / peak[over]))
    reach = max(2, round(ATTACK * sample_rate / STEP))
    held = sliding_window_view(np.pad(need, reach), 2 * reach + 1).min(axis=1)
    rise = RELEASE_DB_PER_SECOND * STEP / sample_rate * np.arange(steps)
    released = np.minimum(np.minimum.accumulate(held - rise) + rise, 0.0)
    width = reach - 1
    return np.convolve(
        np.pad(released, width, mode="edge"), np.ones(2 * width + 1) / (2 * width + 1), mode="valid"
    )


def apply_gain(x: np.ndarray, decibels: np.ndarray) -> np.ndarray:
    """`x` times a gain given in dB per STEP frames, interpolated between step centres."""
    centres = np.arange(len(decibels)) * STEP + (STEP - 1) / 2
    gain = np.interp(np.arange(len(x)), centres, db(decibels))
    return (x * gain).astype(np.float32)


def limit(x: np.ndarray, sample_rate: int, ceiling: float) -> np.ndarray:
    """`x` with its true peak held under `ceiling` (linear) by a look-ahead limiter with a
    smooth release (see `limiter_gain`). A second look catches the rare peak that the
    interpolated gain let through."""
    y = np.asarray(x, dtype=np.float32)
    for _ in range(2):
        gain = limiter_gain(y, sample_rate, ceiling)
        if gain is None:
            break
        y = apply_gain(y, gain)
    return y
