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

from . import __version__, export, mix, normalize, plan, script, tags, templates
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


def synthesize(engine: Engine, sentences: list[str], progress: Progress | None = None,
               cache: ClipCache | None = None) -> list[Clip]:
    """A clip per sentence; a sentence said twice is spoken once, and one in `cache` not at all.

    `sentences` are what the engine is given (already normalised); the cache key is the
    engine's identity plus that text, so only a sentence that changed is spoken again."""
    unique = list(dict.fromkeys(sentences))
    spoken: dict[str, Clip] = {}
    keys: dict[str, str] = {}
    if cache is not None:
        identity = engine.identity()
        for text in unique:
            keys[text] = cache.key(identity, text)
            hit = cache.get(keys[text])
            if hit is not None:
                spoken[text] = hit
    missing = [text for text in unique if text not in spoken]
    log.info("%d sentences: %d from the cache, %d to speak",
             len(unique), len(unique) - len(missing), len(missing))
    hits = len(unique) - len(missing)
    if progress and hits:
        progress("speech", hits, len(unique))
    report = ((lambda done, total: progress("speech", hits + done, len(unique)))
              if progress else None)
    for text, clip in zip(missing, engine.synthesize(missing, report)):
        clip = trim.edges(clip)
        spoken[text] = cache.put(keys[text], clip) if cache is not None else clip
    if cache is not None and missing:  # it grew: keep it within its limit
        cache.prune()
    return [spoken[s] for s in sentences]


def prepare(request: Request, engine: Engine | None = None,
            progress: Progress | None = None) -> Prepared:
    library = templates.TemplateLibrary(request.template_dirs)
    info = library.find(request.template)
    minutes = target_minutes(request, info)
    variables = templates.resolve_variables(info, request.variables)
    text = templates.render(info, variables)
    parsed = script.parse(text, str(info.path))
    if not parsed.sentences:
        raise UsageError(f"template '{info.name}' has nothing to say: it rendered no speech")
    normalizer = normalize.load(request.pronunciations)
    spoken = [normalizer(s.text) for s in parsed.sentences]
    cache = ClipCache(request.cache_dir) if request.cache else None
    owned = engine is None
    engine = engine or make_engine(request.engine, request.voice)
    try:
        clips = synthesize(engine, spoken, progress, cache)
    finally:
        if owned:
            engine.close()
    try:
        timeline = plan.plan(parsed, [c.duration for c in clips],
                             None if minutes is None else minutes * 60, request.plan)
    except FitError as exc:  # say which template, for series builds and scripts
        raise FitError(f"'{info.name}' does not fit in {minutes:g} min: {exc}") from None
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
    export.check_writable(output)
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

    with export.atomic_path(output) as temporary:
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
