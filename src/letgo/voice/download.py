"""More Piper voices, one command away: the catalogue of voices and their download.

Piper's voices are published with a catalogue, `voices.json`, that gives each voice's language,
quality, speakers and files (model, config, model card), with each file's size and MD5. The
files live at the address piper-tts's own downloader (`piper.download_voices.URL_FORMAT`) uses:

    {source}/{family}/{language}/{name}/{quality}/{language}-{name}-{quality}{.onnx|.onnx.json}

which is the catalogue's own path for each file under `source`. letgo uses the same source and
layout, but does the download itself: every file is checked against the catalogue's size and
MD5 and written through `letgo.file.atomic`, and a voice is put in place only when all of its
files are whole (the model last, so a voice is never half there). Nothing is fetched at render
time, ever: only `letgo voices --available` (the catalogue, kept in the user cache folder) and
`letgo voices download NAME` reach the network. $LETGO_VOICES_URL points both elsewhere (a
mirror, or the tests' local server).
"""

from __future__ import annotations

import difflib
import hashlib
import http.client
import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from letgo.errors import LetgoError, UsageError
from letgo.file import atomic

log = logging.getLogger(__name__)

#: Where Piper's voices are published (piper-tts's download_voices reads the same place).
SOURCE = "https://huggingface.co/rhasspy/piper-voices/resolve/main"
#: The environment variable that points letgo at another source.
SOURCE_VARIABLE = "LETGO_VOICES_URL"
CATALOGUE = "voices.json"
#: Seconds to wait for the source to answer (and between two reads of a file).
TIMEOUT = 30.0
#: Bytes read at a time.
BLOCK = 1 << 16
#: The catalogue is not trusted beyond this size (the real one is about 100 kB).
CATALOGUE_MOST = 20 * 1024 * 1024

DownloadProgress = Callable[[str, int, int], None]
"""Called with ("download", bytes done, bytes in all) as a voice arrives."""


class DownloadError(LetgoError):
    """A voice or the catalogue could not be fetched, or arrived damaged (nothing is kept)."""


class UnknownVoice(UsageError):
    """No voice of that name in the catalogue."""


@dataclass(frozen=True)
class Licence:
    """What the well-known English voices' model cards say of their licences."""

    text: str
    gender: str = ""


#: The well-known English voices: licence as their model cards give it, and the speaker's
#: gender. Others show their model card's licence once downloaded.
KNOWN: dict[str, Licence] = {
    "lessac": Licence("research only (Blizzard 2013 dataset; no commercial synthesis)", "female"),
    "amy": Licence("fine-tuned from lessac: research only", "female"),
    "libritts_r": Licence("fine-tuned from lessac: research only", ""),
    "joe": Licence("CC0 recordings, fine-tuned from lessac: research only", "male"),
    "ryan": Licence("CC BY-NC-SA 4.0 (no commercial use)", "male"),
    "alba": Licence("CC BY 4.0 (credit the speaker)", "female"),
    "jenny_dioco": Licence("attribution (credit Jenny Dioco)", "female"),
    "northern_english_male": Licence("CC BY-SA 4.0", "male"),
    "cori": Licence("public domain", "female"),
}


@dataclass(frozen=True)
class RemoteFile:
    path: str
    """Its path under the source, as the catalogue gives it."""
    size: int
    md5: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Offered:
    """A voice the catalogue offers."""

    key: str
    """Its name for download and for --voice, e.g. en_GB-alba-medium."""
    speaker: str
    language: str
    quality: str
    speakers: int
    files: tuple[RemoteFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def licence(self) -> str:
        known = KNOWN.get(self.speaker)
        return known.text if known else "see its model card"

    @property
    def gender(self) -> str:
        known = KNOWN.get(self.speaker)
        return known.gender if known and known.gender else ""

    def file(self, suffix: str) -> RemoteFile | None:
        return next((f for f in self.files if f.name.endswith(suffix)), None)


@dataclass(frozen=True)
class Catalogue:
    voices: dict[str, Offered]
    source: str
    fetched: float
    """When it was fetched (seconds since the epoch)."""

    def age(self, now: float | None = None) -> str:
        """'3 days', '5 hours', 'a minute'..."""
        seconds = max(0.0, (now or time.time()) - self.fetched)
        for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
            if seconds >= length:
                count = int(seconds // length)
                return f"{count} {unit}{'s' if count > 1 else ''}"
        return "less than a minute"

    def find(self, name: str) -> Offered:
        """The voice called `name` (its key, or a speaker's name the catalogue has once);
        UnknownVoice naming the closest keys otherwise."""
        if name in self.voices:
            return self.voices[name]
        by_speaker = [v for v in self.voices.values() if v.speaker == name]
        if len(by_speaker) == 1:
            return by_speaker[0]
        close = difflib.get_close_matches(name, list(self.voices), n=3, cutoff=0.5)
        if by_speaker:
            close = [v.key for v in by_speaker]
            hint = f"which one? {', '.join(close)}"
        elif close:
            hint = f"did you mean {', '.join(close)}?"
        else:
            hint = "'letgo voices --available' lists them"
        raise UnknownVoice(f"no Piper voice '{name}' in the catalogue: {hint}")


def source() -> str:
    return (os.environ.get(SOURCE_VARIABLE) or SOURCE).rstrip("/")


def url(path: str, base: str | None = None) -> str:
    return f"{base or source()}/{path}?download=true"


def catalogue_path() -> Path:
    return platformdirs.user_cache_path("letgo") / CATALOGUE


def parse(data: bytes, where: str) -> dict[str, Offered]:
    """The voices in a catalogue's bytes; DownloadError if it is not one."""
    try:
        raw = json.loads(data)
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        voices = {}
        for key, entry in raw.items():
            files = tuple(
                RemoteFile(str(path), int(info["size_bytes"]), str(info["md5_digest"]).lower())
                for path, info in entry["files"].items()
            )
            if any(not _safe(f.path) for f in files):
                raise ValueError(f"{key}: a file path leads outside the source")
            language = entry.get("language", {})
            voices[str(key)] = Offered(
                str(key),
                str(entry.get("name", "")),
                str(language.get("code", "")) if isinstance(language, dict) else "",
                str(entry.get("quality", "")),
                int(entry.get("num_speakers", 1)),
                files,
            )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DownloadError(f"{where} is not a Piper voice catalogue ({exc})") from None
    return voices


def _safe(path: str) -> bool:
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and ".." not in parts and "" not in parts


def cached() -> Catalogue | None:
    """The catalogue fetched last time, if any (and readable)."""
    path = catalogue_path()
    try:
        data = path.read_bytes()
        fetched = path.stat().st_mtime
    except OSError:
        return None
    try:
        wrapper = json.loads(data)
        voices = parse(json.dumps(wrapper["voices"]).encode(), str(path))
        return Catalogue(voices, str(wrapper["source"]), fetched)
    except (ValueError, KeyError, TypeError, DownloadError):
        log.info("the cached catalogue %s is damaged; it will be fetched again", path)
        return None


def fetch_catalogue() -> Catalogue:
    """The catalogue from the source, kept in the cache folder for next time."""
    base = source()
    data = _get(url(CATALOGUE, base), CATALOGUE_MOST)
    voices = parse(data, url(CATALOGUE, base))
    wrapper = {"source": base, "voices": json.loads(data)}
    path = catalogue_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write(path, json.dumps(wrapper).encode("utf-8"))
    return Catalogue(voices, base, time.time())


def catalogue(refresh: bool = False) -> Catalogue:
    """The cached catalogue (if it came from today's source), else a fresh one."""
    found = None if refresh else cached()
    if found is not None and found.source == source():
        return found
    return fetch_catalogue()


def _get(address: str, most: int) -> bytes:
    with _open(address) as response:
        data = response.read(most + 1)
    if len(data) > most:
        raise DownloadError(f"{address} is larger than {most // (1024 * 1024)} MB; not read")
    return data


def _open(address: str):
    try:
        return urllib.request.urlopen(address, timeout=TIMEOUT)  # noqa: S310 - http(s) only
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{address}: the server says {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"cannot reach {address.split('?')[0]} ({_words(reason)}); are you offline? "
            f"letgo fetches voices only when asked, so everything else works without a network"
        ) from None


def _words(reason) -> str:
    text = str(getattr(reason, "strerror", None) or reason)
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text).strip() or type(reason).__name__


def installed(key: str, folder: Path) -> bool:
    return (folder / f"{key}.onnx").is_file() and (folder / f"{key}.onnx.json").is_file()


def local_names(offered: Offered) -> dict[str, str]:
    """Catalogue file name -> the name it is kept under in the voices folder."""
    names = {}
    for f in offered.files:
        if f.name.endswith(".onnx") or f.name.endswith(".onnx.json"):
            names[f.name] = f"{offered.key}{f.name[f.name.index('.onnx') :]}"
        elif f.name == "MODEL_CARD":
            names[f.name] = f"{offered.key}.MODEL_CARD"
    return names


def download(
    name: str,
    folder: Path,
    progress: DownloadProgress | None = None,
    force: bool = False,
    found: Catalogue | None = None,
) -> tuple[Offered, bool]:
    """Fetch the voice `name` into `folder`: (the voice, whether anything was fetched).

    Every file is checked against the catalogue's size and MD5 as it arrives, and kept only
    when all are whole: until then nothing in `folder` changes."""
    found = found or catalogue()
    try:
        offered = found.find(name)
    except UnknownVoice:
        if found.fetched > time.time() - 60:
            raise
        found = fetch_catalogue()  # a newer catalogue may have it
        offered = found.find(name)
    if offered.file(".onnx") is None or offered.file(".onnx.json") is None:
        raise DownloadError(f"the catalogue lists no model and config for {offered.key}")
    if installed(offered.key, folder) and not force:
        return offered, False
    names = local_names(offered)
    wanted = [f for f in offered.files if f.name in names]
    # the model last: it is what makes a voice present, so it is renamed into place last
    wanted.sort(key=lambda f: f.name.endswith(".onnx"))
    total = sum(f.size for f in wanted)
    done = 0
    if progress:
        progress("download", 0, total)
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as renames:  # each file renamed into place on a clean exit, last first
        for remote in reversed(wanted):
            temporary = renames.enter_context(atomic.writing(folder / names[remote.name]))
            done = _fetch(remote, found.source, temporary, done, total, progress)
    return offered, True


def _fetch(
    remote: RemoteFile,
    base: str,
    into: Path,
    done: int,
    total: int,
    progress: DownloadProgress | None,
) -> int:
    address = url(remote.path, base)
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    with _open(address) as response, open(into, "wb") as out:
        while True:
            try:
                block = response.read(BLOCK)
            except (OSError, ValueError, http.client.HTTPException) as exc:  # cut off mid-file
                raise DownloadError(
                    f"the download of {remote.name} broke off after {size} of {remote.size} "
                    f"bytes ({_words(exc)}); nothing was kept, try again"
                ) from None
            if not block:
                break
            size += len(block)
            if size > remote.size:
                break
            digest.update(block)
            out.write(block)
            if progress:
                progress("download", done + size, total)
    if size != remote.size:
        more = "more than" if size > remote.size else "only"
        raise DownloadError(
            f"{remote.name} arrived with {more} {size} bytes where the catalogue says "
            f"{remote.size}; nothing was kept, try again"
        )
    if digest.hexdigest() != remote.md5:
        raise DownloadError(
            f"{remote.name} does not match the catalogue's MD5 ({digest.hexdigest()} against "
            f"{remote.md5}); nothing was kept, try again"
        )
    return done + size


def card_licence(card: Path) -> str:
    """The licence a model card states ('License: CC0' under its dataset), with the voice it
    was fine-tuned from; '' if it says none."""
    try:
        text = card.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    found = re.search(r"^\W*licen[cs]e\s*:\s*(.+?)\s*$", text, re.I | re.M)
    licence = found.group(1) if found else ""
    tuned = re.search(r"fine-?tuned from\s+(.+?)(?:\s+voice)?[.)]?\s*$", text, re.I | re.M)
    if tuned:
        licence += f"{'; ' if licence else ''}fine-tuned from {tuned.group(1)}"
    return licence


def rows(found: Catalogue, language: str | None, folder: Path) -> Iterable[tuple[Offered, bool]]:
    """(voice, installed) for each offered voice of `language` (all without), by key."""
    from letgo.voice.engines import VoiceInfo, speaks

    for key in sorted(found.voices):
        offered = found.voices[key]
        if language and not speaks(VoiceInfo("piper", key, key, offered.language), language):
            continue
        yield offered, installed(key, folder)
