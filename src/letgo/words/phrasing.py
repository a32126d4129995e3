"""A teacher's phrasing: the pause an engine leaves at a comma, lengthened.

A calm teacher is slow because of the pauses, not because every word is drawn out: the words
come at an ordinary speaking rate, with room between the phrases. The engines already pause
at a comma, semicolon, colon or dash (eSpeak about 0.25 s, Piper 0.3 to 0.5 s at its default
pace), so each of those pauses is found in the clip and lengthened to `phrase_gap` by silence
added at its middle, where the engine's own pause is quietest. The voice itself is untouched.
"""

from __future__ import annotations

import re

import numpy as np

from letgo.sound.dsp import db
from letgo.voice import timing
from letgo.voice.engines import Clip

#: Inside a sentence, the marks a speaker pauses at.
PHRASE_MARK = re.compile(r"[,;:\u2013\u2014]|\s-\s")
#: A frame this far under the clip's loudest frame (dB) is part of a pause.
QUIET_DB = -30.0
#: The shortest quiet stretch taken for a phrase pause (a stop consonant's silence is shorter).
SHORTEST = 0.2
#: How far (share of the clip) a pause may lie from where its mark falls in the text.
NEAR = 0.25
FRAME = 0.01
#: Seconds over which the engine's (already quiet) pause eases to zero at the added silence.
FADE = 0.005


def pauses(clip: Clip) -> list[tuple[int, int]]:
    """(start, end) in samples of each quiet stretch inside the clip, SHORTEST or longer."""
    hop = max(1, round(FRAME * clip.sample_rate))
    frames = clip.frames // hop
    if frames < 3:
        return []
    x = clip.samples[: frames * hop].reshape(frames, hop).astype(np.float64)
    rms = np.sqrt(np.mean(x * x, axis=1))
    quiet = rms < rms.max() * db(QUIET_DB)
    loud = np.flatnonzero(~quiet)
    if not len(loud):
        return []
    inside = np.zeros(frames, dtype=bool)
    inside[loud[0] : loud[-1] + 1] = quiet[loud[0] : loud[-1] + 1]
    edges = np.flatnonzero(np.diff(np.concatenate([[0], inside.astype(np.int8), [0]])))
    runs = zip(edges[::2], edges[1::2], strict=False)
    return [(a * hop, b * hop) for a, b in runs if (b - a) * FRAME >= SHORTEST - 1e-9]


def widen(clip: Clip, text: str, phrase_gap: float) -> Clip:
    """`clip` (speaking `text`) with each phrase pause at least `phrase_gap` seconds long.

    Each mark in the text is matched to the unclaimed pause nearest to where the mark falls
    (by its share of the text's characters), if one lies within NEAR of the clip's length; a
    mark the engine did not pause at is left alone rather than cut into a word."""
    marks = [m.start() for m in PHRASE_MARK.finditer(text.rstrip())]
    if not marks or phrase_gap <= 0:
        return clip
    found = pauses(clip)
    n = clip.frames
    chosen: list[tuple[int, int]] = []
    for mark in marks:
        expected = n * mark / max(len(text), 1)
        free = [
            p for p in found if p not in chosen and abs((p[0] + p[1]) / 2 - expected) <= NEAR * n
        ]
        if free:
            chosen.append(min(free, key=lambda p: abs((p[0] + p[1]) / 2 - expected)))
    want = round(phrase_gap * clip.sample_rate)
    inserts = sorted(((a + b) // 2, want - (b - a)) for a, b in chosen if want > b - a)
    if not inserts:
        return clip
    samples = clip.samples
    fade = max(1, round(FADE * clip.sample_rate))
    ramp = np.linspace(1.0, 0.0, fade, dtype=np.float32)
    parts, last = [], 0
    for at, extra in inserts:  # the engine's pause eases to zero either side of the silence
        samples[max(0, at - fade) : at] *= ramp[fade - (at - max(0, at - fade)) :]
        samples[at : at + fade] *= ramp[::-1][: len(samples[at : at + fade])]
        parts += [samples[last:at], np.zeros(extra, dtype=np.float32)]
        last = at
    parts.append(samples[last:])
    return Clip(np.concatenate(parts), clip.sample_rate, timing.widened(clip.words, inserts))
