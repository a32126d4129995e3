"""What the speech check finds and costs, with each engine.

For `letting-go` at 12 minutes: cold renders (an empty synthesis cache) with the check and
without it, taken in turns (`--repeat` of each, medians), and a warm one (the same cache); for
two more meditations, the check over every sentence spoken. Prints, per engine and meditation,
the share of sentences that passed at once, those spoken again and why, and those that failed
twice; the time the check works (summed over its threads: it runs beside the speaking, its
recogniser in processes of their own) and what it adds to the render's wall time, with the
load average beside each timing.

With `--library`, the false failures instead: every sentence of every built-in meditation (each
at its default length) spoken with each voice into an empty cache, and per voice the sentences
checked, passed at once, spoken again and failed twice, each with its sentence and reason.

    .venv/bin/python scripts/bench_verify.py                     # piper and pyttsx3
    .venv/bin/python scripts/bench_verify.py --engine pyttsx3 --also whole
    .venv/bin/python scripts/bench_verify.py --library --engine pyttsx3
    .venv/bin/python scripts/bench_verify.py --library --align --engine piper

With `--align` (and `--library`), each clip is also aligned to its text with pocketsphinx
(`letgo.voice.align`, the `align` extra), and to the text of the sentence before it with as many
words (another sentence's audio), to see whether forced alignment could catch a wrong clip
without failing right ones: how many align, their scores, and how many of the wrong pairs the
speech check passes that alignment would catch.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from letgo import session
from letgo.settings.request import make
from letgo.voice import align, speaking, verify
from letgo.words import templates

#: Alignment scores (log-likelihood per frame) tried as the line between right and wrong.
SCORES = (-2.5, -3.0, -3.5, -4.0)
FOR_VOICE = align.for_voice


class Tally:
    """Wraps `speaking.kept` and `verify.problem`: counts, reasons and the time the checks
    take (and any sentence spoken again); with `aligning`, also pocketsphinx's alignment of
    each clip to its text and of the clip before it with as many words (`Tally.right`,
    `Tally.wrong`: (text, score or None, the checks other than alignment pass it))."""

    def __init__(self, aligning: bool = False):
        self.aligning = aligning
        self.right: list[tuple[str, float | None]] = []
        self.wrong: list[tuple[str, float | None, bool]] = []
        self.before: dict[int, tuple[str, object]] = {}
        self.unknown: list[str] = []
        self._aligner: align.Aligner | None = None
        self.seconds = 0.0
        self.checked = self.again = 0
        self.failed: list[str] = []
        self.reasons: list[str] = []
        self._last: dict[str, str | None] = {}
        self._kept, self._problem = speaking.kept, verify.problem

    def problem(self, clip, text, *args):
        started = time.perf_counter()
        self._last[text] = self._problem(clip, text, *args)
        self.seconds += time.perf_counter() - started
        return self._last[text]

    def kept(self, engine, text, clip, reason, label, strict, aligner=None):
        if self.aligning:
            self.aligned(engine, text, clip, label)
        self.checked += 1
        if reason is None:
            return clip, True
        self.again += 1
        self.reasons.append(f"{label} {text!r}: {reason}")
        started = time.perf_counter()
        try:
            result = self._kept(engine, text, clip, reason, label, strict, aligner)
        finally:
            self.seconds += time.perf_counter() - started
        if not result[1]:
            self.failed.append(f"{label} {text!r}: {self._last[text]}")
        return result

    def aligned(self, engine, text, clip, label):
        """Align `clip` to `text`, and the clip before it with as many words to `text`."""
        if self._aligner is None:
            self._aligner = align.Aligner()
        try:
            found = self._aligner.align(clip.samples, clip.sample_rate, text)
        except LookupError as exc:  # a word pocketsphinx does not know: it cannot align
            self.unknown.append(f"{text!r} ({exc})")
            return
        self.right.append((f"{label} {text!r}", None if found is None else found.score))
        count = len(text.split())
        before = self.before.get(count)
        if before is not None and before[0] != text:
            other = before[1]
            passes = self._problem(other, text, engine.words_per_minute, engine.times_words) is None
            found = self._aligner.align(other.samples, other.sample_rate, text)
            score = None if found is None else found.score
            self.wrong.append((f"{text!r} on {before[0]!r}", score, passes))
        self.before[count] = (text, clip)


def alignment_report(tally: Tally) -> None:
    """What forced alignment makes of right clips and of wrong ones."""
    right = [score for _, score in tally.right]
    held = np.array([x for x in right if x is not None])
    print(
        f"    alignment: {len(held)} of {len(right)} right clips aligned; score per frame "
        f"min {held.min():.2f}, 1st percentile {np.percentile(held, 1):.2f}, "
        f"median {np.median(held):.2f}"
    )
    print(f"    {len(tally.unknown)} sentences with a word not in pocketsphinx's dictionary")
    for text in tally.unknown:
        print(f"      {text}")
    for text, score in tally.right:
        if score is None or score < SCORES[0]:
            print(
                f"      right clip {'not aligned' if score is None else f'at {score:.2f}'}: {text}"
            )
    blind = [(t, s) for t, s, passes in tally.wrong if passes]
    print(
        f"    another sentence's clip with as many words: {len(tally.wrong)} pairs, "
        f"{sum(s is not None for _, s, _ in tally.wrong)} aligned; the speech check passes "
        f"{len(blind)} of them, alignment does not hold for "
        f"{sum(s is None for _, s in blind)} of those"
    )
    for line in SCORES:
        false = sum(x is None or x < line for x in right)
        caught = sum(s is None or s < line for _, s, _ in tally.wrong)
        caught_blind = sum(s is None or s < line for _, s in blind)
        print(
            f"      failing below {line:5.2f} (or not aligned): right clips failed {false}, "
            f"wrong pairs caught {caught} of {len(tally.wrong)}, of those the check passes "
            f"{caught_blind} of {len(blind)}"
        )


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def run(
    engine: str,
    template: str,
    minutes: float | None,
    cache: Path,
    output: Path | None,
    tally: Tally | None = None,
    check: bool = True,
):
    tally = tally or Tally()
    speaking.kept, verify.problem = tally.kept, tally.problem  # type: ignore[assignment]
    if not check:
        verify.problem = lambda *args: None  # type: ignore[assignment]
        align.for_voice = lambda *args: None  # type: ignore[assignment]
    try:
        settings = {"engine": engine, "background": "none"}
        if minutes:
            settings["minutes"] = minutes
        request = make(template, settings, cache_dir=str(cache))
        started = time.perf_counter()
        if output is not None:
            session.render(request, output, reuse=False)
        else:
            session.prepare(request)
        wall = time.perf_counter() - started
    finally:
        speaking.kept, verify.problem = tally._kept, tally._problem  # type: ignore[assignment]
        align.for_voice = FOR_VOICE  # type: ignore[assignment]
    return tally, wall


def problems(tally: Tally) -> None:
    """Each sentence spoken again and each that failed twice, with why."""
    for reason in tally.reasons:
        print(f"    again: {reason}")
    for failure in tally.failed:
        print(f"    FAILED TWICE: {failure}")


def report(engine: str, template: str, label: str, tally: Tally, wall: float) -> None:
    passed = tally.checked - tally.again
    share = 100 * passed / tally.checked if tally.checked else 0.0
    print(
        f"{engine:8} {template:22} {label:5} {tally.checked:4} spoken, {passed:4} passed at once "
        f"({share:5.1f}%), {tally.again} spoken again, {len(tally.failed)} failed twice; "
        f"the check works {tally.seconds:6.2f} s in a render of {wall:7.2f} s [{load()}]"
    )
    problems(tally)


def cost(engine: str, minutes: float, repeat: int, folder: Path) -> None:
    """Cold renders of letting-go with the check and without it, in turns; then a warm one."""
    walls: dict[bool, list[float]] = {True: [], False: []}
    for n in range(repeat):
        for check in (True, False):
            cache = folder / f"cache-{n}-{check}"
            tally, wall = run(engine, "letting-go", minutes, cache, folder / "out.mp3", check=check)
            walls[check].append(wall)
            if check:
                report(engine, "letting-go", "cold", tally, wall)
            else:
                label = "letting-go"
                print(f"{engine:8} {label:22} cold  without the check: {wall:7.2f} s [{load()}]")
    warm = folder / f"cache-{repeat - 1}-True"
    tally, wall = run(engine, "letting-go", minutes, warm, folder / "out.mp3")
    report(engine, "letting-go", "warm", tally, wall)
    on, off = float(np.median(walls[True])), float(np.median(walls[False]))
    print(
        f"{engine:8} letting-go at {minutes:g} min, cold, median of {repeat}: {on:.2f} s with the "
        f"check, {off:.2f} s without: it adds {on - off:+.2f} s ({100 * (on - off) / off:+.1f}%) "
        f"[{load()}]"
    )


def library(engine: str, aligning: bool = False) -> None:
    """Every built-in meditation at its default length, spoken into one empty cache (a
    sentence two meditations share is spoken and checked once): the false failures."""
    names = [info.name for info in templates.TemplateLibrary().all()]
    total = Tally(aligning)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="letgo-bench-verify-") as folder:
        for name in names:
            run(engine, name, None, Path(folder), None, total)
    wall = time.perf_counter() - started
    passed = total.checked - total.again
    print(
        f"{engine:8} library of {len(names)} meditations: {total.checked} sentences checked, "
        f"{passed} passed at once ({100 * passed / max(1, total.checked):.2f}%), "
        f"{total.again} spoken again, {len(total.failed)} failed twice; "
        f"{wall:.0f} s [{load()}]"
    )
    problems(total)
    if aligning:
        alignment_report(total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", action="append", choices=("piper", "pyttsx3", "fake"))
    parser.add_argument("--also", action="append", help="more meditations (default: whole, grief)")
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument("--repeat", type=int, default=3, help="cold renders of each kind")
    parser.add_argument(
        "--library", action="store_true", help="every built-in meditation: the false failures"
    )
    parser.add_argument(
        "--align", action="store_true", help="with --library: what forced alignment makes of it"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    for engine in args.engine or ["piper", "pyttsx3"]:
        if args.library:
            library(engine, args.align)
            continue
        with tempfile.TemporaryDirectory(prefix="letgo-bench-verify-") as folder:
            cost(engine, args.minutes, args.repeat, Path(folder))
            for template in args.also or ["whole", "grief"]:
                tally, wall = run(engine, template, None, Path(folder) / "cache", None)
                report(engine, template, "cold", tally, wall)


if __name__ == "__main__":
    main()
