"""The user's defaults for voice and pacing, from `config.toml` in the user config folder.

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
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import platformdirs

from .errors import UsageError

#: Every key the file may hold, by table, with the type its value must have.
KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "voice": {"engine": str, "voice": str, "rate": int, "pitch": int,
              "length_scale": (int, float), "noise_scale": (int, float),
              "noise_w_scale": (int, float)},
    "pacing": {"sentence_gap": (int, float), "paragraph_gap": (int, float)},
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
            if isinstance(value, bool) or not isinstance(value, known[key]):
                raise UsageError(f"{path}: [{table}] {key} = {value!r} has the wrong type")
            flat[key] = value
    return flat
