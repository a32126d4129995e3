"""Making sure pyttsx3 finds an eSpeak NG library on Linux.

pyttsx3 loads ``libespeak-ng.so.1`` by name. Where the system has none, the `espeakng-loader`
package ships the library and its data: load it first (so the name resolves to it) and point
ESPEAK_DATA_PATH at its data. Call `prepare` only inside the speech worker process; `library`
loads nothing, so the engine's identity can be learnt without a worker.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from pathlib import Path


def system_library() -> str | None:
    for name in ("espeak-ng", "espeak"):
        found = ctypes.util.find_library(name)
        if found:
            return found
    return None


def library() -> tuple[str, Path | None]:
    """Which eSpeak NG pyttsx3 will load here, as a line, and its file when that is known
    (the loader's; a system library is found by name). Loads nothing."""
    if not sys.platform.startswith("linux"):
        return "platform speech (not eSpeak)", None
    found = system_library()
    if found:
        return f"system eSpeak NG ({found})", None
    try:
        import espeakng_loader
    except ImportError:
        return "none: install the system package espeak-ng, or pip install espeakng-loader", None
    path = Path(espeakng_loader.get_library_path())
    return f"eSpeak NG from espeakng-loader ({path})", path


def prepare() -> str:
    """Make eSpeak NG loadable; returns a line saying which library is in use."""
    line, path = library()
    if path is not None:
        import espeakng_loader

        os.environ["ESPEAK_DATA_PATH"] = str(espeakng_loader.get_data_path())
        ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
    return line
