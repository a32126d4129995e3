"""Transcripts timed from the `Timeline`: WebVTT (for <track> captions) and SRT (for players),
and the chapters as Podcasting 2.0 JSON.

One cue per spoken sentence, from where its clip starts to where it ends, so captions appear
exactly as the voice speaks and never outside the file. By the word (`captions = "word"`), a
WebVTT cue also carries each later word's start as a cue timestamp (`<00:01:02.500>word`), as
karaoke-style players and the series page read it; SRT has no such thing and stays by the
sentence.
"""

from __future__ import annotations

import json
from pathlib import Path

from letgo import timefmt
from letgo.file import atomic
from letgo.sound.timeline import Event, Timeline

#: The Podcasting 2.0 JSON chapters format written.
CHAPTERS_VERSION = "1.2.0"


def cues(timeline: Timeline) -> list[tuple[float, float, str]]:
    """(start, end, text) for each sentence, clamped to the file's length."""
    return [(e.start, min(e.end, timeline.duration), e.text) for e in timeline.speech]


def vtt(timeline: Timeline, words: bool = False) -> str:
    """The WebVTT transcript; with `words`, each cue's words after the first carry their start
    as a cue timestamp (`words` from `timeline.with_words`; a sentence without them, or a word
    whose start would not come strictly after the last stamp, inside the cue, goes unstamped)."""
    lines = ["WEBVTT", ""]
    spoken = timeline.speech
    for n, ((start, end, text), event) in enumerate(
        zip(cues(timeline), spoken, strict=True), start=1
    ):
        said = word_text(event, start, end) if words else None
        lines += [
            str(n),
            f"{timefmt.stamp(start, '.')} --> {timefmt.stamp(end, '.')}",
            said or vtt_text(text),
            "",
        ]
    return "\n".join(lines)


def word_text(event: Event, start: float, end: float) -> str | None:
    """A cue's text with a cue timestamp before each word after the first, as WebVTT requires
    them: each after the cue's start and the stamp before it, and before the cue's end (all
    in whole milliseconds, as they are written). None if the sentence has no word times."""
    if not event.words:
        return None
    last, stop = round(start * 1000), round(end * 1000)
    parts = []
    for i, (word, at, _) in enumerate(event.words):
        ms = round(at * 1000)
        if i and last < ms < stop:
            parts.append(f"<{timefmt.stamp(ms / 1000, '.')}>")
            last = ms
        parts.append(vtt_text(word) + (" " if i + 1 < len(event.words) else ""))
    return "".join(parts)


def chapters_json(timeline: Timeline) -> str:
    """The chapters as Podcasting 2.0 JSON chapters (version 1.2.0): a start time (and end
    time) in seconds and a title each."""
    chapters = [
        {"startTime": round(c.start, 3), "endTime": round(c.end, 3), "title": c.title}
        for c in timeline.chapters
    ]
    return json.dumps({"version": CHAPTERS_VERSION, "chapters": chapters}, ensure_ascii=False)


#: The endings of the files written beside an audio file, by kind.
SIDECARS = {"vtt": ".vtt", "srt": ".srt", "chapters": ".chapters.json"}


def sidecars(audio: Path) -> dict[str, Path]:
    """The files written beside `audio`, by kind: its captions and its chapters."""
    return {kind: audio.with_suffix(ending) for kind, ending in SIDECARS.items()}


def write_beside(audio: Path, timeline: Timeline, captions: str, chapters: bool = False) -> None:
    """The captions (`captions` in CAPTIONS: a VTT by the sentence or the word, and an SRT)
    and, with `chapters`, the JSON chapters, each written beside `audio` (complete or
    absent)."""
    files = sidecars(audio)
    if captions != "none":
        atomic.write(files["vtt"], vtt(timeline, words=captions == "word").encode("utf-8"))
        atomic.write(files["srt"], srt(timeline).encode("utf-8"))
    if chapters:
        atomic.write(files["chapters"], chapters_json(timeline).encode("utf-8"))


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
