"""What the speech check finds and costs, with each engine.

For `letting-go` at 12 minutes: a cold render (an empty synthesis cache) and a warm one (the
same cache), timing the render and, inside it, the speech check (the checks and any sentence
spoken again); for two more meditations, the check over every sentence spoken. Prints, per
engine and meditation, the share of sentences that passed at once, those spoken again and
why, and those that failed twice; and the check's share of the cold and the warm render's
wall time, with the load average beside each timing.

With `--library`, the false failures instead: every sentence of every built-in meditation (each
at its default length) spoken with each voice into an empty cache, and per voice the sentences
checked, passed at once, spoken again and failed twice, each with its sentence and reason.

    .venv/bin/python scripts/bench_verify.py                     # piper and pyttsx3
    .venv/bin/python scripts/bench_verify.py --engine pyttsx3 --also whole
    .venv/bin/python scripts/bench_verify.py --library --engine pyttsx3
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

from letgo import session
from letgo.settings.request import make
from letgo.voice import speaking, verify
from letgo.words import templates


class Tally:
    """Wraps `speaking.checked`: counts, reasons and the time it takes."""

    def __init__(self):
        self.seconds = 0.0
        self.checked = self.again = 0
        self.failed: list[str] = []
        self.reasons: list[str] = []
        self._checked = speaking.checked

    def __call__(self, engine, text, clip, label, strict):
        started = time.perf_counter()
        self.checked += 1
        reason = verify.problem(clip, text, engine.words_per_minute, engine.times_words)
        if reason is not None:
            self.again += 1
            self.reasons.append(f"{label} {text!r}: {reason}")
        try:
            result = self._checked(engine, text, clip, label, strict)
        finally:
            self.seconds += time.perf_counter() - started
        if not result[1]:
            second = verify.problem(result[0], text, engine.words_per_minute, engine.times_words)
            self.failed.append(f"{label} {text!r}: {second}")
        return result


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def run(engine: str, template: str, minutes: float | None, cache: Path, output: Path | None):
    tally = Tally()
    speaking.checked = tally  # type: ignore[assignment]
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
        speaking.checked = tally._checked  # type: ignore[assignment]
    return tally, wall


def report(engine: str, template: str, label: str, tally: Tally, wall: float) -> None:
    passed = tally.checked - tally.again
    share = 100 * passed / tally.checked if tally.checked else 0.0
    print(
        f"{engine:8} {template:22} {label:5} {tally.checked:4} spoken, {passed:4} passed at once "
        f"({share:5.1f}%), {tally.again} spoken again, {len(tally.failed)} failed twice; "
        f"check {tally.seconds:6.2f} s of {wall:7.2f} s ({100 * tally.seconds / wall:4.1f}%) "
        f"[{load()}]"
    )
    for reason in tally.reasons:
        print(f"    again: {reason}")
    for failure in tally.failed:
        print(f"    FAILED TWICE: {failure}")


def library(engine: str) -> None:
    """Every built-in meditation at its default length, spoken into one empty cache (a
    sentence two meditations share is spoken and checked once): the false failures."""
    names = [info.name for info in templates.TemplateLibrary().all()]
    total = Tally()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="letgo-bench-verify-") as folder:
        for name in names:
            tally, _ = run(engine, name, None, Path(folder), None)
            total.checked += tally.checked
            total.again += tally.again
            total.seconds += tally.seconds
            total.reasons += tally.reasons
            total.failed += tally.failed
    wall = time.perf_counter() - started
    passed = total.checked - total.again
    print(
        f"{engine:8} library of {len(names)} meditations: {total.checked} sentences checked, "
        f"{passed} passed at once ({100 * passed / max(1, total.checked):.2f}%), "
        f"{total.again} spoken again, {len(total.failed)} failed twice; "
        f"{wall:.0f} s [{load()}]"
    )
    for reason in total.reasons:
        print(f"    again: {reason}")
    for failure in total.failed:
        print(f"    FAILED TWICE: {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", action="append", choices=("piper", "pyttsx3", "fake"))
    parser.add_argument("--also", action="append", help="more meditations (default: whole, grief)")
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument(
        "--library", action="store_true", help="every built-in meditation: the false failures"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    for engine in args.engine or ["piper", "pyttsx3"]:
        if args.library:
            library(engine)
            continue
        with tempfile.TemporaryDirectory(prefix="letgo-bench-verify-") as folder:
            cache, out = Path(folder) / "cache", Path(folder) / "letting-go.mp3"
            for label in ("cold", "warm"):
                tally, wall = run(engine, "letting-go", args.minutes, cache, out)
                report(engine, "letting-go", label, tally, wall)
            for template in args.also or ["whole", "grief"]:
                tally, wall = run(engine, template, None, cache, None)
                report(engine, template, "cold", tally, wall)


if __name__ == "__main__":
    main()
