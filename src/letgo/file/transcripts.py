"""Transcripts timed from the `Timeline`: WebVTT (for <track> captions) and SRT (for players).

One cue per spoken sentence, from where its clip starts to where it ends, so captions appear
exactly as the voice speaks and never outside the file.
"""

from __future__ import annotations

from letgo import timefmt
from letgo.sound.timeline import Timeline


def cues(timeline: Timeline) -> list[tuple[float, float, str]]:
    """(start, end, text) for each sentence, clamped to the file's length."""
    return [(e.start, min(e.end, timeline.duration), e.text) for e in timeline.speech]


def vtt(timeline: Timeline) -> str:
    lines = ["WEBVTT", ""]
    for n, (start, end, text) in enumerate(cues(timeline), start=1):
        lines += [
            str(n),
            f"{timefmt.stamp(start, '.')} --> {timefmt.stamp(end, '.')}",
            vtt_text(text),
            "",
        ]
    return "\n".join(lines)


def srt(timeline: Timeline) -> str:
    lines = []
    for n, (start, end, text) in enumerate(cues(timeline), start=1):
        lines += [
            str(n),
            f"{timefmt.stamp(start, ',')} --> {timefmt.stamp(end, ',')}",
            _clean(text),
            "",
        ]
    return "\n".join(lines)


def vtt_text(text: str) -> str:
    """Cue text as WebVTT wants it: '&', '<' and '>' escaped, so 'Tom & Jerry' or 'a<b' is
    shown as said and never read as a tag ('-->' is then harmless too)."""
    return " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clean(text: str) -> str:
    """A cue's text on one line, with no '-->' that would end it early."""
    return " ".join(text.split()).replace("-->", "->")
