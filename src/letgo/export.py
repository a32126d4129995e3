"""Encoding blocks into a file that is either complete or absent.

The encoder (ffmpeg) is fed raw blocks on its stdin as the mixer makes them, writes to a
temporary name beside the target, and only a finished, tagged file is renamed into place:
an existing file is replaced only by a complete new one.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import ffmpeg
from .errors import EncodeError, OutputError
from .settings import ExportSettings

CODECS = {"mp3": ["-c:a", "libmp3lame", "-f", "mp3"]}


def check_writable(path: Path) -> None:
    """Fail early, before any work, if the output cannot be written."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder {folder}: {exc.strerror}") from None
    if path.is_dir():
        raise OutputError(f"{path} is a folder; give a file name such as {path / 'session.mp3'}")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write to {folder}: permission denied")


@contextmanager
def atomic_path(path: Path):
    """A temporary path beside `path`, renamed to it only when the block exits cleanly."""
    check_writable(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}",
                                     dir=path.parent)
    os.close(fd)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; a finished file is readable like any
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def encode(blocks: Iterable[np.ndarray], path: Path, sample_rate: int, channels: int,
           settings: ExportSettings = ExportSettings(),
           on_block: Callable[[int], None] | None = None) -> None:
    """Stream float32 blocks into the encoder, writing `path` (a temporary name)."""
    codec = CODECS.get(settings.format)
    if codec is None:
        raise OutputError(f"unknown format '{settings.format}'; choose one of: {', '.join(CODECS)}")
    command = [ffmpeg.exe(), "-hide_banner", "-nostdin", "-v", "error", "-y",
               "-f", "f32le", "-ar", str(sample_rate), "-ac", str(channels), "-i", "pipe:0",
               *codec, "-b:a", settings.bitrate, "-map_metadata", "-1", str(path)]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=errors)
        try:
            for block in blocks:
                process.stdin.write(np.ascontiguousarray(block, dtype="<f4").tobytes())
                if on_block:
                    on_block(len(block))
            process.stdin.close()
        except BrokenPipeError:
            pass  # the encoder died; its exit code and stderr say why
        except BaseException:
            process.kill()
            process.wait()
            raise
        code = process.wait()
        if code != 0:
            errors.seek(0)
            raise EncodeError(f"the encoder failed (exit {code}): {' '.join(command)}: "
                              f"{ffmpeg.tail(errors.read())}")


def write_tags(path: Path, title: str, comment: str, extra: Mapping[str, str] = {}) -> None:
    """ID3v2 tags: title, artist 'letgo', a comment with what made the file (see letgo.tags)."""
    from . import tags

    tags.write(path, tags.TagInfo(title=title, comment=comment, extra=dict(extra)))
