"""Placing every sentence, silence and bell on a timeline, fitted to the length asked for.

Fixed parts (speech, gaps, fixed pauses, bells, lead-in and tail) keep their lengths. Flexible
pauses run `minimum + weight * stretch`, with one `stretch` for the whole script chosen so the
total is exactly the target; with no target, stretch is 1 and each pause is as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import FitError
from .script import Cue, Pause, Script, Speech
from .settings import PlanSettings


@dataclass(frozen=True)
class Event:
    """A sound on the timeline: a spoken sentence (`clip` indexes the sentence list) or a bell."""

    start: float
    duration: float
    kind: str
    text: str = ""
    clip: int = -1
    section: int = 0

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True)
class Silence:
    start: float
    duration: float
    flexible: bool
    line: int = 0


@dataclass(frozen=True)
class Chapter:
    title: str
    start: float
    end: float


@dataclass(frozen=True)
class Timeline:
    """Where everything falls, in seconds from the start of the file."""

    duration: float
    events: tuple[Event, ...] = field(default_factory=tuple)
    silences: tuple[Silence, ...] = field(default_factory=tuple)
    chapters: tuple[Chapter, ...] = field(default_factory=tuple)
    stretch: float = 1.0

    @property
    def speech(self) -> list[Event]:
        return [e for e in self.events if e.kind == "speech"]


def _lengths(script: Script, clip_seconds: Sequence[float], settings: PlanSettings
             ) -> tuple[float, float, float]:
    """(fixed seconds, shortest flexible seconds, total flexible weight)."""
    fixed = settings.lead_in + settings.tail
    minimum = weight = 0.0
    clips = iter(clip_seconds)
    items = script.items
    for i, item in enumerate(items):
        if isinstance(item, Speech):
            fixed += next(clips) + _gap_after(items, i, settings)
        elif isinstance(item, Cue):
            fixed += settings.bell_gap
        elif isinstance(item, Pause):
            minimum += item.min_length
            weight += item.stretch_weight
    return fixed, minimum, weight


def _gap_after(items: Sequence, i: int, settings: PlanSettings) -> float:
    """The natural gap after a sentence, unless a written pause follows (it speaks for itself)."""
    following = items[i + 1] if i + 1 < len(items) else None
    if isinstance(following, Pause):
        return 0.0
    return settings.paragraph_gap if items[i].paragraph_end else settings.sentence_gap


def shortest_seconds(script: Script, clip_seconds: Sequence[float],
                     settings: PlanSettings = PlanSettings()) -> float:
    fixed, minimum, _ = _lengths(script, clip_seconds, settings)
    return fixed + minimum


def natural_seconds(script: Script, clip_seconds: Sequence[float],
                    settings: PlanSettings = PlanSettings()) -> float:
    """The length with every pause as written (stretch 1)."""
    fixed, minimum, weight = _lengths(script, clip_seconds, settings)
    return fixed + minimum + weight


def plan(script: Script, clip_seconds: Sequence[float], target_seconds: float | None = None,
         settings: PlanSettings = PlanSettings()) -> Timeline:
    """Lay the script out in time. `clip_seconds[i]` is the spoken length of sentence i."""
    sentences = script.sentences
    if len(clip_seconds) != len(sentences):
        raise ValueError(f"{len(clip_seconds)} clip lengths for {len(sentences)} sentences")
    fixed, minimum, weight = _lengths(script, clip_seconds, settings)
    stretch, tail = 1.0, settings.tail
    if target_seconds is not None:
        spare = target_seconds - fixed - minimum
        if spare < -1e-6:
            shortest = fixed + minimum
            raise FitError(f"the script needs at least {format_minutes(shortest)} "
                           f"({shortest:.0f} s) of speech and pauses; ask for "
                           f"--minutes {shortest / 60 + 0.05:.1f} or more")
        if weight > 0:
            stretch = spare / weight
        else:
            tail += spare  # nothing to stretch: the background carries the rest

    events: list[Event] = []
    silences: list[Silence] = []
    starts: list[tuple[str, float]] = []
    items = script.items
    owners = [n for n, section in enumerate(script.sections) for _ in section.items]
    titled = {n: s.title for n, s in enumerate(script.sections) if s.title}
    t = settings.lead_in
    clip = 0
    for i, item in enumerate(items):
        number = owners[i]
        if number in titled and (not starts or starts[-1][0] != (titled[number], number)):
            starts.append(((titled[number], number), 0.0 if not starts else t))
        if isinstance(item, Speech):
            duration = clip_seconds[clip]
            events.append(Event(t, duration, "speech", item.text, clip, number))
            clip += 1
            t += duration + _gap_after(items, i, settings)
        elif isinstance(item, Cue):
            events.append(Event(t, settings.bell_gap, item.kind, section=number))
            t += settings.bell_gap
        elif isinstance(item, Pause):
            length = item.length(stretch)
            silences.append(Silence(t, length, item.flexible, item.line))
            t += length
    duration = t + tail
    ends = [start for _, start in starts[1:]] + [duration]
    chapters = tuple(Chapter(key[0], start, end) for (key, start), end in zip(starts, ends))
    return Timeline(duration, tuple(events), tuple(silences), chapters, stretch)


def format_minutes(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"
