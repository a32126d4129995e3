"""Pacing: how a session feels in time, read from its script and its timeline.

A teacher's rules of thumb, as checks `letgo check` runs and the library's tests measure:
no stretch of more than two minutes without a spoken line (a sleep session's night after its
last word aside), sentences short enough to follow with closed eyes, a beat after each phrase
the listener is asked to repeat, and a floor under every reflective pause. Pure functions over
`Script` and `Timeline`; lengths for a template come from the fake voice (`reference_clips`),
which speaks faster than a real one, so the silences it finds are if anything longer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from letgo import timefmt
from letgo.sound.timeline import Timeline
from letgo.voice.engines.fake import fake_duration
from letgo.words.script import Pause, Script, Speech

#: The longest stretch without a spoken line a listener is left alone with, in seconds.
MAX_SILENCE = 120.0
#: Longer sentences are hard to follow with closed eyes.
MAX_WORDS = 25
#: The least silence after a phrase to repeat: time to begin saying it.
REPEAT_BEAT = 3.0
#: A flexible pause written this long or longer is a reflective pause: it needs a floor.
REFLECTIVE = 8.0
#: Words a minute a little slower than the default voices (pyttsx3 about 158, Piper's joe
#: about 155, scripts/bench_voices.py): a script that fits its default length at this pace
#: fits with either. The fake voice is quicker (about 200), so it cannot tell.
REAL_WPM = 140.0


@dataclass(frozen=True)
class Finding:
    """Something to look at, on line `line` of the rendered script (0: the whole script)."""

    line: int
    message: str


@dataclass(frozen=True)
class Gap:
    """A stretch with no spoken line: from `start`, `seconds` long; `line` is the script line
    of the longest pause in it (0 when there is none)."""

    start: float
    seconds: float
    line: int = 0


def reference_clips(script: Script) -> list[float]:
    """Clip lengths for `script.spoken` from the fake voice (exact, and at each prosody rate)."""
    return [fake_duration(s.text, s.prosody.rate) for s in script.spoken]


def paced_clips(script: Script, words_per_minute: float = REAL_WPM) -> list[float]:
    """Clip lengths for `script.spoken` at a real voice's pace, from their words."""
    return [max(0.4, words(s.text) * 60 / words_per_minute / s.prosody.rate) for s in script.spoken]


def gaps(timeline: Timeline, sleep: bool = False) -> list[Gap]:
    """Every stretch between spoken lines, with the lead-in before the first and, unless
    `sleep` (the night after a sleep session's last word is its purpose), the end after the
    last."""
    spoken = sorted(timeline.speech, key=lambda e: e.start)
    if not spoken:
        return [Gap(0.0, timeline.duration)]
    edges = [(0.0, spoken[0].start)]
    edges += [(a.end, b.start) for a, b in zip(spoken, spoken[1:], strict=False)]
    if not sleep:
        edges.append((spoken[-1].end, timeline.duration))
    found = []
    for start, end in edges:
        inside = [
            s
            for s in timeline.silences
            if s.start >= start - 1e-6 and s.start + s.duration <= end + 1e-6
        ]
        longest = max(inside, key=lambda s: s.duration, default=None)
        found.append(Gap(start, max(0.0, end - start), longest.line if longest else 0))
    return found


def longest_gap(timeline: Timeline, sleep: bool = False) -> Gap:
    return max(gaps(timeline, sleep), key=lambda g: g.seconds)


def words(text: str) -> int:
    return len(re.findall(r"[\w'’-]+", text))


def script_findings(script: Script) -> list[Finding]:
    """What the script says about pacing whatever its length: long sentences, phrases to
    repeat with no beat after them, reflective pauses with no floor."""
    found = []
    items = script.items
    for i, item in enumerate(items):
        if isinstance(item, Speech):
            count = words(item.text)
            if count > MAX_WORDS:
                found.append(
                    Finding(
                        item.line,
                        f"a sentence of {count} words (over "
                        f"{MAX_WORDS}) is hard to follow with closed "
                        f"eyes: '{_start(item.text)}'",
                    )
                )
            following = items[i + 1] if i + 1 < len(items) else None
            if item.repeat and not (isinstance(following, Speech) and following.repeat):
                if not isinstance(following, Pause) or following.min_length < REPEAT_BEAT:
                    found.append(
                        Finding(
                            item.line,
                            f"no beat after the phrase to repeat "
                            f"'{_start(item.text)}': follow it with a "
                            f"pause of at least {REPEAT_BEAT:g} s, e.g. "
                            'repeat("...", pause=6)',
                        )
                    )
        elif (
            isinstance(item, Pause)
            and item.flexible
            and item.minimum is None
            and item.seconds >= REFLECTIVE
        ):
            found.append(
                Finding(
                    item.line,
                    f"a reflective pause of {item.seconds:g} s has no "
                    f"min=, so at the shortest length it shrinks to "
                    f"{item.min_length:g} s; give it min=8 (or what "
                    "it needs)",
                )
            )
    return found


def timeline_findings(
    timeline: Timeline, sleep: bool = False, limit: float = MAX_SILENCE
) -> list[Finding]:
    """A stretch without a spoken line longer than `limit` seconds."""
    gap = longest_gap(timeline, sleep)
    if gap.seconds <= limit:
        return []
    return [
        Finding(
            gap.line,
            f"at {timeline.duration / 60:g} min, {timefmt.length(gap.seconds)} "
            f"pass without a spoken line (over {limit / 60:g} min); use "
            "hold(..., cues=[...]) so long silences are split by a few "
            "words",
        )
    ]


def _start(text: str, length: int = 40) -> str:
    return text if len(text) <= length else text[:length].rsplit(" ", 1)[0] + "..."


#: Words that make a name-like value read as a description ("Say to my ex..."): a first name
#: reads better, and needs no grammar around it.
_DESCRIBING = re.compile(r"^(my|your|our|his|her|their|the|a|an|this|that)\b", re.IGNORECASE)


def value_findings(name: str, help_text: str, value: str, capitalised: bool = False) -> list[str]:
    """Why a value for variable `name` may not read well when said; empty when it is fine.
    Only variables that ask for a name (by name or help text) are judged; `capitalised`
    when the template capitalises the value itself (the capfirst filter)."""
    if not value or not re.search(r"\bname\b|\bperson\b", f"{name} {help_text}", re.I):
        return []
    found = []
    if _DESCRIBING.match(value):
        found.append(
            f"{name}='{value}' reads as a description, not a name (the template "
            f"says it where a name goes: 'Say to {value}...'); a first name reads "
            "best"
        )
    elif value[0].islower() and not capitalised:
        found.append(
            f"{name}='{value}' starts with a small letter; captions show it as "
            f"typed: write '{value[0].upper()}{value[1:]}'"
        )
    return found
