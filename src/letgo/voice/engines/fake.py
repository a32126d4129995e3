"""A fake engine with exact, known clip lengths, for fast tests of planning, mixing, batching.

Each sentence becomes a tone of `seconds_per_char * len(text) / rate` seconds, so tests can
predict every clip's length and find "speech" in the output by its level.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import numpy as np

from letgo.voice.engines import Clip, Spans, SpeechProgress, VoiceInfo, VoiceSettings

SAMPLE_RATE = 22050
SECONDS_PER_CHAR = 0.05


def fake_duration(text: str, rate: float = 1.0) -> float:
    """The exact length, in seconds, of the fake clip for `text` said at `rate`."""
    return _frames(text, rate) / SAMPLE_RATE


def _frames(text: str, rate: float) -> int:
    return round(len(text) * SECONDS_PER_CHAR / rate * SAMPLE_RATE)


def fake_words(text: str, rate: float = 1.0) -> Spans:
    """The exact spans of the words of `text` in its fake clip: each character has its
    share of the clip, and a word runs from its first character to its last."""
    return tuple(
        (_frames(text[: m.start()], rate), _frames(text[: m.end()], rate))
        for m in re.finditer(r"\S+", text)
    )


class FakeEngine:
    name = "fake"

    def __init__(
        self,
        settings: VoiceSettings = VoiceSettings(),
        rate: float = 1.0,
        pitch: float = 0.0,
        calls: list[str] | None = None,
    ):
        self.settings = settings
        self.rate, self.pitch = rate, pitch
        self.calls: list[str] = [] if calls is None else calls

    @property
    def words_per_minute(self) -> float:
        """At 0.05 s a letter, an average English word and its space (5.7) take 0.29 s."""
        return 60.0 / (5.7 * SECONDS_PER_CHAR) * self.rate

    times_words = True
    language = ""  # tones: no recogniser hears them as words

    def identity(self) -> str:
        voice = "" if (self.rate, self.pitch) == (1.0, 0.0) else f"/{self.rate}/{self.pitch}"
        return f"fake/1/{SECONDS_PER_CHAR}{voice}"

    def variant(self, rate: float = 1.0, pitch: float = 0.0) -> FakeEngine:
        """Slower is longer (exactly 1/rate); pitch moves the tone. Calls are counted as one."""
        return FakeEngine(
            self.settings, self.rate * rate, (1 + self.pitch) * (1 + pitch) - 1, self.calls
        )

    def synthesize(
        self, sentences: Sequence[str], progress: SpeechProgress | None = None
    ) -> Iterator[Clip]:
        for done, text in enumerate(sentences, start=1):
            self.calls.append(text)
            n = _frames(text, self.rate)
            t = np.arange(n, dtype=np.float32) / SAMPLE_RATE
            pitch = 220.0 * (1 + self.pitch)
            tone = 0.3 * np.sin(2 * np.pi * pitch * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))
            yield Clip(tone.astype(np.float32), SAMPLE_RATE, fake_words(text, self.rate))
            if progress:
                progress(done, len(sentences))

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo("fake", "tone", "Test tone (for tests only)", "")]

    def close(self) -> None:
        pass
