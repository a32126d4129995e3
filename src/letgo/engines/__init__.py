"""Speech engines behind one small interface.

An engine turns sentences into clips. It is built per run from a `VoiceSettings`, holds no
process-wide state, and is closed when the run ends. `make_engine` picks one by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import EngineUnavailable


@dataclass(frozen=True)
class Clip:
    """Mono speech audio: float32 samples in [-1, 1] at `sample_rate`."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class VoiceInfo:
    engine: str
    id: str
    name: str
    language: str = ""
    installed: bool = True


@dataclass(frozen=True)
class VoiceSettings:
    """What the listener hears of the voice itself."""

    voice: str | None = None
    """Voice id (see `letgo voices`); None for the engine's default."""
    rate: int = 150
    """Words per minute; slower than conversation, as a meditation teacher speaks."""
    volume: float = 1.0
    """Engine volume, 0 to 1 (levels are set again when mixing)."""


Progress = Callable[[int, int], None]
"""Called with (done, total) as sentences are spoken."""


class Engine(Protocol):
    name: str

    def identity(self) -> str:
        """Engine, version, voice and settings: everything that changes the sound."""

    def synthesize(self, sentences: Sequence[str], progress: Progress | None = None
                   ) -> Iterator[Clip]:
        """One clip per sentence, in order; raises SynthesisError naming a failed sentence."""

    def voices(self) -> list[VoiceInfo]: ...

    def close(self) -> None: ...


ENGINES = ("pyttsx3", "fake")


def make_engine(name: str, settings: VoiceSettings = VoiceSettings()) -> Engine:
    """Build an engine by name; a clear EngineUnavailable when it cannot run here."""
    if name == "pyttsx3":
        from .pyttsx3 import Pyttsx3Engine
        return Pyttsx3Engine(settings)
    if name == "fake":
        from .fake import FakeEngine
        return FakeEngine(settings)
    raise EngineUnavailable(f"unknown engine '{name}'; choose one of: {', '.join(ENGINES)}")
