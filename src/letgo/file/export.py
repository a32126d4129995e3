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
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Protocol

import numpy as np

from letgo.errors import EncodeError, OutputError, SettingError
from letgo.file import atomic, ffmpeg, mp3join
from letgo.settings.groups import ExportSettings, bits_per_second

log = logging.getLogger(__name__)

#: format -> the encoder's arguments (all in imageio-ffmpeg's build)
CODECS = {
    "mp3": ["-c:a", "libmp3lame", "-f", "mp3"],
    "wav": ["-c:a", "pcm_s16le", "-f", "wav"],
    "flac": ["-c:a", "flac", "-f", "flac"],
    "ogg": ["-c:a", "libopus", "-ar", "48000", "-f", "ogg"],  # Opus runs at 48 kHz
    "m4a": ["-c:a", "aac", "-f", "ipod"],
}
EXTENSIONS = {"mp3": ".mp3", "wav": ".wav", "flac": ".flac", "ogg": ".ogg", "m4a": ".m4a"}
#: extension -> the media type a feed or a web server gives it
MEDIA_TYPES = {
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".m4a": "audio/mp4",
}
#: the formats that take --bitrate
LOSSY = {"mp3", "ogg", "m4a"}
#: How much louder (LU) the mix must be to measure its target after encoding. Measured here:
#: libmp3lame at a constant bitrate comes out 0.4-0.5 LU quieter than its input (sine tones,
#: pink noise and speech alike); the other encoders keep the level.
LEVEL_SHIFT = {"mp3": 0.4}
#: How far (dB) an encoder's true peaks can come out above its input's, kept free under the
#: ceiling on top of `MixSettings.peak_margin`. Measured here on letgo's mixes: AAC up to
#: 0.6 dB (over the ocean bed); MP3 and Opus come out at or below their input.
OVERSHOOT = {"m4a": 0.6}
#: other extensions that name a format
ALIASES = {".opus": "ogg", ".oga": "ogg", ".mp4": "m4a", ".aac": "m4a", ".wave": "wav"}


def extension(format: str) -> str:
    return EXTENSIONS[format]


def choose_format(output: Path | None, format: str | None) -> str:
    """The format asked for, else the one the output's extension names, else mp3."""
    if format is not None and format not in CODECS:
        raise OutputError(f"unknown format '{format}'; choose one of: {', '.join(CODECS)}")
    if output is None:
        return format or "mp3"
    suffix = output.suffix.lower()
    named = next((f for f, ext in EXTENSIONS.items() if ext == suffix), ALIASES.get(suffix))
    if suffix and not named and not format:
        raise OutputError(
            f"{output.name}: '{suffix}' is not an audio format letgo writes; "
            f"name the file {' '.join(EXTENSIONS.values())} (or "
            f"{' '.join(ALIASES)}), or choose one with --format"
        )
    if format and named and named != format:
        raise SettingError(
            "format",
            format,
            f"does not match the file name {output.name}; "
            f"use a {extension(format)} name or leave the format out",
        )
    return format or named or "mp3"


_DEV_FD = Path("/dev/fd")


class Source(Protocol):
    """Sound to encode: `blocks(start, end)` gives its frames from `start` to `end` (its end
    for None) as float32 blocks of shape (frames, channels); each call is a stream of its own."""

    frames: int
    channels: int
    sample_rate: int

    def blocks(self, start: int = 0, end: int | None = None) -> Iterator[np.ndarray]: ...


def cores() -> int:
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
) -> None:
    """Encode `source` into `path` (a temporary name), its blocks fed as they are mixed.

    With `encoders` 2, an MP3 longer than `mp3join.SHORTEST` frames (46 s) is encoded in two
    halves at once, one per core, and joined frame-exactly (`mp3join`); where they cannot be
    joined it is encoded whole."""
    if settings.format not in CODECS:
        raise OutputError(f"unknown format '{settings.format}'; choose one of: {', '.join(CODECS)}")
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
                return _encode_halves(source, file, cut, settings, on_block)
            except mp3join.JoinError as exc:
                log.info("encoding whole: the halves did not join (%s)", exc)
                file.seek(0)
                file.truncate()
        with _Encoder(file, path, source, settings) as encoder:
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

    def __init__(self, file, path: Path, source: Source, settings: ExportSettings):
        self.command = ffmpeg.command(
            "-y",
            *ffmpeg.raw(source.sample_rate, source.channels),
            "-i",
            "pipe:0",
            *CODECS[settings.format],
            *(["-b:a", settings.bitrate] if settings.format in LOSSY else []),
            "-map_metadata",
            "-1",
        )
        self.path = path
        self.errors = tempfile.TemporaryFile()
        output, keep = _by_descriptor(file, path)
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
                raise EncodeError(
                    f"the encoder failed (exit {code}): {' '.join(self.command)} "
                    f"{self.path}: {ffmpeg.tail(self.errors.read())}"
                )


def _encode_halves(
    source: Source,
    file,
    cut: tuple[int, int, int],
    settings: ExportSettings,
    on_block: Callable[[int], None] | None,
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
            _Encoder(first, folder / "first", source, settings) as head,
            _Encoder(second, folder / "second", source, settings) as tail,
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


def write_tags(path: Path, title: str, comment: str, extra: Mapping[str, str], format: str) -> None:
    """Title, artist 'letgo' and a comment with what made the file, in a format's own kind of
    tag: ID3 in WAV, Vorbis comments in FLAC and Ogg, iTunes atoms in M4A. (MP3 carries the
    full ID3 tag with chapters and cover: see letgo.file.tags.)"""
    if format == "wav":
        _write_wav_tags(path, title, comment, extra)
    elif format == "m4a":
        _write_m4a_tags(path, title, comment, extra)
    else:
        _write_vorbis_tags(path, title, comment, extra, format)


def _write_wav_tags(path: Path, title: str, comment: str, extra: Mapping[str, str]) -> None:
    from mutagen.id3 import COMM, TIT2, TPE1, TXXX
    from mutagen.wave import WAVE

    audio = WAVE(str(path))
    if audio.tags is None:
        audio.add_tags()
    tags = audio.tags
    assert tags is not None  # add_tags made them
    tags.add(TIT2(encoding=3, text=title))
    tags.add(TPE1(encoding=3, text="letgo"))
    tags.add(COMM(encoding=3, lang="eng", desc="", text=comment))
    for key, value in extra.items():
        tags.add(TXXX(encoding=3, desc=key, text=value))
    audio.save()


def _write_m4a_tags(path: Path, title: str, comment: str, extra: Mapping[str, str]) -> None:
    from mutagen.mp4 import MP4, MP4FreeForm

    audio = MP4(str(path))
    audio["\xa9nam"], audio["\xa9ART"], audio["\xa9cmt"] = [title], ["letgo"], [comment]
    for key, value in extra.items():
        audio[f"----:com.apple.iTunes:{key}"] = [MP4FreeForm(value.encode("utf-8"))]
    audio.save()


def _write_vorbis_tags(
    path: Path, title: str, comment: str, extra: Mapping[str, str], format: str
) -> None:
    from mutagen.flac import FLAC
    from mutagen.oggopus import OggOpus

    audio = FLAC(str(path)) if format == "flac" else OggOpus(str(path))
    audio["title"], audio["artist"], audio["comment"] = [title], ["letgo"], [comment]
    for key, value in extra.items():
        audio[key] = [value]
    audio.save()


def duration(path: Path) -> float:
    """Seconds of audio in a file letgo wrote, from its header (nothing decoded)."""
    import mutagen

    return mutagen.File(str(path)).info.length


def read_extra(path: Path, format: str = "mp3") -> dict[str, str]:
    """The extra tags `write_tags` stored in a file of `format`; {} for a missing, foreign or
    unreadable file (it is then simply rendered again)."""
    import mutagen

    if format == "mp3":
        from letgo.file import tags

        return tags.read_extra(path)
    try:
        if format == "wav":
            return _read_wav_extra(path)
        if format == "m4a":
            return _read_m4a_extra(path)
        return _read_vorbis_extra(path, format)
    except (OSError, mutagen.MutagenError):
        return {}


def _read_wav_extra(path: Path) -> dict[str, str]:
    from mutagen.wave import WAVE

    tags = WAVE(str(path)).tags
    return {f.desc: str(f.text[0]) for f in tags.getall("TXXX")} if tags else {}


def _read_m4a_extra(path: Path) -> dict[str, str]:
    from mutagen.mp4 import MP4

    prefix = "----:com.apple.iTunes:"
    tags = MP4(str(path)).tags
    if not tags:
        return {}
    return {
        key[len(prefix) :]: bytes(value[0]).decode("utf-8", "replace")
        for key, value in tags.items()
        if key.startswith(prefix)
    }


def _read_vorbis_extra(path: Path, format: str) -> dict[str, str]:
    from mutagen._vorbis import VCommentDict  # the Vorbis comments of FLAC and Ogg alike
    from mutagen.flac import FLAC
    from mutagen.oggopus import OggOpus

    tags = (FLAC(str(path)) if format == "flac" else OggOpus(str(path))).tags
    if not isinstance(tags, VCommentDict):
        return {}
    return {key: values[0] for key, values in tags.items()}
