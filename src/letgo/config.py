"""The user's defaults for voice, pacing and the cache size, from `config.toml` in the user
config folder.

Flags win over the file, the file over the built-in defaults. The file is optional::

    [voice]
    engine = "piper"        # pyttsx3 or piper
    voice = "joe"
    rate = 130              # pyttsx3
    pitch = 50              # pyttsx3 (eSpeak)
    length_scale = 1.6      # piper
    noise_scale = 0.667     # piper
    noise_w_scale = 0.8     # piper

    [pacing]
    sentence_gap = 0.7      # seconds after a sentence
    paragraph_gap = 1.8     # seconds after a paragraph

    [cache]
    max_mb = 1000           # the synthesis cache's size; the least recently used go first
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import platformdirs

from .errors import UsageError

NUMBER = (int, float)
#: Every key the file may hold, by table: the type its value must have and, for numbers, the
#: range allowed (the same as the command-line options').
KEYS: dict[str, dict[str, tuple]] = {
    "voice": {"engine": (str,), "voice": (str,), "rate": (int, 60, 400), "pitch": (int, 0, 100),
              "length_scale": (NUMBER, 0.3, 3.0), "noise_scale": (NUMBER, 0.0, 2.0),
              "noise_w_scale": (NUMBER, 0.0, 2.0)},
    "pacing": {"sentence_gap": (NUMBER, 0.0, 30.0), "paragraph_gap": (NUMBER, 0.0, 60.0)},
    "cache": {"max_mb": (NUMBER, 10, 1_000_000)},
}


def config_dir() -> Path:
    """$LETGO_CONFIG_DIR if set, else the user config folder (e.g. ~/.config/letgo)."""
    override = os.environ.get("LETGO_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path("letgo")


def config_file() -> Path:
    return config_dir() / "config.toml"


def read_toml(path: Path) -> dict:
    """A TOML file as a dict; a UsageError naming the file (and line) when it is not valid."""
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None


def load_defaults(path: Path | None = None) -> dict[str, object]:
    """The file's settings as one flat dict (e.g. {'engine': 'piper', 'sentence_gap': 1.0})."""
    path = path or config_file()
    if not path.is_file():
        return {}
    data = read_toml(path)
    flat: dict[str, object] = {}
    for table, values in data.items():
        known = KEYS.get(table)
        if known is None or not isinstance(values, dict):
            raise UsageError(f"{path}: unknown table [{table}]; known: "
                             f"{', '.join(f'[{t}]' for t in KEYS)}")
        for key, value in values.items():
            if key not in known:
                raise UsageError(f"{path}: unknown setting '{key}' in [{table}]; known: "
                                 f"{', '.join(known)}")
            kind, *limits = known[key]
            if isinstance(value, bool) or not isinstance(value, kind):
                raise UsageError(f"{path}: [{table}] {key} = {value!r} has the wrong type")
            if limits and not limits[0] <= value <= limits[1]:
                raise UsageError(f"{path}: [{table}] {key} = {value!r} is out of range "
                                 f"({limits[0]:g} to {limits[1]:g})")
            flat[key] = value
    return flat
