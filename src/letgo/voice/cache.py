"""The synthesis cache: a spoken sentence is kept, so re-rendering does not speak it again.

An entry's name is a hash of the engine's identity (engine, version, voice, settings) and the
normalised text, so any change that alters the sound is a different entry, and every session
and series shares the same entries. Each entry is one file: a header (magic, sample rate,
sample count, word count, SHA-256 of the key, samples and word times) then 16-bit PCM, then
the engine's word times (`Clip.words`, a pair of 32-bit sample positions a word; a count of
NO_WORDS when the engine gave none), so a warm render has its captions by the word without
speaking. The times are checked like the samples (in order, inside the clip). It is written with
`atomic.write`, so two processes rendering at once never see half an entry; a
damaged, truncated or misplaced entry fails its check, is removed, and is spoken again.

Nothing in the cache folder is trusted (design rule 12): a symlink in it, in place of an
entry or of a subfolder, is never followed. Reading treats it as a miss, writing replaces the
link itself, and clearing or pruning removes the link, never what it points to.

The cache has a size limit (`[cache] max_mb` in config.toml, 1000 MB by default). A hit
touches its entry, so when a render has written new entries and the folder is over the
limit, the entries unused for longest go first.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from letgo.errors import LetgoError
from letgo.file import atomic
from letgo.voice import timing
from letgo.voice.engines import Clip, Spans

log = logging.getLogger(__name__)

FORMAT = 2
MAGIC = b"LGC2"
_HEADER = struct.Struct("<4sIQI32s")  # magic, rate, samples, words, sha256 of key + the rest
NO_WORDS = 0xFFFFFFFF
SUFFIX = ".clip"
DEFAULT_MAX_MB = 1000


def key_of(path: Path) -> str:
    """The key an entry file is named by."""
    return path.name.removesuffix(SUFFIX)


def default_folder() -> Path:
    """$LETGO_CACHE_DIR if set, else the user cache folder (e.g. ~/.cache/letgo/speech)."""
    override = os.environ.get("LETGO_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_cache_path("letgo") / "speech"


def configured_max_bytes() -> int:
    """The size limit from config.toml's [cache] max_mb, else DEFAULT_MAX_MB."""
    from letgo.settings.config import cache_max_mb

    return int((cache_max_mb() or DEFAULT_MAX_MB) * 1_000_000)


@dataclass(frozen=True)
class Stats:
    folder: Path
    entries: int
    bytes: int


def _digest(key: str, pcm: bytes) -> bytes:
    return hashlib.sha256(key.encode() + pcm).digest()


def encode(clip: Clip, key: str) -> bytes:
    """An entry for `key`; its checksum covers the key too, so a misplaced file is caught."""
    pcm = clip.pcm.astype("<i2").tobytes()
    words = NO_WORDS if clip.words is None else len(clip.words)
    times = np.asarray(clip.words or [], dtype="<i4").tobytes()
    body = pcm + times
    return _HEADER.pack(MAGIC, clip.sample_rate, len(pcm) // 2, words, _digest(key, body)) + body


def decode(data: bytes, key: str) -> Clip | None:
    """The clip in `data`, or None if it is not a whole, undamaged entry for `key`."""
    if len(data) < _HEADER.size:
        return None
    magic, rate, count, words, digest = _HEADER.unpack_from(data)
    body = data[_HEADER.size :]
    pairs = 0 if words == NO_WORDS else words
    if magic != MAGIC or rate <= 0 or len(body) != 2 * count + 8 * pairs:
        return None
    if _digest(key, body) != digest:
        return None
    spans = None
    if words != NO_WORDS:
        flat = np.frombuffer(body[2 * count :], dtype="<i4").tolist()
        spans = tuple(zip(flat[::2], flat[1::2], strict=True))
        if not timing.valid(spans, words, count):
            return None
    return _clip(body[: 2 * count], rate, spans)


def _clip(pcm: bytes, rate: int, words: Spans | None = None) -> Clip:
    """A clip from an entry's 16-bit samples."""
    return Clip(np.frombuffer(pcm, dtype="<i2").astype(np.int16), rate, words)


class ClipCache:
    """Clips on disk under `folder`, named by content hash."""

    def __init__(self, folder: Path | str | None = None, max_bytes: int | None = None):
        """`max_bytes`: the size `prune` keeps to; None reads it from the config file."""
        self.folder = Path(folder) if folder is not None else default_folder()
        self.max_bytes = max_bytes if max_bytes is not None else configured_max_bytes()
        self.writable = True
        """False once a write has failed: the rest of the run does not try again."""
        self.warned = False

    @staticmethod
    def key(identity: str, text: str) -> str:
        return hashlib.sha256(f"{FORMAT}\0{identity}\0{text}".encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}{SUFFIX}"

    def get(self, key: str) -> Clip | None:
        path = self.path(key)
        if not self._real_folder(path.parent):
            return None
        try:
            data = _read_entry(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except _NotAnEntry:
            log.warning("cache entry %s is not a file: removed, the sentence is spoken again", path)
            _remove(path)
            return None
        except OSError as exc:
            self._warn_once(f"cannot read the speech cache {self.folder} ({exc})")
            return None
        clip = decode(data, key)
        if clip is None:
            log.warning("damaged cache entry %s: removed, the sentence is spoken again", path)
            _remove(path)
            return None
        try:  # recently used: the last to be pruned
            os.utime(path, follow_symlinks=False)
        except (OSError, NotImplementedError):
            pass
        return clip

    def _real_folder(self, folder: Path, make: bool = False) -> bool:
        """Whether `folder`, the cache folder or one of its subfolders, is a folder; a
        subfolder must be one itself, not a symlink to one (the cache folder may be a link
        the user made). With `make`, a missing one is made and a symlink or file in a
        subfolder's place removed."""
        if folder == self.folder:
            if make:
                folder.mkdir(parents=True, exist_ok=True)
            return folder.is_dir()
        try:
            mode: int | None = os.lstat(folder).st_mode
        except (FileNotFoundError, NotADirectoryError):
            mode = None
        if mode is not None and stat.S_ISDIR(mode):
            return True
        if not make or not self._real_folder(self.folder, make=True):
            return False
        if mode is not None:
            log.warning("removed %s from the speech cache: not a folder of its own", folder)
            _remove(folder)
        folder.mkdir(exist_ok=True)
        return stat.S_ISDIR(os.lstat(folder).st_mode)

    def put(self, key: str, clip: Clip) -> Clip:
        """Store `clip` (a clip is held as the 16-bit samples stored, so cold and warm renders
        match); returns it."""
        data = encode(clip, key)
        if self.writable:
            try:
                path = self.path(key)
                if not self._real_folder(path.parent, make=True):
                    raise OSError(f"{self.folder} is not a folder")
                if path.is_symlink():  # replaced, never written through
                    _remove(path)
                atomic.write(path, data)
            except (OSError, LetgoError) as exc:  # a full or read-only disk costs speed only
                self.writable = False
                self._warn_once(
                    f"cannot write to the speech cache {self.folder} ({exc}); "
                    "sentences are spoken afresh next time"
                )
        return clip

    def _warn_once(self, message: str) -> None:
        """A cache that fails fails for every sentence: say so once, not once per sentence."""
        if not self.warned:
            self.warned = True
            log.warning("%s", message)

    def _files(self) -> list[tuple[Path, os.stat_result]]:
        """Every regular file in the cache's own subfolders with its stat (temporary ones
        too); nothing reached through a symlink."""
        found = []
        for sub in self._subfolders():
            for entry in _scan(sub):
                try:
                    if entry.name.endswith(SUFFIX) and entry.is_file(follow_symlinks=False):
                        found.append((Path(entry.path), entry.stat(follow_symlinks=False)))
                except FileNotFoundError:  # pruned or renamed by another render meanwhile
                    continue
        return found

    def _subfolders(self) -> list[Path]:
        """The cache's subfolders that are folders, not symlinks to one."""
        if not self._real_folder(self.folder):
            return []
        return [
            Path(entry.path) for entry in _scan(self.folder) if entry.is_dir(follow_symlinks=False)
        ]

    def _links(self) -> list[Path]:
        """Symlinks in the cache folder or its subfolders (none of them letgo's)."""
        if not self._real_folder(self.folder):
            return []
        places = [self.folder, *self._subfolders()]
        return [Path(e.path) for place in places for e in _scan(place) if e.is_symlink()]

    def stats(self) -> Stats:
        files = self._files()
        entries = sum(not atomic.is_temporary(path) for path, _ in files)
        return Stats(self.folder, entries, sum(info.st_size for _, info in files))

    def prune(self, max_bytes: int | None = None) -> Stats:
        """Remove the least recently used entries until the cache holds at most `max_bytes`
        (default: its limit), and temporary files a dead render left; returns what went."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        if self.folder.is_dir():
            atomic.remove_stale(self.folder, recursive=True)
        files = self._files()
        total = sum(info.st_size for _, info in files)
        removed = freed = 0
        for path, info in sorted(files, key=lambda item: item[1].st_mtime):
            if total <= limit:
                break
            if atomic.is_temporary(path):  # another render is writing it
                continue
            path.unlink(missing_ok=True)
            total -= info.st_size
            freed += info.st_size
            removed += 1
        if removed:
            log.info(
                "cache over %.0f MB: removed %d least recently used entries (%.1f MB)",
                limit / 1e6,
                removed,
                freed / 1e6,
            )
        return Stats(self.folder, removed, freed)

    def clear(self) -> int:
        """Remove every entry (and leftover temporary files); returns how many entries went."""
        removed = 0
        for link in self._links():
            _remove(link)  # the link, not what it points to
        for path, _ in self._files():
            path.unlink(missing_ok=True)
            removed += not atomic.is_temporary(path)
        for sub in self._subfolders():
            try:
                sub.rmdir()
            except OSError:
                pass
        return removed


class _NotAnEntry(OSError):
    """A cache entry's name holds something other than a regular file (a link, a FIFO...)."""


def _read_entry(path: Path) -> bytes:
    """An entry's bytes, never through a symlink, never waiting on a FIFO or device."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a symlink
            raise _NotAnEntry(exc.errno, "a symlink") from None
        raise
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode) or path.is_symlink():
            raise _NotAnEntry(errno.EINVAL, "not a regular file")
        return handle.read()


def _remove(path: Path) -> None:
    """Remove `path` itself: a symlink or file is unlinked, a folder removed if empty."""
    try:
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot remove %s from the speech cache: %s", path, exc)


def _scan(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except (FileNotFoundError, NotADirectoryError):
        return []
