"""`letgo show`: what a template is, what it takes and how long it can run.

The shortest length is speech plus fixed pauses plus every flexible pause at its minimum, so it
depends on the voice: it is computed by speaking the script with the engine asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import plan, script, session, templates
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
    text = templates.render(info, templates.resolve_variables(info, request.variables))
    parsed = script.parse(text, str(info.path))
    owned = engine is None
    engine = engine or make_engine(request.engine, request.voice)
    try:
        clips = session.synthesize(engine, [s.text for s in parsed.sentences])
    finally:
        if owned:
            engine.close()
    seconds = [c.duration for c in clips]
    shortest = plan.shortest_seconds(parsed, seconds, request.plan)
    default = info.minutes * 60 if info.minutes else plan.natural_seconds(parsed, seconds,
                                                                          request.plan)
    asked = session.target_minutes(request, info) if request.minutes else None
    try:
        timeline = plan.plan(parsed, seconds, asked * 60 if asked else default, request.plan)
    except FitError:  # the default is too short for this voice: show the shortest instead
        timeline = plan.plan(parsed, seconds, shortest, request.plan)
    sections = tuple((c.title, c.end - c.start) for c in timeline.chapters)
    longest = info.max_minutes * 60 if info.max_minutes else None
    return Overview(info, shortest, default, longest, sections, len(parsed.sentences))
