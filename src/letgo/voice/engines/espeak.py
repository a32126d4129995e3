"""Making sure pyttsx3 finds an eSpeak NG library on Linux.

pyttsx3 loads ``libespeak-ng.so.1`` by name. Where the system has none, the `espeakng-loader`
package ships the library and its data: load it first (so the name resolves to it) and point
ESPEAK_DATA_PATH at its data. Call `prepare` only inside the speech worker process; `library`
loads nothing, so the engine's identity can be learnt without a worker.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from pathlib import Path

#: The names pyttsx3 asks the dynamic loader for on Linux, in its order.
NAMES = ("libespeak-ng.so.1", "libespeak.so.1")
#: Where the loader looks after LD_LIBRARY_PATH and its cache.
DEFAULT_FOLDERS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib")


def system_library() -> Path | None:
    """The system's eSpeak library, as the dynamic loader would find it for pyttsx3:
    LD_LIBRARY_PATH, then the loader's cache (/etc/ld.so.cache), then the default folders.
    Read, not run: ctypes.util.find_library runs ldconfig, and with no library there, gcc
    and ld too (a third of a second on a busy machine, before every render)."""
    folders = [f for f in os.environ.get("LD_LIBRARY_PATH", "").split(":") if f]
    try:
        cache = Path("/etc/ld.so.cache").read_bytes()
    except OSError:
        cache = b""
    for name in NAMES:
        listed = [
            m.decode("utf-8", "replace")
            for m in re.findall(rb"(/[^\0]*/" + re.escape(name.encode()) + rb")\0", cache)
        ]
        for path in (
            [Path(f) / name for f in folders]
            + [Path(p) for p in listed]
            + [Path(f) / name for f in DEFAULT_FOLDERS]
        ):
            if path.is_file():
                return path
    return None


def library() -> tuple[str, Path | None]:
    """Which eSpeak NG pyttsx3 will load here, as a line, and its file. Loads nothing."""
    if not sys.platform.startswith("linux"):
        return "platform speech (not eSpeak)", None
    found = system_library()
    if found:
        return f"system eSpeak NG ({found})", found
    try:
        import espeakng_loader
    except ImportError:
        return "none: install the system package espeak-ng, or pip install espeakng-loader", None
    path = Path(espeakng_loader.get_library_path())
    return f"eSpeak NG from espeakng-loader ({path})", path


def prepare() -> str:
    """Make eSpeak NG loadable; returns a line saying which library is in use."""
    line, path = library()
    if path is not None and system_library() is None:  # the loader's: load it by its path
        import espeakng_loader

        os.environ["ESPEAK_DATA_PATH"] = str(espeakng_loader.get_data_path())
        ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
    return line
