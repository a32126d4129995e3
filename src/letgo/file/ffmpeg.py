"""ffmpeg: finding it, the one place its command lines are built, decoding and probing.

The system's ffmpeg wins when it is on PATH; otherwise the binary that `imageio-ffmpeg` ships.

Every ffmpeg command letgo (and its tests and benchmarks) runs starts with `command`; every
local file it reads or writes is named through `local` (the `file:` protocol, so a name that
begins with '-' or holds a ':' is never taken for an option or another protocol); raw float32
audio in and out is described by `raw`; `decode` and `probe` are the one decoder of whole
files and the one reader of a file's stream (codec, rate, channels, length).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
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


# --- building command lines --------------------------------------------------------------------


def command(*args: str, quiet: bool = True) -> list[str]:
    """An ffmpeg command line: no banner, never reading the terminal, errors alone on stderr
    (`quiet`; a caller that reads ffmpeg's report, such as `probe`, passes False), then
    `args`."""
    return [exe(), "-hide_banner", "-nostdin", *(["-v", "error"] if quiet else []), *args]


def local(path: Path | str) -> str:
    """A local file as ffmpeg names it: through the `file:` protocol, so 'a:b.wav' or
    '-x.wav' is that file and nothing else."""
    return "file:" + os.fspath(path)


#: The only protocol an input may use, itself and whatever it names: a local file that is a
#: playlist (HLS .m3u8, a concat list) cannot make ffmpeg reach the network.
LOCAL_ONLY = ["-protocol_whitelist", "file"]


def source(path: Path | str, start: float = 0.0) -> list[str]:
    """A local file as an input, read from `start` seconds (ffmpeg seeks, decoding nothing
    before it); it and anything it names must be local files."""
    return [*LOCAL_ONLY, *(["-ss", f"{start:.6f}"] if start > 0 else []), "-i", local(path)]


def raw(sample_rate: int, channels: int) -> list[str]:
    """Raw little-endian float32 audio, interleaved, as options of an input or an output."""
    return ["-f", "f32le", "-ar", str(sample_rate), "-ac", str(channels)]


def frames(data: bytes, channels: int) -> np.ndarray:
    """Raw float32 audio (as `raw` describes it) as frames, shape (n, channels); read-only,
    sharing `data`. A partial frame at the end is left out."""
    whole = len(data) - len(data) % (4 * channels)
    return np.frombuffer(data, dtype="<f4", count=whole // 4).reshape(-1, channels)


def decoding(
    path: Path | str,
    sample_rate: int,
    channels: int,
    start: float = 0.0,
    seconds: float | None = None,
) -> list[str]:
    """The command that decodes the first audio stream of `path` (from `start`, `seconds`
    of it or all) to raw float32 frames on its stdout."""
    length = ["-t", f"{seconds:.6f}"] if seconds is not None else []
    return command(
        *source(path, start), "-map", "0:a:0", *length, *raw(sample_rate, channels), "pipe:1"
    )


# --- running -------------------------------------------------------------------------------------


def run(args: list[str], what: str, pass_fds: tuple[int, ...] = ()) -> subprocess.CompletedProcess:
    """Run ffmpeg (quiet) with `args`; on failure an EncodeError carrying the command and
    stderr."""
    line = command(*args)
    result = subprocess.run(line, capture_output=True, pass_fds=pass_fds)
    if result.returncode != 0:
        raise EncodeError(f"{what} failed: {' '.join(line)}: {tail(result.stderr)}")
    return result


def report(args: list[str]) -> str:
    """What ffmpeg prints on stderr for `args` (stream headers, filters' measurements),
    whatever its exit code."""
    result = subprocess.run(command(*args, quiet=False), capture_output=True)
    return result.stderr.decode("utf-8", "replace")


def tail(stderr: bytes | str, lines: int = 3) -> str:
    """The last `lines` lines ffmpeg printed, on one line."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    return " / ".join([line for line in text.strip().splitlines() if line.strip()][-lines:]) or (
        "(no output)"
    )


def decode(
    path: Path | str,
    sample_rate: int,
    channels: int = 1,
    start: float = 0.0,
    seconds: float | None = None,
    what: str = "audio file",
) -> np.ndarray:
    """A (short) audio file, or `seconds` of it from `start`, as float32 frames of shape
    (n, channels) at `sample_rate`. A UsageError naming `what` when it cannot be read or
    holds no audio there."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"cannot read {what} {path}: no such file")
    result = subprocess.run(
        decoding(path, sample_rate, channels, start, seconds), capture_output=True
    )
    if result.returncode != 0 or not result.stdout:
        raise UsageError(f"cannot read {what} {path}: {tail(result.stderr)}")
    return frames(result.stdout, channels).copy()


# --- probing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamInfo:
    """The first audio stream of a file, as ffmpeg reads it."""

    codec: str
    sample_rate: int
    channels: int
    duration: float
    """Seconds: from the header, or (`probe(exact=True)`) as long as decoding it takes."""


#: ffmpeg's names of channel layouts -> channels
LAYOUTS = {
    "mono": 1,
    "stereo": 2,
    "2.1": 3,
    "3.0": 3,
    "quad": 4,
    "4.0": 4,
    "4.1": 5,
    "5.0": 5,
    "5.1": 6,
    "6.0": 6,
    "6.1": 7,
    "7.0": 7,
    "7.1": 8,
}
_STREAM = re.compile(r"Stream #\S+.*?: Audio: (\w+)[^\n]*?, (\d+) Hz, ([^,\n]+)")
_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_TIME = re.compile(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)")


def channels_of(layout: str) -> int:
    """Channels of a layout as ffmpeg prints it ('mono', '5.1(side)', '3 channels'); 0 for
    one it does not name."""
    counted = re.match(r"(\d+) channels", layout)
    if counted:
        return int(counted.group(1))
    return LAYOUTS.get(layout.split("(")[0].strip(), 0)


def _seconds(h: str, m: str, s: str) -> float:
    return int(h) * 3600 + int(m) * 60 + float(s)


def probe(path: Path | str, exact: bool = False, what: str = "audio file") -> StreamInfo:
    """Codec, sample rate, channels and length of the first audio stream of `path`: the
    length from the header (nothing decoded), or with `exact` from decoding it all. A
    UsageError naming `what` for a file with no audio stream ffmpeg can read."""
    args = [*source(path)]
    if exact:
        args += ["-map", "0:a:0", "-f", "null", "-"]
    text = report(args)
    stream = _STREAM.search(text)
    length = _TIME.findall(text)[-1:] if exact else _DURATION.findall(text)[:1]
    if not stream or not length:
        raise UsageError(f"cannot read {what} {path}: {tail(text)}")
    codec, rate, layout = stream.groups()
    return StreamInfo(codec, int(rate), channels_of(layout.strip()), _seconds(*length[0]))
