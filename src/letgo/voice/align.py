"""Forced alignment: where a recogniser hears each word of a clip's text, or that it cannot.

pocketsphinx 5.x (BSD; the `align` extra) carries an en-us acoustic model and a pronouncing
dictionary. Given the text, it finds the path through the text's sounds that best fits the
audio; for a clip that says something else there is mostly none, so it catches what the
engines' own word times cannot: another sentence's audio with as many words (`verify`).

Only what alignment needs is loaded: no language model, and a dictionary of the words of the
sentences at hand (read from the model's), so a decoder costs about 6 MB where pocketsphinx's
defaults take 93 MB. A word the dictionary lacks ("partway", "café") cannot be aligned: its
sentence is left to the other checks (`Aligner.knows`).
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from letgo.sound import dsp
from letgo.voice.engines import Clip, is_language

#: The rate pocketsphinx's en-us model was trained at.
RATE = 16000
#: White noise this far under the clip's peak (dB) is added before aligning: pocketsphinx's
#: features of exact digital silence (eSpeak's pauses are zeros) match none of its models, so
#: without it it rejects most correct eSpeak sentences (13 of 30 aligned; 30 of 30 with it).
NOISE_DB = -50.0
#: The language of its model: voices speaking a variety of it are aligned.
LANGUAGE = "en"

log = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


def installed() -> bool:
    """Whether pocketsphinx is here (the `align` extra)."""
    return find_spec("pocketsphinx") is not None


def for_voice(language: str, texts: Iterable[str]) -> AlignerProcess | None:
    """An aligner for `texts` said by a voice speaking `language`, in a process of its own, or
    None where alignment cannot judge them: another language, or no pocketsphinx here."""
    if not (installed() and is_language(language, LANGUAGE)):
        return None
    try:
        return AlignerProcess(texts)
    except OSError as exc:
        log.warning("the speech check cannot start its aligner (%s): it goes on without it", exc)
        return None


def words_of(text: str) -> list[str]:
    """The words of `text` as the dictionary spells them: lower case, runs of letters with
    inner apostrophes ("self-kind" is two words, "don't" one)."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


@dataclass(frozen=True)
class Alignment:
    words: list[tuple[str, float, float]]
    """(word, start, end) in seconds of each word of the text."""
    score: float
    """The aligned path's acoustic log-likelihood per frame relative to the best path
    unconstrained by the text (0 at best; lower is a worse fit)."""


class Aligner:
    """A pocketsphinx decoder for aligning clips to `texts` (more can be added: `learn`)."""

    def __init__(self, texts: Iterable[str] = ()):
        import pocketsphinx

        self._model = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
        # Its acoustic settings are pocketsphinx's own: scoring one Gaussian a codebook, not
        # four, aligned 28% faster and refused more clips of another sentence (on eSpeak 178
        # of 211 pairs, not 133), but failed 6 of eSpeak's 1666 correct library clips.
        self._decoder = pocketsphinx.Decoder(samprate=RATE, loglevel="FATAL", lm=None, dict=None)
        self._looked: set[str] = set()
        self.learn(texts)

    def learn(self, texts: Iterable[str]) -> None:
        """Add the words of `texts` (with every pronunciation the dictionary gives) to the
        decoder's dictionary, in one pass over the model's."""
        wanted = {w for text in texts for w in words_of(text)} - self._looked
        if not wanted:
            return
        self._looked |= wanted
        found = []
        with open(self._model, encoding="utf-8") as dictionary:
            for line in dictionary:
                entry, _, phones = line.partition(" ")
                if entry.split("(", 1)[0] in wanted and self._decoder.lookup_word(entry) is None:
                    found.append((entry, phones.split("#", 1)[0].strip()))
        for i, (entry, phones) in enumerate(found, start=1):
            self._decoder.add_word(entry, phones, i == len(found))

    def knows(self, text: str) -> bool:
        """Whether every word of `text` is in the dictionary, so it can be aligned."""
        words = words_of(text)
        self.learn([text])
        return bool(words) and all(self._decoder.lookup_word(w) is not None for w in words)

    def hears(self, clip: Clip, text: str) -> bool | None:
        """Whether `text` can be aligned to `clip`; None where a word is not known."""
        if not self.knows(text):
            return None
        return self.align(clip.samples, clip.sample_rate, text) is not None

    def align(self, samples: np.ndarray, sample_rate: int, text: str) -> Alignment | None:
        """Where each word of `text` is heard in `samples` (mono float), or None where the
        text cannot be aligned to them. LookupError where a word is not in the dictionary."""
        import soxr

        if not self.knows(text):
            unknown = [w for w in words_of(text) if self._decoder.lookup_word(w) is None]
            raise LookupError(f"not in the dictionary: {', '.join(unknown) or '(no words)'}")
        pcm = soxr.resample(np.asarray(samples, dtype=np.float32), sample_rate, RATE)
        peak = float(np.max(np.abs(pcm))) if len(pcm) else 0.0
        noise = np.random.default_rng(0).standard_normal(len(pcm)) * peak * dsp.db(NOISE_DB)
        decoder = self._decoder
        decoder.set_align_text(" ".join(words_of(text)))
        decoder.start_utt()
        decoder.process_raw((np.clip(pcm + noise, -1, 1) * 32767).astype("<i2").tobytes(), True)
        decoder.end_utt()
        if decoder.hyp() is None:
            return None
        frame = 1 / decoder.config["frate"]
        segments = list(decoder.seg())
        score = sum(float(np.log(max(s.ascore, 1e-300))) for s in segments if s.word != "</s>")
        return Alignment(
            [
                (re.sub(r"\(\d+\)$", "", s.word), s.start_frame * frame, (s.end_frame + 1) * frame)
                for s in segments
                if not s.word.startswith(("<", "[", "+", "("))  # silences and noises
            ],
            score / max(1, decoder.n_frames()),
        )


class AlignerProcess:
    """An `Aligner` in a process of its own (`align_worker`), asked one clip at a time, so
    aligning runs beside the speaking. It starts at once and learns `texts` while the engine
    loads. If it fails, one warning says so and clips are judged without it from then on."""

    def __init__(self, texts: Iterable[str]):
        self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-m", "letgo.voice.align_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._waiting = 0  # answers sent for and not yet read
        self._lock = threading.Lock()  # the check's thread and a sentence spoken again share it
        self._send({"texts": list(texts)})

    def _send(self, request: dict, payload: bytes = b"") -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(json.dumps(request).encode() + b"\n" + payload)
        self._process.stdin.flush()
        self._waiting += 1

    def _answer(self) -> dict:
        """The answer to the last request (those before it are read on the way)."""
        assert self._process is not None and self._process.stdout is not None
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

    def hears(self, clip: Clip, text: str) -> bool | None:
        """Whether `text` can be aligned to `clip`; None where it cannot judge (a word it does
        not know, or the aligner has failed)."""
        with self._lock:
            if self._process is None:
                return None
            pcm = clip.pcm.astype("<i2", copy=False)
            request = {"text": text, "rate": clip.sample_rate, "frames": len(pcm)}
            try:
                self._send(request, pcm.tobytes())
                return self._answer()["hears"]
            except (OSError, ValueError, KeyError) as exc:
                try:  # a broken pipe can come a moment before the process has ended
                    why = f"it stopped, exit code {self._process.wait(timeout=0.5)}"
                except subprocess.TimeoutExpired:
                    why = str(exc)
                log.warning("the speech check's aligner failed (%s): it goes on without it", why)
                self._stop()
                return None

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    stream.close()
            self._process = None

    def __enter__(self) -> AlignerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
