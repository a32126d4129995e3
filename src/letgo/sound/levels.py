"""The levels of a session: measured, then planned so the mix lands on its loudness target.

Every sentence is brought to the same loudness and limited under a true-peak ceiling that
leaves room for the bed and the encoder; the bell is set relative to the voice; the bed sits
`background_db` under the voice and is lowered while it would pass BS.1770's relative gate.
The master gain is solved on measurements taken once (`_Foreground`), so trying a level costs
no FFTs; see `plan_levels`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import soxr

from letgo.settings.groups import MixSettings, spoken_word_lufs
from letgo.sound import dsp
from letgo.sound.bell import strike
from letgo.sound.dsp import db
from letgo.sound.mix import BedLevel, Envelope
from letgo.sound.timeline import Event, Timeline
from letgo.voice import clips
from letgo.voice.engines import Clip

log = logging.getLogger(__name__)

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
        return round(clip.frames * self.sample_rate / clip.sample_rate)

    def limited(self, i: int) -> np.ndarray:
        """Clip i at the session rate and its level, true peak limited, before any <prosody
        volume> (`clips.sentence` applies that). Made when the mixer reaches the clip's
        passage, so only the clips being heard are held at the session rate."""
        clip = self.clips[i]
        samples = clip.samples
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


def _floats(sound: Clip | np.ndarray) -> np.ndarray:
    """A clip's float samples, made as they are needed (a clip holds 16-bit ones)."""
    return sound.samples if isinstance(sound, Clip) else sound


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
        pieces: list[tuple[Event, Clip | np.ndarray, int, int]] = []  # (event, clip or bell,
        # its rate, key)
        for event in timeline.events:
            if event.kind == "speech":
                clip = clips[event.clip]
                pieces.append((event, clip, clip.sample_rate, id(clip)))
            else:
                pieces.append((event, bell, rate, self.BELL))
        energies = pool.map(
            lambda p: dsp.hop_energy(_floats(p[1]), p[2], round(p[0].start * p[2])), pieces
        )
        for (event, sound, own, key), e in zip(pieces, energies, strict=False):
            first = round(event.start * own) // round(dsp.HOP_SECONDS * own)
            if isinstance(sound, Clip) and key not in self.loudness:
                self.loudness[key] = dsp.energy_loudness(e, sound.frames, own)
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


def _bed_energy(envelope: Envelope, power: float, hops: int, rate: int) -> np.ndarray:
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
    plan = _Plan(timeline, clips, bed_level, channels, settings, sleep)
    master, predicted, bell = plan.solve(0.0)  # each sentence at the target, nothing limited
    plan.trim = {key: plan.trimmed(key, master) for key in plan.unique}
    plan.measure_limiter(master)
    master, predicted, bell = plan.solve(master)
    final = {key: max(plan.trim[key], plan.trimmed(key, master)) for key in plan.unique}
    if final != plan.trim:  # the master rose a little over the trims: hold them to LIMIT_MOST
        plan.trim = final  # still, at the cost of a little loudness (see `_Plan.trimmed`)
        predicted, bell = plan.predict(master)
    plan.log(master, predicted)
    return plan.levels(master, predicted, bell)


@dataclass(frozen=True)
class _Ceilings:
    """The true-peak ceilings (linear) speech and bells are limited under."""

    speech: float
    """For speech: the room under the ceiling less what the ducked bed can add at its peak
    (never below half the room)."""
    speech_db: float
    bell: float
    """For a bell: it rings over the bed at full level."""
    room: float
    """The ceiling less the encoder's margin."""


def _ceilings(settings: MixSettings, bed_level: BedLevel, bed_unit: float) -> _Ceilings:
    room = db(settings.true_peak - settings.peak_margin)
    ceiling = room - bed_level.peak * bed_unit * db(-settings.duck_db)  # the bed under speech
    bell_ceiling = room - bed_level.peak * bed_unit  # a bell rings over the bed at full level
    ceiling_db = dsp.gain_db(max(ceiling, room * 0.5))
    return _Ceilings(db(ceiling_db), ceiling_db, bell_ceiling, room)


def _measured_hops(timeline: Timeline, rate: int, sleep: bool) -> int:
    """Hops of the file the loudness is planned over: all of it, or a sleep session's guided
    part."""
    hop = round(dsp.HOP_SECONDS * rate)
    hops = int(np.ceil(timeline.duration * rate / hop)) + 1
    if sleep:  # measured over the guided part only
        guided = max((e.end for e in timeline.events), default=0.0) + GUIDED_AFTER
        hops = min(hops, int(np.ceil(guided * rate / hop)) + 1)
    return hops


class _Plan:
    """The measurements of one session and the levels being tried on them: each clip's gain
    (`level`), its trim and the share of it the limiter keeps, and how far the bed is
    lowered under the gate."""

    def __init__(
        self,
        timeline: Timeline,
        clips: Sequence[Clip],
        bed_level: BedLevel,
        channels: int,
        settings: MixSettings,
        sleep: bool,
    ):
        rate = self.rate = settings.sample_rate
        loudness = (
            settings.loudness if settings.loudness is not None else spoken_word_lufs(channels)
        )
        self.timeline, self.clips = timeline, clips
        self.background_lufs = bed_level.lufs
        self.has_bed = np.isfinite(self.background_lufs)
        self.bed_unit = (
            db(loudness + settings.background_db - self.background_lufs) if self.has_bed else 0.0
        )
        self.ceilings = _ceilings(settings, bed_level, self.bed_unit)
        self.target = loudness + settings.encoder_shift
        hops = _measured_hops(timeline, rate, sleep)
        raw_bell = strike(rate)
        self.bell_unit = raw_bell * db(loudness + settings.bell_db - dsp.loudness(raw_bell, rate))
        self.bed = (
            _bed_energy(
                Envelope.plan(timeline, settings),
                dsp.energy_of(self.background_lufs) * self.bed_unit**2,
                hops,
                rate,
            )
            if self.has_bed
            else np.zeros(hops)
        )
        self.unique = {id(c): c for c in clips}
        # The measurements (FFTs, limiters) are numpy's work, which lets go of the GIL: two
        # threads take them on two cores while the encoder waits for its first block.
        with ThreadPoolExecutor(2) as pool:
            self.foreground = _Foreground(
                timeline, clips, self.bell_unit, channels, hops, rate, pool
            )
        self.to_target = {
            key: self.target - loud if np.isfinite(loud) else 0.0
            for key, loud in self.foreground.loudness.items()
        }
        self.trim = dict.fromkeys(self.unique, 0.0)
        """dB each clip (by key) is set lower so the limiter takes little from it."""
        self.ratio = dict.fromkeys(self.unique, 1.0)
        """The share of each clip's energy the limiter keeps."""
        self.lowered = 0
        """dB the bed is lowered so it stays under the gate (never raised again)."""

    def level(self, key: int, master: float) -> float:
        """Clip `key`'s gain in dB: to the target, the master, less any trim."""
        return self.to_target[key] + master - self.trim[key]

    def trimmed(self, key: int, master: float) -> float:
        """How far clip `key` is set lower so the limiter takes at most LIMIT_MOST dB at
        `master` (at most TRIM_MOST). Found once, at the master found without trims: were it
        found again, the master would rise to make up for the trims and the trims would
        follow, until every sentence was trimmed and nothing gained."""
        peak = self.foreground.peak[key] + self.to_target[key] + master
        return min(TRIM_MOST, max(0.0, peak - self.ceilings.speech_db - LIMIT_MOST))

    def kept(self, key: int, master: float) -> float:
        """The share of clip `key`'s energy the limiter keeps at `master`."""
        if self.foreground.peak[key] + self.level(key, master) <= self.ceilings.speech_db:
            return 1.0
        clip = self.unique[key]
        x = clip.samples * np.float32(db(self.level(key, master)))
        gain = dsp.limiter_gain(x, clip.sample_rate, self.ceilings.speech)
        if gain is None:
            return 1.0
        return float(
            np.sum(np.square(dsp.apply_gain(x, gain), dtype=np.float64))
            / np.sum(np.square(x, dtype=np.float64))
        )

    def measure_limiter(self, master: float) -> None:
        """The limiter's share of each clip at `master`, measured once (on two threads)."""
        unique = self.unique
        with ThreadPoolExecutor(2) as pool:
            kept = pool.map(lambda k: self.kept(k, master), unique)
            self.ratio = dict(zip(unique, kept, strict=False))

    def predict(self, master: float) -> tuple[float, np.ndarray]:
        """(predicted LUFS, the bell at its level) at `master`, lowering the bed as needed."""
        ceilings, bell_unit = self.ceilings, self.bell_unit
        bell = dsp.limit(bell_unit * db(master), self.rate, max(ceilings.bell, ceilings.room * 0.5))
        power = {key: dsp.power(self.level(key, master)) * self.ratio[key] for key in self.unique}
        power[_Foreground.BELL] = float(
            np.sum(np.square(bell, dtype=np.float64))
            / max(np.sum(np.square(bell_unit, dtype=np.float64)), 1e-30)
        )
        voice = self.foreground.energy(power)
        g2 = db(master) ** 2
        while (
            self.has_bed
            and self.lowered > -30
            and not _bed_clears_gate(voice, self.bed * (g2 * dsp.power(self.lowered)), self.rate)
        ):
            self.lowered -= 1
        loudness = dsp.gated_loudness(voice + self.bed * (g2 * dsp.power(self.lowered)), self.rate)
        return loudness, bell

    def solve(self, master: float) -> tuple[float, float, np.ndarray]:
        """(master, predicted LUFS, bell): the master gain that lands on the target."""
        for _ in range(8):
            predicted, bell = self.predict(master)
            if not np.isfinite(predicted):
                break
            wanted = float(
                np.clip(master + self.target - predicted, -MAX_CORRECTION, MAX_CORRECTION)
            )
            if abs(wanted - master) < 0.02:
                break
            master = wanted
        return master, predicted, bell

    def log(self, master: float, predicted: float) -> None:
        log.info(
            "levels: master %+.2f dB, voice limited to %.2f dBTP, %d of %d sentences trimmed, "
            "bed %.1f LUFS at unit gain, lowered %d dB, predicted %.2f LUFS",
            master,
            self.ceilings.speech_db,
            sum(t > 0.01 for t in self.trim.values()),
            len(self.unique),
            self.background_lufs,
            self.lowered,
            predicted,
        )

    def levels(self, master: float, predicted: float, bell: np.ndarray) -> Levels:
        clips = self.clips
        volumes = [1.0] * len(clips)
        for event in self.timeline.speech:
            volumes[event.clip] = db(event.volume)
        return Levels(
            tuple(clips),
            tuple(db(self.level(id(c), master)) for c in clips),
            self.ceilings.speech,
            self.rate,
            bell,
            self.bed_unit * db(master + self.lowered),
            predicted,
            tuple(volumes) if any(v != 1.0 for v in volumes) else (),
        )
