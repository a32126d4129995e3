"""`letgo show`: what a template is, what it takes and how long it can run.

The shortest length is speech plus fixed pauses plus every flexible pause at its minimum, so it
depends on the voice: it is computed by speaking the script with the engine asked for. A
template's text may depend on `minutes`, so it is rendered at candidate lengths until the text
at a length fits in it (`plan.shortest_fit`).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import normalize, plan, session, templates
from .cache import ClipCache
from .engines import Engine, make_engine
from .errors import FitError


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
    """Render, speak and plan `request.template` at its default length (no audio is mixed)."""
    info = templates.TemplateLibrary(request.template_dirs).find(request.template)
    variables = templates.resolve_variables(info, request.variables)
    asked = session.target_minutes(request, info) if request.minutes else None
    owned = engine is None
    engine = engine or make_engine(request.engine, request.voice)
    try:
        cache = ClipCache(request.cache_dir) if request.cache else None  # shared with render
        speaker = session.Speaker(info, variables, engine, normalize.load(request.pronunciations),
                                  cache)
        shortest = speaker.shortest(request.plan)
        if info.minutes:
            default = info.minutes * 60
        else:
            default = plan.natural_seconds(*speaker.at(0.0), request.plan)
        target = asked * 60 if asked else default
        try:
            timeline = plan.plan(*speaker.at(target / 60), target, request.plan)
        except FitError:  # the default is too short for this voice: show the shortest instead
            timeline = plan.plan(*speaker.at(shortest / 60), shortest, request.plan)
        sentences = len(speaker.parse(target / 60).sentences)
    finally:
        if owned:
            engine.close()
    sections = tuple((c.title, c.end - c.start) for c in timeline.chapters)
    longest = info.max_minutes * 60 if info.max_minutes else None
    return Overview(info, shortest, default, longest, sections, sentences)
