"""The default voice: pyttsx3 (eSpeak NG on Linux, the platform voices on macOS and Windows).

pyttsx3's eSpeak driver is unreliable when used the usual way: it can write no file for longer
text, it ignores a second `save_to_file` in one `runAndWait`, and it can return early (upstream
issues #149, #170, #219). So each sentence is a job of its own, given to a fresh engine in an
isolated worker process with a timeout; every clip is checked for sound and a plausible length;
a failed job is retried in a new worker; and if it still fails the error names the sentence.
Silence is never passed off as speech.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import wave
from collections.abc import Iterator, Sequence
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO

import numpy as np

from letgo.errors import EngineUnavailable, SynthesisError, VoiceNotFound
from letgo.file import ffmpeg
from letgo.voice import timing
from letgo.voice.engines import (
    Clip,
    Spans,
    SpeechProgress,
    VoiceInfo,
    VoiceSettings,
    clipcheck,
    espeak,
)

log = logging.getLogger(__name__)

ATTEMPTS = 3
START_TIMEOUT = 30.0


def job_timeout(text: str) -> float:
    return 15.0 + len(text) / 20.0


class _Worker:
    """One speech worker process, spoken to in JSON lines."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "letgo.voice.engines.pyttsx3_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self.process.stdin is not None  # PIPE gives a stream
        self.requests: IO[str] = self.process.stdin
        self.replies: queue.Queue = queue.Queue()
        self.errors: list[str] = []
        threading.Thread(
            target=self._pump, args=(self.process.stdout, self.replies.put), daemon=True
        ).start()
        threading.Thread(
            target=self._pump, args=(self.process.stderr, self._keep_error), daemon=True
        ).start()

    @staticmethod
    def _pump(stream, sink) -> None:
        for line in stream:
            sink(line)
        sink(None)  # end of stream

    def _keep_error(self, line: str | None) -> None:
        if line is not None:
            self.errors = (self.errors + [line.rstrip()])[-5:]

    def ask(self, request: dict, timeout: float) -> dict:
        try:
            self.requests.write(json.dumps(request) + "\n")
            self.requests.flush()
            line = self.replies.get(timeout=timeout)
        except (BrokenPipeError, OSError):
            line = None
        except queue.Empty:
            self.close()
            return {"ok": False, "error": f"no answer within {timeout:.0f} s"}
        if line is None:
            detail = " / ".join(self.errors) or f"exit code {self.process.poll()}"
            return {"ok": False, "error": f"the speech worker stopped: {detail}"}
        return json.loads(line)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class Pyttsx3Engine:
    name = "pyttsx3"

    def __init__(self, settings: VoiceSettings = VoiceSettings()):
        self.settings = settings
        self._worker: _Worker | None = None
        self._info: dict | None = None
        self._variants: dict[tuple[float, float], Pyttsx3Engine] = {}
        self._host: Pyttsx3Engine | None = None  # for a variant: the engine it varies

    def variant(self, rate: float = 1.0, pitch: float = 0.0) -> Pyttsx3Engine:
        """Rate multiplied; pitch moves eSpeak's 0-100 pitch setting (50 unless --pitch) by
        the share asked (roughly that share of the voice's pitch). A variant has a worker of
        its own (a worker keeps the rate it started with) and is closed with this engine."""
        if (rate, pitch) not in self._variants:
            s = self.settings
            changed = replace(s, rate=max(1, round(s.rate * rate)))
            if pitch:
                base = s.pitch if s.pitch is not None else 50
                changed = replace(changed, pitch=max(0, min(100, round(base * (1 + pitch)))))
            variant = Pyttsx3Engine(changed)
            variant._host = self  # same library and voice: its identity needs no worker
            self._variants[(rate, pitch)] = variant
        return self._variants[(rate, pitch)]

    # -- the worker's life ------------------------------------------------------------------
    def _ensure_worker(self) -> _Worker:
        if self._worker is None or self._worker.process.poll() is not None:
            self._worker = _Worker()
            reply = self._worker.ask({"op": "init", **self._voice_args()}, START_TIMEOUT)
            if not reply.get("ok"):
                self.close()
                asked = [f"voice '{self.settings.voice}'"] if self.settings.voice else []
                asked += [f"pitch {self.settings.pitch}"] if self.settings.pitch is not None else []
                if asked:
                    raise EngineUnavailable(
                        f"pyttsx3 cannot use {' and '.join(asked)}: {reply.get('error')} "
                        "('letgo voices --engine pyttsx3' lists the voices here)"
                    )
                raise EngineUnavailable(f"pyttsx3 cannot start: {reply.get('error')}")
            self._info = reply
            if self.settings.voice:
                self._check_voice(self.settings.voice)
        return self._worker

    def _check_voice(self, wanted: str) -> None:
        """eSpeak quietly falls back to its default for an unknown voice: we do not."""
        if self._named(wanted) is None:
            self.close()
            raise VoiceNotFound(
                "voice",
                wanted,
                "there is no such pyttsx3 voice here; 'letgo "
                "voices --engine pyttsx3' lists the voices (use the id or the "
                "name)",
            )

    def _named(self, wanted: str) -> VoiceInfo | None:
        """The voice whose id or name is `wanted` (in any case), if there is one."""
        return next(
            (v for v in self.voices() if wanted.lower() in (v.id.lower(), v.name.lower())), None
        )

    def _voice_args(self) -> dict:
        s = self.settings
        return {"voice": s.voice, "rate": s.rate, "volume": s.volume, "pitch": s.pitch}

    def describe(self) -> dict:
        """What the worker found: the library in use and pyttsx3's version."""
        if self._host is not None:
            return self._host.describe()
        self._ensure_worker()
        return dict(self._info or {})

    def identity(self) -> str:
        """Version, library, voice and settings, learnt without starting a worker where that
        can be done, so a render whose every sentence is cached starts none.

        With no --voice, the voice is the one the platform chose: eSpeak's default is fixed by
        its library, so the library's size and checksum stand for it; on macOS and Windows the
        user can change the system voice at any time, so the worker is asked which it is."""
        s = self.settings
        line = _library()
        voice = s.voice or (
            "default"
            if line.startswith(("system eSpeak", "eSpeak"))
            else self.describe().get("voice")
        )
        return f"pyttsx3/{_version()}/{line}/{voice}/{s.rate}/{s.volume}/{s.pitch}"

    @property
    def words_per_minute(self) -> float:
        """The rate setting is words a minute, as drivers understand it."""
        return float(self.settings.rate)

    @property
    def times_words(self) -> bool:
        """eSpeak NG (Linux) reports each word's place in its speech; the platform voices of
        macOS and Windows do not, through pyttsx3."""
        return sys.platform.startswith("linux")

    @property
    def language(self) -> str:
        """What the voice in use says it speaks, as its driver lists it."""
        host = self._host or self  # a variant speaks with its host's voice
        found = host._named(self.settings.voice or str(host.describe().get("voice", "")))
        return found.language if found else ""

    def voices(self) -> list[VoiceInfo]:
        reply = self._ensure_worker().ask({"op": "voices"}, START_TIMEOUT)
        if not reply.get("ok"):
            raise EngineUnavailable(f"pyttsx3 cannot list voices: {reply.get('error')}")
        licence = (
            "eSpeak NG, GPL-3.0; its output is yours"
            if sys.platform.startswith("linux")
            else "the system's voice"
        )
        return [
            VoiceInfo(
                "pyttsx3",
                v["id"],
                v["name"],
                v.get("language", ""),
                default=v.get("default", False),
                licence=licence,
            )
            for v in reply["voices"]
        ]

    # -- speaking ---------------------------------------------------------------------------
    def synthesize(
        self, sentences: Sequence[str], progress: SpeechProgress | None = None
    ) -> Iterator[Clip]:
        with tempfile.TemporaryDirectory(prefix="letgo-speech-") as folder:
            for done, text in enumerate(sentences, start=1):
                yield self._speak(text, Path(folder) / f"{done}.wav")
                if progress:
                    progress(done, len(sentences))

    def _speak(self, text: str, path: Path) -> Clip:
        reason: str | None = "not tried"
        for attempt in range(1, ATTEMPTS + 1):
            path.unlink(missing_ok=True)
            reply = self._ensure_worker().ask(
                {"op": "say", "text": text, "path": str(path), **self._voice_args()},
                job_timeout(text),
            )
            clip = read_clip(path) if reply.get("ok") and path.exists() else None
            reason = reply.get("error") or clipcheck.problem(clip, text, self.settings.rate)
            if reason is None and clip is not None:
                return clip.timed(word_spans(clip, text, reply.get("words")))
            log.info("attempt %d for %r failed: %s", attempt, text, reason)
            self._stop_worker()  # a fresh worker for the next attempt
        raise SynthesisError(
            f'pyttsx3 could not speak the sentence "{text}" after {ATTEMPTS} attempts: {reason}'
        )

    def _stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def close(self) -> None:
        """Stops the worker and those of the variants."""
        self._stop_worker()
        for variant in self._variants.values():
            variant.close()


def word_spans(clip: Clip, text: str, events: list | None) -> Spans | None:
    """Each word's span from eSpeak's word events ([place in the text (1-based), length, ms
    into the speech], in order). eSpeak speaks some words as one ("Not a", "in the"): it
    sends one event for them, so an event starts the word its place falls in (or, if that
    word has one, the next that has none), and a word with no event is said with the word
    before it (the first words, with the first timed one); such a run shares its span by
    letters. A run ends where the next begins, less any pause (`timing.from_starts`). None
    unless the events are whole and run forward inside the clip."""
    if not events:
        return None
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    starts: list[int | None] = [None] * len(words)
    for event in events:
        if not (
            isinstance(event, list) and len(event) == 3 and all(isinstance(x, int) for x in event)
        ):
            return None
        place, _length, ms = event
        i = next((i for i, (a, b) in enumerate(words) if a <= place - 1 < b), None)
        while i is not None and i < len(words) and starts[i] is not None:
            i += 1
        if i is not None and i < len(words):
            starts[i] = round(ms * clip.sample_rate / 1000)
    timed = [i for i, x in enumerate(starts) if x is not None]
    if not timed:
        return None
    firsts = [int(starts[i] or 0) for i in timed]
    if firsts != sorted(firsts) or firsts[-1] >= clip.frames:
        return None
    runs = timing.from_starts(clip, firsts)
    bounds = [*timed[1:], len(words)]
    spans: list[tuple[int, int]] = []
    for k, (a, b) in enumerate(runs):
        first = 0 if k == 0 else timed[k]
        members = [text[words[i][0] : words[i][1]] for i in range(first, bounds[k])]
        letters = np.array([len(w) + 1 for w in members], dtype=np.float64)
        edges = a + np.concatenate([[0.0], np.cumsum(letters)]) / letters.sum() * (b - a)
        spans += [(round(edges[j]), round(edges[j + 1])) for j in range(len(members))]
    return tuple(spans)


@functools.cache
def _library() -> str:
    """The speech library in use, with the size and checksum of its file where known. Looked
    up once a process: the variants of an engine (<prosody>) share it."""
    line, path = espeak.library()
    if path is not None:
        data = path.read_bytes()
        line += f"/{len(data)}/{hashlib.sha256(data).hexdigest()[:16]}"
    return line


@functools.cache
def _version() -> str:
    try:
        return version("pyttsx3")
    except PackageNotFoundError:
        return "?"


def read_clip(path: Path) -> Clip | None:
    """WAV (eSpeak, SAPI) natively; anything else (AIFF from macOS) through ffmpeg."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise wave.Error("not 16-bit")
            rate, channels = wav.getframerate(), wav.getnchannels()
            data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        samples = data.reshape(-1, channels).mean(axis=1).astype(np.float32) / 32768.0
        return Clip(samples, rate)
    except (wave.Error, EOFError):
        if os.path.getsize(path) == 0:
            return None
        return Clip(ffmpeg.decode(path, 22050)[:, 0], 22050)
