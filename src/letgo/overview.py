"""`letgo show`: what a template is, what it takes and how long it can run.

The shortest length is speech plus fixed pauses plus every flexible pause at its minimum, so it
depends on the voice: it is computed by speaking the script with the engine asked for. A
template's text may depend on `minutes`, so it is rendered at candidate lengths until the text
at a length fits in it (`plan.shortest_fit`).
"""

from __future__ import annotations

from dataclasses import dataclass

from letgo import session
from letgo.errors import FitError
from letgo.sound import timeline as plan
from letgo.voice.engines import Engine
from letgo.words import templates


@dataclass(frozen=True)
class Overview:
    """A template's description, its length range with one engine, and its sections."""

    info: templates.TemplateInfo
    shortest: float
    """Seconds: speech, fixed pauses and flexible pauses at their minimum."""
    default: float
    """Seconds at the template's own length (its natural length if it names none)."""
    longest: float | None
    """Seconds at max_minutes, or None when the template sets no ceiling."""
    sections: tuple[tuple[str, float], ...]
    """(title, seconds) of each named section at the length asked for, else the default."""
    sentences: int


def overview(request: session.Request, engine: Engine | None = None) -> Overview:
    """`request`'s template written and spoken as `script` and `render` do it (normalised,
    with its pronunciations and the cache), then planned at its shortest, default and asked-for
    lengths; no audio is mixed."""
    composed = session.compose(request)
    info = composed.info
    with session.speaker(request, composed, engine) as speaker:
        shortest = speaker.shortest(request.plan)
        if info.minutes:
            default = info.minutes * 60
        else:
            default = plan.natural_seconds(*speaker.at(0.0), request.plan)
        asked = composed.minutes if request.minutes else None
        target = asked * 60 if asked is not None else default
        try:
            timeline = plan.plan(*speaker.at(target / 60), target, request.plan)
        except FitError:  # too short for this voice: show the shortest instead
            timeline = plan.plan(*speaker.at(shortest / 60), shortest, request.plan)
        sentences = len(speaker.parse(target / 60).sentences)
    sections = tuple((c.title, c.end - c.start) for c in timeline.chapters)
    longest = info.max_minutes * 60 if info.max_minutes else None
    return Overview(info, shortest, default, longest, sections, sentences)
