"""The user's defaults, from `config.toml` in the user config folder (optional).

It holds any session setting (see request.SETTINGS) under its table, and the cache's size::

    [voice]
    engine = "piper"        # pyttsx3 or piper
    length_scale = 1.5
    [pacing]
    sentence_gap = 1.0
    [sound]
    background = "rain"
    [file]
    format = "ogg"
    [cache]
    max_mb = 1000           # the synthesis cache's size; the least recently used go first

It is the lowest layer above the built-in defaults: a series plan, a listener row and the
flags win over it. Relative file paths in it are taken from the config folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from letgo.errors import UsageError
from letgo.file import reading
from letgo.settings.request import BY_NAME, TABLES, Layer

#: The file's tables beyond the session settings' own (request.TABLES).
CACHE_TABLE = {"max_mb": (10, 1_000_000)}


def config_dir() -> Path:
    """$LETGO_CONFIG_DIR if set, else the user config folder (e.g. ~/.config/letgo)."""
    override = os.environ.get("LETGO_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path("letgo")


def config_file() -> Path:
    return config_dir() / "config.toml"


def _read(path: Path | None) -> tuple[Path, dict]:
    path = path or config_file()
    return path, (reading.read_toml(path) if path.is_file() else {})


def settings_layer(path: Path | None = None) -> Layer:
    """The file's session settings, checked; errors name the file, table and key."""
    path, data = _read(path)
    given: dict[str, object] = {}
    for table, values in data.items():
        known = TABLES.get(table) or (tuple(CACHE_TABLE) if table == "cache" else None)
        if known is None or not isinstance(values, dict):
            raise UsageError(
                f"{path}: unknown table [{table}]; known: "
                f"{', '.join(f'[{t}]' for t in (*TABLES, 'cache'))}"
            )
        for key, value in values.items():
            if key not in known:
                home = BY_NAME[key].table if key in BY_NAME else None
                hint = f"it belongs in [{home}]" if home else f"known: {', '.join(known)}"
                raise UsageError(f"{path}: unknown setting '{key}' in [{table}]; {hint}")
            if table != "cache":
                given[key] = value
    return Layer.read(
        given,
        lambda name, value: f"{path}: [{BY_NAME[name].table}] {name} = {value!r}",
        base=path.parent,
    )


def cache_max_mb(path: Path | None = None) -> float | None:
    """[cache] max_mb, checked; None when the file does not set it."""
    path, data = _read(path)
    table = data.get("cache", {})
    value = table.get("max_mb") if isinstance(table, dict) else None
    if value is None:
        return None
    low, high = CACHE_TABLE["max_mb"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"{path}: [cache] max_mb = {value!r}: must be a number")
    if not low <= value <= high:
        raise UsageError(f"{path}: [cache] max_mb = {value!r}: must be from {low} to {high}")
    return value
