"""Turning a timeline into sound, block by block.

Only one block of output, the clips, the spoken passages being heard (assembled by the clip
layer, `clips`, with pydub) and one bell are ever held in memory, so an eight-hour session costs
what a ten-minute one does. Everything that changes over time is planned from the
timeline, not detected from the audio: the background eases down before speech and back up in
long pauses (ducking), fades in under the lead-in and out over the tail. Levels come from
measurement (see `levels`): the voice, the bed and the bell are set so the finished file lands
on its loudness target with its true peak under the ceiling.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from letgo.settings.groups import MixSettings
from letgo.sound import dsp
from letgo.sound.dsp import db
from letgo.sound.timeline import Timeline
from letgo.voice import clips

if TYPE_CHECKING:
    from letgo.sound.levels import Levels

log = logging.getLogger(__name__)

__all__ = ["BedLevel", "measure_background", "blocks", "duck_intervals", "Envelope"]


@dataclass(frozen=True)
class BedLevel:
    """A background stream measured at unit gain."""

    lufs: float
    """Its loudness (-inf for none)."""
    peak: float = 0.0
    """Its highest sample (linear): the most it can add to the voice's peaks."""


def measure_background(background, sample_rate: int, seconds: float = 30.0) -> BedLevel:
    """Loudness and peak of a background stream at unit gain, from `seconds` of it.

    Read a hop-aligned piece at a time, so measuring costs no more memory than mixing.
    Pass a stream of its own: the frames read here are used up."""
    hop = round(dsp.HOP_SECONDS * sample_rate)
    piece = 20 * hop
    pieces: list[np.ndarray] = []
    peak = 0.0
    for _ in range(max(1, round(seconds * sample_rate / piece))):
        audio = background.read(piece)
        pieces.append(dsp.hop_energy(audio, sample_rate))
        peak = max(peak, float(np.max(np.abs(audio))) if audio.size else 0.0)
    energy = np.concatenate(pieces)
    return BedLevel(
        dsp.gated_loudness(energy, sample_rate) if energy.any() else float("-inf"), peak
    )


# --- the bed's gain over time ------------------------------------------------------------------


def duck_intervals(timeline: Timeline, settings: MixSettings) -> list[tuple[float, float]]:
    """Stretches of speech, with gaps too short to notice merged in."""
    merged: list[list[float]] = []
    for event in sorted(timeline.speech, key=lambda e: e.start):
        if merged and event.start - merged[-1][1] < settings.duck_min_gap:
            merged[-1][1] = max(merged[-1][1], event.end)
        else:
            merged.append([event.start, event.end])
    return [(a, b) for a, b in merged]


@dataclass(frozen=True)
class Envelope:
    """The bed's planned gain over time: ducking under speech, fades at the ends."""

    starts: np.ndarray
    ends: np.ndarray
    duration: float
    fade_out_start: float
    settings: MixSettings

    @classmethod
    def plan(cls, timeline: Timeline, settings: MixSettings) -> Envelope:
        intervals = duck_intervals(timeline, settings)
        starts = np.array([a for a, _ in intervals], dtype=np.float64)
        ends = np.array([b for _, b in intervals], dtype=np.float64)
        last_speech = max((e.end for e in timeline.speech), default=0.0)
        fade_out = min(settings.fade_out, max(timeline.duration - last_speech, 0.0))
        return cls(starts, ends, timeline.duration, timeline.duration - fade_out, settings)

    def depth(self, t: np.ndarray) -> np.ndarray | float:
        """0 where the bed is at full level, 1 where fully ducked; cosine eases between."""
        s = self.settings
        attack, release = max(s.duck_attack, 1e-3), max(s.duck_release, 1e-3)
        first = np.searchsorted(self.ends + release, t[0], side="left")
        last = np.searchsorted(self.starts - attack, t[-1], side="right")
        if first >= last:
            return 0.0  # nothing near: the common case in a long session, and the cheapest
        depth = np.zeros_like(t)
        for k in range(first, last):
            # Eased down over the attack, held under the speech, eased up over the release;
            # only the ramps cost a cosine (the mixer runs beside the encoder, on its core).
            start, end = self.starts[k], self.ends[k]
            lo, held, rise, hi = np.searchsorted(t, (start - attack, start, end, end + release))
            depth[held:rise] = 1.0
            for a, b, ramp in (
                (lo, held, (t[lo:held] - (start - attack)) / attack),
                (rise, hi, ((end + release) - t[rise:hi]) / release),
            ):
                shape = 0.5 - 0.5 * np.cos(np.pi * np.clip(ramp, 0, 1))
                np.maximum(depth[a:b], shape, out=depth[a:b])
        return depth

    def fade(self, t: np.ndarray) -> np.ndarray | float:
        """Fade-in over the lead-in, fade-out over the tail (equal-power curves); 1 between."""
        s = self.settings
        if t[0] >= s.fade_in and t[-1] <= self.fade_out_start:
            return 1.0
        gain = np.ones_like(t)
        if s.fade_in > 0:
            gain *= dsp.rising(np.clip(t / s.fade_in, 0, 1))
        length = self.duration - self.fade_out_start
        if length > 0:
            gain *= dsp.rising(np.clip((self.duration - t) / length, 0, 1))
        return gain

    def bed(self, t: np.ndarray) -> np.ndarray | float:
        """The gain over `t`; a plain number when it is the same throughout."""
        floor = db(-self.settings.duck_db)
        return (1.0 - self.depth(t) * (1.0 - floor)) * self.fade(t)


# --- the mixer ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Placed:
    """A piece of sound on the timeline: a spoken passage, or a bell (faded with the bed)."""

    start: int
    end: int
    make: Callable[[], clips.AudioSegment]
    bell: bool = False


def blocks(
    timeline: Timeline,
    levels: Levels,
    background,
    settings: MixSettings,
    start: int = 0,
    end: int | None = None,
) -> Iterator[np.ndarray]:
    """The session's frames from `start` to `end` (its end, for None) as float32 blocks of
    shape (frames, background.channels), in order.

    `levels` (from `plan_levels`) carries the clips and their gains; `background` is a stream
    with `channels` and `read(frames)`; `settings` give the ducking, fades and sample rate.
    The speech comes in passages that the clip layer assembles with pydub (`clips.Passage`),
    each built when the mixer reaches it and let go once it has been heard. Up to `start`
    the background is skipped (`Background.skip`: a stream is heard from its beginning), so
    any stretch comes out as the same samples as in the whole."""
    rate = settings.sample_rate
    envelope = Envelope.plan(timeline, settings)
    total = round(timeline.duration * rate) if end is None else end
    placed = [
        _Placed(p.start, p.end, functools.partial(p.build, levels))
        for p in clips.passages(timeline, levels.frames, rate)
    ]
    bell = (
        clips.segment(levels.bell, rate)
        if any(e.kind != "speech" for e in timeline.events)
        else None
    )
    for event in timeline.events:
        if event.kind != "speech":
            at = round(event.start * rate)
            placed.append(_Placed(at, at + len(levels.bell), lambda: bell, bell=True))
    placed.sort(key=lambda p: p.start)
    heard: dict[int, clips.AudioSegment] = {}  # the pieces playing now, by place in `placed`
    ceiling = np.float32(db(settings.limit_db))
    block = max(1, round(settings.block_seconds * rate))
    first_active = 0
    begin = min(start, total) // block * block  # the same blocks as from the start
    background.skip(begin)
    for a in range(begin, total, block):
        b = min(total, a + block)
        n = b - a
        t = np.arange(a, b) / rate
        gain = envelope.bed(t) * levels.bed_gain
        out = background.read(n) * (
            gain.astype(np.float32)[:, None] if isinstance(gain, np.ndarray) else np.float32(gain)
        )
        voice = np.zeros(n, dtype=np.float32)
        bells = None
        while first_active < len(placed) and placed[first_active].end <= a:
            first_active += 1
        for k in range(first_active, len(placed)):
            p = placed[k]
            if p.start >= b:
                break
            if p.end <= a:
                continue
            lo, hi = max(a, p.start), min(b, p.end)
            if k not in heard:
                heard[k] = p.make()
            piece = clips.samples(heard[k].get_sample_slice(lo - p.start, hi - p.start))[:, 0]
            if p.bell:
                bells = np.zeros(n, dtype=np.float32) if bells is None else bells
                bells[lo - a : hi - a] += piece
            else:
                voice[lo - a : hi - a] += piece
            if p.end <= b:
                del heard[k]
        if bells is not None:
            fade = envelope.fade(t)
            voice += bells * (
                fade.astype(np.float32) if isinstance(fade, np.ndarray) else np.float32(fade)
            )
        out += voice[:, None]
        np.clip(out, -ceiling, ceiling, out=out)
        yield out[max(0, start - a) :]
