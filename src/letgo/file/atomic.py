"""Writing a file complete or absent: the one way letgo writes any file.

A file is written as a temporary file beside its target and renamed over it only when
complete, so a reader sees the old file or the new one, never half of one. On Linux the
temporary file has no name at all while it is written (`O_TMPFILE`): a process killed even
by SIGKILL leaves nothing behind. When it is complete it is linked in under a temporary name
(`linkat` through `/proc/self/fd`) and that name renamed over the target, so only the instant
between the two leaves a name a kill could strand. Where the file system or the system has no
unnamed files, it is written under its temporary name from the start
(`.NAME.XXXXXXXX.part.EXT`). Either way its writer holds a lock on it, released by the
system even when the writer is killed; so a temporary file that nobody holds was left by a
process that died, and the next write into that folder removes it.

Only regular files are created or replaced: a folder, device, FIFO or socket as the target is
refused, and a symlink is written through (the file it points to is replaced; the link
stays). Missing folders on the way to a target are made only when its file is written, and
removed again if the write fails: a request that fails leaves no folders behind. A full disk
is one line (`DiskFull`), not a traceback.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from letgo.errors import LetgoError, OutputError, UsageError
from letgo.file.reading import KINDS

#: The name of a temporary file, and of the file it is made as before it is locked (`_create`).
TEMPORARY = re.compile(r"^\..*\.[0-9a-f]{8}\.(part(\.[A-Za-z0-9]+)?|new)$")
#: Seconds within which an unlocked `.new` file may be one just made, not yet locked.
JUST_MADE = 2.0
#: Where files cannot be locked (Windows), a temporary file this old is taken as abandoned.
STALE_AGE = 3600.0
#: Write through unnamed files (O_TMPFILE) where the system and file system have them; False
#: writes under a temporary name from the start, the way elsewhere. LETGO_TEMPORARIES=named
#: in the environment chooses that way (tests cover both, worker processes included).
UNNAMED = (
    sys.platform.startswith("linux")
    and hasattr(os, "O_TMPFILE")
    and os.environ.get("LETGO_TEMPORARIES") != "named"
)
#: Where a process's open files are named, so an unnamed one can be opened and linked.
_OWN_FDS = Path("/proc/self/fd")


class DiskFull(LetgoError):
    """The disk (or the user's quota) ran out while a file was written; nothing was left."""


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
    except (FileNotFoundError, NotADirectoryError):
        mode = None  # not there yet (its folder may not be either)
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
    _can_hold(real.parent)
    return real


def _can_hold(folder: Path) -> None:
    """Check that files can be created in `folder`, or that it can be made: the nearest
    folder of it that exists takes new files. Nothing is made here."""
    existing = folder
    while not os.path.lexists(existing) and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot create folder {folder}: {existing} is not a folder")
    try:
        _probe(existing)
    except OutputError as exc:
        if existing == folder:
            raise
        why = str(exc).partition(": ")[2]
        raise OutputError(f"cannot create folder {folder}: in {existing}, {why}") from None


def ready(folder: Path) -> None:
    """Make `folder` if needed and check that files can be created in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder {folder}: {_reason(folder, exc)}") from None
    _probe(folder)


def _probe(folder: Path) -> None:
    """Create a file in `folder` and remove it: os.access cannot tell (root in /proc, a
    read-only mount); an unnamed file leaves no trace even if this process is killed."""
    try:
        fd, probe = _create(folder / "letgo-probe")
    except OSError as exc:
        raise OutputError(f"cannot write to {folder}: {_reason(folder, exc)}") from None
    try:
        os.close(fd)
    finally:
        if not _is_unnamed(probe):
            probe.unlink(missing_ok=True)


def _reason(folder: Path, exc: OSError) -> str:
    """Why `folder` takes no files, in words a user can act on."""
    if exc.errno == errno.EROFS:
        return "it is on a read-only file system"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "the folder is read-only (no permission to create files in it)"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _full(folder)
    return f"the folder does not take new files ({exc.strerror or exc})"


def _full(folder: Path) -> str:
    """Why a write ran out of room, with the room there is."""
    try:
        free = f" ({shutil.disk_usage(folder).free / 1e6:.1f} MB free)"
    except OSError:
        free = ""
    return f"the disk is full{free}; make room and run it again"


@contextmanager
def writing(path: Path | str) -> Iterator[Path]:
    """A temporary path beside `path`, put in its place only when the block exits cleanly.

    Whatever writes the temporary path (this process or one it starts) must write that very
    file, not replace it: the lock that marks it as being written is on it. The path may name
    an unnamed file (`/proc/self/fd/N`): open it in this process (or pass its descriptor on),
    and do not take its name or folder for the target's."""
    final = target(path)
    with _temporary(final, str(path)) as temporary:
        yield temporary
        _place(temporary, final, str(path))


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
        try:
            _put(temporary, data)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFull(f"cannot write {path}: {_full(final.parent)}") from None
            raise
        _place(temporary, final, str(path), exclusive)
    return True


def _put(temporary: Path, data: bytes) -> None:
    """Write `data` into the temporary file (a test makes this fail as a full disk would)."""
    with open(temporary, "wb") as handle:
        handle.write(data)


def _is_unnamed(temporary: Path) -> bool:
    return temporary.parent == _OWN_FDS


def _link_in(unnamed: Path, name: Path) -> None:
    """Give the unnamed file `unnamed` (/proc/self/fd/N) the name `name`: linkat with
    AT_SYMLINK_FOLLOW (os.link only calls linkat, not link, when given a folder's descriptor;
    link would try to link /proc's own symlink)."""
    folder = os.open(name.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.link(unnamed, name.name, dst_dir_fd=folder, follow_symlinks=True)
    finally:
        os.close(folder)


def folder_of(temporary: Path | str) -> Path:
    """The folder a temporary file (from `writing`) lies in, for scratch files beside it on
    the same file system; an unnamed file's is read from its link in /proc."""
    temporary = Path(temporary)
    if not _is_unnamed(temporary):
        return temporary.parent
    return Path(os.readlink(temporary)).parent  # '/the/folder/#12345 (deleted)'


def _place(temporary: Path, final: Path, asked: str, exclusive: bool = False) -> None:
    """Put the complete temporary file in `final`'s place. `exclusive`: never replace a
    file (FileExistsError if one is there, even one that appeared meanwhile)."""
    if not _is_unnamed(temporary):
        if exclusive:
            os.link(temporary, final)  # fails, rather than replaces, if it appeared meanwhile
        else:
            os.replace(temporary, final)
        return
    if exclusive:  # linkat fails, rather than replaces, if it appeared meanwhile
        _link_in(temporary, final)
        return
    for _ in range(100):  # linkat cannot replace: a temporary name first, then rename over
        named = final.with_name(f".{final.stem}.{secrets.token_hex(4)}.part{final.suffix}")
        try:
            _link_in(temporary, named)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(errno.EEXIST, "no free temporary name", str(final.parent))
    try:
        os.replace(named, final)
    except BaseException:
        named.unlink(missing_ok=True)
        raise


@contextmanager
def _temporary(final: Path, asked: str) -> Iterator[Path]:
    """A locked temporary file beside `final`, removed at the end unless put in place; stale
    ones in the folder are removed first. Missing folders are made, and removed again if the
    block fails."""
    made = _make_folders(final.parent)
    created = None
    placed = False
    try:  # one block from creation on: a signal's exception anywhere still cleans up
        remove_stale(final.parent)
        try:
            created = _create(final)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFull(f"cannot write {asked}: {_full(final.parent)}") from None
            raise OutputError(f"cannot write {asked}: {_reason(final.parent, exc)}") from None
        yield created[1]
        placed = True
    finally:
        if created is not None:
            fd, temporary = created
            if not _is_unnamed(temporary):
                temporary.unlink(missing_ok=True)  # gone already if it was renamed into place
            os.close(fd)  # an unnamed file not linked in is gone with it
        if not placed:
            for folder in reversed(made):
                try:
                    folder.rmdir()
                except OSError:
                    break  # something else is in it now: it stays


def _make_folders(folder: Path) -> list[Path]:
    """Make `folder` and any missing folders above it; the ones made, outermost first."""
    missing = []
    above = folder
    while not os.path.lexists(above) and above.parent != above:
        missing.append(above)
        above = above.parent
    made = []
    try:
        for each in reversed(missing):
            each.mkdir()
            made.append(each)
    except FileExistsError:
        pass  # made meanwhile by another writer: theirs
    except OSError as exc:
        for each in reversed(made):
            each.rmdir()
        raise OutputError(f"cannot create folder {folder}: {_reason(folder, exc)}") from None
    return made


def _create(final: Path) -> tuple[int, Path]:
    """A new, empty, locked temporary file for `final`, with the mode any new file gets (0666
    less the umask; mkstemp's 0600 would stay on the result): an unnamed one where it can be
    had (its path `/proc/self/fd/N`), else `.STEM.XXXXXXXX.part.SUFFIX` beside `final`."""
    if UNNAMED:
        unnamed = _create_unnamed(final.parent)
        if unnamed is not None:
            return unnamed
    return _create_named(final)


def _create_unnamed(folder: Path) -> tuple[int, Path] | None:
    """An unnamed file on `folder`'s file system, None where there are none (the file system
    does not support O_TMPFILE, or /proc is not mounted)."""
    try:
        fd = os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o666)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOTSUP):
            return None  # unnamed files not supported there: the named way
        raise
    path = _OWN_FDS / str(fd)
    try:
        _lock(fd)  # held while it is linked in under a temporary name, too
        if not path.exists():
            os.close(fd)
            return None
    except BaseException:
        os.close(fd)
        raise
    return fd, path


def _create_named(final: Path) -> tuple[int, Path]:
    """A new temporary file `.STEM.XXXXXXXX.part.SUFFIX` beside `final`, locked.

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
