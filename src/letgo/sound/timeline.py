"""Placing every sentence, silence and bell on a timeline, fitted to the length asked for.

Fixed parts (speech, gaps, fixed pauses, bells, lead-in and tail) keep their lengths. Flexible
pauses run `minimum + weight * stretch`, with one `stretch` for the whole script chosen so the
total is exactly the target; with no target, stretch is 1 and each pause is as written.

A hold (a flexible pause with return cues) that grows past `PlanSettings.hold_split` is cut into
equal silent parts with its cues said in turn between them. The cues are spoken inside the
hold's own length, so the hold still lasts `minimum + weight * stretch` and the fit stays exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from letgo import timefmt
from letgo.errors import FitError
from letgo.settings.groups import PlanSettings
from letgo.words.script import Cue, CueKind, Pause, Script, Speech

EventKind = Literal["speech"] | CueKind
"""What sounds at an event: a spoken sentence, or a cue (a bell)."""


@dataclass(frozen=True)
class Event:
    """A sound on the timeline: a spoken sentence (`clip` indexes the sentence list) or a bell."""

    start: float
    duration: float
    kind: EventKind
    text: str = ""
    clip: int = -1
    section: int = 0
    volume: float = 0.0
    """dB on this clip after levelling (from <prosody volume=...>)."""
    words: tuple[tuple[str, float, float], ...] = ()
    """(word as written, start, end) of each word of a sentence, in seconds from the start of
    the file (see `with_words`); empty until the words are timed."""

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


def _lengths(
    script: Script, clip_seconds: Sequence[float], settings: PlanSettings
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


def shortest_seconds(
    script: Script, clip_seconds: Sequence[float], settings: PlanSettings = PlanSettings()
) -> float:
    fixed, minimum, _ = _lengths(script, clip_seconds, settings)
    return fixed + minimum


def shortest_fit(
    at: Callable[[float], tuple[Script, Sequence[float]]],
    settings: PlanSettings = PlanSettings(),
    rounded: bool = False,
    rounds: int = 20,
) -> float:
    """The shortest length, in seconds, when the script itself depends on the length.

    `at(minutes)` renders and speaks the script for a session of `minutes` (templates see
    `minutes` and may add guidance when there is time). Starting from the text at 0 minutes,
    render again at the shortest length that text needs, until the text rendered at a length
    fits in it. Texts that only grow with `minutes` make this the shortest length that fits
    (each round can only move up to it). With `rounded`, every candidate is rounded up to the
    tenth of a minute, so the answer is a length a person can type and that fits."""
    minutes = 0.0
    for _ in range(rounds):
        script, clips = at(minutes)
        need = shortest_seconds(script, clips, settings)
        if need <= minutes * 60 + 1e-6:
            return minutes * 60 if rounded else need
        minutes = suggest_minutes(need) if rounded else need / 60
    raise FitError(
        f"no length fits: the text grows faster than the length "
        f"({timefmt.length(need)} needed at {minutes:.1f} min)"
    )


def natural_seconds(
    script: Script, clip_seconds: Sequence[float], settings: PlanSettings = PlanSettings()
) -> float:
    """The length with every pause as written (stretch 1)."""
    fixed, minimum, weight = _lengths(script, clip_seconds, settings)
    return fixed + minimum + weight


def plan(
    script: Script,
    clip_seconds: Sequence[float],
    target_seconds: float | None = None,
    settings: PlanSettings = PlanSettings(),
) -> Timeline:
    """Lay the script out in time. `clip_seconds[i]` is the spoken length of sentence i."""
    spoken = script.spoken
    if len(clip_seconds) != len(spoken):
        raise ValueError(f"{len(clip_seconds)} clip lengths for {len(spoken)} spoken lines")
    fixed, minimum, weight = _lengths(script, clip_seconds, settings)
    stretch, tail = 1.0, settings.tail
    if target_seconds is not None:
        spare = target_seconds - fixed - minimum
        if spare < -1e-6:
            raise too_short(fixed + minimum)
        if weight > 0:
            stretch = max(spare, 0.0) / weight
        else:
            tail += spare  # nothing to stretch: the background carries the rest

    events: list[Event] = []
    silences: list[Silence] = []
    starts: list[tuple[tuple[str, int], float]] = []  # ((title, section), start)
    items = script.items
    owners = [n for n, section in enumerate(script.sections) for _ in section.items]
    titled = {n: s.title for n, s in enumerate(script.sections) if s.title}
    t = settings.lead_in
    clip = 0
    cue_clip = len(script.sentences)  # a hold's cues follow the sentences in the clip list
    for i, item in enumerate(items):
        number = owners[i]
        if number in titled and (not starts or starts[-1][0] != (titled[number], number)):
            starts.append(((titled[number], number), 0.0 if not starts else t))
        if isinstance(item, Speech):
            duration = clip_seconds[clip]
            events.append(
                Event(t, duration, "speech", item.text, clip, number, item.prosody.volume)
            )
            clip += 1
            t += duration + _gap_after(items, i, settings)
        elif isinstance(item, Cue):
            events.append(Event(t, settings.bell_gap, item.kind, section=number))
            t += settings.bell_gap
        elif isinstance(item, Pause):
            cues = range(cue_clip, cue_clip + len(item.cues))
            cue_clip += len(item.cues)
            parts = split_hold(
                item.length(stretch), [clip_seconds[c] for c in cues], settings.hold_split
            )
            for n, part in enumerate(parts):
                if n:  # between two parts: the next cue, in turn
                    which = (n - 1) % len(item.cues)
                    cue = item.cues[which]
                    duration = clip_seconds[cues[which]]
                    events.append(
                        Event(
                            t, duration, "speech", cue.text, cues[which], number, cue.prosody.volume
                        )
                    )
                    t += duration
                silences.append(Silence(t, part, item.flexible, item.line))
                t += part
    duration = t + tail
    ends = [start for _, start in starts[1:]] + [duration]
    spans = zip(starts, ends, strict=False)  # no sections: one end, no starts
    chapters = tuple(Chapter(key[0], start, end) for (key, start), end in spans)
    return Timeline(duration, tuple(events), tuple(silences), chapters, stretch)


Timed = Sequence[tuple[str, float, float]]
"""(word as written, start, end) of each word of a clip, in seconds from the clip's start."""


def with_words(timeline: Timeline, words: Callable[[Event], Timed]) -> Timeline:
    """`timeline` with each sentence's words placed in the file: `words(event)` times them
    in its clip (see `letgo.voice.timing.written`), to which the sentence's start is added;
    nothing ends after the sentence or the file."""
    events = []
    for event in timeline.events:
        if event.kind == "speech":
            last = min(event.end, timeline.duration)
            placed = tuple(
                (word, min(event.start + a, last), min(event.start + b, last))
                for word, a, b in words(event)
            )
            event = replace(event, words=placed)
        events.append(event)
    return replace(timeline, events=tuple(events))


def split_hold(length: float, cue_seconds: Sequence[float], limit: float) -> list[float]:
    """The silent parts of a hold `length` s long: one part when it is within `limit` (or has
    no cues), else the fewest equal parts of at most `limit` s, with cue after cue (cycling
    through `cue_seconds`) between them, all within `length`. Parts never go below zero: a
    hold too short for another cue keeps the parts it has."""
    if not cue_seconds or length <= limit:
        return [length]
    parts, spoken = 1, 0.0
    while (length - spoken) / parts > limit:
        more = spoken + cue_seconds[(parts - 1) % len(cue_seconds)]
        if more >= length:
            break
        parts, spoken = parts + 1, more
    return [(length - spoken) / parts] * parts


def too_short(shortest: float) -> FitError:
    """The error for a target under `shortest` seconds, naming a length that fits."""
    return FitError(
        f"the script needs at least {timefmt.length(shortest)} ({shortest:.0f} s) "
        f"of speech and pauses; ask for {suggest_minutes(shortest):.1f} minutes "
        "or more"
    )


def suggest_minutes(seconds: float) -> float:
    """`seconds` as minutes rounded up to the tenth (what a person would type)."""
    return math.ceil(round(seconds / 6, 9)) / 10
