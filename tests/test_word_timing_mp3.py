"""The word times of the captions in a finished MP3, encoded in two halves and joined.

A session long enough is encoded by two LAME encoders at once and the halves joined
(`letgo.file.mp3join`); the MP3 also starts with the encoder's delay and ends with its padding,
which a player skips by the LAME tag. The captions are timed from the timeline, so the words
must be where the sound is in the file as a player decodes it (ffmpeg here): each sentence's
clip found at its cue's time to the millisecond, on both sides of the join, and every word the
VTT times with sound beginning within 80 ms of its time.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
import soxr
import webvtt

from letgo import session
from letgo.file import ffmpeg, mp3join
from letgo.settings.request import make

STAMP = re.compile(r"<(\d\d):(\d\d):(\d\d)\.(\d\d\d)>")
#: A 10 ms frame quieter than this under the file's loudest is silence.
QUIET_DB = -40.0
HOP = 0.01
#: How near a word's time its sound must begin (the issue's bound).
NEAR = 0.080


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def render(folder, engine: str, template: str, minutes: float):
    """(the prepared session, its MP3 decoded at the session's rate, its VTT's word times):
    rendered with `encoders=2`, and checked to have been encoded in halves and joined."""
    request = make(
        template,
        {"engine": engine, "minutes": minutes, "background": "none", "captions": "word"},
        cache_dir=str(folder / "cache"),
    )
    records, logger = Records(), logging.getLogger("letgo.file.export")
    level = logger.level
    logger.addHandler(records)
    logger.setLevel(logging.INFO)
    try:
        result = session.render(request, folder / f"{template}.mp3", encoders=2)
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    assert "both halves encoded" in records.messages, records.messages  # split and joined
    rate = request.mix.sample_rate
    decoded = ffmpeg.decode(result.path, rate, 1)[:, 0]
    return result.prepared, decoded, rate, vtt_words(folder / f"{template}.vtt")


def seconds(match: re.Match) -> float:
    h, m, s, ms = (int(x) for x in match.groups())
    return h * 3600 + m * 60 + s + ms / 1000


def vtt_words(path) -> list[list[float]]:
    """Each cue's word times as the VTT gives them: the cue's start for its first word, then
    each cue timestamp."""
    cues = []
    for caption in webvtt.read(str(path)).captions:
        start = caption.start_in_seconds + caption.start_time.milliseconds / 1000
        cues.append([start] + [seconds(m) for m in STAMP.finditer(caption.raw_text)])
    return cues


def loudness(decoded: np.ndarray, rate: int) -> np.ndarray:
    """Whether each 10 ms frame of the file has sound."""
    hop = round(HOP * rate)
    frames = len(decoded) // hop
    rms = np.sqrt(np.mean(decoded[: frames * hop].astype(np.float64).reshape(frames, hop) ** 2, 1))
    return rms > rms.max() * 10 ** (QUIET_DB / 20)


def onsets(loud: np.ndarray) -> list[float]:
    """Where sound begins after at least 150 ms of quiet."""
    return [f * HOP for f in range(15, len(loud)) if loud[f] and not loud[f - 15 : f].any()]


def sound_begins_near(loud: np.ndarray, at: float) -> bool:
    """Whether the file has sound from within NEAR of `at` (the first sounding frame at or
    after `at` - NEAR comes before `at` + NEAR)."""
    first, last = round((at - NEAR) / HOP), round((at + NEAR) / HOP)
    return bool(loud[max(0, first) : last + 1].any())


def lag(
    decoded: np.ndarray, rate: int, start: float, clip: np.ndarray, most: float = 0.05
) -> float:
    """Seconds by which `clip` is found later in `decoded` than `start` (its place on the
    timeline), by cross-correlation within `most` either way."""
    n, reach = len(clip), round(most * rate)
    at = round(start * rate)
    window = decoded[max(0, at - reach) : at + n + reach]
    pad = reach - (at - max(0, at - reach))
    window = np.pad(window, (pad, max(0, n + 2 * reach - pad - len(window))))
    size = 1 << (len(window) + n - 1).bit_length()  # by FFT: np.correlate took a minute
    spectrum = np.fft.rfft(window, size) * np.conj(np.fft.rfft(clip, size))
    scores = np.fft.irfft(spectrum, size)[: 2 * reach + 1]  # = np.correlate(..., "valid")
    return (int(np.argmax(scores)) - reach) / rate


def check(prepared, decoded, rate, cues, sharp: bool) -> dict[str, float]:
    """Every check of the words in the file; `sharp`: each clip is found by correlation (a
    voice's spectrum; the fake voice's steady tone is found by its onset instead)."""
    timeline = prepared.timeline
    assert len(decoded) == pytest.approx(timeline.duration * rate, abs=1)  # delay, padding gone
    join = mp3join.halves(len(decoded))[0] / rate
    speech = timeline.speech
    assert len(cues) == len(speech)
    assert any(e.start > join for e in speech) and any(e.end < join for e in speech)
    loud = loudness(decoded, rate)
    words = [t for cue in cues for t in cue]
    assert len(words) > 5 * len(cues)  # the captions are by the word
    for cue, event in zip(cues, speech, strict=True):
        assert cue[0] == pytest.approx(event.start, abs=0.0005)
        for at in cue:
            assert sound_begins_near(loud, at), (event.text, at)
    heard = onsets(loud)
    nearest = [min(abs(w - o) for w in words) for o in heard]
    figures = {
        "words": len(words),
        "onsets": len(heard),
        "onsets_near_a_word": float(np.mean(np.array(nearest) <= NEAR)),
    }
    if sharp:
        lags = []
        for event in speech:
            clip = prepared.clips[event.clip]
            samples = soxr.resample(clip.samples, clip.sample_rate, rate)
            lags.append(lag(decoded, rate, event.start, samples))
        figures["worst_lag"] = float(np.max(np.abs(lags)))
        assert figures["worst_lag"] <= 0.002, lags
    else:
        for event in speech:
            first = round(event.start / HOP)
            assert not loud[first - 15 : first - 1].any() and loud[first : first + 2].all()
    return figures


def test_word_times_hold_in_a_split_mp3_with_the_fake_voice(tmp_path):
    """The fake voice's steady tone: each sentence begins in the file at its cue to 10 ms
    (the encoder's 25 ms delay, or a frame lost at the join, would move it), and every word
    the VTT times is sounding."""
    prepared, decoded, rate, cues = render(tmp_path, "fake", "urge-to-reach-out", 3.0)
    figures = check(prepared, decoded, rate, cues, sharp=False)
    assert figures["onsets_near_a_word"] == 1.0  # every sentence starts where its cue does


@pytest.mark.e2e
def test_word_times_hold_in_a_split_mp3_with_a_real_voice(tmp_path):
    """eSpeak NG (pyttsx3): each sentence's clip is in the decoded file at its cue's time to
    2 ms on both sides of the join; every word the VTT times has sound beginning within
    80 ms of its time, and where sound begins after a pause a word is timed within 80 ms."""
    prepared, decoded, rate, cues = render(tmp_path, "pyttsx3", "urge-to-reach-out", 3.0)
    figures = check(prepared, decoded, rate, cues, sharp=True)
    print(figures)
    assert figures["onsets"] > len(cues)
    assert figures["onsets_near_a_word"] >= 0.95
