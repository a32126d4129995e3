"""The clip layer, in pydub: each sentence, the bell and each spoken passage as an AudioSegment.

A passage is what is said between two flexible pauses: its sentences one after another, with
the fixed gaps between them, assembled here with pydub into one AudioSegment that the block
mixer (`mix.blocks`) places on the timeline in one piece. pydub is at home at this scale
(seconds to a minute of sound); the long form (the bed, ducking, flexible pauses, levels,
limiter and encoding) stays in the block mixer, whose memory does not grow with the session.

Segments made here are 32-bit PCM (sample width 4) at the session rate. letgo's float32
samples go there and back unchanged (a float32 holds 24 significant bits, which 31 bits keep;
only values under 2**-8 round, by at most 2**-32, 190 dB down), so holding sound in pydub
costs nothing audible.

pydub's class-level state (`AudioSegment.converter`) is never set or used: every segment is
made from PCM that letgo holds, never decoded or exported by pydub itself.
"""

from __future__ import annotations

import bisect
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from letgo.sound.dsp import gain_db

with warnings.catch_warnings():  # as it loads, pydub looks for an ffmpeg on PATH (letgo never
    warnings.filterwarnings("ignore", "Couldn't find ff", RuntimeWarning)  # has it run one)
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)  # 3.12
    from pydub import AudioSegment

if TYPE_CHECKING:
    from letgo.sound.levels import Levels
    from letgo.sound.timeline import Timeline

__all__ = [
    "AudioSegment",
    "segment",
    "samples",
    "silence",
    "conform",
    "sentence",
    "Passage",
    "passages",
]

WIDTH = 4
"""Sample width (bytes) of the segments letgo makes: 32-bit, so float32 sound fits unchanged."""
_TYPES: dict[int, np.dtype[np.signedinteger]] = {
    1: np.dtype(np.int8),
    2: np.dtype("<i2"),
    4: np.dtype("<i4"),
}
#: A passage ends before a fixed silence longer than this (seconds): the bed carries it.
GAP_MOST = 12.0
#: A passage grows to about this many seconds at most; the next sentence begins another.
LONGEST = 60.0


def segment(sound: np.ndarray, sample_rate: int, width: int = WIDTH) -> AudioSegment:
    """float samples in [-1, 1], shape (frames,) or (frames, channels), as an AudioSegment of
    `width` bytes a sample (rounded to the nearest step; anything beyond full scale clipped)."""
    sound = np.asarray(sound)
    channels = 1 if sound.ndim == 1 else sound.shape[1]
    full = float(1 << (8 * width - 1))
    pcm = np.rint(sound.astype(np.float64) * full)
    np.clip(pcm, -full, full - 1, out=pcm)
    return AudioSegment(
        pcm.astype(_TYPES[width]).tobytes(),
        sample_width=width,
        frame_rate=sample_rate,
        channels=channels,
    )


def samples(audio: AudioSegment) -> np.ndarray:
    """An AudioSegment's sound as float32, shape (frames, channels), full scale at 1.

    Any width pydub holds (1, 2 or 4 bytes; it widens 3-byte audio to 4 as it loads)."""
    if audio.sample_width not in _TYPES:
        audio = audio.set_sample_width(WIDTH)
    pcm = np.frombuffer(audio.raw_data, dtype=_TYPES[audio.sample_width])
    scale = np.float32(1.0 / (1 << (8 * audio.sample_width - 1)))  # a power of two: exact
    return (pcm.astype(np.float32) * scale).reshape(-1, audio.channels)


def silence(frames: int, sample_rate: int, channels: int = 1) -> AudioSegment:
    """`frames` frames of silence (pydub's own `silent` counts in milliseconds and 16 bits)."""
    return AudioSegment(
        bytes(frames * WIDTH * channels),
        sample_width=WIDTH,
        frame_rate=sample_rate,
        channels=channels,
    )


def conform(audio: AudioSegment, sample_rate: int) -> AudioSegment:
    """`audio` as a bed is read: mono or stereo at `sample_rate`, in a width `samples` reads.

    Nothing is refused: 8-bit stays 8-bit (pydub widens 24-bit to 32 as it loads), more than
    two channels are mixed to two (the odd-numbered to the left, the even to the right, as
    they alternate in the usual layouts), another rate is resampled by soxr on the integer
    samples (pydub's `set_frame_rate` interpolates without a filter, which aliases)."""
    if audio.sample_width not in _TYPES:
        audio = audio.set_sample_width(WIDTH)
    if audio.channels <= 2 and audio.frame_rate == sample_rate:
        return audio
    kind = _TYPES[audio.sample_width]
    pcm = np.frombuffer(audio.raw_data, dtype=kind).reshape(-1, audio.channels)
    if audio.channels > 2:
        pcm = np.rint(np.stack([pcm[:, 0::2].mean(axis=1), pcm[:, 1::2].mean(axis=1)], axis=1))
    if audio.frame_rate != sample_rate:
        import soxr

        wide = pcm.astype(np.float32) if kind == np.int8 else pcm.astype(kind)
        pcm = soxr.resample(wide, audio.frame_rate, sample_rate)
        pcm = np.clip(np.rint(pcm), np.iinfo(kind).min, np.iinfo(kind).max)
    return AudioSegment(
        np.ascontiguousarray(pcm, dtype=kind).tobytes(),
        sample_width=audio.sample_width,
        frame_rate=sample_rate,
        channels=pcm.shape[1],
    )


def sentence(levels: Levels, i: int) -> AudioSegment:
    """Sentence i as it is heard: at the session rate and its level, limited (`Levels.limited`),
    then its <prosody volume> applied by pydub. The volume comes after the limiter, so a
    passage marked 6 dB softer is heard exactly 6 dB under the same passage unmarked."""
    heard = segment(levels.limited(i), levels.sample_rate)
    volume = levels.volumes[i] if levels.volumes else 1.0
    return heard if volume == 1.0 else heard.apply_gain(gain_db(volume))


@dataclass(frozen=True)
class Passage:
    """Sentences said between two flexible pauses, placed on the timeline as one piece."""

    start: int
    """Its first frame on the timeline."""
    end: int
    """The frame after its last."""
    sentences: tuple[tuple[int, int], ...]
    """(clip index, first frame on the timeline) of each sentence, in order."""

    def build(self, levels: Levels) -> AudioSegment:
        """The passage as one AudioSegment, `end - start` frames long: each sentence where the
        timeline puts it, silence in the gaps, joined in one copy (pydub's `+` would copy all
        so far at each step). Where rounding starts a sentence a frame before the last one
        ends, the two are summed there (pydub's `overlay` counts whole milliseconds and
        would drop the odd frame)."""
        rate = levels.sample_rate
        pieces: list[AudioSegment] = []
        at = self.start
        for clip, first in self.sentences:
            said = sentence(levels, clip)
            if first > at:
                pieces.append(silence(first - at, rate))
            elif first < at:
                last = pieces.pop()
                kept = max(0, int(last.frame_count()) - (at - first))
                both = int(last.frame_count()) - kept
                tail, head = last.get_sample_slice(kept), said.get_sample_slice(0, both)
                pieces += [
                    last.get_sample_slice(0, kept),
                    segment(samples(tail) + samples(head), rate),
                ]
                said = said.get_sample_slice(both)
            pieces.append(said)
            at = first + levels.frames(clip)
        return join(pieces, rate)


def join(pieces: Sequence[AudioSegment], sample_rate: int, channels: int = 1) -> AudioSegment:
    """Segments made here (32-bit, `channels`, at `sample_rate`) one after another, in one copy."""
    return AudioSegment(
        b"".join(piece.raw_data for piece in pieces),
        sample_width=WIDTH,
        frame_rate=sample_rate,
        channels=channels,
    )


def passages(timeline: Timeline, frames: Callable[[int], int], sample_rate: int) -> list[Passage]:
    """The timeline's speech grouped into passages, in order of time.

    `frames(i)` is clip i's length in frames. A passage ends at a flexible pause or a bell, or
    before a fixed silence longer than GAP_MOST, or once it is LONGEST seconds long; within
    one, sentences stand at the frames the mixer would give them alone (`round(start * rate)`).
    """
    breaks = sorted(
        [s.start for s in timeline.silences if s.flexible]
        + [e.start for e in timeline.events if e.kind != "speech"]
    )
    gap_most, longest = round(GAP_MOST * sample_rate), round(LONGEST * sample_rate)
    groups: list[list] = []  # [start, end, [(clip, first)...], start time of last sentence]
    for event in sorted(timeline.speech, key=lambda e: e.start):
        first = round(event.start * sample_rate)
        end = first + frames(event.clip)
        if groups:
            group = groups[-1]
            if (
                bisect.bisect_right(breaks, event.start) == bisect.bisect_right(breaks, group[3])
                and first - group[1] <= gap_most
                and first - group[0] < longest
            ):
                group[1] = max(group[1], end)
                group[2].append((event.clip, first))
                group[3] = event.start
                continue
        groups.append([first, end, [(event.clip, first)], event.start])
    return [Passage(start, end, tuple(said)) for start, end, said, _ in groups]
