"""Print the built-in library as a table: each meditation's shortest length with each real
voice, its default and longest lengths, and the longest stretch without a spoken line at its
longest length.

Usage: .venv/bin/python scripts/library_table.py [--engines pyttsx3,piper] [NAME ...]

The shortest length is the one `letgo show NAME --engine E` reports: each engine speaks the
script (through the synthesis cache, so a second run is quick) and the text is fitted at
candidate lengths. The longest silence comes from the fake voice (exact clip lengths, so the
figure repeats from run to run; a real voice speaks a little slower, so its silences are if
anything shorter). An engine that is not installed, or fails twice, is shown as "-" (the
reason goes to stderr).
"""

from __future__ import annotations

import argparse
import sys

from letgo import session
from letgo.errors import LetgoError
from letgo.overview import overview
from letgo.timefmt import length
from letgo.voice.engines.fake import FakeEngine
from letgo.words import pacing, templates


def prepare(name: str, minutes: float) -> session.TimedScript:
    request = session.Request(name, minutes=minutes, engine="fake", cache=False)
    return session.prepare(request, engine=FakeEngine())


def shortest(name: str, engine: str) -> str:
    """The shortest length with `engine`, as `letgo show NAME --engine ENGINE` gives it."""
    problem = None
    for _ in range(2):  # a voice that fails once under load (a clip checked and refused) retries
        try:
            return length(overview(session.Request(name, engine=engine)).shortest)
        except LetgoError as exc:
            problem = exc
    print(f"{name} with {engine}: {problem}", file=sys.stderr)
    return "-"


def row(name: str, engines: list[str]) -> str:
    info = templates.TemplateLibrary().find(name)
    gap = pacing.longest_gap(prepare(name, info.max_minutes).timeline, sleep=info.sleep)
    short = " | ".join(shortest(name, engine) for engine in engines)
    return (
        f"| `{name}` | {short} | {info.minutes:g} min | {info.max_minutes:g} min "
        f"| {gap.seconds:.0f} s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="pyttsx3,piper", help="comma-separated engines")
    parser.add_argument("names", nargs="*", help="templates (default: every built-in)")
    args = parser.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    names = args.names or sorted(p.name[:-3] for p in templates.builtin_dir().glob("*.j2"))
    head = " | ".join(f"shortest ({engine})" for engine in engines)
    print(f"| template | {head} | default | longest | longest silence at longest |")
    print("|---|" + "---|" * len(engines) + "---|---|---|")
    for name in names:
        print(row(name, engines), flush=True)


if __name__ == "__main__":
    main()
