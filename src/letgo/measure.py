"""Measuring audio files the way listeners' tools see them, with ffmpeg alone.

(ffprobe is not always there: imageio-ffmpeg ships only ffmpeg.) Loudness is ITU-R BS.1770
from ffmpeg's ebur128 filter; silences come from its silencedetect filter.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import ffmpeg


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float
    loudness_range_lu: float
    true_peak_dbtp: float


@dataclass(frozen=True)
class StreamInfo:
    codec: str
    sample_rate: int
    channels: int
    duration: float


def _stderr(args: list[str]) -> str:
    command = [ffmpeg.exe(), "-hide_banner", "-nostdin", *args]
    return subprocess.run(command, capture_output=True).stderr.decode("utf-8", "replace")


def stream_info(path: Path | str) -> StreamInfo:
    """Codec, rate, channels and exact decoded duration of the first audio stream."""
    text = _stderr(["-i", str(path), "-map", "0:a:0", "-f", "null", "-"])
    stream = re.search(r"Stream #\S+: Audio: (\w+)[^,]*, (\d+) Hz, (\w+)", text)
    if not stream:
        raise ValueError(f"no audio stream in {path}: {text[-300:]}")
    layout = stream.group(3)
    channels = {"mono": 1, "stereo": 2}.get(layout, int(re.match(r"\d+", layout).group())
                                            if re.match(r"\d+", layout) else 0)
    times = re.findall(r"time=(\d+):(\d+):(\d+\.\d+)", text)
    h, m, s = times[-1]
    return StreamInfo(stream.group(1), int(stream.group(2)), channels,
                      int(h) * 3600 + int(m) * 60 + float(s))


def loudness(path: Path | str, start: float = 0.0, end: float | None = None) -> Loudness:
    """ffmpeg ebur128's integrated loudness, range and true peak, of the whole file or of the
    part from `start` to `end` seconds."""
    part = ["-ss", f"{start:.3f}"] + (["-to", f"{end:.3f}"] if end is not None else [])
    text = _stderr(["-nostats", *part, "-i", str(path), "-af", "ebur128=peak=true",
                    "-f", "null", "-"])
    summary = text[text.rfind("Summary:"):]

    def grab(label: str) -> float:
        match = re.search(label + r":\s+(-?[\d.]+|-inf)", summary)
        if not match:
            raise ValueError(f"ebur128 printed no {label} for {path}")
        return float("-inf") if match.group(1) == "-inf" else float(match.group(1))

    return Loudness(grab("I"), grab("LRA"), grab("Peak"))


def silences(path: Path | str, noise_db: float = -45.0, minimum: float = 1.0
             ) -> list[tuple[float, float]]:
    """(start, end) of every stretch quieter than `noise_db` for at least `minimum` seconds."""
    text = _stderr(["-i", str(path), "-af", f"silencedetect=noise={noise_db}dB:d={minimum}",
                    "-f", "null", "-"])
    starts = [float(x) for x in re.findall(r"silence_start: (-?[\d.]+)", text)]
    ends = [float(x) for x in re.findall(r"silence_end: (-?[\d.]+)", text)]
    if len(ends) < len(starts):
        ends.append(stream_info(path).duration)
    return list(zip(starts, ends))


def rms_db(samples: np.ndarray) -> float:
    value = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20 * np.log10(value) if value > 0 else float("-inf")
