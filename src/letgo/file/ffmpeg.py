"""Finding ffmpeg, and reading any audio file through it.

The system's ffmpeg wins when it is on PATH; otherwise the binary that `imageio-ffmpeg` ships.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import numpy as np

from letgo.errors import EncodeError, LetgoError, UsageError


@functools.cache
def find() -> tuple[str, str]:
    """(path to ffmpeg, where it came from); raises when there is none at all."""
    found = shutil.which("ffmpeg")
    if found:
        return found, "system PATH"
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe(), "imageio-ffmpeg"
    except (ImportError, RuntimeError):
        raise LetgoError("no ffmpeg found: install ffmpeg, or pip install imageio-ffmpeg") from None


def exe() -> str:
    return find()[0]


def run(args: list[str], what: str, pass_fds: tuple[int, ...] = ()) -> subprocess.CompletedProcess:
    """Run ffmpeg with `args`; on failure an EncodeError carrying the command and stderr."""
    command = [exe(), "-hide_banner", "-nostdin", *args]
    result = subprocess.run(command, capture_output=True, pass_fds=pass_fds)
    if result.returncode != 0:
        raise EncodeError(f"{what} failed: {' '.join(command)}: {tail(result.stderr)}")
    return result


def tail(stderr: bytes, lines: int = 3) -> str:
    text = stderr.decode("utf-8", "replace").strip().splitlines()
    return " / ".join(text[-lines:]) or "(no output)"


def decode(path: Path | str, sample_rate: int, channels: int = 1) -> np.ndarray:
    """A whole (short) audio file as float32 frames, shape (n, channels), at `sample_rate`."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"cannot read audio file {path}: no such file")
    command = [
        exe(),
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        "-f",
        "f32le",
        "-ac",
        str(channels),
        "-ar",
        str(sample_rate),
        "-",
    ]
    result = subprocess.run(command, capture_output=True)
    if result.returncode != 0 or not result.stdout:
        raise UsageError(f"cannot read audio file {path}: {tail(result.stderr)}")
    return np.frombuffer(result.stdout, dtype=np.float32).reshape(-1, channels).copy()
