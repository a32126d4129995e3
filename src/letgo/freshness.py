"""Whether a file is up to date: hashes of everything that decides a session's bytes.

`render`'s up-to-date check and the series manifest both compare `freshness_key`; a series
also keeps `sources_hash` and `words_hash`, so an unchanged session need not even be composed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from letgo import __version__
from letgo.file import tags
from letgo.settings.request import Request
from letgo.voice.engines import fingerprint
from letgo.words import speakable, templates

if TYPE_CHECKING:
    from letgo.session import Composed


def _digest(described: dict) -> str:
    blob = json.dumps(described, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def words_hash(composed: Composed) -> str:
    """A hash of what `compose` made: the template's header, the values, the length, the script's
    markup and each line as the engine is given it (so a pronunciation rule shows)."""
    info = composed.info
    return _digest(
        {
            "template": [
                info.name,
                info.title,
                info.description,
                info.sleep,
                info.minutes,
                info.max_minutes,
                str(info.path),
            ],
            "minutes": composed.minutes,
            "variables": composed.variables,
            "script": composed.text,
            "spoken": composed.spoken,
        }
    )


def sources_hash(request: Request) -> str:
    """A hash of everything `compose` reads: letgo's and Jinja's versions, the template file, the
    values and length asked for, and the pronunciation files. Equal sources make equal `words_hash`,
    so a series that has them on record need not write an unchanged session again."""
    import jinja2

    info = templates.TemplateLibrary(request.template_dirs).find(request.template)
    files = [info.path, *speakable.rule_files(request.pronunciations)]
    return _digest(
        {
            "letgo": __version__,
            "jinja": jinja2.__version__,
            "variables": dict(request.variables),
            "minutes": request.minutes,
            "files": [[str(p), hashlib.sha256(p.read_bytes()).hexdigest()] for p in files],
        }
    )


def freshness_key(
    request: Request, said: str, tag: tags.TagInfo | None = None, cover: str = ""
) -> str:
    """A hash of everything that decides a session's file: its `words_hash` (`said`), letgo's
    version, every setting, the engine's release and voice files, the tags and a background
    file's size and time. `render`'s up-to-date check and the series manifest both use it.
    `cover` names cover art whose bytes are made later (a series')."""
    background = Path(request.mix.background).expanduser()
    stat = background.stat() if background.is_file() else None
    return _digest(
        {
            "letgo": __version__,
            "words": said,
            "engine": fingerprint(request.engine, request.voice),
            "settings": {
                name: asdict(getattr(request, name)) for name in ("voice", "plan", "mix", "export")
            },
            "background_file": [stat.st_size, stat.st_mtime_ns] if stat else None,
            "verify": request.verify,  # a file made without it may hold an unverified clip
            "tag": {k: v for k, v in asdict(tag).items() if k != "cover"} if tag else None,
            "cover": cover or (hashlib.sha256(tag.cover).hexdigest() if tag else ""),
        }
    )
