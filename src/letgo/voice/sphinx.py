"""The recogniser: pocketsphinx aligning a text to 16 kHz speech, in the aligner's own process
(`python -m letgo.voice.sphinx`, which `align.AlignerProcess` starts) or in this one.

It imports nothing but pocketsphinx, so that process stays small (about 20 MB): the sound is
made ready for it (`align.prepared`) where it was spoken.

Only what alignment needs is loaded: no language model, and a dictionary of the words of the
sentences at hand (read from the model's), so a decoder costs about 6 MB where pocketsphinx's
defaults take 93 MB. A word the dictionary lacks ("partway", "café") cannot be aligned.

The process reads requests on stdin: a JSON line, `{"texts": [...]}` (words to learn) or
`{"text": ..., "frames": N}` followed by N 16-bit samples at 16 kHz; it answers each with a
JSON line, `{"hears": true | false | null}` (null: a word it does not know) or `{"error": ...}`.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable
from pathlib import Path

#: The rate pocketsphinx's en-us model was trained at.
RATE = 16000

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")

Words = list[tuple[str, float, float]]
"""(word, start, end) in seconds of each word of a text."""


def words_of(text: str) -> list[str]:
    """The words of `text` as the dictionary spells them: lower case, runs of letters with
    inner apostrophes ("self-kind" is two words, "don't" one)."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


class Sphinx:
    """A pocketsphinx decoder that aligns 16 kHz speech to texts whose words it has learnt."""

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

    def unknown(self, text: str) -> list[str]:
        """The words of `text` the dictionary lacks."""
        self.learn([text])
        return [w for w in words_of(text) if self._decoder.lookup_word(w) is None]

    def hears(self, pcm: bytes, text: str) -> bool | None:
        """Whether `text` can be aligned to `pcm`; None where a word is not known."""
        return self.decode(pcm, text) is not None if self.knows(text) else None

    def decode(self, pcm: bytes, text: str) -> tuple[Words, float] | None:
        """Where each word of `text` (whose words it knows) is heard in `pcm` (16-bit, 16 kHz),
        and the fit's acoustic log-likelihood per frame relative to the best path the text
        does not constrain (0 at best); None where the text cannot be aligned to it."""
        decoder = self._decoder
        decoder.set_align_text(" ".join(words_of(text)))
        decoder.start_utt()
        decoder.process_raw(pcm, False, True)
        decoder.end_utt()
        if decoder.hyp() is None:
            return None
        frame = 1 / decoder.config["frate"]
        segments = list(decoder.seg())
        score = sum(math.log(max(s.ascore, 1e-300)) for s in segments if s.word != "</s>")
        words = [
            (re.sub(r"\(\d+\)$", "", s.word), s.start_frame * frame, (s.end_frame + 1) * frame)
            for s in segments
            if not s.word.startswith(("<", "[", "+", "("))  # silences and noises
        ]
        return words, score / max(1, decoder.n_frames())


def main() -> None:
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sphinx = Sphinx()
    for line in requests:
        request = json.loads(line)
        try:
            if "texts" in request:
                sphinx.learn(request["texts"])
                reply: dict = {"ok": True}
            else:
                pcm = requests.read(2 * request["frames"])
                reply = {"hears": sphinx.hears(pcm, request["text"])}
        except Exception as exc:  # noqa: BLE001 - every failure goes back as a reply
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(reply).encode() + b"\n")
        replies.flush()


if __name__ == "__main__":
    main()
