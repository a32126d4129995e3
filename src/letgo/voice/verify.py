"""The speech check: does a newly spoken clip say its sentence?

A text-to-speech engine now and then drops a word, stops early or returns near-silence. Each
clip an engine has just spoken is checked against its sentence before it is cached or mixed:

- it is speech of about the right length (`clipcheck`: not silent, not far too short or long);
- the engine timed every word of the text, in order, inside the clip (an engine that stopped
  early times words past its end; one that said something else times another count of words);
- the words come at a plausible pace for the voice, each word has sound under it, there is no
  long silence between two words, and nothing loud before the first or after the last.

The word times are the engine's own (Piper's phoneme lengths, eSpeak NG's word events), and
an engine that said another sentence with as many words, at a similar length, would time it as
well as the right one. So for an English voice, where pocketsphinx is installed (the `align`
extra), the clip is also aligned to its text (`align`): one it cannot align fails. Over every
sentence of the built-in library (`scripts/bench_verify.py --library`) the whole check failed
none of 1666 correct clips with either voice, and with `--align` alignment refused 782 (Piper)
and 1066 (eSpeak) of 1593 clips of another sentence with as many words, all of which the other
checks pass. A sentence with a word its dictionary lacks ("partway", "helpline") and a voice
in another language get the other checks; a voice whose engine gives no word times (macOS and
Windows voices) gets the length and sound checks, and the alignment where it speaks English.
"""

from __future__ import annotations

import numpy as np

from letgo.sound.dsp import gain_db
from letgo.voice import timing
from letgo.voice.align import AlignerProcess
from letgo.voice.engines import Clip, clipcheck

#: A word's loudest 10 ms must be within this of the clip's loudest (dB), or it is silent.
#: Unstressed words are quiet (Piper's final "it." about -33 dB): a word left out is silence.
WORD_DB = -45.0
#: Quieter than this under the clip's loudest 10 ms (dB) is silence.
QUIET_DB = -40.0
#: The longest silence between two words (s); a phrase pause of the engine's is under 1 s.
LONGEST_SILENCE = 1.5
#: Sound this long (s) before the first word or after the last is something not in the text.
STRAY = 0.35
#: A word may take from this share to this multiple of the voice's average word.
PACE = (0.25, 3.5)
_FRAME = 0.01


def _frames(clip: Clip) -> tuple[np.ndarray, int]:
    """dB of each 10 ms frame under the clip's loudest, and samples a frame."""
    hop = max(1, round(_FRAME * clip.sample_rate))
    frames = max(1, clip.frames // hop)
    x = np.zeros(frames * hop, dtype=np.float64)
    x[: min(clip.frames, frames * hop)] = clip.samples[: frames * hop]
    rms = np.sqrt(np.mean(x.reshape(frames, hop) ** 2, axis=1))
    peak = max(float(rms.max()), 1e-12)
    return gain_db(np.maximum(rms, 1e-12) / peak), hop


def problem(
    clip: Clip | None,
    text: str,
    words_per_minute: float,
    timed: bool = True,
    aligner: AlignerProcess | None = None,
) -> str | None:
    """None if `clip` passes the check for `text`; otherwise what is wrong, in a few words.
    `timed`: the engine times its words (else its words' times are not checked); `aligner`:
    the clip must also align to its text where the aligner knows its words."""
    reason = clipcheck.problem(clip, text, words_per_minute)
    if reason is None and clip is not None and timed:
        reason = _timing_problem(clip, text, words_per_minute)
    if reason is None and clip is not None and aligner is not None:
        if aligner.hears(clip, text) is False:
            return "pocketsphinx cannot align the text to it"
    return reason


def _timing_problem(clip: Clip, text: str, words_per_minute: float) -> str | None:
    """What is wrong with the engine's word times and the sound under them, or None."""
    words = timing.tokens(text)
    if not timing.valid(clip.words, len(words), clip.frames):
        got = "no" if clip.words is None else f"{len(clip.words)}"
        return f"the engine timed {got} words for the {len(words)} of the text within the clip"
    assert clip.words is not None
    rate = clip.sample_rate
    db, hop = _frames(clip)
    first, last = clip.words[0][0], clip.words[-1][1]
    average = (last - first) / rate / len(words)
    usual = 60.0 / max(words_per_minute, 1.0)
    if not PACE[0] * usual <= average <= PACE[1] * usual:
        return f"{average:.2f} s a word, where the voice takes about {usual:.2f} s"
    for word, (a, b) in zip(words, clip.words, strict=True):
        inside = db[-(-a // hop) : b // hop]  # the frames wholly inside the word
        if not len(inside):
            inside = db[a // hop : -(-b // hop)]
        if not len(inside) or inside.max() < WORD_DB:
            return f"no sound under the word '{word}'"
    loud = db >= QUIET_DB
    gap = run = 0
    for f in range(first // hop, min(len(loud), last // hop)):
        run = 0 if loud[f] else run + 1
        gap = max(gap, run)
    if gap * _FRAME > LONGEST_SILENCE:
        return f"{gap * _FRAME:.1f} s of silence between two words"
    on = np.flatnonzero(loud)
    if len(on) and (first - on[0] * hop) / rate > STRAY:
        return f"{(first - on[0] * hop) / rate:.1f} s of sound before the first word"
    if len(on) and ((on[-1] + 1) * hop - last) / rate > STRAY:
        return f"{((on[-1] + 1) * hop - last) / rate:.1f} s of sound after the last word"
    return None
