"""Turning a timeline into sound, block by block.

Only one block of output, the clips and one bell are ever held in memory, so an eight-hour
session costs what a ten-minute one does. The background's ducking is planned from the
timeline (where speech is), not detected from the mix.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import soxr

from .bell import strike
from .engines import Clip
from .plan import Timeline
from .settings import MixSettings


def db(value: float) -> float:
    return float(10 ** (value / 20))


def prepare_clip(clip: Clip, settings: MixSettings) -> np.ndarray:
    """A speech clip at the session rate, brought to the voice level, with 5 ms edges."""
    samples = clip.samples.astype(np.float32)
    if clip.sample_rate != settings.sample_rate:
        samples = soxr.resample(samples, clip.sample_rate, settings.sample_rate).astype(np.float32)
    voiced = np.abs(samples) > 0.01 * (np.max(np.abs(samples)) or 1)
    rms = float(np.sqrt(np.mean(np.square(samples[voiced], dtype=np.float64)))) if voiced.any() else 0
    if rms > 0:
        samples = samples * (db(settings.voice_rms_db) / rms)
    edge = min(len(samples) // 2, int(0.005 * settings.sample_rate))
    if edge:
        ramp = np.linspace(0.0, 1.0, edge, dtype=np.float32)
        samples[:edge] *= ramp
        samples[-edge:] *= ramp[::-1]
    return samples


@dataclass(frozen=True)
class _Placed:
    start: int
    audio: np.ndarray

    @property
    def end(self) -> int:
        return self.start + len(self.audio)


def duck_intervals(timeline: Timeline, settings: MixSettings) -> list[tuple[float, float]]:
    """Stretches of speech, with gaps too short to notice merged in."""
    merged: list[list[float]] = []
    for event in timeline.speech:
        if merged and event.start - merged[-1][1] < settings.duck_min_gap:
            merged[-1][1] = max(merged[-1][1], event.end)
        else:
            merged.append([event.start, event.end])
    return [(a, b) for a, b in merged]


def duck_depth(t: np.ndarray, intervals: Sequence[tuple[float, float]], settings: MixSettings
               ) -> np.ndarray:
    """0 where the background is at full level, 1 where it is fully ducked, eased between."""
    depth = np.zeros_like(t)
    for start, end in intervals:
        if end + settings.duck_release < t[0] or start - settings.duck_attack > t[-1]:
            continue
        down = np.clip((t - (start - settings.duck_attack)) / settings.duck_attack, 0, 1)
        up = np.clip(((end + settings.duck_release) - t) / settings.duck_release, 0, 1)
        shape = np.minimum(down, up)
        depth = np.maximum(depth, 0.5 - 0.5 * np.cos(np.pi * shape))  # cosine ease
    return depth


def fade_gain(t: np.ndarray, duration: float, settings: MixSettings) -> np.ndarray:
    fade_in = np.clip(t / settings.fade_in, 0, 1) if settings.fade_in > 0 else 1.0
    fade_out = np.clip((duration - t) / settings.fade_out, 0, 1) if settings.fade_out > 0 else 1.0
    return np.sin(0.5 * np.pi * fade_in * fade_out)


def blocks(timeline: Timeline, clips: Sequence[np.ndarray], background, settings: MixSettings
           ) -> Iterator[np.ndarray]:
    """The session as float32 blocks of shape (frames, channels), in order.

    `clips[i]` is the prepared audio of sentence i (see `prepare_clip`); `background` is a
    stream with `channels` and `read(frames)`.
    """
    rate = settings.sample_rate
    total = round(timeline.duration * rate)
    bell = None
    placed = []
    for event in timeline.events:
        if event.kind == "speech":
            audio = clips[event.clip]
        else:
            bell = strike(rate) if bell is None else bell
            audio = bell
        placed.append(_Placed(round(event.start * rate), audio))
    placed.sort(key=lambda p: p.start)
    intervals = duck_intervals(timeline, settings)
    bed_level = db(settings.voice_rms_db + settings.background_db) / 0.1
    duck_floor = db(-settings.duck_db)
    ceiling = db(settings.limit_db)
    channels = background.channels
    block = max(1, round(settings.block_seconds * rate))
    first_active = 0
    for a in range(0, total, block):
        b = min(total, a + block)
        n = b - a
        t = np.arange(a, b) / rate
        depth = duck_depth(t, intervals, settings)
        bed_gain = bed_level * (1 - depth * (1 - duck_floor))
        out = background.read(n) * bed_gain[:, None].astype(np.float32)
        voice = np.zeros(n, dtype=np.float32)
        while first_active < len(placed) and placed[first_active].end <= a:
            first_active += 1
        for p in placed[first_active:]:
            if p.start >= b:
                break
            if p.end <= a:
                continue
            lo, hi = max(a, p.start), min(b, p.end)
            voice[lo - a:hi - a] += p.audio[lo - p.start:hi - p.start]
        out += voice[:, None]
        out *= fade_gain(t, timeline.duration, settings)[:, None].astype(np.float32)
        np.clip(out, -ceiling, ceiling, out=out)
        yield out.astype(np.float32, copy=False)
