"""Turning a timeline into sound, block by block.

Only one block of output, the clips, the spoken passages being heard (assembled by the clip
layer, `clips`, with pydub) and one bell are ever held in memory, so an eight-hour session costs
what a ten-minute one does. Everything that changes over time is planned from the
timeline, not detected from the audio: the background eases down before speech and back up in
long pauses (ducking), fades in under the lead-in and out over the tail. Levels come from
measurement (see `dsp`): the voice, the bed and the bell are set so the finished file lands
on its loudness target with its true peak under the ceiling.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import soxr

from letgo.settings.groups import MixSettings, spoken_word_lufs
from letgo.sound import dsp
from letgo.sound.bell import strike
from letgo.sound.dsp import db
from letgo.sound.timeline import Timeline
from letgo.voice import clips
from letgo.voice.engines import Clip

log = logging.getLogger(__name__)

__all__ = [
    "db",
    "BedLevel",
    "measure_background",
    "plan_levels",
    "blocks",
    "Levels",
    "duck_intervals",
]

#: The most the limiter may take off a sentence's highest peak, in dB: less than the ear
#: notices on a voice. A sentence that would need more is set lower instead...
LIMIT_MOST = 3.0
#: ... by up to this many dB (a sentence whose peaks stand far above its loudness; Piper makes
#: many). Measured on letting-go over the pink bed, Piper's speech limited by more than 3 dB
#: falls from 2.1% of its samples to 0.5%; pyttsx3's is none either way.
TRIM_MOST = 2.0
#: Seconds of fade at each end of a spoken clip, so no clip starts or stops with a click.
EDGE = 0.005


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
class _Envelope:
    """The bed's planned gain over time: ducking under speech, fades at the ends."""

    starts: np.ndarray
    ends: np.ndarray
    duration: float
    fade_out_start: float
    settings: MixSettings

    @classmethod
    def plan(cls, timeline: Timeline, settings: MixSettings) -> _Envelope:
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


# --- levels -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Levels:
    """The measured, planned levels of one session."""

    clips: tuple[Clip, ...]
    """Speech clips as the engine made them; `speech(i)` is clip i as it is heard."""
    gains: tuple[float, ...]
    """Linear gain on each clip before the limiter: its loudness to the target, the master
    correction and any trim of a peaky sentence."""
    ceiling: float
    """True-peak ceiling (linear) the limiter holds each clip under."""
    sample_rate: int
    bell: np.ndarray
    """The bell strike at its final level."""
    bed_gain: float
    """Linear gain on the background stream (before ducking and fades)."""
    predicted_lufs: float
    """The integrated loudness the mix is expected to measure."""
    volumes: tuple[float, ...] = ()
    """Linear gain on clip i after the limiter (<prosody volume>); none means 1 for all."""

    def frames(self, i: int) -> int:
        """Clip i's length in frames at the session rate."""
        clip = self.clips[i]
        return round(len(clip.samples) * self.sample_rate / clip.sample_rate)

    def limited(self, i: int) -> np.ndarray:
        """Clip i at the session rate and its level, true peak limited, before any <prosody
        volume> (`clips.sentence` applies that). Made when the mixer reaches the clip's
        passage, so only the clips being heard are held at the session rate."""
        clip = self.clips[i]
        samples = np.asarray(clip.samples, dtype=np.float32)
        if clip.sample_rate != self.sample_rate:
            samples = soxr.resample(samples, clip.sample_rate, self.sample_rate)
        n = self.frames(i)
        samples = np.pad(samples[:n], (0, max(0, n - len(samples)))) * np.float32(self.gains[i])
        edge = min(n // 2, round(EDGE * self.sample_rate))
        if edge:
            ramp = np.linspace(0.0, 1.0, edge, dtype=np.float32)
            samples[:edge] *= ramp
            samples[-edge:] *= ramp[::-1]
        return dsp.limit(samples, self.sample_rate, self.ceiling)

    def speech(self, i: int) -> np.ndarray:
        """Clip i as it is heard (mono float32): limited, then its <prosody volume>."""
        return clips.samples(clips.sentence(self, i))[:, 0]


def _peak_db(samples: np.ndarray) -> float:
    return dsp.gain_db(dsp.true_peak(samples))


class _Foreground:
    """K-weighted energy per hop of the speech and bells, placed as the timeline says, and
    each clip's loudness (from the same energies) and true peak.

    Each event is weighted once, at unit gain and at its clip's own rate (scaled to the
    session's); trying levels then only scales these energies, so it costs no FFTs."""

    BELL = -1

    def __init__(
        self,
        timeline: Timeline,
        clips: Sequence[Clip],
        bell: np.ndarray,
        channels: int,
        hops: int,
        rate: int,
        pool: ThreadPoolExecutor,
    ):
        self.hops = hops
        self.placed = []
        self.loudness: dict[int, float] = {}
        """LUFS of each clip at unit gain, by key (id of the clip)."""
        pieces = []  # (event, samples, their rate, key, frame the event starts at)
        for event in timeline.events:
            if event.kind == "speech":
                clip = clips[event.clip]
                samples, own, key = clip.samples, clip.sample_rate, id(clip)
            else:
                samples, own, key = bell, rate, self.BELL
            pieces.append((event, samples, own, key, round(event.start * own)))
        energies = pool.map(lambda p: dsp.hop_energy(p[1], p[2], p[4]), pieces)
        for (event, samples, own, key, frame), e in zip(pieces, energies, strict=False):
            first = frame // round(dsp.HOP_SECONDS * own)
            if key != self.BELL and key not in self.loudness:
                self.loudness[key] = dsp.energy_loudness(e, len(samples), own)
            e = e[: max(0, hops - first)] * (channels * rate / own)
            if event.kind == "speech" and event.volume:  # <prosody volume>, after the limiter
                e = e * db(event.volume) ** 2
            self.placed.append((first, e, key))
        unplaced = [c for c in clips if id(c) not in self.loudness]  # a cue held back
        for clip, loud in zip(
            unplaced,
            pool.map(lambda c: dsp.loudness(c.samples, c.sample_rate), unplaced),
            strict=True,
        ):
            self.loudness[id(clip)] = loud
        unique = {id(c): c for c in clips}
        peaks = pool.map(lambda c: _peak_db(c.samples), unique.values())
        self.peak = dict(zip(unique, peaks, strict=True))
        """True peak (dBTP) of each clip at unit gain, by key."""

    def energy(self, power: dict[int, float]) -> np.ndarray:
        """Energy per hop with each clip's (by key) energy scaled by `power[key]`."""
        energy = np.zeros(self.hops)
        for first, e, key in self.placed:
            energy[first : first + len(e)] += e * power[key]
        return energy


def _bed_energy(envelope: _Envelope, power: float, hops: int, rate: int) -> np.ndarray:
    """K-weighted energy per hop of a bed of mean-square `power` under its planned gain."""
    hop = round(dsp.HOP_SECONDS * rate)
    energy = np.zeros(hops)
    points, chunk = 8, 36000  # gain sampled 8 times a hop; bounded memory for any length
    for first in range(0, hops, chunk):
        n = min(chunk, hops - first)
        t = np.minimum(
            (first + (np.arange(n * points) + 0.5) / points) * hop / rate, envelope.duration
        )
        gain = np.broadcast_to(envelope.bed(t), t.shape).reshape(n, points)
        energy[first : first + n] = power * hop * np.mean(gain**2, axis=1)
    return energy


#: The most the whole mix is moved (dB) to land on the target once the voice is set to it.
MAX_CORRECTION = 6.0
#: Seconds after a sleep session's last word or bell that still count as its guided part.
GUIDED_AFTER = 10.0
#: How far (LU) a bed on its own stays under BS.1770's relative gate (noise and swells vary).
GATE_MARGIN = 3.0


def _bed_clears_gate(voice: np.ndarray, bed: np.ndarray, rate: int) -> bool:
    """True when every stretch that is (nearly) all bed measures under the relative gate, by
    GATE_MARGIN: then the file's integrated loudness is the voice's, not the bed's."""
    voice_blocks, bed_blocks = dsp.block_energy(voice, rate), dsp.block_energy(bed, rate)
    gate = dsp.relative_gate(voice_blocks + bed_blocks)
    alone = voice_blocks < 0.1 * bed_blocks
    return not alone.any() or bool(bed_blocks[alone].max() <= gate * dsp.power(-GATE_MARGIN))


def plan_levels(
    timeline: Timeline,
    clips: Sequence[Clip],
    bed_level: BedLevel,
    channels: int,
    settings: MixSettings,
    sleep: bool = False,
) -> Levels:
    """Gains for voice, bell and bed so the mix measures `settings.loudness` LUFS.

    `clips[i]` is sentence i as the engine made it; `bed_level` is the bed at unit gain
    (`measure_background`). Every sentence is brought to the same loudness; the voice and
    bell are limited to `settings.true_peak - settings.peak_margin` dBTP, less what the bed
    under them can add at its peaks, leaving the encoder room to overshoot. A sentence that
    would lose more than LIMIT_MOST dB to the limiter is set lower instead, by up to
    TRIM_MOST dB.

    Planned from measurements: each clip's loudness, true peak and K-weighted energy are
    measured once, the master gain is solved on those (cheap), and the little the limiter
    takes is measured once, on the clips it will touch, for a last correction.

    BS.1770 gates out blocks more than 10 LU below the mean. In a session that is mostly
    pauses, a bed 20 dB under the voice sits near that gate, and once it passes, the
    "integrated loudness" becomes the bed's: hitting the target would then mean shouting. So
    the bed is lowered (from `background_db`, never raised) until it stays under the gate.

    A sleep session (`sleep`) is set by its guided part alone, up to GUIDED_AFTER seconds past
    the last word or bell: the voice lands where it does in any other session, and the night
    of background after it stays at its place under the voice, so over a long night the
    whole file measures lower than the target."""
    rate = settings.sample_rate
    loudness = settings.loudness if settings.loudness is not None else spoken_word_lufs(channels)
    envelope = _Envelope.plan(timeline, settings)
    background_lufs = bed_level.lufs
    has_bed = np.isfinite(background_lufs)
    bed_unit = db(loudness + settings.background_db - background_lufs) if has_bed else 0.0
    room = db(settings.true_peak - settings.peak_margin)
    ceiling = room - bed_level.peak * bed_unit * db(-settings.duck_db)  # the bed under speech
    bell_ceiling = room - bed_level.peak * bed_unit  # a bell rings over the bed at full level
    ceiling_db = dsp.gain_db(max(ceiling, room * 0.5))
    ceiling = db(ceiling_db)
    target = loudness + settings.encoder_shift
    hop = round(dsp.HOP_SECONDS * rate)
    hops = int(np.ceil(timeline.duration * rate / hop)) + 1
    if sleep:  # measured over the guided part only
        guided = max((e.end for e in timeline.events), default=0.0) + GUIDED_AFTER
        hops = min(hops, int(np.ceil(guided * rate / hop)) + 1)
    raw_bell = strike(rate)
    bell_unit = raw_bell * db(loudness + settings.bell_db - dsp.loudness(raw_bell, rate))
    bed = (
        _bed_energy(envelope, dsp.energy_of(background_lufs) * bed_unit**2, hops, rate)
        if has_bed
        else np.zeros(hops)
    )
    unique = {id(c): c for c in clips}
    # The measurements (FFTs, limiters) are numpy's work, which lets go of the GIL: two
    # threads take them on two cores while the encoder waits for its first block.
    with ThreadPoolExecutor(2) as pool:
        foreground = _Foreground(timeline, clips, bell_unit, channels, hops, rate, pool)
    to_target = {
        key: target - loud if np.isfinite(loud) else 0.0
        for key, loud in foreground.loudness.items()
    }

    trim = dict.fromkeys(unique, 0.0)

    def level(key: int, master: float) -> float:
        """Clip `key`'s gain in dB: to the target, the master, less any trim."""
        return to_target[key] + master - trim[key]

    def trimmed(key: int, master: float) -> float:
        """How far clip `key` is set lower so the limiter takes at most LIMIT_MOST dB at
        `master` (at most TRIM_MOST). Found once, at the master found without trims: were it
        found again, the master would rise to make up for the trims and the trims would
        follow, until every sentence was trimmed and nothing gained."""
        peak = foreground.peak[key] + to_target[key] + master
        return min(TRIM_MOST, max(0.0, peak - ceiling_db - LIMIT_MOST))

    def kept(key: int, master: float) -> float:
        """The share of clip `key`'s energy the limiter keeps at `master`."""
        if foreground.peak[key] + level(key, master) <= ceiling_db:
            return 1.0
        clip = unique[key]
        x = clip.samples * np.float32(db(level(key, master)))
        gain = dsp.limiter_gain(x, clip.sample_rate, ceiling)
        if gain is None:
            return 1.0
        return float(
            np.sum(np.square(dsp.apply_gain(x, gain), dtype=np.float64))
            / np.sum(np.square(x, dtype=np.float64))
        )

    ratio = dict.fromkeys(unique, 1.0)
    lowered = 0

    def predict(master: float) -> tuple[float, np.ndarray]:
        """(predicted LUFS, the bell at its level) at `master`, lowering the bed as needed."""
        nonlocal lowered
        bell = dsp.limit(bell_unit * db(master), rate, max(bell_ceiling, room * 0.5))
        power = {key: dsp.power(level(key, master)) * ratio[key] for key in unique}
        power[_Foreground.BELL] = float(
            np.sum(np.square(bell, dtype=np.float64))
            / max(np.sum(np.square(bell_unit, dtype=np.float64)), 1e-30)
        )
        voice = foreground.energy(power)
        g2 = db(master) ** 2
        while (
            has_bed
            and lowered > -30
            and not _bed_clears_gate(voice, bed * (g2 * dsp.power(lowered)), rate)
        ):
            lowered -= 1
        return dsp.gated_loudness(voice + bed * (g2 * dsp.power(lowered)), rate), bell

    def solve(master: float) -> tuple[float, float, np.ndarray]:
        """(master, predicted LUFS, bell): the master gain that lands on the target."""
        for _ in range(8):
            predicted, bell = predict(master)
            if not np.isfinite(predicted):
                break
            wanted = float(np.clip(master + target - predicted, -MAX_CORRECTION, MAX_CORRECTION))
            if abs(wanted - master) < 0.02:
                break
            master = wanted
        return master, predicted, bell

    master, predicted, bell = solve(0.0)  # each sentence at the target, nothing limited
    trim = {key: trimmed(key, master) for key in unique}
    with ThreadPoolExecutor(2) as pool:  # the limiter's share, once
        ratio = dict(zip(unique, pool.map(lambda k: kept(k, master), unique), strict=False))
    master, predicted, bell = solve(master)
    final = {key: max(trim[key], trimmed(key, master)) for key in unique}
    if final != trim:  # the master rose a little over the trims: hold them to LIMIT_MOST still,
        trim = final  # at the cost of a little loudness (not found again: see `trimmed`)
        predicted, bell = predict(master)
    gains = tuple(db(level(id(c), master)) for c in clips)
    log.info(
        "levels: master %+.2f dB, voice limited to %.2f dBTP, %d of %d sentences trimmed, "
        "bed %.1f LUFS at unit gain, lowered %d dB, predicted %.2f LUFS",
        master,
        ceiling_db,
        sum(t > 0.01 for t in trim.values()),
        len(unique),
        background_lufs,
        lowered,
        predicted,
    )
    volumes = [1.0] * len(clips)
    for event in timeline.speech:
        volumes[event.clip] = db(event.volume)
    return Levels(
        tuple(clips),
        gains,
        ceiling,
        rate,
        bell,
        bed_unit * db(master + lowered),
        predicted,
        tuple(volumes) if any(v != 1.0 for v in volumes) else (),
    )


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
    envelope = _Envelope.plan(timeline, settings)
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
