"""Encoding blocks into a file that is either complete or absent.

The encoder (ffmpeg) is fed raw blocks on its stdin as the mixer makes them and writes the
temporary file `atomic.writing` gives, which is renamed into place only when finished and
tagged: an existing file is replaced only by a complete new one. An MP3 long enough is encoded
by two encoders at once, each on a half with a mixer of its own, into unnamed scratch files
(nothing to clean up, whatever stops the render) that `mp3join` joins.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from letgo.errors import EncodeError
from letgo.file import atomic, ffmpeg, formats, mp3join
from letgo.settings.groups import ExportSettings, bits_per_second

log = logging.getLogger(__name__)

_DEV_FD = Path("/dev/fd")


class Source(Protocol):
    """Sound to encode: `blocks(start, end)` gives its frames from `start` to `end` (its end
    for None) as float32 blocks of shape (frames, channels); each call is a stream of its own."""

    frames: int
    channels: int
    sample_rate: int

    def blocks(self, start: int = 0, end: int | None = None) -> Iterator[np.ndarray]: ...


def usable_cores() -> int:
    """Cores this process may run on: how many sessions a series builds at once, and whether
    a session's MP3 may be encoded in halves on two."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def encode(
    source: Source,
    path: Path,
    settings: ExportSettings = ExportSettings(),
    on_block: Callable[[int], None] | None = None,
    encoders: int = 1,
    name: Path | None = None,
) -> None:
    """Encode `source` into `path` (a temporary name), its blocks fed as they are mixed.

    With `encoders` 2, an MP3 longer than `mp3join.SHORTEST` frames (46 s) is encoded in two
    halves at once, one per core, and joined frame-exactly (`mp3join`); where they cannot be
    joined it is encoded whole."""
    formats.get(settings.format)  # an unknown format is refused before anything starts
    label = str(name or path)  # what messages call the file: not its temporary name
    with open(path, "r+b") as file:
        cut = (
            mp3join.halves(source.frames)
            if settings.format == "mp3"
            and encoders > 1
            and _DEV_FD.is_dir()
            and _room_for_halves(file, source, settings.bitrate)
            else None
        )
        if cut is not None:
            try:
                return _encode_halves(source, file, cut, settings, on_block, label)
            except mp3join.JoinError as exc:
                log.info("encoding whole: the halves did not join (%s)", exc)
                file.seek(0)
                file.truncate()
        with _Encoder(file, path, source, settings, label) as encoder:
            encoder.feed(source.blocks(), on_block, first=True)


def _room_for_halves(file, source: Source, bitrate: str) -> bool:
    """Whether the file system of `file` (open; it may have no name yet) has room for a split
    encode's scratch files: the file's size twice over, with a margin (else it is encoded
    whole, which needs its size once)."""
    rate = bits_per_second(bitrate)
    if rate is None:
        return False
    try:
        size = rate / 8 * source.frames / source.sample_rate
        room = os.fstatvfs(file.fileno())
        return room.f_bavail * room.f_frsize > 3 * size
    except OSError:
        return False


class _Encoder:
    """One ffmpeg encoding raw float32 blocks from its stdin into `file`; on leaving the
    block it has finished cleanly, or it is killed and the error goes on."""

    def __init__(self, file, path: Path, source: Source, settings: ExportSettings, label: str):
        kind = formats.get(settings.format)
        self.command = ffmpeg.command(
            "-y",
            *ffmpeg.raw(source.sample_rate, source.channels),
            "-i",
            "pipe:0",
            *kind.codec,
            *(["-b:a", settings.bitrate] if kind.lossy else []),
            "-map_metadata",
            "-1",
        )
        self.label = label
        self.errors = tempfile.TemporaryFile()
        output, keep = _by_descriptor(file, path)
        self.output = output
        try:
            self.process = subprocess.Popen(
                [*self.command, output], stdin=subprocess.PIPE, stderr=self.errors, pass_fds=keep
            )
        except BaseException:
            self.errors.close()
            raise
        _widen_pipe(self.process.stdin)

    def feed(
        self,
        blocks: Iterator[np.ndarray],
        on_block: Callable[[int], None] | None,
        first: bool = False,
    ) -> None:
        """Write `blocks` to the encoder and close its input; stops early if it has gone. The
        stream is closed here, on the thread that read it, whatever happens."""
        try:
            for n, block in enumerate(blocks):
                if not _feed(
                    self.process.stdin, np.ascontiguousarray(block, dtype="<f4").tobytes()
                ):
                    break  # the encoder died; its exit code and stderr say why
                if first and n == 0:  # scripts/bench.py times the start-up by this line
                    log.info("first block at the encoder")
                if on_block:  # anything failing here (even a closed stderr) stops the encoder
                    on_block(len(block))
        finally:
            if hasattr(blocks, "close"):
                blocks.close()
        _feed(self.process.stdin, None)

    def __enter__(self) -> _Encoder:
        return self

    def __exit__(self, kind, exc, traceback) -> None:
        with self.errors:
            if kind is not None:
                self.process.kill()
                self.process.wait()
                return
            code = self.process.wait()
            if code != 0:
                self.errors.seek(0)
                log.info("the encoder's command: %s", " ".join(self.command))
                raise EncodeError(
                    f"encoding {self.label} failed (ffmpeg exit {code}): "
                    + ffmpeg.tail(self.errors.read()).replace(self.output, self.label)
                )


def _encode_halves(
    source: Source,
    file,
    cut: tuple[int, int, int],
    settings: ExportSettings,
    on_block: Callable[[int], None] | None,
    label: str,
) -> None:
    """Two encoders at once, on the first half and on the second (see `mp3join`), each fed on
    its own thread (numpy and the pipes let go of the GIL); the halves joined, and remuxed by
    ffmpeg into `file` so it writes the Info frame afresh."""
    join, first_end, second_start = cut
    folder = atomic.folder_of(file.name)
    lock = threading.Lock()
    failed: list[BaseException] = []

    def counted(lo: int, hi: int, start: int) -> Callable[[int], None]:
        """on_block for a stream from `start` that counts only its frames in [lo, hi), and
        stops it when the other half has failed."""
        at = start

        def count(frames: int) -> None:
            nonlocal at
            if failed:
                raise failed[0]
            inside = max(0, min(at + frames, hi) - max(at, lo))
            at += frames
            if on_block and inside:
                with lock:
                    on_block(inside)

        return count

    with tempfile.TemporaryFile(dir=folder) as first, tempfile.TemporaryFile(dir=folder) as second:
        with (
            _Encoder(first, folder / "first", source, settings, f"{label} (first half)") as head,
            _Encoder(second, folder / "second", source, settings, f"{label} (second half)") as tail,
        ):
            heard, rest = source.blocks(0, first_end), source.blocks(second_start)

            def feed_tail() -> None:
                try:
                    tail.feed(rest, counted(join, source.frames, second_start))
                except BaseException as exc:  # handed to the main thread
                    failed.append(exc)
                    tail.process.kill()

            thread = threading.Thread(target=feed_tail, name="letgo-second-half", daemon=True)
            thread.start()
            try:
                head.feed(heard, counted(0, join, 0), first=True)
            except BaseException:
                tail.process.kill()  # its feeder's next write fails, and the thread ends
                raise
            finally:
                thread.join()
            if failed:
                raise failed[0]
        log.info("both halves encoded")
        joined = tempfile.TemporaryFile(dir=folder)
        try:
            mp3join.join(first, second, join // mp3join.FRAME, joined)
        except BaseException:
            joined.close()
            raise
    # The halves are gone now: the disk holds at most twice the file, not three times.
    with joined:
        joined.flush()
        log.info("halves joined")
        _remux(joined, file)


def _remux(joined, file) -> None:
    """ffmpeg copies the joined frames into `file`, writing its own Info frame for them."""
    ffmpeg.run(
        [
            "-y",
            "-f",
            "mp3",
            *ffmpeg.source(f"/dev/fd/{joined.fileno()}"),
            "-c",
            "copy",
            "-map_metadata",
            "-1",
            "-f",
            "mp3",
            ffmpeg.local(f"/dev/fd/{file.fileno()}"),
        ],
        "joining the halves",
        pass_fds=(joined.fileno(), file.fileno()),
    )


def _by_descriptor(file, path: Path) -> tuple[str, tuple[int, ...]]:
    """Where the encoder writes: the file letgo holds open, through its descriptor, where the
    system has /dev/fd. An encoder that outlives a stopped render (a signal landing inside
    Popen leaves letgo without its pid) then finishes into a file already removed, instead of
    creating the temporary file again by name after letgo's clean-up."""
    if _DEV_FD.is_dir():
        return ffmpeg.local(f"/dev/fd/{file.fileno()}"), (file.fileno(),)
    return ffmpeg.local(path), ()


def _feed(stdin, data: bytes | None) -> bool:
    """Write `data` to the encoder, or close its input for None; False if it has gone."""
    try:
        if data is None:
            stdin.close()
        else:
            stdin.write(data)
    except BrokenPipeError:
        return False
    return True


def _widen_pipe(stream) -> None:
    """Let the mixer run a block or two ahead of the encoder (Linux pipes hold 64 KiB by
    default, so the two would otherwise take turns every few milliseconds)."""
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass  # not Linux, or over the system's limit: the default pipe works, a little slower
