"""A fake engine with exact, known clip lengths, for fast tests of planning, mixing, batching.

Each sentence becomes a tone of `seconds_per_char * len(text)` seconds, so tests can predict
every clip's length and find "speech" in the output by its level.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from . import Clip, Progress, VoiceInfo, VoiceSettings

SAMPLE_RATE = 22050
SECONDS_PER_CHAR = 0.05


def fake_duration(text: str) -> float:
    """The exact length, in seconds, of the fake clip for `text`."""
    return round(len(text) * SECONDS_PER_CHAR * SAMPLE_RATE) / SAMPLE_RATE


class FakeEngine:
    name = "fake"

    def __init__(self, settings: VoiceSettings = VoiceSettings()):
        self.settings = settings
        self.calls: list[str] = []

    def identity(self) -> str:
        return f"fake/1/{SECONDS_PER_CHAR}"

    def synthesize(self, sentences: Sequence[str], progress: Progress | None = None
                   ) -> Iterator[Clip]:
        for done, text in enumerate(sentences, start=1):
            self.calls.append(text)
            n = round(len(text) * SECONDS_PER_CHAR * SAMPLE_RATE)
            t = np.arange(n, dtype=np.float32) / SAMPLE_RATE
            tone = 0.3 * np.sin(2 * np.pi * 220.0 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))
            yield Clip(tone.astype(np.float32), SAMPLE_RATE)
            if progress:
                progress(done, len(sentences))

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo("fake", "tone", "Test tone (for tests only)", "")]

    def close(self) -> None:
        pass
