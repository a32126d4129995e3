"""Writing a file complete or absent: the one way letgo writes any file.

A file is written under a temporary name beside its target (`.NAME.XXXXXXXX.part.EXT`) and
renamed over it only when complete, so a reader sees the old file or the new one, never half
of one. Only regular files are created or replaced: a folder, device, FIFO or socket as the
target is refused, and a symlink is written through (the file it points to is replaced; the
link stays). While a temporary file is being written its writer holds a lock on it, released
by the system even when the writer is killed; so a temporary file that nobody holds was left
by a process that died, and the next write into that folder removes it.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from letgo.errors import OutputError, UsageError
from letgo.file.reading import KINDS

#: The name of a temporary file, and of the file it is made as before it is locked (`_create`).
TEMPORARY = re.compile(r"^\..*\.[0-9a-f]{8}\.(part(\.[A-Za-z0-9]+)?|new)$")
#: Seconds within which an unlocked `.new` file may be one just made, not yet locked.
JUST_MADE = 2.0
#: Where files cannot be locked (Windows), a temporary file this old is taken as abandoned.
STALE_AGE = 3600.0
#: Whether flock is to be had (not on Windows).
_FLOCK = sys.platform != "win32"
#: Opens a path itself, never the file a symlink there points to (where the system can).
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def is_temporary(path: Path) -> bool:
    return bool(TEMPORARY.match(path.name))


def target(path: Path | str, follow: bool = True) -> Path:
    """The regular file that writing `path` replaces or creates (a symlink is followed, or
    with `follow` False refused), after checking it can be: its folder exists (it is made)
    and takes new files."""
    path = Path(path).expanduser()
    if not follow and path.is_symlink():
        raise OutputError(f"cannot write {path}: it is a symlink; remove it")
    try:
        real = path.resolve() if path.is_symlink() else path
    except (OSError, RuntimeError) as exc:  # a loop of symlinks
        raise OutputError(f"cannot write {path}: cannot follow its symlink ({exc})") from None
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"{path} is a folder; give a file name such as {path / 'session.mp3'}")
    if mode is not None and not stat.S_ISREG(mode):
        kind = KINDS.get(stat.S_IFMT(mode), "a special file")
        raise OutputError(
            f"{path} is {kind}, not a regular file; letgo only creates or "
            "replaces regular files: give a file name such as session.mp3"
        )
    ready(real.parent)
    return real


def ready(folder: Path) -> None:
    """Make `folder` if needed and check that files can be created in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder {folder}: {_reason(folder, exc)}") from None
    try:  # try it: os.access cannot tell, e.g. for root in /proc or on a read-only mount
        fd, probe = _create(folder / "letgo-probe")
    except OSError as exc:
        raise OutputError(f"cannot write to {folder}: {_reason(folder, exc)}") from None
    try:
        os.close(fd)
    finally:
        probe.unlink(missing_ok=True)


def _reason(folder: Path, exc: OSError) -> str:
    """Why `folder` takes no files, in words a user can act on."""
    if exc.errno == errno.EROFS:
        return "it is on a read-only file system"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "the folder is read-only (no permission to create files in it)"
    return f"the folder does not take new files ({exc.strerror or exc})"


@contextmanager
def writing(path: Path | str) -> Iterator[Path]:
    """A temporary path beside `path`, renamed to it only when the block exits cleanly.

    Whatever writes the temporary path (this process or one it starts) must write that very
    file, not replace it: the lock that marks it as being written is on it."""
    final = target(path)
    with _temporary(final, str(path)) as temporary:
        yield temporary
        os.replace(temporary, final)


def write(path: Path | str, data: bytes, exclusive: bool = False, follow: bool = True) -> bool:
    """Write `data` to `path` completely or not at all; False (nothing written) when the file
    already holds these bytes. `exclusive`: never replace a file; FileExistsError if one is
    there, even one that appeared meanwhile. `follow` False: a symlink at `path` is refused
    (OutputError) instead of written through (for files letgo alone keeps, such as a
    series' manifest)."""
    final = target(path, follow)
    if exclusive and final.exists():
        raise FileExistsError(errno.EEXIST, "File exists", str(final))
    try:
        if not exclusive and final.stat().st_size == len(data) and final.read_bytes() == data:
            return False
    except OSError:
        pass  # not there, or unreadable: write it
    with _temporary(final, str(path)) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(data)
        if exclusive:
            os.link(temporary, final)  # fails, rather than replaces, if it appeared meanwhile
        else:
            os.replace(temporary, final)
    return True


@contextmanager
def _temporary(final: Path, asked: str) -> Iterator[Path]:
    """A locked temporary file beside `final`, removed at the end unless renamed or linked
    into place; stale ones in the folder are removed first."""
    remove_stale(final.parent)
    created = None
    try:  # one block from creation on: a signal's exception anywhere still cleans up
        try:
            created = _create(final)
        except OSError as exc:
            raise OutputError(f"cannot write {asked}: {_reason(final.parent, exc)}") from None
        yield created[1]
    finally:
        if created is not None:
            fd, temporary = created
            temporary.unlink(missing_ok=True)  # gone already if it was renamed into place
            os.close(fd)


def _create(final: Path) -> tuple[int, Path]:
    """A new, empty, locked temporary file for `final`, `.STEM.XXXXXXXX.part.SUFFIX`, with the
    mode any new file gets (0666 less the umask; mkstemp's 0600 would stay on the result).

    It is made as `.STEM.XXXXXXXX.new` and takes its `.part` name only once locked, so a
    `.part` file nobody holds is always one whose writer died, however young it is."""
    for _ in range(100):
        token = secrets.token_hex(4)
        made = final.with_name(f".{final.stem}.{token}.new")
        path = final.with_name(f".{final.stem}.{token}.part{final.suffix}")
        fd = None
        try:
            fd = os.open(made, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
            _lock(fd)
            os.rename(made, path)
            return fd, path
        except FileExistsError:
            if fd is None:
                continue  # that name is taken: draw another
            raise
        except BaseException:  # a signal's exception too, wherever it lands in the above
            if fd is not None:
                os.close(fd)
            made.unlink(missing_ok=True)
            path.unlink(missing_ok=True)
            raise
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(final.parent))


def remove_stale(folder: Path, recursive: bool = False) -> list[Path]:
    """Remove the temporary files in `folder` that no live process is writing; returns them."""
    find = folder.rglob if recursive else folder.glob
    removed = []
    for path in [*find(".*.part*"), *find(".*.new")]:
        if is_temporary(path) and path.is_file() and not path.is_symlink() and _abandoned(path):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _abandoned(path: Path) -> bool:
    """Nobody holds it (and, for a `.new` file, it is not one whose writer has yet to lock it)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        age = time.time() - os.fstat(fd).st_mtime
        if path.suffix == ".new" and age <= JUST_MADE:
            return False
        if not _FLOCK:  # writers hold no lock there (`_lock`): go by age
            return age > STALE_AGE
        return try_lock(fd)
    finally:
        os.close(fd)  # and with it the lock


def _lock(fd: int) -> None:
    """Hold the file for as long as its writer lives (waiting out a remover's brief look)."""
    if sys.platform != "win32":
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)


def try_lock(fd: int) -> bool:
    """An exclusive lock on an open file without waiting; False if another process holds it.
    flock on POSIX, msvcrt on Windows; either is released when the process dies. The one
    lock letgo takes: on its temporary files (`_abandoned`) and on a series folder (`held`)."""
    if sys.platform == "win32":
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def held(path: Path, busy: str) -> Iterator[None]:
    """Hold the lock file `path` (made if missing) for the block; UsageError(`busy`) when
    another process holds it. Only a regular file of our own: never through a symlink, never
    a FIFO's wait. Released when the block ends or the process dies."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | NOFOLLOW | getattr(os, "O_NONBLOCK", 0), 0o666)
    except OSError as exc:
        why = "it is a symlink; remove it" if exc.errno == errno.ELOOP else exc.strerror
        raise OutputError(f"cannot use {path} as a lock: {why}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OutputError(f"{path} is not a regular file; remove it")
        if not try_lock(fd):
            raise UsageError(busy)
        yield
    finally:
        os.close(fd)  # and with it the lock
