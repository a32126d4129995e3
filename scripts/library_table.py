"""Print the built-in library as a table: each meditation's range, the longest stretch without a
spoken line at its longest length, and its words per minute at its default length.

Usage: .venv/bin/python scripts/library_table.py [NAME ...]

Lengths come from the fake voice (exact clip lengths, so the figures repeat from run to run);
a real voice speaks a little slower, so its silences are if anything shorter. Words per minute
counts every spoken word (hold cues included) over the whole session, silences included.
"""

from __future__ import annotations

import sys

from letgo import session
from letgo.overview import overview
from letgo.timefmt import length
from letgo.voice.engines.fake import FakeEngine
from letgo.words import pacing, templates


def prepare(name: str, minutes: float) -> session.Prepared:
    request = session.Request(name, minutes=minutes, engine="fake", cache=False)
    return session.prepare(request, engine=FakeEngine())


def row(name: str) -> str:
    info = templates.TemplateLibrary().find(name)
    shortest = overview(
        session.Request(name, engine="fake", cache=False), engine=FakeEngine()
    ).shortest
    longest = prepare(name, info.max_minutes).timeline
    gap = pacing.longest_gap(longest, sleep=info.sleep)
    default = prepare(name, info.minutes).timeline
    words = sum(len(event.text.split()) for event in default.speech)
    last = max(event.end for event in default.speech)
    return (
        f"| `{name}` | {length(shortest)} – {info.max_minutes:g} min "
        f"(default {info.minutes:g}) | {gap.seconds:.0f} s | "
        f"{words / (default.duration / 60):.0f} | {length(last)} |"
    )


def main(names: list[str]) -> None:
    names = names or sorted(p.name[:-3] for p in templates.builtin_dir().glob("*.j2"))
    print(
        "| template | range | longest silence at longest | words/min at default "
        "| last word at default |"
    )
    print("|---|---|---|---|---|")
    for name in names:
        print(row(name))


if __name__ == "__main__":
    main(sys.argv[1:])
