"""Finding templates: the built-in ones, the user's folders, and a template by name or path.

A user template with a built-in's name wins; folders are searched in the order `user_dirs`
gives (--templates, $LETGO_TEMPLATES, the user's own folder), the built-in ones last.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

from letgo.errors import LetgoError, TemplateNotFound
from letgo.words.header import SUFFIX, TemplateInfo, read_info

ENV_VAR = "LETGO_TEMPLATES"


def builtin_dir() -> Path:
    """The shipped templates: inside the installed package, or the checkout's top level."""
    packaged = Path(str(resources.files("letgo"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "templates"


def user_dirs(extra: Iterable[Path | str] = ()) -> list[tuple[Path, str]]:
    """User template folders, most important first: --templates, $LETGO_TEMPLATES, config."""
    found: list[tuple[Path, str]] = [(Path(p).expanduser(), "--templates") for p in extra]
    for part in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if part:
            found.append((Path(part).expanduser(), f"${ENV_VAR}"))
    found.append((user_template_dir(), "user"))
    return found


def user_template_dir() -> Path:
    """The user's own template folder in their config folder (where `letgo new` writes)."""
    import platformdirs

    return platformdirs.user_config_path("letgo") / "templates"


class TemplateLibrary:
    """Built-in and user templates; a user template with a built-in's name wins."""

    def __init__(self, extra_dirs: Sequence[Path | str] = ()):
        self.dirs = user_dirs(extra_dirs) + [(builtin_dir(), "built-in")]

    def all(self) -> list[TemplateInfo]:
        """Every visible template, by name; shadowed ones are left out."""
        seen: dict[str, TemplateInfo] = {}
        for folder, origin in self.dirs:
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob(f"*{SUFFIX}")):
                name = path.name[: -len(SUFFIX)]
                if name not in seen:
                    try:
                        seen[name] = read_info(path, origin)
                    except LetgoError as exc:  # one broken file must not hide the others
                        seen[name] = TemplateInfo(
                            name, path, origin, title=name, description=f"cannot be read: {exc}"
                        )
        return sorted(seen.values(), key=lambda info: info.name)

    def locate(self, name: str) -> tuple[Path, str] | None:
        """Where the template called `name` is (its file and the folder's origin), or None."""
        if "/" in name:
            return None
        for folder, origin in self.dirs:
            candidate = folder / f"{name}{SUFFIX}"
            if candidate.is_file():
                return candidate, origin
        return None

    def find(self, name_or_path: str, paths: bool = True) -> TemplateInfo:
        """A template by built-in/user name, or (unless `paths` is False) a path to a
        template file."""
        located = self.locate(name_or_path)
        if located is not None:
            return read_info(*located)
        path = Path(name_or_path).expanduser()
        if paths and path.is_file():
            return read_info(path, "file")
        if paths and path.exists() and not path.is_dir():  # a FIFO or a device: never read
            return read_info(path, "file")
        names = [info.name for info in self.all()]
        close = _closest(name_or_path, names)
        hint = f"did you mean {', '.join(close)}?" if close else "run 'letgo list' to see them"
        what = "template or file" if paths else "template"
        raise TemplateNotFound(f"no {what} named '{name_or_path}'; {hint}")


def _closest(typed: str, names: list[str]) -> list[str]:
    """The names a typo most likely meant: up to three, none much further off than the best.

    A name that holds what was typed ("morning" in "morning-check-in") counts as close.
    """

    def score(name: str) -> float:
        ratio = difflib.SequenceMatcher(None, typed, name).ratio()
        return max(ratio, 0.9) if len(typed) >= 3 and typed in name else ratio

    scored = sorted(((score(name), name) for name in names), reverse=True)
    best = scored[0][0] if scored else 0.0
    return [name for score, name in scored[:3] if score >= max(0.5, best - 0.1)]
