"""What the shell can complete beyond commands and options: template names, series plan names,
background names and voice ids. Each function takes what has been typed so far and returns
the names that start with it; the CLI hands them to Click's shell completion.

They must never fail: a completion that raises would print a traceback into the user's
prompt, so any error gives no suggestions instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)


def _safely(names: Callable[[], Iterable[str]], typed: str) -> list[str]:
    try:
        return sorted(n for n in set(names()) if n.startswith(typed))
    except Exception:  # noqa: BLE001 (see the module's docstring)
        log.debug("completion failed", exc_info=True)
        return []


def templates(typed: str, template_dirs: Iterable[str] = ()) -> list[str]:
    """Names of the templates `letgo list` shows."""
    from letgo.words import templates as library

    return _safely(
        lambda: (t.name for t in library.TemplateLibrary(tuple(template_dirs)).all()), typed
    )


def plans(typed: str, template_dirs: Iterable[str] = ()) -> list[str]:
    """Names of the series plans `letgo list` shows."""
    from letgo.series.plan import plan_files

    return _safely(lambda: (s.name for s in plan_files(tuple(template_dirs))), typed)


def backgrounds(typed: str) -> list[str]:
    """The built-in backgrounds (a file's path is completed by the shell)."""
    from letgo.sound.backgrounds import BUILT_IN

    return _safely(lambda: BUILT_IN, typed)


def voices(typed: str, engine: str | None = None) -> list[str]:
    """Installed voice ids of `engine`, or of every listed engine when none is chosen."""
    from letgo.voice.engines import LISTED, list_voices

    def names():
        for name in (engine,) if engine else LISTED:
            yield from (v.id for v in list_voices(name) if v.installed)

    return _safely(names, typed)
