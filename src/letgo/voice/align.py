"""Forced alignment: whether a clip says its text, heard by a recogniser.

pocketsphinx 5.x (BSD; the `align` extra; `sphinx`) carries an en-us acoustic model and a
pronouncing dictionary. Given the text, it finds the path through the text's sounds that best
fits the audio; for a clip that says something else there is mostly none, so it catches what
the engines' own word times cannot: another sentence's audio with as many words (`verify`).

The speech check asks an `AlignerProcess`: pocketsphinx holds Python's GIL while it decodes
(30-50 ms a sentence), which here would stall the engine's next sentence, so it runs in
processes of its own beside the speaking. `Aligner` aligns in this process (for measuring).
"""

from __future__ import annotations

import json
import logging
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.util import find_spec

import numpy as np

from letgo.sound import dsp
from letgo.voice.engines import Clip, is_language
from letgo.voice.sphinx import RATE, Sphinx, Words, words_of

__all__ = ["Aligner", "AlignerProcess", "Alignment", "for_voice", "installed", "words_of"]

#: White noise this far under the clip's peak (dB) is added before aligning: pocketsphinx's
#: features of exact digital silence (eSpeak's pauses are zeros) match none of its models, so
#: without it it rejects most correct eSpeak sentences (13 of 30 aligned; 30 of 30 with it).
NOISE_DB = -50.0
#: The language of its model: voices speaking a variety of it are aligned.
LANGUAGE = "en"

log = logging.getLogger(__name__)


def installed() -> bool:
    """Whether pocketsphinx is here (the `align` extra)."""
    return find_spec("pocketsphinx") is not None


def for_voice(language: str, texts: Iterable[str], processes: int = 1) -> AlignerProcess | None:
    """An aligner for `texts` said by a voice speaking `language`, in `processes` processes of
    its own, or None where alignment cannot judge them: another language, or no pocketsphinx."""
    if not (installed() and is_language(language, LANGUAGE)):
        return None
    try:
        return AlignerProcess(texts, processes)
    except OSError as exc:
        log.warning("the speech check cannot start its aligner (%s): it goes on without it", exc)
        return None


def prepared(samples: np.ndarray, sample_rate: int) -> bytes:
    """Mono float `samples` as pocketsphinx hears them: 16-bit at its rate, with faint noise."""
    import soxr

    pcm = soxr.resample(np.asarray(samples, dtype=np.float32), sample_rate, RATE)
    peak = float(np.max(np.abs(pcm))) if len(pcm) else 0.0
    noise = np.random.default_rng(0).standard_normal(len(pcm)) * peak * dsp.db(NOISE_DB)
    return (np.clip(pcm + noise, -1, 1) * 32767).astype("<i2").tobytes()


@dataclass(frozen=True)
class Alignment:
    words: Words
    """(word, start, end) in seconds of each word of the text."""
    score: float
    """The aligned path's acoustic log-likelihood per frame relative to the best path
    unconstrained by the text (0 at best; lower is a worse fit)."""


class Aligner:
    """Aligns clips to texts in this process (`texts`: the words to learn at once)."""

    def __init__(self, texts: Iterable[str] = ()):
        self._sphinx = Sphinx(texts)

    def align(self, samples: np.ndarray, sample_rate: int, text: str) -> Alignment | None:
        """Where each word of `text` is heard in `samples` (mono float), or None where the
        text cannot be aligned to them. LookupError where a word is not in the dictionary."""
        if not self._sphinx.knows(text):
            unknown = ", ".join(self._sphinx.unknown(text)) or "(no words)"
            raise LookupError(f"not in the dictionary: {unknown}")
        found = self._sphinx.decode(prepared(samples, sample_rate), text)
        return None if found is None else Alignment(*found)


class AlignerProcess:
    """The recogniser in processes of their own (`sphinx`), each asked one clip at a time, so
    aligning runs beside the speaking: `processes` of them, for eSpeak speaks faster than one
    can listen. They start at once and learn `texts` while the engine loads. If one fails, a
    warning says so and clips are judged without them from then on."""

    def __init__(self, texts: Iterable[str], processes: int = 1):
        texts = list(texts)
        self._all: list[_Listener] = []
        try:
            for _ in range(max(1, processes)):
                self._all.append(_Listener(texts))
        except OSError:
            self.close()
            raise
        self._idle: queue.SimpleQueue[_Listener] = queue.SimpleQueue()
        for listener in self._all:
            self._idle.put(listener)
        self._lock = threading.Lock()
        self._failed = False

    @property
    def processes(self) -> int:
        return len(self._all)

    def hears(self, clip: Clip, text: str) -> bool | None:
        """Whether `text` can be aligned to `clip`; None where it cannot judge (a word it does
        not know, or the recogniser has failed). Any number of threads may ask at once."""
        if self._failed:
            return None
        pcm = prepared(clip.samples, clip.sample_rate)
        listener = self._idle.get()
        try:
            return listener.hears(pcm, text)
        except (OSError, ValueError, KeyError) as exc:
            with self._lock:
                if not self._failed:
                    self._failed = True
                    log.warning(
                        "the speech check's aligner failed (%s): it goes on without it",
                        listener.why(exc),
                    )
                    self.close()
            return None
        finally:
            self._idle.put(listener)

    def close(self) -> None:
        for listener in self._all:
            listener.stop()

    def __enter__(self) -> AlignerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Listener:
    """One recogniser process, spoken to in JSON lines and 16-bit samples."""

    def __init__(self, texts: list[str]):
        self._process = subprocess.Popen(
            [sys.executable, "-m", "letgo.voice.sphinx"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._waiting = 0  # answers sent for and not yet read
        self._send({"texts": texts})

    def _send(self, request: dict, payload: bytes = b"") -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request).encode() + b"\n" + payload)
        self._process.stdin.flush()
        self._waiting += 1

    def _answer(self) -> dict:
        """The answer to the last request (those before it are read on the way)."""
        assert self._process.stdout is not None
        while True:
            line = self._process.stdout.readline()
            if not line:
                raise OSError("it stopped")
            self._waiting -= 1
            reply = json.loads(line)
            if "error" in reply:
                raise OSError(reply["error"])
            if not self._waiting:
                return reply

    def hears(self, pcm: bytes, text: str) -> bool | None:
        """Whether `text` aligns to `pcm` (`prepared`); OSError and the like if it fails."""
        self._send({"text": text, "frames": len(pcm) // 2}, pcm)
        return self._answer()["hears"]

    def why(self, exc: Exception) -> str:
        """What went wrong, in a few words: how it ended, if it has."""
        try:  # a broken pipe can come a moment before the process has ended
            return f"it stopped, exit code {self._process.wait(timeout=0.5)}"
        except subprocess.TimeoutExpired:
            return str(exc)

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()
