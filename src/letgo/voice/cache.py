"""The synthesis cache: a spoken sentence is kept, so re-rendering does not speak it again.

An entry's name is a hash of the engine's identity (engine, version, voice, settings) and the
normalised text, so any change that alters the sound is a different entry, and every session
and series shares the same entries. Each entry is one file: a header (magic, sample rate,
sample count, SHA-256 of the key and samples) then 16-bit PCM. It is written with
`atomic.write`, so two processes rendering at once never see half an entry; a
damaged, truncated or misplaced entry fails its check, is removed, and is spoken again.

The cache has a size limit (`[cache] max_mb` in config.toml, 1000 MB by default). A hit
touches its entry, so when a render has written new entries and the folder is over the
limit, the entries unused for longest go first.
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from letgo.errors import LetgoError
from letgo.file import atomic
from letgo.voice.engines import Clip

log = logging.getLogger(__name__)

FORMAT = 1
MAGIC = b"LGC1"
_HEADER = struct.Struct("<4sIQ32s")  # magic, sample rate, samples, sha256 of key + samples
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
    pcm = np.clip(np.round(clip.samples * 32767.0), -32768, 32767).astype("<i2").tobytes()
    return _HEADER.pack(MAGIC, clip.sample_rate, len(pcm) // 2, _digest(key, pcm)) + pcm


def decode(data: bytes, key: str) -> Clip | None:
    """The clip in `data`, or None if it is not a whole, undamaged entry for `key`."""
    if len(data) < _HEADER.size:
        return None
    magic, rate, count, digest = _HEADER.unpack_from(data)
    pcm = data[_HEADER.size :]
    if magic != MAGIC or rate <= 0 or len(pcm) != 2 * count:
        return None
    if _digest(key, pcm) != digest:
        return None
    return _clip(pcm, rate)


def _clip(pcm: bytes, rate: int) -> Clip:
    """A clip from an entry's 16-bit samples."""
    return Clip(np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32767.0, rate)


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
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            self._warn_once(f"cannot read the speech cache {self.folder} ({exc})")
            return None
        clip = decode(data, key)
        if clip is None:
            log.warning("damaged cache entry %s: removed, the sentence is spoken again", path)
            path.unlink(missing_ok=True)
            return None
        try:  # recently used: the last to be pruned
            os.utime(path)
        except OSError:
            pass
        return clip

    def put(self, key: str, clip: Clip) -> Clip:
        """Store `clip`; returns it as stored (16-bit), so cold and warm renders match."""
        data = encode(clip, key)
        if self.writable:
            try:
                atomic.write(self.path(key), data)
            except (OSError, LetgoError) as exc:  # a full or read-only disk costs speed only
                self.writable = False
                self._warn_once(
                    f"cannot write to the speech cache {self.folder} ({exc}); "
                    "sentences are spoken afresh next time"
                )
        return _clip(data[_HEADER.size :], clip.sample_rate)

    def _warn_once(self, message: str) -> None:
        """A cache that fails fails for every sentence: say so once, not once per sentence."""
        if not self.warned:
            self.warned = True
            log.warning("%s", message)

    def _files(self) -> list[tuple[Path, os.stat_result]]:
        """Every file in the cache with its stat (temporary ones too)."""
        found = []
        for path in self.folder.glob(f"*/*{SUFFIX}") if self.folder.is_dir() else []:
            try:
                found.append((path, path.stat()))
            except FileNotFoundError:  # pruned or renamed by another render meanwhile
                continue
        return found

    def stats(self) -> Stats:
        files = self._files()
        entries = sum(not atomic.is_temporary(path) for path, _ in files)
        return Stats(self.folder, entries, sum(stat.st_size for _, stat in files))

    def prune(self, max_bytes: int | None = None) -> Stats:
        """Remove the least recently used entries until the cache holds at most `max_bytes`
        (default: its limit), and temporary files a dead render left; returns what went."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        if self.folder.is_dir():
            atomic.remove_stale(self.folder, recursive=True)
        files = self._files()
        total = sum(stat.st_size for _, stat in files)
        removed = freed = 0
        for path, stat in sorted(files, key=lambda item: item[1].st_mtime):
            if total <= limit:
                break
            if atomic.is_temporary(path):  # another render is writing it
                continue
            path.unlink(missing_ok=True)
            total -= stat.st_size
            freed += stat.st_size
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
        for path, _ in self._files():
            path.unlink(missing_ok=True)
            removed += not atomic.is_temporary(path)
        for sub in self.folder.glob("*") if self.folder.is_dir() else []:
            if sub.is_dir():
                try:
                    sub.rmdir()
                except OSError:
                    pass
        return removed
