"""Background beds, made block by block so a session of any length costs the same memory.

A background is a `Background`: `channels`, and `read(frames) -> float32 array (frames,
channels)` that carries on exactly where the previous read stopped: filters keep their state,
oscillators their phase (computed from the absolute sample position), so there is no seam at a
block boundary. Generated beds come out at roughly -20 dBFS RMS; the mixer measures each bed and
sets its level relative to the voice, so these levels only need to be sane.
"""

from __future__ import annotations

import copy
import functools
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from letgo.errors import EncodeError, SettingError, UsageError
from letgo.file import ffmpeg
from letgo.sound import dsp
from letgo.sound.dsp import Highpass, Lowpass, VossPink, one_pole, pole, white
from letgo.voice import clips

log = logging.getLogger(__name__)

BED_RMS = 0.1  # -20 dBFS


class Background(Protocol):
    """A bed, read block by block; what the mixer and the level planner need of one."""

    channels: int

    def read(self, frames: int) -> np.ndarray:
        """The next `frames` frames, float32, shape (frames, channels)."""

    def skip(self, frames: int) -> None:
        """Move on `frames` frames, to where reading them would leave the stream (the second
        half of an MP3 encoded in halves starts mid-session), cheaply where it can."""

    def twin(self) -> Background:
        """An unread stream of the same sound from the same place, to measure the bed without
        disturbing it (take it before reading)."""

    def close(self) -> None:
        """Free what it holds (a decoder process); the bed is not read again."""


def _discard(stream: Background, frames: int) -> None:
    """Skip by reading, a second at a time: for a stream whose state has no shortcut."""
    while frames > 0:
        stream.read(min(frames, 1 << 16))
        frames -= 1 << 16


#: Seconds of noise a generated bed's filters run over after a skip: their memory is far
#: shorter (the slowest, brown noise's 10 Hz integrator, has forgotten all but 1e-27 of its
#: past in a second), so the frames after a skip are those reading would have made.
WARM_UP = 1.0


class _Generated:
    """A bed computed here: its twin is a copy of its state, and it holds nothing to close."""

    rng: np.random.Generator
    """The noise generator of a bed that draws per frame (see `_leap`)."""

    def twin(self):
        return copy.deepcopy(self)

    def close(self) -> None:
        pass

    def _leap(self, frames: int, draws_per_frame: int, rate: int) -> int:
        """Skip the noise of all but the last WARM_UP seconds of `frames` (its generator
        draws `draws_per_frame` uniform values a frame, one step each); returns the frames
        left to read, to bring the filters to their state."""
        leap = max(0, frames - round(WARM_UP * rate))
        bits = self.rng.bit_generator
        assert isinstance(bits, np.random.PCG64)  # default_rng's, which can jump ahead
        bits.advance(leap * draws_per_frame)
        return frames - leap


class _Slow:
    """Slow control signals (swells, drifts) from the absolute sample position: seamless."""

    def __init__(self, sample_rate: int):
        self.rate = sample_rate
        self.position = 0

    def times(self, frames: int, step: int = 1) -> np.ndarray:
        """Times of this block's frames (every `step`-th frame, for control signals)."""
        t = (self.position + np.arange(0, frames, step)) / self.rate
        self.position += frames
        return t


def _hold(values: np.ndarray, step: int, frames: int) -> np.ndarray:
    """A control signal computed every `step` frames, held to full rate.

    (The steps are far below hearing.)"""
    return np.repeat(values, step, axis=0)[:frames]


STEP = 64  # control-rate decimation: 1.5 ms at 44.1 kHz


class Pink(_Generated):
    """Pink noise: soft, like distant wind.

    The sum of two pink-noise loops of coprime lengths (about 24 s and 32 s, each made
    seamless by an equal-power crossfade of its ends): the sum only repeats after about a year,
    and a block costs two slices and an add, which keeps the mixer off the encoder's back."""

    LENGTHS = (1_048_573, 1_398_107)  # coprime frame counts
    FADE = 22050

    def __init__(self, sample_rate: int, seed: int = 1, channels: int = 1):
        self.channels = channels
        self.seed = seed
        self.positions = [0] * len(self.LENGTHS)

    @functools.cached_property
    def tables(self) -> list[np.ndarray]:
        """The loops, made on first use: a render measures the bed on its early thread (through
        a twin), so they are made there, beside the voice being made ready."""
        noise = VossPink(self.channels, np.random.default_rng(self.seed))
        return [self._loop(noise, n) for n in self.LENGTHS]

    def __deepcopy__(self, memo: dict) -> Pink:
        """A twin (also within a drone's or binaural bed's) shares the read-only loops, made
        once, and keeps its own place in them."""
        self.tables  # noqa: B018 (made now, so both hold the same)
        twin = copy.copy(self)
        twin.positions = list(self.positions)
        return twin

    def _loop(self, noise: VossPink, n: int) -> np.ndarray:
        piece = 1 << 16
        raw = np.concatenate(
            [noise.read(min(piece, n + self.FADE - i)) for i in range(0, n + self.FADE, piece)]
        ).astype(np.float32)
        table = raw[:n].copy()
        table[: self.FADE] = dsp.crossfade(raw[n : n + self.FADE], raw[: self.FADE])
        return table * np.float32(BED_RMS / np.sqrt(len(self.LENGTHS)))

    def skip(self, frames: int) -> None:
        lengths = self.LENGTHS
        self.positions = [(p + frames) % n for p, n in zip(self.positions, lengths, strict=True)]

    def read(self, frames: int) -> np.ndarray:
        out = np.zeros((frames, self.channels), dtype=np.float32)
        for k, table in enumerate(self.tables):
            done, position = 0, self.positions[k]
            while done < frames:
                take = min(frames - done, len(table) - position)
                out[done : done + take] += table[position : position + take]
                done += take
                position = (position + take) % len(table)
            self.positions[k] = position
        return out


class Brown(_Generated):
    """Brown noise: deeper and rounder than pink, like a far-off waterfall."""

    def __init__(self, sample_rate: int, seed: int = 1):
        self.rng = np.random.default_rng(seed)
        self.rate = sample_rate
        self.channels = 1
        self.a = pole(10.0, sample_rate)  # a leaky integrator: -6 dB/octave above 10 Hz
        self.state = np.zeros(1)
        self.rumble = Highpass(25.0, sample_rate, 1)  # nothing below hearing
        self.scale = BED_RMS / np.sqrt((1 - self.a) / (1 + self.a))

    def skip(self, frames: int) -> None:
        self.read(self._leap(frames, 1, self.rate))

    def read(self, frames: int) -> np.ndarray:
        noise = white(self.rng, frames, 1) * (1 - self.a)
        out, self.state = one_pole(noise, self.a, self.state)
        return (self.rumble(out) * self.scale * 1.15).astype(np.float32)


class Rain(_Generated):
    """Steady rain in stereo: a band of hiss that drifts in strength, and scattered drops.

    The drops of each second are drawn from that second's own generator, so any stretch of
    the rain is the same however it is read, or skipped to."""

    DROPS_PER_SECOND = 60.0

    def __init__(self, sample_rate: int, seed: int = 1):
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.rate = sample_rate
        self.channels = 2
        self.filter = Lowpass(6500.0, sample_rate, 2)
        self.clock = _Slow(sample_rate)
        # A handful of drop sounds: short decaying chirps between 2 and 5 kHz.
        n = int(0.006 * sample_rate)
        t = np.arange(n) / sample_rate
        self.drops = np.array(
            [
                np.sin(2 * np.pi * f * t * (1 - 8 * t)) * np.exp(-t / 0.0012)
                for f in np.linspace(2000, 5000, 8)
            ]
        )

    def _second(self, second: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(first frame, side, sound) of each drop that begins in `second`."""
        rng = np.random.default_rng([self.seed, second])
        count = rng.poisson(self.DROPS_PER_SECOND * 2)
        where = second * self.rate + rng.integers(0, self.rate, count)
        side = rng.integers(0, 2, count)
        shape = self.drops[rng.integers(0, len(self.drops), count)]
        return where, side, shape * rng.exponential(1.0, count)[:, None]

    def skip(self, frames: int) -> None:
        warm = self._leap(frames, 2, self.rate)
        self.clock.position += frames - warm
        self.read(warm)

    def read(self, frames: int) -> np.ndarray:
        start = self.clock.position
        previous = self.filter.state[None, :].copy()
        # Low-passed, then differenced: a hiss peaking around 5 kHz, thin below 500 Hz.
        hiss = np.diff(self.filter(white(self.rng, frames, 2)), axis=0, prepend=previous)
        t = self.clock.times(frames, STEP)[:, None]
        drift = _hold(
            0.8 + 0.12 * np.sin(2 * np.pi * t / 23.0) + 0.08 * np.sin(2 * np.pi * t / 7.3 + 1),
            STEP,
            frames,
        )
        length = self.drops.shape[1]
        drops = np.zeros((frames, 2))
        for second in range(
            max(0, start - length) // self.rate, (start + frames - 1) // self.rate + 1
        ):
            where, side, shape = self._second(second)
            at = where[:, None] - start + np.arange(length)
            inside = (at >= 0) & (at < frames)
            np.add.at(
                drops, (at[inside], np.broadcast_to(side[:, None], at.shape)[inside]), shape[inside]
            )
        bed = hiss * 2.2 * drift + drops * 0.35
        return (bed * BED_RMS).astype(np.float32)


class Ocean(_Generated):
    """Ocean waves in stereo: a low roar that swells and falls every ten seconds or so, with
    foam at each crest; the right side lags a little, so the waves move across."""

    def __init__(self, sample_rate: int, seed: int = 1):
        self.rng = np.random.default_rng(seed)
        self.channels = 2
        self.roar = [Lowpass(90.0, sample_rate, 2), Lowpass(1000.0, sample_rate, 2)]
        self.hiss = Lowpass(6000.0, sample_rate, 2)
        self.clock = _Slow(sample_rate)

    def skip(self, frames: int) -> None:
        warm = self._leap(frames, 2, self.clock.rate)
        self.clock.position += frames - warm
        self.read(warm)

    def read(self, frames: int) -> np.ndarray:
        t = self.clock.times(frames, STEP)[:, None] + np.array([0.0, 0.8])
        # A swell every ~11 s, its period wandering (FM) so the sea never repeats exactly.
        phase = 2 * np.pi * t / 11.0 + 1.6 * np.sin(2 * np.pi * t / 47.0)
        swell = _hold((0.5 - 0.5 * np.cos(phase)) ** 2, STEP, frames)
        noise = white(self.rng, frames, 2)
        body = noise
        for f in self.roar:
            body = f(body)
        previous = self.hiss.state[None, :].copy()
        # A first difference tilts the low-passed noise up into a hiss: foam.
        foam = np.diff(self.hiss(noise), axis=0, prepend=previous)
        out = body * 9.0 * (0.3 + 1.1 * swell) + foam * 2.0 * swell**3
        return (out * BED_RMS).astype(np.float32)


class Drone(_Generated):
    """A warm drone: A1, A2, E3, A3, E4 in just intonation (all harmonics of 55 Hz), played
    by two oscillators a tenth of a hertz apart, so each voice beats slowly at its own rate.

    Because every voice is a harmonic of 55 Hz, each oscillator is one wavetable lookup."""

    #: (harmonic of 55 Hz, level)
    VOICES = ((1, 0.5), (2, 1.0), (3, 0.55), (4, 0.35), (6, 0.12))
    ROOT = 55.0
    DETUNE = 0.1  # Hz between the two oscillators' roots
    TABLE = 1 << 14

    def __init__(self, sample_rate: int, seed: int = 1):
        self.channels = 1
        self.clock = _Slow(sample_rate)
        self.air = Pink(sample_rate, seed)
        phase = np.arange(self.TABLE) / self.TABLE
        table = sum(level * np.sin(2 * np.pi * k * phase) for k, level in self.VOICES)
        rms = np.sqrt(2 * np.mean(table**2))  # two oscillators, uncorrelated on average
        self.table = (table * (BED_RMS * 0.95 / rms)).astype(np.float32)
        self.position = 0
        self.rate = sample_rate

    def _lookup(self, f: float, n: np.ndarray) -> np.ndarray:
        index = ((n * (f / self.rate)) % 1.0 * self.TABLE).astype(np.intp)
        return self.table[index]

    def skip(self, frames: int) -> None:
        self.position += frames
        self.clock.position += frames
        self.air.skip(frames)

    def read(self, frames: int) -> np.ndarray:
        n = self.position + np.arange(frames, dtype=np.float64)
        self.position += frames
        t = self.clock.times(frames, STEP)
        breathe = _hold(1.0 + 0.12 * np.sin(2 * np.pi * t / 19.0), STEP, frames)
        out = (self._lookup(self.ROOT, n) + self._lookup(self.ROOT + self.DETUNE, n)) * breathe
        return out.astype(np.float32)[:, None] + 0.25 * self.air.read(frames)


class Binaural(_Generated):
    """Binaural beats: a pure carrier in each ear, the right one `beat` Hz higher, over a
    whisper of pink noise (headphones needed for the effect)."""

    def __init__(self, sample_rate: int, beat: float = 6.0, carrier: float = 200.0, seed: int = 1):
        self.channels = 2
        self.frequencies = np.array([carrier, carrier + beat])
        self.clock = _Slow(sample_rate)
        self.air = Pink(sample_rate, seed)

    def skip(self, frames: int) -> None:
        self.clock.position += frames
        self.air.skip(frames)

    def read(self, frames: int) -> np.ndarray:
        t = self.clock.times(frames)[:, None]
        tones = np.sin(2 * np.pi * ((self.frequencies * t) % 1.0)) * (BED_RMS * np.sqrt(2))
        return (tones + 0.2 * self.air.read(frames)).astype(np.float32)


class NoBackground(_Generated):
    """No background at all."""

    channels = 1

    def __init__(self, sample_rate: int = 44100, seed: int = 1):
        pass

    def skip(self, frames: int) -> None:
        pass

    def read(self, frames: int) -> np.ndarray:
        return np.zeros((frames, 1), dtype=np.float32)


# --- a user's own file --------------------------------------------------------------------------


class FileLoop:
    """A user's recording, looped for as long as the session needs.

    Each time the file runs out, its last `crossfade` seconds are blended into its first with
    an equal-power crossfade (cos/sin gains, so the summed power stays level) and play carries
    on from there: no seam, no gap. A short file (up to IN_MEMORY bytes decoded, about 90 s of
    stereo) is decoded once and looped in memory; a longer one is streamed through ffmpeg,
    holding only the opening crossfade and about one block of lookahead.
    """

    CHUNK = 1 << 16
    IN_MEMORY = 32 << 20

    def __init__(
        self,
        path: Path | str,
        sample_rate: int,
        offset: float | None = None,
        crossfade: float = 3.0,
        seed: int | None = None,
    ):
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise SettingError("background", str(path), "no such file")
        info = ffmpeg.probe(self.path, what="background file")
        self.rate = sample_rate
        self.channels = 1 if info.channels == 1 else 2  # more are mixed down to two
        if offset is None:
            offset = float(np.random.default_rng(seed).uniform(0, max(info.duration - 1, 0)))
        if not 0 <= offset < max(info.duration, 1e-9):
            raise SettingError(
                "background_offset",
                offset,
                f"is outside {self.path.name} ({info.duration:.1f} s long)",
            )
        self.offset = offset
        fade = min(crossfade, info.duration / 3)
        if fade * sample_rate < 2:
            raise UsageError(f"background file {self.path} is too short to loop")
        in_memory = info.duration * sample_rate * self.channels * 4 <= self.IN_MEMORY
        whole = self._decode() if in_memory else None
        self.head = whole[: round(fade * sample_rate)] if whole is not None else self._decode(fade)
        if len(self.head) < 2:
            raise UsageError(f"background file {self.path} is too short to loop")
        self.fade = len(self.head)
        self.buffer = np.zeros((0, self.channels), dtype=np.float32)
        self.dropping = 0  # frames to drop from the start of the current pass
        self.pass_frames = 0
        self.cycle: SegmentLoop | None = None
        self.process: subprocess.Popen[bytes] | None = None
        if whole is not None:
            self.cycle = SegmentLoop(
                clips.segment(whole, sample_rate), sample_rate, offset=offset, crossfade=fade
            )
        else:
            self.process = self._open(offset)
        log.info(
            "looping %s (%.1f s, %d channels) from %.1f s",
            self.path,
            info.duration,
            self.channels,
            offset,
        )

    def twin(self) -> FileLoop:
        """Another stream of this loop from the same place (take it before reading): a short
        file's decoded loop is shared, so measuring the bed decodes nothing again."""
        if self.cycle is None:
            return FileLoop(self.path, self.rate, offset=self.offset)
        twin = copy.copy(self)
        twin.cycle = self.cycle.twin()
        return twin

    def _decode(self, seconds: float | None = None) -> np.ndarray:
        """The file's opening `seconds` (or all of it), decoded at once."""
        return ffmpeg.decode(
            self.path, self.rate, self.channels, seconds=seconds, what="background file"
        )

    def _open(self, start: float) -> subprocess.Popen[bytes]:
        """ffmpeg decoding the file from `start` seconds, read as it goes."""
        return subprocess.Popen(
            ffmpeg.decoding(self.path, self.rate, self.channels, start),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def _fill(self, wanted: int) -> bool:
        """Read until `wanted` frames are buffered; False when this pass reached the end."""
        parts = [self.buffer]
        have = len(self.buffer)
        frame_bytes = 4 * self.channels
        process = self.process
        assert process is not None and process.stdout is not None  # a file too long to hold
        while have < wanted:
            data = process.stdout.read(self.CHUNK * frame_bytes)
            if not data:
                process.stdout.close()
                process.wait()
                self.buffer = np.concatenate(parts)
                return False
            chunk = ffmpeg.frames(data, self.channels)
            if self.dropping:
                dropped = min(self.dropping, len(chunk))
                chunk, self.dropping = chunk[dropped:], self.dropping - dropped
            parts.append(chunk)
            have += len(chunk)
            self.pass_frames += len(chunk)
        self.buffer = np.concatenate(parts)
        return True

    def skip(self, frames: int) -> None:
        _discard(self, frames)

    def read(self, frames: int) -> np.ndarray:
        if self.cycle is not None:
            return self.cycle.read(frames)
        while not self._fill(frames + self.fade):
            # This pass has ended: cross its tail into the head, and play on after the head.
            if self.pass_frames == 0:
                raise EncodeError(f"background file {self.path} gave no audio when looped")
            rest = self.buffer
            fade = min(self.fade, len(rest))
            blend = dsp.crossfade(rest[len(rest) - fade :], self.head[:fade])
            self.buffer = np.concatenate([rest[: len(rest) - fade], blend.astype(np.float32)])
            self.dropping = fade
            self.pass_frames = 0
            self.process = self._open(0.0)
        out = self.buffer[:frames]
        self.buffer = self.buffer[frames:]
        return out

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __del__(self):
        process = getattr(self, "process", None)
        if process is not None and process.poll() is None:
            process.kill()


class SegmentLoop:
    """A pydub AudioSegment looped as the bed: a short background file (decoded by letgo), or a
    segment handed to the Python API (`letgo.Session(..., background=segment)`).

    The segment is held as it is and read a block at a time (nothing is copied whole, however
    long it is). As with a file, its last `crossfade` seconds are blended into its first with
    an equal-power crossfade, so it loops with no seam and no gap. A segment of another rate,
    more than two channels or an odd sample width is converted first (`clips.conform`)."""

    def __init__(
        self,
        audio: clips.AudioSegment,
        sample_rate: int,
        offset: float | None = None,
        crossfade: float = 3.0,
        seed: int | None = None,
    ):
        audio = clips.conform(audio, sample_rate)
        n = int(audio.frame_count())
        seconds = n / sample_rate
        if n < 3:
            raise UsageError(
                f"the background AudioSegment is too short to loop ({seconds * 1000:.1f} ms)"
            )
        if offset is None:
            offset = float(np.random.default_rng(seed).uniform(0, max(seconds - 1, 0)))
        if not 0 <= offset < seconds:
            raise SettingError(
                "background_offset", offset, f"is outside the background ({seconds:.1f} s long)"
            )
        self.audio, self.channels, self.offset = audio, audio.channels, offset
        self.fade = fade = max(1, min(round(crossfade * sample_rate), n // 3))
        self.blend = dsp.crossfade(
            clips.samples(audio.get_sample_slice(n - fade)),
            clips.samples(audio.get_sample_slice(0, fade)),
        ).astype(np.float32)
        self.body = n - 2 * fade
        """Frames of the segment played as they are in each cycle, after the blend."""
        start = min(round(offset * sample_rate), n - 1)
        self.opening = (start, fade) if start < fade else (0, 0)
        """Frames of the head played once before the first cycle (when starting inside it)."""
        self.position = max(start - fade, 0)
        """Where the next frame comes from in the cycle: the body, then the blend."""

    def twin(self) -> SegmentLoop:
        """The same loop from the same place (take it before reading); shares the segment."""
        return copy.copy(self)

    def skip(self, frames: int) -> None:
        _discard(self, frames)

    def read(self, frames: int) -> np.ndarray:
        lo, hi = self.opening
        take = min(frames, hi - lo)
        parts = [clips.samples(self.audio.get_sample_slice(lo, lo + take))] if take else []
        self.opening = (lo + take, hi)
        needed = frames - take
        while needed > 0:
            if self.position < self.body:
                take = min(needed, self.body - self.position)
                first = self.fade + self.position
                parts.append(clips.samples(self.audio.get_sample_slice(first, first + take)))
            else:
                at = self.position - self.body
                take = min(needed, self.fade - at)
                parts.append(self.blend[at : at + take])
            needed -= take
            self.position = (self.position + take) % (self.body + self.fade)
        return np.concatenate(parts) if parts else np.zeros((0, self.channels), np.float32)

    def close(self) -> None:
        pass


# --- choosing one ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackgroundInfo:
    name: str
    description: str
    channels: int


BUILT_IN = {
    "pink": BackgroundInfo("pink", "soft pink noise, like distant wind (the default)", 1),
    "brown": BackgroundInfo("brown", "deep brown noise, like a far-off waterfall", 1),
    "rain": BackgroundInfo("rain", "steady rain: a drifting hiss with scattered drops (stereo)", 2),
    "ocean": BackgroundInfo("ocean", "slow ocean swells with foam at each crest (stereo)", 2),
    "drone": BackgroundInfo("drone", "a warm, slowly shimmering drone on an open fifth", 1),
    "binaural": BackgroundInfo(
        "binaural", "binaural beats: a carrier per ear, --beat Hz apart (stereo; use headphones)", 2
    ),
    "none": BackgroundInfo("none", "no background: the voice, the bells and silence", 1),
}

_CLASSES = {
    "pink": Pink,
    "brown": Brown,
    "rain": Rain,
    "ocean": Ocean,
    "drone": Drone,
    "none": NoBackground,
}


def make_background(
    name: str, sample_rate: int, beat: float = 6.0, offset: float | None = None, seed: int = 1
) -> Background:
    """A fresh background stream: a built-in name, or a path to an audio file to loop."""
    if name == "binaural":
        return Binaural(sample_rate, beat=beat, seed=seed)
    if name in _CLASSES:
        return _CLASSES[name](sample_rate, seed=seed)
    if any(sep in name for sep in "/\\.") or Path(name).expanduser().exists():
        return FileLoop(name, sample_rate, offset=offset)
    raise SettingError(
        "background",
        name,
        f"no such background; choose one of: "
        f"{', '.join(BUILT_IN)}, or give the path of an audio file",
    )
