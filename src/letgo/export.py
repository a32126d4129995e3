"""Encoding blocks into a file that is either complete or absent.

The encoder (ffmpeg) is fed raw blocks on its stdin as the mixer makes them and writes the
temporary file `atomic.writing` gives, which is renamed into place only when finished and
tagged: an existing file is replaced only by a complete new one.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from . import ffmpeg
from .errors import EncodeError, OutputError, SettingError
from .settings import ExportSettings

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
MEDIA_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".flac": "audio/flac",
               ".ogg": "audio/ogg", ".m4a": "audio/mp4"}
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
    suffix = output.suffix.lower() if output is not None else ""
    named = next((f for f, ext in EXTENSIONS.items() if ext == suffix), ALIASES.get(suffix))
    if suffix and not named and not format:
        raise OutputError(f"{output.name}: '{suffix}' is not an audio format letgo writes; "
                          f"name the file {' '.join(EXTENSIONS.values())} (or "
                          f"{' '.join(ALIASES)}), or choose one with --format")
    if format and named and named != format:
        raise SettingError("format", format, f"does not match the file name {output.name}; "
                           f"use a {extension(format)} name or leave the format out")
    return format or named or "mp3"


def encode(blocks: Iterable[np.ndarray], path: Path, sample_rate: int, channels: int,
           settings: ExportSettings = ExportSettings(),
           on_block: Callable[[int], None] | None = None) -> None:
    """Stream float32 blocks into the encoder, writing `path` (a temporary name)."""
    if settings.format not in CODECS:
        raise OutputError(f"unknown format '{settings.format}'; choose one of: {', '.join(CODECS)}")
    command = [ffmpeg.exe(), "-hide_banner", "-nostdin", "-v", "error", "-y",
               "-f", "f32le", "-ar", str(sample_rate), "-ac", str(channels), "-i", "pipe:0",
               *CODECS[settings.format],
               *(["-b:a", settings.bitrate] if settings.format in LOSSY else []),
               "-map_metadata", "-1"]
    with open(path, "r+b") as file, tempfile.TemporaryFile() as errors:
        output, keep = _by_descriptor(file, path)
        process = subprocess.Popen([*command, output], stdin=subprocess.PIPE, stderr=errors,
                                   pass_fds=keep)
        try:
            _widen_pipe(process.stdin)
            for n, block in enumerate(blocks):
                if not _feed(process.stdin, np.ascontiguousarray(block, dtype="<f4").tobytes()):
                    break  # the encoder died; its exit code and stderr say why
                if n == 0:  # scripts/bench.py times the start-up by this line
                    log.info("first block at the encoder")
                if on_block:  # anything failing here (even a closed stderr) stops the encoder
                    on_block(len(block))
            _feed(process.stdin, None)
        except BaseException:
            process.kill()
            process.wait()
            raise
        code = process.wait()
        if code != 0:
            errors.seek(0)
            raise EncodeError(f"the encoder failed (exit {code}): {' '.join(command)} {path}: "
                              f"{ffmpeg.tail(errors.read())}")


def _by_descriptor(file, path: Path) -> tuple[str, tuple[int, ...]]:
    """Where the encoder writes: the file letgo holds open, through its descriptor, where the
    system has /dev/fd. An encoder that outlives a stopped render (a signal landing inside
    Popen leaves letgo without its pid) then finishes into a file already removed, instead of
    creating the temporary file again by name after letgo's clean-up."""
    if Path("/dev/fd").is_dir():
        return f"/dev/fd/{file.fileno()}", (file.fileno(),)
    return str(path), ()


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


def write_tags(path: Path, title: str, comment: str, extra: Mapping[str, str],
               format: str) -> None:
    """Title, artist 'letgo' and a comment with what made the file, in a format's own kind of
    tag: ID3 in WAV, Vorbis comments in FLAC and Ogg, iTunes atoms in M4A. (MP3 carries the
    full ID3 tag with chapters and cover: see letgo.tags.)"""
    if format == "wav":
        from mutagen.id3 import COMM, TIT2, TPE1, TXXX
        from mutagen.wave import WAVE

        audio = WAVE(str(path))
        if audio.tags is None:
            audio.add_tags()
        audio.tags.add(TIT2(encoding=3, text=title))
        audio.tags.add(TPE1(encoding=3, text="letgo"))
        audio.tags.add(COMM(encoding=3, lang="eng", desc="", text=comment))
        for key, value in extra.items():
            audio.tags.add(TXXX(encoding=3, desc=key, text=value))
        audio.save()
        return
    if format == "m4a":
        from mutagen.mp4 import MP4, MP4FreeForm

        audio = MP4(str(path))
        audio["\xa9nam"], audio["\xa9ART"], audio["\xa9cmt"] = [title], ["letgo"], [comment]
        for key, value in extra.items():
            audio[f"----:com.apple.iTunes:{key}"] = [MP4FreeForm(value.encode("utf-8"))]
        audio.save()
        return
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
        from . import tags

        return tags.read_extra(path)
    try:
        if format == "wav":
            from mutagen.wave import WAVE

            tags = WAVE(str(path)).tags
            return {f.desc: str(f.text[0]) for f in tags.getall("TXXX")} if tags else {}
        if format == "m4a":
            from mutagen.mp4 import MP4

            prefix = "----:com.apple.iTunes:"
            return {k[len(prefix):]: bytes(v[0]).decode("utf-8", "replace")
                    for k, v in (MP4(str(path)).tags or {}).items() if k.startswith(prefix)}
        from mutagen.flac import FLAC
        from mutagen.oggopus import OggOpus

        audio = FLAC(str(path)) if format == "flac" else OggOpus(str(path))
        return {k: v[0] for k, v in (audio.tags or {}).items()} if audio.tags else {}
    except (OSError, mutagen.MutagenError):
        return {}
