"""Word times: where each word of a sentence is said in its clip, and in the session.

An engine times the words of the text it was given (`Clip.words`, sample spans at the clip's
rate): Piper from its per-phoneme sample counts, eSpeak NG from its word events, the fake engine
exactly. Each step that changes a clip moves the spans with it (`shifted` for the trimmed edges,
`widened` for the silences phrasing adds at commas), the cache keeps them with the samples, and
the timeline adds the clip's start, so a word's time in the file is exact to a sample.

The engine speaks the normalised text ("4 counts" as "four counts"); captions show the text as
written. `written` maps one onto the other word by word: words that match keep their times,
and a run that differs ("4" for "four") shares the span of what was said for it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import numpy as np

from letgo.sound.dsp import db
from letgo.voice.engines import Clip, Spans

#: Quieter than this under the clip's loudest 10 ms (dB) is a pause between words.
QUIET_DB = -35.0
_FRAME = 0.01


def tokens(text: str) -> list[str]:
    """The words of `text` as they are timed: split at white space."""
    return text.split()


def valid(spans: Spans | None, words: int, length: int) -> bool:
    """Whether `spans` time `words` words inside a clip of `length` samples, in order."""
    if spans is None or len(spans) != words:
        return False
    last = 0
    for start, end in spans:
        if not (last <= start <= end <= length):
            return False
        last = start
    return True


def shifted(spans: Spans | None, offset: int, length: int) -> Spans | None:
    """`spans` in a clip cut to start `offset` samples later and be `length` long."""
    if spans is None:
        return None
    offset, length = int(offset), int(length)
    return tuple(
        (min(max(0, int(a) - offset), length), min(max(0, int(b) - offset), length))
        for a, b in spans
    )


def widened(spans: Spans | None, inserts: Sequence[tuple[int, int]]) -> Spans | None:
    """`spans` after `extra` samples of silence are put in at each (at, extra) of `inserts`:
    a word that starts at or after `at` moves on, a word that ends at or before it stays."""
    if spans is None or not inserts:
        return spans

    def moved(x: int, starting: bool) -> int:
        return x + sum(extra for at, extra in inserts if (at <= x if starting else at < x))

    return tuple((moved(a, True), moved(b, False)) for a, b in spans)


def _loudness(samples: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """(whether each 10 ms frame is loud, samples a frame)."""
    hop = max(1, round(_FRAME * rate))
    frames = max(1, len(samples) // hop)
    x = np.zeros(frames * hop, dtype=np.float64)
    x[: min(len(samples), frames * hop)] = samples[: frames * hop]
    rms = np.sqrt(np.mean(x.reshape(frames, hop) ** 2, axis=1))
    peak = rms.max() if len(rms) else 0.0
    return rms > peak * db(QUIET_DB) if peak > 0 else np.zeros(frames, bool), hop


def from_starts(clip: Clip, starts: Sequence[int]) -> Spans:
    """Spans from where each word starts (eSpeak says no more): a word ends where the next
    begins, or at the clip's end, less any pause before it."""
    loud, hop = _loudness(clip.samples, clip.sample_rate)
    n = clip.frames
    spans = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else n
        end = max(start, min(end, n))
        f = min(len(loud), end // hop)
        while f > start // hop + 1 and not loud[f - 1]:
            f -= 1
        spans.append((start, max(start, min(end, f * hop))))
    return tuple(spans)


def estimate(clip: Clip, text: str) -> Spans:
    """Spans where no engine gave them: the voiced part of the clip shared among the words by
    their letters (a fallback for platform voices; captions by the word are then close, not
    exact)."""
    words = tokens(text)
    loud, hop = _loudness(clip.samples, clip.sample_rate)
    on = np.flatnonzero(loud)
    first, last = (on[0] * hop, min(clip.frames, (on[-1] + 1) * hop)) if len(on) else (0, 0)
    weights = np.array([len(w) + 1 for w in words], dtype=np.float64)
    edges = first + np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum() * (last - first)
    bounds = [round(x) for x in edges]
    return tuple((bounds[i], bounds[i + 1]) for i in range(len(words)))


def spans(clip: Clip, text: str) -> Spans:
    """The clip's word spans for `text`: the engine's if whole, else `estimate`."""
    if valid(clip.words, len(tokens(text)), clip.frames):
        assert clip.words is not None
        return clip.words
    return estimate(clip, text)


Phonemes = Sequence[tuple[int, int]]
"""(start, end) in samples of each sounded phoneme of a word, as an engine timed them."""


def fit_groups(words: Sequence[str], groups: Sequence[Phonemes]) -> Spans | None:
    """Spans for `words` from an engine's phoneme groups, one group a word as it heard them.

    The engine may join words ("on the" said as one) or part one ("self-kind" as two): the
    groups are matched to the words in order, each a run of one group to up to three words
    or of up to three groups to one word, the runs whose phoneme counts best fit the words'
    letters. A group that holds several words is cut between phonemes in proportion to their
    letters. None where nothing fits (no groups, or a group with no phonemes)."""
    if not words or not groups or any(not g for g in groups):
        return None
    letters = [max(1, len(_key(w)) or len(w)) for w in words]
    sizes = [len(g) for g in groups]
    ratio = sum(sizes) / sum(letters)
    n, m = len(groups), len(words)
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    step: list[list[tuple[int, int]]] = [[(0, 0)] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    moves = [(1, k) for k in (1, 2, 3)] + [(k, 1) for k in (2, 3)]
    for i in range(n + 1):
        for j in range(m + 1):
            if cost[i][j] == inf:
                continue
            for a, b in moves:
                if i + a > n or j + b > m:
                    continue
                said = sum(sizes[i : i + a])
                want = ratio * sum(letters[j : j + b])
                # a join or a part costs a little, so one to one wins where it fits as well
                c = cost[i][j] + abs(said - want) + 0.5 * (a + b - 2)
                if c < cost[i + a][j + b]:
                    cost[i + a][j + b] = c
                    step[i + a][j + b] = (a, b)
    if cost[n][m] == inf:
        return None
    runs: list[tuple[int, int, int, int]] = []
    i, j = n, m
    while i or j:
        a, b = step[i][j]
        runs.append((i - a, i, j - b, j))
        i, j = i - a, j - b
    spans: list[tuple[int, int]] = []
    for g0, g1, w0, w1 in reversed(runs):
        phonemes = [p for g in groups[g0:g1] for p in g]
        if w1 - w0 == 1:
            spans.append((phonemes[0][0], phonemes[-1][1]))
            continue
        share = np.cumsum([0, *letters[w0:w1]]) / sum(letters[w0:w1]) * len(phonemes)
        cuts = [0, *(min(len(phonemes) - 1, max(1, round(x))) for x in share[1:-1])]
        cuts.append(len(phonemes))
        for k in range(w1 - w0):
            a, b = cuts[k], max(cuts[k] + 1, cuts[k + 1])
            part = phonemes[min(a, len(phonemes) - 1) : b]
            spans.append((part[0][0], part[-1][1]))
    return tuple(spans)


_LETTERS = re.compile(r"[\W_]+")


def _key(word: str) -> str:
    return _LETTERS.sub("", word.lower())


def written(
    text: str, spoken: str, times: Sequence[tuple[float, float]]
) -> list[tuple[str, float, float]]:
    """(word, start, end) for each word of `text` as written, from `times` of each word of
    `spoken` (what the engine said for it). Matching words keep their times; a run of
    written words said otherwise ("4-7-8" said "four seven eight") shares the span of what
    was said for it, by letters; a written word with nothing said for it takes no time."""
    shown, said = tokens(text), tokens(spoken)
    if len(said) != len(times):
        raise ValueError(f"{len(times)} times for {len(said)} words")
    if not shown:
        return []
    if not said:
        return [(w, 0.0, 0.0) for w in shown]
    out: list[tuple[str, float, float]] = []
    matcher = difflib.SequenceMatcher(None, [_key(w) for w in shown], [_key(w) for w in said])
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out += [(shown[i1 + k], *times[j1 + k]) for k in range(i2 - i1)]
        elif op == "insert":
            continue  # said, not written: its time stays with the words around it
        elif j1 == j2:  # written, not said
            at = out[-1][2] if out else times[0][0]
            out += [(w, at, at) for w in shown[i1:i2]]
        else:
            start, end = times[j1][0], times[j2 - 1][1]
            weights = np.array([len(w) + 1 for w in shown[i1:i2]], dtype=np.float64)
            edges = start + np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum() * (
                end - start
            )
            out += [(w, float(edges[k]), float(edges[k + 1])) for k, w in enumerate(shown[i1:i2])]
    return out
