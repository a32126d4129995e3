"""One session, end to end: render -> parse -> synthesize -> plan -> mix -> export.

The CLI and the series builder both come through here. Progress is reported through a
callback `progress(stage, done, total)`; nothing here prints.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from . import __version__, atomic, export, mix, normalize, plan, script, tags, templates
from .backgrounds import make_background
from .bell import strike
from .cache import ClipCache
from .engines import Clip, Engine, VoiceSettings, make_engine, trim
from .errors import FitError, UsageError
from .settings import ExportSettings, MixSettings, PlanSettings, spoken_word_lufs

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
#: Longer than this is almost surely a typo (12 hours covers a night's sleep).
MAX_MINUTES = 720.0


@dataclass(frozen=True)
class Request:
    """Everything that decides what a session sounds like."""

    template: str
    variables: Mapping[str, str] = field(default_factory=dict)
    minutes: float | None = None
    engine: str = "pyttsx3"
    voice: VoiceSettings = VoiceSettings()
    plan: PlanSettings = PlanSettings()
    mix: MixSettings = MixSettings()
    export: ExportSettings = ExportSettings()
    template_dirs: tuple[str, ...] = ()
    pronunciations: tuple[str, ...] = ()
    """Pronunciation files applied before the user's own and the built-in one."""
    cache: bool = True
    """Keep and reuse spoken sentences in the synthesis cache."""
    cache_dir: str | None = None
    """The cache folder; None for $LETGO_CACHE_DIR or the user cache folder."""


@dataclass(frozen=True)
class Prepared:
    """A session up to its timeline: what `letgo script` shows and what `render` mixes."""

    info: templates.TemplateInfo
    variables: dict[str, str]
    script: script.Script
    clips: tuple[Clip, ...]
    timeline: plan.Timeline
    spoken: tuple[str, ...] = ()
    """Each sentence as the engine was given it (normalised), by clip index."""


def check_minutes(minutes: float | None) -> None:
    if minutes is None:
        return
    if not minutes > 0:
        raise UsageError(f"--minutes must be more than 0, got {minutes:g}")
    if minutes > MAX_MINUTES:
        raise UsageError(f"--minutes {minutes:g} is more than {MAX_MINUTES:g} (12 hours)")


def target_minutes(request: Request, info: templates.TemplateInfo) -> float | None:
    """The length asked for, else the template's default; above the template's range is an error."""
    check_minutes(request.minutes)
    minutes = request.minutes if request.minutes is not None else info.minutes
    if request.minutes is not None and info.max_minutes and minutes > info.max_minutes:
        raise FitError(f"'{info.name}' runs at most {info.max_minutes:g} minutes "
                       f"(its silences would grow too long); ask for --minutes {info.max_minutes:g} "
                       "or less")
    return minutes


Voice = tuple[float, float]
"""(rate, pitch) of a passage, as <prosody> sets them; (1.0, 0.0) is the voice as it is."""
PLAIN_VOICE: Voice = (1.0, 0.0)


def synthesize(engine: Engine, sentences: list[str], progress: Progress | None = None,
               cache: ClipCache | None = None, voices: list[Voice] | None = None) -> list[Clip]:
    """A clip per sentence; a sentence said twice is spoken once, and one in `cache` not at all.

    `sentences` are what the engine is given (already normalised); `voices[i]` is the (rate,
    pitch) sentence i is said with (the engine's `variant`). The cache key is the (variant)
    engine's identity plus the text, so only a sentence that changed is spoken again."""
    wanted = list(zip(sentences, voices or [PLAIN_VOICE] * len(sentences)))
    unique = list(dict.fromkeys(wanted))
    engines = {voice: engine if voice == PLAIN_VOICE else engine.variant(*voice)
               for voice in dict.fromkeys(voice for _, voice in unique)}
    spoken: dict[tuple[str, Voice], Clip] = {}
    keys: dict[tuple[str, Voice], str] = {}
    if cache is not None:
        identities = {voice: variant.identity() for voice, variant in engines.items()}
        for line in unique:
            keys[line] = cache.key(identities[line[1]], line[0])
            hit = cache.get(keys[line])
            if hit is not None:
                spoken[line] = hit
    missing = [line for line in unique if line not in spoken]
    log.info("%d sentences: %d from the cache, %d to speak",
             len(unique), len(unique) - len(missing), len(missing))
    done = len(unique) - len(missing)
    if progress and done:
        progress("speech", done, len(unique))
    for voice, variant in engines.items():
        texts = [text for text, v in missing if v == voice]
        if not texts:
            continue
        offset = done
        report = ((lambda n, _total, offset=offset: progress("speech", offset + n, len(unique)))
                  if progress else None)
        for text, clip in zip(texts, variant.synthesize(texts, report)):
            clip = trim.edges(clip)
            spoken[(text, voice)] = (cache.put(keys[(text, voice)], clip) if cache is not None
                                     else clip)
        done += len(texts)
    if cache is not None and missing:  # it grew: keep it within its limit
        cache.prune()
    return [spoken[line] for line in wanted]


class Speaker:
    """Renders, parses and speaks a template at a given length, remembering what it spoke:
    finding the shortest length renders the text at a few candidate lengths."""

    def __init__(self, info: templates.TemplateInfo, variables: Mapping[str, str],
                 engine: Engine, normalizer: Callable[[str], str],
                 cache: ClipCache | None = None):
        self.info, self.variables, self.engine = info, variables, engine
        self.normalizer, self.cache = normalizer, cache
        self.spoken: dict[tuple[str, Voice], Clip] = {}

    def parse(self, minutes: float | None) -> script.Script:
        text = templates.render(self.info, self.variables, minutes=minutes)
        return script.parse(text, str(self.info.path))

    def speak(self, parsed: script.Script, progress: Progress | None = None
              ) -> tuple[list[str], list[Clip]]:
        """What the engine is given for each spoken line (normalised), and its clip."""
        lines = parsed.spoken
        said = [self.normalizer(s.text) for s in lines]
        voices = [s.prosody.voice for s in lines]
        new = [(t, v) for t, v in zip(said, voices) if (t, v) not in self.spoken]
        if new:
            clips = synthesize(self.engine, [t for t, _ in new], progress, self.cache,
                               [v for _, v in new])
            self.spoken.update(zip(new, clips))
        return said, [self.spoken[line] for line in zip(said, voices)]

    def at(self, minutes: float) -> tuple[script.Script, list[float]]:
        """The script as rendered for a session of `minutes`, with its clip lengths."""
        parsed = self.parse(minutes)
        return parsed, [c.duration for c in self.speak(parsed)[1]]

    def shortest(self, settings: PlanSettings) -> float:
        """Seconds: the shortest length whose own text fits in it (see plan.shortest_fit)."""
        return plan.shortest_fit(self.at, settings)

    def too_short(self, minutes: float, settings: PlanSettings) -> FitError:
        """The error for `minutes` too short, suggesting a length whose own text fits."""
        shortest = self.shortest(settings)
        suggested = plan.shortest_fit(self.at, settings, rounded=True)
        return FitError(f"'{self.info.name}' does not fit in {minutes:g} min: the script needs "
                        f"at least {plan.format_minutes(shortest)} ({shortest:.0f} s) of speech "
                        f"and pauses; ask for --minutes {suggested / 60:.1f} or more")


def prepare(request: Request, engine: Engine | None = None,
            progress: Progress | None = None) -> Prepared:
    library = templates.TemplateLibrary(request.template_dirs)
    info = library.find(request.template)
    minutes = target_minutes(request, info)
    variables = templates.resolve_variables(info, request.variables)
    text = templates.render(info, variables, minutes=minutes)
    parsed = script.parse(text, str(info.path))
    if not parsed.sentences:
        raise UsageError(f"template '{info.name}' has nothing to say: it rendered no speech")
    normalizer = normalize.load(request.pronunciations)
    cache = ClipCache(request.cache_dir) if request.cache else None
    owned = engine is None
    engine = engine or make_engine(request.engine, request.voice)
    try:
        speaker = Speaker(info, variables, engine, normalizer, cache)
        spoken, clips = speaker.speak(parsed, progress)
        try:
            timeline = plan.plan(parsed, [c.duration for c in clips],
                                 None if minutes is None else minutes * 60, request.plan)
        except FitError:  # say which template and a length that fits, for series and scripts
            raise speaker.too_short(minutes, request.plan) from None
    finally:
        if owned:
            engine.close()
    return Prepared(info, variables, parsed, tuple(clips), timeline, tuple(spoken))


@dataclass(frozen=True)
class Result:
    path: Path
    duration: float
    seconds_taken: float
    prepared: Prepared
    reused: bool = False
    """True when `path` already held this very session and was left as it was."""


#: The tag holding `output_key`: a file whose key matches needs no render.
OUTPUT_KEY = "letgo:output"


def render(request: Request, output: Path, engine: Engine | None = None,
           progress: Progress | None = None, tag: tags.TagInfo | None = None,
           reuse: bool = False) -> Result:
    """Render a session to `output`; the file is complete or absent, never partial.

    `tag` gives the ID3 tags (a series sets album, track, cover...); chapters from the
    template's sections and the inputs that made the file are always added. With `reuse`,
    an `output` made from exactly the same speech, timeline and settings is kept as it is:
    mixing and encoding it again would write the same file.
    """
    started = time.perf_counter()
    output = Path(output).expanduser()
    output = atomic.target(output)
    settings = request.mix
    background = _background(settings)
    try:
        return _render(request, output, background, engine, progress, started, tag, reuse)
    finally:
        getattr(background, "close", lambda: None)()


def _background(settings: MixSettings, offset: float | None = None):
    return make_background(settings.background, settings.sample_rate, beat=settings.beat,
                           offset=settings.background_offset if offset is None else offset)


def mix_settings(request: Request, prepared: Prepared, channels: int) -> MixSettings:
    """The request's mix as this template, output and format need it: the loudness target for
    `channels` unless one was asked for, a long fade for sleep, and room for the encoder's own
    change in level."""
    loudness = request.mix.loudness
    settings = replace(request.mix,
                       loudness=spoken_word_lufs(channels) if loudness is None else loudness,
                       encoder_shift=export.LEVEL_SHIFT.get(request.export.format, 0.0))
    if prepared.info.sleep:
        settings = replace(settings, fade_out=max(settings.fade_out, settings.sleep_fade_out))
    return settings


def bed_loudness(settings: MixSettings, background) -> float:
    """The bed's loudness at unit gain, measured from a twin of `background` (unread)."""
    twin = (background.twin() if hasattr(background, "twin")
            else _background(settings, getattr(background, "offset", None)))
    try:
        return mix.measure_background(twin, settings.sample_rate)
    finally:
        getattr(twin, "close", lambda: None)()


def mix_levels(prepared: Prepared, settings: MixSettings, background,
               bed_lufs: float | None = None) -> mix.Levels:
    """The measured levels of the session (`bed_lufs` from `bed_loudness`, else measured)."""
    if bed_lufs is None:
        bed_lufs = bed_loudness(settings, background)
    return mix.plan_levels(prepared.timeline, prepared.clips, bed_lufs, background.channels,
                           settings, sleep=prepared.info.sleep)


def output_key(prepared: Prepared, settings: MixSettings, export_settings: ExportSettings,
               channels: int, info: tags.TagInfo) -> str:
    """A hash of everything that decides a rendered file's bytes: the speech itself (so a new
    voice, engine release or pronunciation shows), the timeline, the mix, the format, the tags
    and letgo's own version (its mixing code). A background file counts by size and time."""
    digest = hashlib.sha256()
    background = Path(settings.background).expanduser()
    stat = background.stat() if background.is_file() else None
    described = {"letgo": __version__, "mix": asdict(settings), "export": asdict(export_settings),
                 "channels": channels, "timeline": asdict(prepared.timeline),
                 "background_file": [stat.st_size, stat.st_mtime_ns] if stat else None,
                 "tags": {**asdict(info), "cover": hashlib.sha256(info.cover).hexdigest()}}
    digest.update(json.dumps(described, sort_keys=True, default=str).encode("utf-8"))
    for clip in prepared.clips:
        digest.update(f"{clip.sample_rate}:{len(clip.samples)}:".encode())
        digest.update(clip.samples.tobytes())
    return digest.hexdigest()


def _render(request: Request, output: Path, background, engine: Engine | None,
            progress: Progress | None, started: float, tag: tags.TagInfo | None,
            reuse: bool) -> Result:
    made_from = reuse and export.read_extra(output, request.export.format).get(OUTPUT_KEY)
    # While the voice is made ready (a worker starting, clips read from the cache), the
    # other core measures the bed and strikes the bell; unless the file will likely be kept.
    with ThreadPoolExecutor(1) as early:
        bed_lufs = None if made_from else early.submit(bed_loudness, request.mix, background)
        if not made_from:
            early.submit(strike, request.mix.sample_rate)
        prepared = prepare(request, engine, progress)
    settings = mix_settings(request, prepared, background.channels)
    info = session_tags(request, prepared, tag)
    key = output_key(prepared, settings, request.export, background.channels, info)
    if made_from == key:
        log.info("%s is up to date (output key %s)", output, key[:12])
        return Result(output, prepared.timeline.duration, time.perf_counter() - started,
                      prepared, reused=True)
    info = replace(info, extra={**info.extra, OUTPUT_KEY: key})
    levels = mix_levels(prepared, settings, background, bed_lufs.result() if bed_lufs else None)
    total = round(prepared.timeline.duration * settings.sample_rate)
    done = 0

    def on_block(frames: int) -> None:
        nonlocal done
        done += frames
        if progress:
            progress("mix", done, total)

    with atomic.writing(output) as temporary:
        export.encode(mix.blocks(prepared.timeline, levels, background, settings),
                      temporary, settings.sample_rate, background.channels, request.export,
                      on_block)
        if request.export.format == "mp3":
            tags.write(temporary, info)
        else:  # chapters, covers and series tags are ID3; the other formats get the basics
            export.write_tags(temporary, info.title, info.comment, info.extra,
                              format=request.export.format)
    return Result(output, prepared.timeline.duration, time.perf_counter() - started, prepared)


def describe(prepared: Prepared) -> str:
    """The comment tag, for people: the template's description (else its title). What made
    the file, for letgo, is in its own frame (`tags.INPUTS_KEY`)."""
    return prepared.info.description or prepared.info.title


def session_tags(request: Request, prepared: Prepared, tag: tags.TagInfo | None = None
                 ) -> tags.TagInfo:
    """`tag` (or the template's title) with the timeline's chapters and the rebuild inputs."""
    inputs = {**asdict(request), "template": prepared.info.name,
              "template_path": str(prepared.info.path), "variables": prepared.variables,
              "letgo": __version__}
    tag = tag or tags.TagInfo(title=prepared.info.title)
    return replace(
        tag, chapters=prepared.timeline.chapters,
        comment=tag.comment or describe(prepared),
        extra={tags.INPUTS_KEY: json.dumps(inputs, ensure_ascii=False, sort_keys=True),
               **tag.extra})
