"""The audio formats letgo writes, one row each: the one table of them.

The `format` setting takes its choices from here, the encoder its arguments, a feed or web
server a file's media type, and the finished file its tags (each format's writer and the
reader of what it stored).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from letgo.errors import OutputError, SettingError
from letgo.file import basictags, tags
from letgo.file.tags import TagInfo


@dataclass(frozen=True)
class Format:
    name: str
    """What --format and the `format` setting call it."""
    label: str
    """How help text names it."""
    extension: str
    media_type: str
    """What a feed or a web server gives as its type."""
    codec: tuple[str, ...]
    """The encoder's arguments (all in imageio-ffmpeg's build)."""
    lossy: bool
    """Whether it takes --bitrate."""
    write_tags: Callable[[Path, TagInfo], None]
    read_extra: Callable[[Path], dict[str, str]]
    """The keys `write_tags` stored as `TagInfo.extra`."""
    level_shift: float = 0.0
    """How much louder (LU) the mix must be to measure its target after encoding. Measured
    here: libmp3lame at a constant bitrate comes out 0.4-0.5 LU quieter than its input (sine
    tones, pink noise and speech alike); the other encoders keep the level."""
    overshoot: float = 0.0
    """How far (dB) the encoder's true peaks can come out above its input's, kept free under
    the ceiling on top of `MixSettings.peak_margin`. Measured here on letgo's mixes: AAC up to
    0.6 dB (over the ocean bed); MP3 and Opus come out at or below their input."""


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "mp3",
            "mp3",
            ".mp3",
            "audio/mpeg",
            ("-c:a", "libmp3lame", "-f", "mp3"),
            lossy=True,
            write_tags=tags.write,  # the full ID3 tag: chapters, cover, series
            read_extra=tags.read_extra,
            level_shift=0.4,
        ),
        Format(
            "wav",
            "wav",
            ".wav",
            "audio/wav",
            ("-c:a", "pcm_s16le", "-f", "wav"),
            lossy=False,
            write_tags=basictags.write_wav,
            read_extra=basictags.read_wav,
        ),
        Format(
            "flac",
            "flac",
            ".flac",
            "audio/flac",
            ("-c:a", "flac", "-f", "flac"),
            lossy=False,
            write_tags=basictags.write_flac,
            read_extra=basictags.read_flac,
        ),
        Format(
            "ogg",
            "ogg (Opus)",
            ".ogg",
            "audio/ogg",
            ("-c:a", "libopus", "-ar", "48000", "-f", "ogg"),  # Opus runs at 48 kHz
            lossy=True,
            write_tags=basictags.write_ogg,
            read_extra=basictags.read_ogg,
        ),
        Format(
            "m4a",
            "m4a (AAC)",
            ".m4a",
            "audio/mp4",
            ("-c:a", "aac", "-f", "ipod"),
            lossy=True,
            write_tags=basictags.write_m4a,
            read_extra=basictags.read_m4a,
            overshoot=0.6,
        ),
    )
}
NAMES = tuple(FORMATS)
#: other extensions that name a format
ALIASES = {".opus": "ogg", ".oga": "ogg", ".mp4": "m4a", ".aac": "m4a", ".wave": "wav"}
#: extension -> media type, for a feed or a web server
MEDIA_TYPES = {f.extension: f.media_type for f in FORMATS.values()}


def get(name: str) -> Format:
    """The format called `name`; an OutputError naming the choices for any other."""
    try:
        return FORMATS[name]
    except KeyError:
        raise OutputError(f"unknown format '{name}'; choose one of: {', '.join(NAMES)}") from None


def extension(name: str) -> str:
    return get(name).extension


def choose(output: Path | None, name: str | None) -> str:
    """The format asked for, else the one the output's extension names, else mp3."""
    if name is not None:
        get(name)
    if output is None:
        return name or "mp3"
    suffix = output.suffix.lower()
    named = next((f.name for f in FORMATS.values() if f.extension == suffix), ALIASES.get(suffix))
    if suffix and not named and not name:
        raise OutputError(
            f"{output.name}: '{suffix}' is not an audio format letgo writes; "
            f"name the file {' '.join(f.extension for f in FORMATS.values())} (or "
            f"{' '.join(ALIASES)}), or choose one with --format"
        )
    if name and named and named != name:
        raise SettingError(
            "format",
            name,
            f"does not match the file name {output.name}; "
            f"use a {extension(name)} name or leave the format out",
        )
    return name or named or "mp3"


def read_extra(path: Path, name: str = "mp3") -> dict[str, str]:
    """The extra tags a file of format `name` holds; {} for a missing, foreign or unreadable
    file (it is then simply rendered again)."""
    import mutagen

    try:
        return get(name).read_extra(path)
    except (OSError, mutagen.MutagenError):
        return {}


def duration(path: Path) -> float:
    """Seconds of audio in a file letgo wrote, from its header (nothing decoded)."""
    import mutagen

    return mutagen.File(str(path)).info.length
