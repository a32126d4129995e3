"""Trimming the silence engines put around a clip, so the planner's gaps are the gaps heard.

Piper starts a clip with up to 0.4 s of quiet and eSpeak ends one with 0.5 s; left in, every
"0.7 s" sentence gap would really be well over a second, and the timeline would place speech
where there is none. A short margin is kept so no onset or decay is cut.
"""

from __future__ import annotations

import numpy as np

from letgo.sound.dsp import db
from letgo.voice.engines import Clip

#: Quieter than this below the clip's peak counts as the engine's padding.
THRESHOLD_DB = -40.0
#: Seconds kept before the first and after the last audible sample.
LEAD_MARGIN = 0.05
TAIL_MARGIN = 0.15


def edges(clip: Clip) -> Clip:
    """`clip` without its leading and trailing silence (unchanged if it has none)."""
    level = np.abs(clip.samples)
    if len(level) == 0:
        return clip
    loud = np.flatnonzero(level > level.max() * db(THRESHOLD_DB))
    if len(loud) == 0:
        return clip
    start = max(0, loud[0] - round(LEAD_MARGIN * clip.sample_rate))
    end = min(len(level), loud[-1] + 1 + round(TAIL_MARGIN * clip.sample_rate))
    if start == 0 and end == len(level):
        return clip
    from letgo.voice.timing import shifted

    return Clip(clip.pcm[start:end], clip.sample_rate, shifted(clip.words, start, end - start))
