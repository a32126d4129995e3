"""Background beds, generated block by block so a session of any length costs the same memory.

A background is an object with `channels` and `read(frames) -> float32 array (frames, channels)`
that carries on seamlessly from the previous read. Beds are made at about -20 dBFS RMS; the
mixer sets their level relative to the voice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import UsageError

BED_RMS = 0.1  # -20 dBFS


class PinkNoise:
    """Pink noise (-3 dB per octave) by the Voss-McCartney method: a sum of random rows, row k
    redrawn every 2**k samples. Vectorised per block, with the rows carried between blocks."""

    channels = 1
    ROWS = 16

    def __init__(self, sample_rate: int, seed: int = 1):
        self.rng = np.random.default_rng(seed)
        self.rows = self.rng.standard_normal(self.ROWS)
        self.position = 0

    def read(self, frames: int) -> np.ndarray:
        index = np.arange(self.position, self.position + frames)
        total = self.rng.standard_normal(frames)  # the white row, fresh every sample
        for k in range(self.ROWS):
            period = 1 << (k + 1)
            # A row changes at sample indices that are multiples of its period.
            changes = index[index % period == 0]
            values = np.empty(frames)
            if len(changes) == 0:
                values[:] = self.rows[k]
            else:
                fresh = self.rng.standard_normal(len(changes))
                which = np.searchsorted(changes, index, side="right") - 1
                values = np.where(which < 0, self.rows[k], fresh[np.maximum(which, 0)])
                self.rows[k] = fresh[-1]
            total += values
        self.position += frames
        scale = BED_RMS / np.sqrt(self.ROWS + 1)
        return (total * scale).astype(np.float32).reshape(-1, 1)


class Silence:
    channels = 1

    def read(self, frames: int) -> np.ndarray:
        return np.zeros((frames, 1), dtype=np.float32)


@dataclass(frozen=True)
class BackgroundInfo:
    name: str
    description: str


BUILT_IN = {
    "pink": BackgroundInfo("pink", "soft pink noise, like distant wind (the default)"),
    "none": BackgroundInfo("none", "no background: the voice and silence"),
}


def make_background(name: str, sample_rate: int):
    """A fresh background stream by name; 'none' gives silence."""
    if name == "pink":
        return PinkNoise(sample_rate)
    if name == "none":
        return Silence()
    raise UsageError(f"unknown background '{name}'; choose one of: {', '.join(BUILT_IN)}")
