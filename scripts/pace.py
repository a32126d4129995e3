"""How the voice paces a session: the figures the engine defaults were chosen from.

For each voice setting given, speaks a template's sentences as a render does (the cache, the
phrase pauses widened), lays them on the timeline, aligns each clip with its words by forced
alignment (pocketsphinx 5.x, whose wheel carries an en-us model: `pip install pocketsphinx`;
it is not one of letgo's dependencies) and prints:

- wpm: words a minute, each sentence counted from its start to the next line's (its gap in,
  written pauses out), as /work/shared/tools/voicecheck.py counts them;
- syl/s: syllables (vowel phones) a second of voiced time (the phones, no silence): calm
  human guides speak about 3.4-3.8;
- cons ms, vowel ms: mean consonant and vowel durations (calm human speech: consonants about
  83 ms);
- pause %: the share of the sentences' spans (as for wpm) that is not voiced: the phrase
  pauses inside sentences and the gaps between them.

    .venv/bin/python scripts/pace.py                                   # the defaults
    .venv/bin/python scripts/pace.py --try "length_scale=1.6,phrase_gap=0.5" \
        --try "length_scale=1.25,phrase_gap=0.9,sentence_gap=2.4"
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from dataclasses import dataclass

import numpy as np

VOWELS = {
    "AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW",
}  # fmt: skip
FRAME = 0.01  # pocketsphinx frames


@dataclass
class Figures:
    wpm: float
    syllables_per_second: float
    consonant_ms: float
    vowel_ms: float
    pause_share: float
    aligned: int
    sentences: int

    def row(self, label: str) -> str:
        return (
            f"{label:<52} {self.wpm:6.1f} {self.syllables_per_second:6.2f} "
            f"{self.consonant_ms:8.1f} {self.vowel_ms:8.1f} {100 * self.pause_share:7.1f}"
            f"   {self.aligned}/{self.sentences}"
        )


HEADER = f"{'setting':<52} {'wpm':>6} {'syl/s':>6} {'cons ms':>8} {'vowel ms':>8} {'pause %':>7}"


def spans(timeline) -> list[tuple[int, float, str]]:
    """(clip, seconds, text) for each sentence: its start to the next line's start."""
    starts = sorted({e.start for e in timeline.events} | {s.start for s in timeline.silences})
    out = []
    for event in timeline.speech:
        later = [t for t in starts if t > event.start + 1e-9]
        end = later[0] if later else event.end
        out.append((event.clip, end - event.start, event.text))
    return out


class Aligner:
    def __init__(self):
        from pocketsphinx import Decoder

        self.decoder = Decoder(samprate=16000, bestpath=False, loglevel="FATAL")

    def phones(self, samples: np.ndarray, rate: int, text: str) -> list[tuple[str, float]] | None:
        """(phone, seconds) for the clip, or None if a word is not in the dictionary or the
        alignment fails."""
        import soxr

        words = [w for w in re.findall(r"[a-z']+", text.lower().replace("\u2019", "'"))]
        words = [w.strip("'") for w in words if w.strip("'")]
        if not words or any(self.decoder.lookup_word(w) is None for w in words):
            return None
        x = soxr.resample(samples.astype(np.float32), rate, 16000)
        pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes()
        d = self.decoder
        try:
            d.set_align_text(" ".join(words))
            for second in (False, True):
                if second:
                    d.set_alignment()
                d.start_utt()
                d.process_raw(pcm, full_utt=True)
                d.end_utt()
            alignment = d.get_alignment()
        except (RuntimeError, ValueError):
            return None
        if alignment is None:
            return None
        return [(p.name, p.duration * FRAME) for w in alignment for p in w]


def measure(template: str, settings: dict, aligner: Aligner) -> Figures:
    from letgo import session
    from letgo.settings import request

    req = request.build(template, [request.Layer.read(settings, request.keyword)])
    prepared = session.prepare(req)
    rows = spans(prepared.timeline)
    words = sum(len(text.split()) for _, _, text in rows)
    total = sum(seconds for _, seconds, _ in rows)
    consonants, vowels, voiced, syllables, aligned, aligned_span = [], [], 0.0, 0, 0, 0.0
    for clip_index, seconds, _ in rows:
        clip = prepared.clips[clip_index]
        phones = aligner.phones(clip.samples, clip.sample_rate, prepared.spoken[clip_index])
        if phones is None:
            continue
        aligned += 1
        aligned_span += seconds
        for name, length in phones:
            if name == "SIL":
                continue
            voiced += length
            if name in VOWELS:
                vowels.append(length)
                syllables += 1
            else:
                consonants.append(length)
    return Figures(
        wpm=60 * words / total,
        syllables_per_second=syllables / voiced,
        consonant_ms=1000 * statistics.mean(consonants),
        vowel_ms=1000 * statistics.mean(vowels),
        pause_share=1 - voiced / aligned_span,
        aligned=aligned,
        sentences=len(rows),
    )


def parse_try(text: str) -> dict:
    out: dict = {}
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        value = value.strip()
        try:
            out[key.strip()] = float(value) if "." in value else int(value)
        except ValueError:
            out[key.strip()] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", default="letting-go")
    parser.add_argument(
        "--try",
        dest="tries",
        action="append",
        default=[],
        metavar="SETTINGS",
        help="settings to measure, e.g. 'engine=piper,length_scale=1.3,phrase_gap=0.8' "
        "(repeatable; default: the built-in defaults)",
    )
    args = parser.parse_args(argv)
    aligner = Aligner()
    print(HEADER)
    for text in args.tries or [""]:
        figures = measure(args.template, parse_try(text), aligner)
        print(figures.row(text or "(defaults)"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
