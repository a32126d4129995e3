"""ID3 tags for a finished MP3: what players show, and what it takes to rebuild the file.

Written with mutagen because ffmpeg writes chapter frames without the table of contents (CTOC)
that players need to list them. Chapters come straight from the `Timeline`, so they agree with
the audio and the transcripts to the millisecond.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from letgo.sound.timeline import Chapter

#: The TXXX description under which letgo stores the inputs that made a file.
INPUTS_KEY = "letgo:inputs"
#: The TXXX description under which a series build stores the hash of those inputs.
HASH_KEY = "letgo:hash"


@dataclass(frozen=True)
class TagInfo:
    """Everything written into an MP3's ID3 tag."""

    title: str
    """TIT2: the session's title."""
    artist: str = "letgo"
    """TPE1: who speaks or made it."""
    album: str = ""
    """TALB: the series the session belongs to; empty for none."""
    track: int | None = None
    """TRCK: position in the series (1-based)."""
    tracks: int | None = None
    """TRCK: number of sessions in the series."""
    year: str = ""
    """TDRC: year of the recording."""
    genre: str = "Meditation"
    """TCON: genre."""
    comment: str = ""
    """COMM: words for people (the template's or session's description)."""
    cover: bytes = b""
    """APIC: a PNG front cover; empty for none."""
    chapters: tuple[Chapter, ...] = ()
    """CHAP frames plus one CTOC listing them in order."""
    extra: Mapping[str, str] = field(default_factory=dict)
    """TXXX frames: description -> text (e.g. the inputs needed to rebuild)."""


def write(path: Path | str, info: TagInfo) -> None:
    """Replace the ID3 tag of `path` with `info` (ID3v2.3, which most players read)."""
    from mutagen.id3 import (
        APIC,
        COMM,
        ID3,
        TALB,
        TCON,
        TDRC,
        TIT2,
        TPE1,
        TRCK,
        TXXX,
        ID3NoHeaderError,
    )

    try:
        tags = ID3(str(path))
        tags.clear()
    except ID3NoHeaderError:
        tags = ID3()
    tags.add(TIT2(encoding=3, text=info.title))
    tags.add(TPE1(encoding=3, text=info.artist))
    if info.album:
        tags.add(TALB(encoding=3, text=info.album))
    if info.track:
        tags.add(
            TRCK(encoding=3, text=f"{info.track}/{info.tracks}" if info.tracks else str(info.track))
        )
    if info.year:
        tags.add(TDRC(encoding=3, text=str(info.year)))
    if info.genre:
        tags.add(TCON(encoding=3, text=info.genre))
    if info.comment:
        tags.add(COMM(encoding=3, lang="eng", desc="", text=info.comment))
    if info.cover:
        tags.add(APIC(encoding=3, mime="image/png", type=3, desc="Cover", data=info.cover))
    for frame in chapter_frames(info.chapters):
        tags.add(frame)
    for key, value in info.extra.items():
        tags.add(TXXX(encoding=3, desc=key, text=value))
    tags.save(str(path), v2_version=3)


def _ordered_ids(titles: Sequence[str]) -> list[str]:
    """Element ids that keep CHAP frames in time order in the file.

    mutagen writes frames ordered by size, then by key, and ffmpeg-based players list CHAP
    frames in file order, not by the CTOC. So each id is padded to make every CHAP frame the
    same size (a v2.3 title is UTF-16: two bytes a code unit), and the zero-padded number then
    orders them."""
    units = [len(t.encode("utf-16-le")) // 2 for t in titles]
    longest = max(units, default=0)
    return [f"chp{n:03d}" + "_" * (2 * (longest - u)) for n, u in enumerate(units)]


def chapter_frames(chapters: Sequence[Chapter]) -> list:
    """CHAP frames (times in ms) and the top-level, ordered CTOC that players look for."""
    from mutagen.id3 import CHAP, CTOC, TIT2, CTOCFlags

    if not chapters:
        return []
    ids = _ordered_ids([c.title for c in chapters])
    frames: list[CHAP | CTOC] = [
        CHAP(
            element_id=i,
            start_time=round(c.start * 1000),
            end_time=round(c.end * 1000),
            start_offset=0xFFFFFFFF,
            end_offset=0xFFFFFFFF,
            sub_frames=[TIT2(encoding=3, text=c.title)],
        )
        for i, c in zip(ids, chapters, strict=False)
    ]
    frames.append(
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=ids,
            sub_frames=[TIT2(encoding=3, text="Chapters")],
        )
    )
    return frames


def read_chapters(path: Path | str) -> list[Chapter]:
    """The chapters of an MP3, in the CTOC's order (for tests and tools)."""
    from mutagen.id3 import ID3

    tags = ID3(str(path))
    chaps = {f.element_id: f for f in tags.getall("CHAP")}
    tocs = tags.getall("CTOC")
    order = tocs[0].child_element_ids if tocs else sorted(chaps)
    return [
        Chapter(
            str(chaps[i].sub_frames["TIT2"].text[0]),
            chaps[i].start_time / 1000,
            chaps[i].end_time / 1000,
        )
        for i in order
        if i in chaps
    ]


def read_extra(path: Path | str) -> dict[str, str]:
    """TXXX description -> text; {} for a missing or untagged file."""
    from mutagen import MutagenError
    from mutagen.id3 import ID3

    try:
        tags = ID3(str(path))
    except (OSError, MutagenError):
        return {}
    return {f.desc: str(f.text[0]) for f in tags.getall("TXXX")}


# --- a calm, generated cover ----------------------------------------------------------------

#: Changes whenever cover_png draws differently, so covers are rebuilt.
COVER_STYLE = "dusk-1"


def cover_png(seed: str, size: int = 1400) -> bytes:
    """A quiet square cover: a dusk gradient with a soft pale circle, tinted by `seed`.

    Deterministic (same seed, same bytes), so covers never force a rebuild. Podcast apps ask
    for 1400-3000 px squares; the gradient compresses to a few tens of kilobytes.
    """
    hue = (zlib.crc32(seed.encode("utf-8")) % 360) / 360.0
    top, bottom = _hsv(hue, 0.35, 0.42), _hsv((hue + 0.08) % 1.0, 0.30, 0.85)
    y = np.linspace(0.0, 1.0, size)[:, None, None]
    image = np.broadcast_to(top * (1 - y) + bottom * y, (size, size, 3)).copy()
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    distance = np.hypot(xx - 0.5, yy - 0.42)
    glow = np.clip((0.22 - distance) / 0.012, 0.0, 1.0)[..., None]
    image = image * (1 - 0.85 * glow) + 0.85 * glow * np.array([0.98, 0.96, 0.90])
    return png((image * 255 + 0.5).astype(np.uint8))


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    i, f = int(h * 6) % 6, h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    return np.array([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i])


def png(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB PNG from an (h, w, 3) uint8 array, with zlib and struct only."""
    height, width, _ = rgb.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), rgb.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9))
        + chunk(b"IEND", b"")
    )
