"""Measuring audio files the way listeners' tools see them, with ffmpeg alone.

(ffprobe is not always there: imageio-ffmpeg ships only ffmpeg.) Loudness is ITU-R BS.1770
from ffmpeg's ebur128 filter; silences come from its silencedetect filter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from letgo.file import ffmpeg
from letgo.file.ffmpeg import StreamInfo as StreamInfo  # what stream_info gives
from letgo.sound import dsp
from letgo.voice import align


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float
    loudness_range_lu: float
    true_peak_dbtp: float


def stream_info(path: Path | str) -> StreamInfo:
    """Codec, rate, channels and exact decoded duration of the first audio stream."""
    return ffmpeg.probe(path, exact=True)


def loudness(path: Path | str, start: float = 0.0, end: float | None = None) -> Loudness:
    """ffmpeg ebur128's integrated loudness, range and true peak, of the whole file or of the
    part from `start` to `end` seconds."""
    until = ["-to", f"{end:.3f}"] if end is not None else []
    text = ffmpeg.report(
        ["-nostats", *until, *ffmpeg.source(path, start), "-af", "ebur128=peak=true"]
        + ["-f", "null", "-"]
    )
    summary = text[text.rfind("Summary:") :]

    def grab(label: str) -> float:
        match = re.search(label + r":\s+(-?[\d.]+|-inf)", summary)
        if not match:
            raise ValueError(f"ebur128 printed no {label} for {path}")
        return float("-inf") if match.group(1) == "-inf" else float(match.group(1))

    return Loudness(grab("I"), grab("LRA"), grab("Peak"))


def silences(
    path: Path | str, noise_db: float = -45.0, minimum: float = 1.0
) -> list[tuple[float, float]]:
    """(start, end) of every stretch quieter than `noise_db` for at least `minimum` seconds."""
    text = ffmpeg.report(
        [*ffmpeg.source(path), "-af", f"silencedetect=noise={noise_db}dB:d={minimum}"]
        + ["-f", "null", "-"]
    )
    starts = [float(x) for x in re.findall(r"silence_start: (-?[\d.]+)", text)]
    ends = [float(x) for x in re.findall(r"silence_end: (-?[\d.]+)", text)]
    if len(ends) < len(starts):
        ends.append(stream_info(path).duration)
    return list(zip(starts, ends, strict=False))


def rms_db(samples: np.ndarray) -> float:
    return dsp.gain_db(float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))))


# --- the voice in a rendered session --------------------------------------------------------------

#: The rate the voice is metered at (ebur128's own).
METER_RATE = 48000


@dataclass(frozen=True)
class MeteredVoice:
    """The voice of a rendered session, metered over its sentences alone."""

    loudness_lufs: float
    """Integrated loudness of the sentences without the silence after them."""
    true_peak_dbtp: float
    """The highest true peak of any sentence."""
    words: int
    seconds: float
    """From each sentence's start to the next line's (a sentence, pause or bell): the sentence
    gaps count, the written pauses do not."""

    @property
    def plr_db(self) -> float:
        """Peak-to-loudness ratio: how much room the voice's peaks kept (a limiter that
        squashes it brings this down)."""
        return self.true_peak_dbtp - self.loudness_lufs

    @property
    def pace_wpm(self) -> float:
        return self.words / self.seconds * 60 if self.seconds else 0.0


def _meter(samples: np.ndarray) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of mono float32 samples at METER_RATE."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".f32") as raw:
        samples.astype("<f4").tofile(raw.name)
        text = ffmpeg.report(
            ["-nostats", *ffmpeg.raw(METER_RATE, 1), *ffmpeg.source(raw.name)]
            + ["-af", "ebur128=peak=true", "-f", "null", "-"]
        )
    summary = text[text.rfind("Summary:") :]
    return (
        float(re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary).group(1)),
        float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1)),
    )


def _sounding(part: np.ndarray) -> np.ndarray:
    """A sentence without the silence after it: up to its last 10 ms above -45 dBFS."""
    hop = METER_RATE // 100
    frames = len(part) // hop
    rms = np.sqrt(np.mean(np.square(part[: frames * hop].reshape(frames, hop)), axis=1) + 1e-12)
    loud = np.flatnonzero(rms > dsp.db(-45))
    return part[: (loud[-1] + 1) * hop] if len(loud) else part[:0]


def voice(path: Path | str, timeline) -> MeteredVoice:
    """The voice of a session rendered with no background, metered sentence by sentence where
    its `timeline` (plan.Timeline) places them, with ebur128 (as `letgo script` lists the
    lines: each sentence runs to the start of the next line)."""
    lines = sorted(
        [(e.start, e.kind == "speech", e.text) for e in timeline.events]
        + [(s.start, False, "") for s in timeline.silences]
    )
    spans, words = [], 0
    followers = lines[1:] + [(None, False, "")]
    for (start, spoken, text), following in zip(lines, followers, strict=True):
        if spoken:
            spans.append((start, following[0] if following[0] is not None else start + 3))
            words += len(text.split())
    audio = ffmpeg.decode(path, METER_RATE, 1)[:, 0]
    parts = [audio[round(a * METER_RATE) : round(b * METER_RATE)] for a, b in spans]
    loud, _ = _meter(np.concatenate([_sounding(p) for p in parts]))
    _, peak = _meter(np.concatenate(parts))
    return MeteredVoice(loud, peak, words, sum(b - a for a, b in spans))


# --- forced alignment: where a recogniser hears each word -----------------------------------------


def forced_alignment(
    samples: np.ndarray, sample_rate: int, text: str, aligner: align.Aligner | None = None
) -> list[tuple[str, float, float]] | None:
    """(word, start, end) in seconds of each word of `text` where pocketsphinx (the `align`
    extra; `letgo.voice.align`) aligns it in the audio, or None where it does not align (a
    clip that does not say its text, mostly, or a word its dictionary lacks)."""
    try:
        found = (aligner or align.Aligner()).align(samples, sample_rate, text)
    except LookupError:
        return None
    return None if found is None else found.words
