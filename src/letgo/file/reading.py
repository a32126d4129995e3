"""Reading a file a user names (template, plan, listeners, config, pronunciations): only a
regular file, so a FIFO or a device named by mistake gives an error instead of a run that
waits for ever on it."""

from __future__ import annotations

import errno
import os
import stat
import tomllib
from collections.abc import Callable
from pathlib import Path

from letgo.errors import UsageError

KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
}
"""What a path that is not a regular file is, in words."""


class NotRegularFile(OSError):
    """Raised for a path that is not a regular file; its text says what it is instead."""

    def __str__(self) -> str:
        return self.strerror or "not a regular file"


def read_bytes(path: Path | str) -> bytes:
    """The file's bytes; OSError as `open` raises it, NotRegularFile for anything but a
    regular file (opened without waiting, then refused)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = KINDS.get(stat.S_IFMT(mode), "a special file")
            raise NotRegularFile(
                errno.EINVAL, f"it is {kind}, not a regular file; give the file itself"
            )
        return handle.read()


def read_text(path: Path | str, encoding: str = "utf-8") -> str:
    """The file as text, without the byte order mark some editors write at the start of UTF-8
    (U+FEFF would hide a template's header, break a plan's TOML and be spoken); a
    UnicodeDecodeError for text in another encoding."""
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    return read_bytes(path).decode(encoding)


def parse_toml(text: str, invalid: Callable[[tomllib.TOMLDecodeError], Exception]) -> dict:
    """TOML text as a dict; for text that is not valid TOML, the error `invalid` makes of
    the parser's (which names the line and column)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise invalid(exc) from None


def read_toml(path: Path | str, error: type[UsageError] = UsageError) -> dict:
    """A TOML file a user names (config, plan, pronunciations) as a dict: the one reader of
    them. An `error` (UsageError or a kind of it) naming the file, and the line, when it is
    missing, unreadable, not UTF-8 or not valid TOML."""
    try:
        text = read_text(path)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; save it as UTF-8") from None
    return parse_toml(text, lambda exc: error(f"{path}: not valid TOML: {exc}"))
