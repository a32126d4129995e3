"""Making sure pyttsx3 finds an eSpeak NG library on Linux.

pyttsx3 loads ``libespeak-ng.so.1`` by name. Where the system has none, the `espeakng-loader`
package ships the library and its data: load it first (so the name resolves to it) and point
ESPEAK_DATA_PATH at its data. Call this only inside the speech worker process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys


def system_library() -> str | None:
    for name in ("espeak-ng", "espeak"):
        found = ctypes.util.find_library(name)
        if found:
            return found
    return None


def prepare() -> str:
    """Make eSpeak NG loadable; returns a line saying which library is in use."""
    if not sys.platform.startswith("linux"):
        return "platform speech (not eSpeak)"
    found = system_library()
    if found:
        return f"system eSpeak NG ({found})"
    try:
        import espeakng_loader
    except ImportError:
        return "none: install the system package espeak-ng, or pip install espeakng-loader"
    library = str(espeakng_loader.get_library_path())
    os.environ["ESPEAK_DATA_PATH"] = str(espeakng_loader.get_data_path())
    ctypes.CDLL(library, mode=ctypes.RTLD_GLOBAL)
    return f"eSpeak NG from espeakng-loader ({library})"
