"""The tags of the formats other than MP3: title, artist, comment and letgo's own keys.

Each format in its own kind of tag: ID3 in WAV, Vorbis comments in FLAC and Ogg, iTunes atoms
in M4A. Chapters, covers and series tags are ID3 and stay with MP3 (`letgo.file.tags`). A
reader gives the extra keys a writer stored (letgo's inputs and freshness hash).
"""

from __future__ import annotations

from pathlib import Path

from letgo.file.tags import TagInfo

#: Where M4A keeps a free-form key (an iTunes atom under letgo's own names).
M4A_PREFIX = "----:com.apple.iTunes:"


def write_wav(path: Path, info: TagInfo) -> None:
    from mutagen.id3 import COMM, TIT2, TPE1, TXXX
    from mutagen.wave import WAVE

    audio = WAVE(str(path))
    if audio.tags is None:
        audio.add_tags()
    tags = audio.tags
    assert tags is not None  # add_tags made them
    tags.add(TIT2(encoding=3, text=info.title))
    tags.add(TPE1(encoding=3, text="letgo"))
    tags.add(COMM(encoding=3, lang="eng", desc="", text=info.comment))
    for key, value in info.extra.items():
        tags.add(TXXX(encoding=3, desc=key, text=value))
    audio.save()


def read_wav(path: Path) -> dict[str, str]:
    from mutagen.wave import WAVE

    tags = WAVE(str(path)).tags
    return {f.desc: str(f.text[0]) for f in tags.getall("TXXX")} if tags else {}


def write_m4a(path: Path, info: TagInfo) -> None:
    from mutagen.mp4 import MP4, MP4FreeForm

    audio = MP4(str(path))
    audio["\xa9nam"], audio["\xa9ART"], audio["\xa9cmt"] = [info.title], ["letgo"], [info.comment]
    for key, value in info.extra.items():
        audio[M4A_PREFIX + key] = [MP4FreeForm(value.encode("utf-8"))]
    audio.save()


def read_m4a(path: Path) -> dict[str, str]:
    from mutagen.mp4 import MP4

    tags = MP4(str(path)).tags
    if not tags:
        return {}
    return {
        key[len(M4A_PREFIX) :]: bytes(value[0]).decode("utf-8", "replace")
        for key, value in tags.items()
        if key.startswith(M4A_PREFIX)
    }


def write_flac(path: Path, info: TagInfo) -> None:
    from mutagen.flac import FLAC

    _write_vorbis(FLAC(str(path)), info)


def write_ogg(path: Path, info: TagInfo) -> None:
    from mutagen.oggopus import OggOpus

    _write_vorbis(OggOpus(str(path)), info)


def _write_vorbis(audio, info: TagInfo) -> None:
    """Vorbis comments, as FLAC and Ogg Opus hold them."""
    audio["title"], audio["artist"], audio["comment"] = [info.title], ["letgo"], [info.comment]
    for key, value in info.extra.items():
        audio[key] = [value]
    audio.save()


def read_flac(path: Path) -> dict[str, str]:
    from mutagen.flac import FLAC

    return _read_vorbis(FLAC(str(path)).tags)


def read_ogg(path: Path) -> dict[str, str]:
    from mutagen.oggopus import OggOpus

    return _read_vorbis(OggOpus(str(path)).tags)


def _read_vorbis(tags: object) -> dict[str, str]:
    from mutagen._vorbis import VCommentDict  # the Vorbis comments of FLAC and Ogg alike

    if not isinstance(tags, VCommentDict):
        return {}
    return {key: values[0] for key, values in tags.items()}
