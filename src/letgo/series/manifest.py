"""The series manifest: what a build made in its output folder, shared by build, serve and listen.

`.letgo-series.json` records, for each session file, the freshness key it was built from and
what the listening files show of it (title, length, chapters, cues), and for the folder the
series' own details, the sets (one per listener, or one) and the covers drawn.

It is data from disk, so it is read as untrusted input even though letgo wrote it: every field
is checked for its type, an entry that does not hold up is dropped (that session is simply built
again), and every path it names must be a plain name inside the folder (`relpath`): a planted
manifest listing `../victims/victim.mp3`, `/home/x/y.mp3` or `.letgo-series.lock` names
nothing a build will ever touch. The manifest itself is read and written only as a regular
file of its own: a symlink in its place is refused, as the build's lock file is.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from letgo.errors import OutputError
from letgo.file import atomic, transcripts
from letgo.file.formats import MEDIA_TYPES
from letgo.series.plan import SeriesInfo

log = logging.getLogger(__name__)

NAME = ".letgo-series.json"
FORMAT = 1
#: A manifest larger than this is not one letgo wrote (a thousand listeners' full cues are
#: far below it); it is refused rather than read into memory.
MAX_BYTES = 512 * 1024 * 1024

Chapter = tuple[str, float, float]
Cue = tuple[float, float, str, str]
"""(start, end, text, the text with its words' cue timestamps as the VTT has it, or '')."""


@dataclass(frozen=True)
class Entry:
    """One built session, as the build recorded it."""

    key: str
    """The freshness key the file was built from (freshness.freshness_key)."""
    sources: str
    """Hash of what writing the script reads (freshness.sources_hash), so an unchanged session's
    `words` can be taken as they are."""
    words: str
    """Hash of the script as written (freshness.words_hash)."""
    title: str
    description: str
    track: int
    duration: float
    bytes: int
    """The audio file's size: a file of another size was not made by this build."""
    built: str
    """ISO time it was built (UTC); the feed's publication date."""
    chapters: tuple[Chapter, ...] = ()
    cues: tuple[Cue, ...] = ()
    seconds: float = 0.0
    """How long building it took."""

    def as_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["chapters"] = [list(c) for c in self.chapters]
        data["cues"] = [list(c) for c in self.cues]
        return data

    @classmethod
    def from_json(cls, data: Any) -> Entry:
        """An entry from its JSON; ValueError naming the field that does not hold up."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return cls(
            key=_str(data, "key"),
            sources=_str(data, "sources"),
            words=_str(data, "words"),
            title=_str(data, "title"),
            description=_str(data, "description"),
            track=_int(data, "track"),
            duration=_number(data, "duration"),
            bytes=_int(data, "bytes"),
            built=_str(data, "built"),
            chapters=tuple(_chapter(c) for c in _list(data, "chapters")),
            cues=tuple(_cue(c) for c in _list(data, "cues")),
            seconds=_number(data, "seconds", 0.0),
        )


@dataclass
class Manifest:
    """The whole record of a built folder."""

    sessions: dict[str, Entry] = field(default_factory=dict)
    """relpath (`NAME.mp3`, or `LISTENER/NAME.mp3`) -> what was built there."""
    series: SeriesInfo | None = None
    """The series as the listening files were last written for it."""
    sets: dict[str, list[str]] = field(default_factory=dict)
    """Sub-folder ('' for the series itself) -> its sessions' relpaths, in order."""
    covers: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Sub-folder -> (seed, style) of the cover.png drawn there."""

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "sessions": {relpath: e.as_json() for relpath, e in self.sessions.items()},
            "series": dataclasses.asdict(self.series) if self.series else None,
            "sets": self.sets,
            "covers": {k: list(v) for k, v in self.covers.items()},
        }

    @classmethod
    def from_json(cls, data: Any, where: str = NAME) -> Manifest:
        """A manifest from its JSON, keeping only what holds up (see the module's note)."""
        manifest = cls()
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return manifest
        sessions = data.get("sessions")
        for relpath, entry in (sessions if isinstance(sessions, dict) else {}).items():
            if not is_session_path(relpath):
                log.warning(
                    "%s: ignored the session %r: not a file name in the folder", where, relpath
                )
                continue
            try:
                manifest.sessions[relpath] = Entry.from_json(entry)
            except ValueError as exc:
                log.warning("%s: ignored the session %r: %s", where, relpath, exc)
        try:
            manifest.series = _series(data.get("series"))
        except ValueError as exc:
            log.warning("%s: ignored the series details: %s", where, exc)
        sets = data.get("sets")
        for subfolder, relpaths in (sets if isinstance(sets, dict) else {}).items():
            if is_subfolder(subfolder) and isinstance(relpaths, list):
                manifest.sets[subfolder] = [
                    r for r in relpaths if is_session_path(r) and _folder_of(r) == subfolder
                ]
        covers = data.get("covers")
        for subfolder, cover in (covers if isinstance(covers, dict) else {}).items():
            if (
                is_subfolder(subfolder)
                and isinstance(cover, list)
                and len(cover) == 2
                and all(isinstance(c, str) for c in cover)
            ):
                manifest.covers[subfolder] = (cover[0], cover[1])
        return manifest

    def to_bytes(self) -> bytes:
        return json.dumps(self.as_json(), indent=1, sort_keys=True, ensure_ascii=False).encode()


# --- paths the manifest may name -------------------------------------------------------------


def is_name(part: object) -> bool:
    """A plain file or folder name: no separator, no dot-file, no control character."""
    return (
        isinstance(part, str)
        and 0 < len(part) <= 255
        and not part.startswith(".")
        and "/" not in part
        and "\\" not in part
        and not any(ord(c) < 32 or c == "\x7f" for c in part)
    )


def is_subfolder(subfolder: object) -> bool:
    """'' (the folder itself) or one plain name: where a set lives."""
    return subfolder == "" or is_name(subfolder)


def is_session_path(relpath: object) -> bool:
    """`NAME.EXT` or `FOLDER/NAME.EXT`, plain names, EXT an audio format letgo writes: the
    only shape a build gives a session, so the only files it may ever remove."""
    if not isinstance(relpath, str):
        return False
    parts = relpath.split("/")
    return (
        1 <= len(parts) <= 2
        and all(is_name(p) for p in parts)
        and PurePosixPath(parts[-1]).suffix in MEDIA_TYPES
    )


def _folder_of(relpath: str) -> str:
    return relpath.rpartition("/")[0]


def inside(folder: Path, relpath: str) -> Path | None:
    """`folder / relpath` when its folder really is `folder` or the sub-folder it names (not
    a symlink leading elsewhere); None otherwise. `relpath` is one `is_session_path` accepts
    (or a set's file, `SUBFOLDER/NAME`)."""
    root = folder.resolve()
    subfolder = _folder_of(relpath)
    try:
        parent = (folder / relpath).parent.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return folder / relpath if parent == (root / subfolder if subfolder else root) else None


def sidecars(audio: Path) -> list[Path]:
    """A session's files: the audio, its two transcripts and its chapters."""
    return [audio, *transcripts.sidecars(audio).values()]


# --- reading and writing ----------------------------------------------------------------------


def read(folder: Path) -> Manifest:
    """The folder's manifest; an empty one when there is none or it is not one letgo wrote.
    OutputError when something other than a regular file (a symlink, a FIFO) is in its place."""
    path = folder / NAME
    try:
        fd = os.open(path, os.O_RDONLY | atomic.NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return Manifest()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(f"cannot use {path}: it is a symlink; remove it") from None
        raise OutputError(f"cannot read {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(f"{path} is not a regular file; remove it")
        if info.st_size > MAX_BYTES:
            log.warning("%s: ignored: %d bytes is more than a manifest holds", path, info.st_size)
            return Manifest()
        raw = handle.read()
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError alike
        log.warning("%s: ignored: not a manifest letgo wrote (not JSON)", path)
        return Manifest()
    except RecursionError:
        log.warning("%s: ignored: nested too deep to be a manifest letgo wrote", path)
        return Manifest()
    return Manifest.from_json(data, str(path))


def write(folder: Path, manifest: Manifest) -> None:
    """Write the manifest through the atomic writer (never through a symlink)."""
    atomic.write(folder / NAME, manifest.to_bytes(), follow=False)


# --- field checks -----------------------------------------------------------------------------


def _str(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"'{key}' is not a string")
    return value


def _int(data: dict, key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"'{key}' is not a whole number")
    return value


def _number(data: dict, key: str, default: float | None = None) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e9:
        raise ValueError(f"'{key}' is not a number of seconds")
    return float(value)


def _list(data: dict, key: str) -> list:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"'{key}' is not a list")
    return value


def _chapter(item: Any) -> Chapter:
    if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)):
        raise ValueError("a chapter is not [title, start, end]")
    fields = {"start": item[1], "end": item[2]}
    return item[0], _number(fields, "start"), _number(fields, "end")


def _cue(item: Any) -> Cue:
    if not (
        isinstance(item, list)
        and len(item) in (3, 4)
        and all(isinstance(text, str) for text in item[2:])
    ):
        raise ValueError("a cue is not [start, end, text, timed text]")
    fields = {"start": item[0], "end": item[1]}
    timed = item[3] if len(item) == 4 else ""
    return _number(fields, "start"), _number(fields, "end"), item[2], timed


def _series(data: Any) -> SeriesInfo | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError("not an object")
    names = {f.name for f in dataclasses.fields(SeriesInfo)}
    if set(data) - names or not all(isinstance(v, str) for v in data.values()):
        raise ValueError("not the fields of a series")
    if not isinstance(data.get("title"), str):
        raise ValueError("no title")
    return SeriesInfo(**data)
