"""One session, end to end: render -> parse -> synthesize -> plan -> mix -> export.

The CLI and the series builder both come through here. Progress is reported through a
callback `progress(stage, done, total)`; nothing here prints.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PureWindowsPath
from typing import Any, Literal

import numpy as np

from letgo import __version__, freshness, timefmt
from letgo.errors import FitError, UsageError
from letgo.file import atomic, export, ffmpeg, formats, tags, transcripts
from letgo.settings.groups import MixSettings, PlanSettings, spoken_word_lufs
from letgo.settings.request import Request, located
from letgo.sound import mix
from letgo.sound import timeline as plan
from letgo.sound.backgrounds import Background, make_background
from letgo.sound.bell import strike
from letgo.sound.levels import Levels, plan_levels
from letgo.voice import speaking, timing
from letgo.voice.cache import ClipCache
from letgo.voice.engines import Clip, Engine, make_engine
from letgo.words import phrasing, script, templates
from letgo.words import speakable as normalize

log = logging.getLogger(__name__)

Stage = Literal["speech", "mix"]
"""The stages a session reports progress in: speaking its sentences, then mixing."""
StageProgress = Callable[[Stage, int, int], None]
"""Called with (stage, done, total) as a session is made."""


@dataclass(frozen=True)
class TimedScript:
    """The script spoken and laid out in time (a session up to its timeline): what `letgo
    script` shows, what `Session.script` gives and what `render` mixes."""

    info: templates.TemplateInfo
    variables: dict[str, str]
    script: script.Script
    clips: tuple[Clip, ...]
    timeline: plan.Timeline
    spoken: tuple[str, ...] = ()
    """Each sentence as the engine was given it (normalised), by clip index."""

    def listing(self, spoken: bool = False) -> str:
        """The script with its planned timings, as `letgo script` prints it: each sentence,
        bell and pause at its start, under its section. With `spoken`, each sentence as the
        voice reads it (numbers, abbreviations and pronunciations applied)."""
        timeline = self.timeline
        lines = [
            f"{self.info.title}: {timefmt.length(timeline.duration)} "
            f"(flexible pauses at {timeline.stretch:.2f}x their written length)"
        ]
        rows = [(e.start, e) for e in timeline.events] + [(s.start, s) for s in timeline.silences]
        chapters = list(timeline.chapters)
        for start, item in sorted(rows, key=lambda row: row[0]):
            while chapters and chapters[0].start <= start:
                chapter = chapters.pop(0)
                lines.append(
                    f"\n## {chapter.title}  [{timefmt.clock(chapter.start)}]  "
                    f"({timefmt.clock(chapter.end - chapter.start)} long)"
                )
            if isinstance(item, plan.Silence):
                kind = "flexible pause" if item.flexible else "pause"
                lines.append(f"  {timefmt.clock(start):>8}  [{kind} {item.duration:.1f} s]")
            elif item.kind == "speech":
                text = self.spoken[item.clip] if spoken else item.text
                lines.append(f"  {timefmt.clock(start):>8}  {text}")
            else:
                lines.append(f"  {timefmt.clock(start):>8}  [{item.kind}]")
        lines.append(f"\nTotal: {timefmt.clock(timeline.duration)} ({timeline.duration:.1f} s)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.listing()


def target_minutes(request: Request, info: templates.TemplateInfo) -> float | None:
    """The length asked for, else the template's default; above the template's range is an
    error, or (`request.nearest`) the template's longest length."""
    minutes = request.minutes
    if minutes is None:
        return info.minutes
    if info.max_minutes and minutes > info.max_minutes:
        if request.nearest:
            return info.max_minutes
        raise FitError(
            f"'{info.name}' runs at most {info.max_minutes:g} minutes "
            f"(its silences would grow too long); ask for {info.max_minutes:g} minutes "
            "or less"
        )
    return minutes


class Speaker:
    """Renders, parses and speaks a template at a given length, remembering what it spoke:
    finding the shortest length renders the text at a few candidate lengths."""

    def __init__(
        self,
        info: templates.TemplateInfo,
        variables: Mapping[str, str],
        engine: Engine,
        normalizer: Callable[[str], str],
        cache: ClipCache | None = None,
        phrase_gap: float = PlanSettings.phrase_gap,
        strict: bool = False,
    ):
        self.info, self.variables, self.engine = info, variables, engine
        self.normalizer, self.cache, self.phrase_gap = normalizer, cache, phrase_gap
        self.strict = strict
        self.spoken: dict[tuple[str, speaking.RatePitch], Clip] = {}

    def parse(self, minutes: float | None) -> script.Script:
        text = templates.render(self.info, self.variables, minutes=minutes)
        return script.parse(text, str(self.info.path))

    def speak(
        self, parsed: script.Script, progress: StageProgress | None = None
    ) -> tuple[list[str], list[Clip]]:
        """What the engine is given for each spoken line (normalised), and its clip."""
        lines = parsed.spoken
        said = [self.normalizer(s.text) for s in lines]
        voices = [s.prosody.voice for s in lines]
        new = [(t, v) for t, v in zip(said, voices, strict=False) if (t, v) not in self.spoken]
        if new:
            clips = speaking.synthesize(
                self.engine,
                [t for t, _ in new],
                (lambda done, total: progress("speech", done, total)) if progress else None,
                self.cache,
                [v for _, v in new],
                label=f"'{self.info.name}'",
                strict=self.strict,
            )
            # each phrase pause lengthened (see `phrasing`): after the cache, so a new
            # phrase_gap needs no sentence spoken again
            self.spoken.update(
                (line, phrasing.widen(clip, line[0], self.phrase_gap))
                for line, clip in zip(new, clips, strict=False)
            )
        return said, [self.spoken[line] for line in zip(said, voices, strict=False)]

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
        return FitError(
            f"'{self.info.name}' does not fit in {minutes:g} min: the script needs "
            f"at least {timefmt.length(shortest)} ({shortest:.0f} s) of speech "
            f"and pauses; ask for {suggested / 60:.1f} minutes or more"
        )


@dataclass(frozen=True)
class Composed:
    """A session up to its words: the template rendered at its length and parsed, each
    sentence normalised. Cheap (nothing is spoken), so the freshness key starts from it."""

    info: templates.TemplateInfo
    variables: dict[str, str]
    text: str
    """The script markup the template rendered."""
    script: script.Script
    spoken: tuple[str, ...]
    """Each spoken line as the engine is given it (normalised)."""
    minutes: float | None
    """The length to fit: the one asked for, else the template's own."""
    normalizer: Callable[[str], str] = field(compare=False, repr=False, default=str)


def compose(request: Request) -> Composed:
    """Render, parse and normalise `request`'s template; nothing is spoken."""
    with located(request):
        info = templates.TemplateLibrary(request.template_dirs).find(request.template)
        minutes = target_minutes(request, info)
        variables = templates.resolve_variables(info, request.variables)
        text = templates.render(info, variables, minutes=minutes)
        parsed = script.parse(text, str(info.path))
        if not parsed.sentences:
            raise UsageError(f"template '{info.name}' has nothing to say: it rendered no speech")
        normalizer = normalize.load(request.pronunciations)
        spoken = tuple(normalizer(s.text) for s in parsed.spoken)
    return Composed(info, variables, text, parsed, spoken, minutes, normalizer)


@contextmanager
def speaker(
    request: Request, composed: Composed, engine: Engine | None = None
) -> Iterator[Speaker]:
    """A Speaker for `written` with the request's engine (unless one is given), its
    pronunciations and the synthesis cache: how script, show and render all speak."""
    cache = ClipCache(request.cache_dir) if request.cache else None
    with located(request):
        owned = engine is None
        engine = engine or make_engine(request.engine, request.voice)
        try:
            yield Speaker(
                composed.info,
                composed.variables,
                engine,
                composed.normalizer,
                cache,
                request.plan.phrase_gap,
                request.verify,
            )
        finally:
            if owned:
                engine.close()


def prepare(
    request: Request,
    engine: Engine | None = None,
    progress: StageProgress | None = None,
    composed: Composed | None = None,
) -> TimedScript:
    """The session up to its timeline: what `letgo script` shows and `render` mixes."""
    composed = composed or compose(request)
    minutes = composed.minutes
    parsed = composed.script
    with speaker(request, composed, engine) as voice:
        spoken, clips = voice.speak(parsed, progress)
        try:
            timeline = plan.plan(
                parsed,
                [c.duration for c in clips],
                None if minutes is None else minutes * 60,
                request.plan,
            )
        except FitError:  # say which template and a length that fits, for series and scripts
            if not request.nearest:
                if minutes is None:  # no length was asked for: none to compare
                    raise
                raise voice.too_short(minutes, request.plan) from None
            seconds = plan.shortest_fit(voice.at, request.plan, rounded=True)  # the nearest
            parsed = voice.parse(seconds / 60)
            spoken, clips = voice.speak(parsed, progress)
            timeline = plan.plan(parsed, [c.duration for c in clips], seconds, request.plan)
    timeline = plan.with_words(timeline, lambda e: words_of(e.text, spoken[e.clip], clips[e.clip]))
    return TimedScript(
        composed.info, composed.variables, parsed, tuple(clips), timeline, tuple(spoken)
    )


def words_of(text: str, said: str, clip: Clip) -> plan.Timed:
    """(word as written, start, end) of each word of `text` in `clip`, which says `said`."""
    rate = clip.sample_rate
    spans = timing.spans(clip, said)
    return timing.written(text, said, [(a / rate, b / rate) for a, b in spans])


@dataclass(frozen=True)
class Result:
    path: Path
    duration: float
    seconds_taken: float
    prepared: TimedScript | None
    """The session as it was mixed; None when `reused`."""
    reused: bool = False
    """True when `path` already held this very session and was left as it was."""


def render(
    request: Request,
    output: Path,
    engine: Engine | None = None,
    progress: StageProgress | None = None,
    tag: tags.TagInfo | None = None,
    reuse: bool = False,
    key: str | None = None,
    bed: Background | None = None,
    encoders: int | None = None,
) -> Result:
    """Render a session to `output`; the file is complete or absent, never partial.

    `tag` gives the tags (a series sets album, track, cover...); chapters from the template's
    sections and the inputs that made the file are always added, with the freshness key
    (`key` if the caller has it already). With `reuse`, an `output` made with the same key is
    kept as it is: mixing and encoding it again would write the same file. `bed` is played
    instead of the background `request` names (the Python API's AudioSegment; its
    `request.mix.background` names it for the key); it is closed when done. `encoders`: how
    many at once may encode it (an MP3 is encoded in halves on two; by default as many as
    there are cores, up to two; a series building several sessions at once gives 1).
    """
    started = time.perf_counter()
    output = Path(output).expanduser()
    output = atomic.target(output)
    composed = compose(request)
    key = key or freshness.freshness_key(request, freshness.words_hash(composed), tag)
    if reuse and formats.read_extra(output, request.export.format).get(tags.HASH_KEY) == key:
        log.info("%s is up to date (freshness key %s)", output, key[:12])
        return Result(
            output, formats.duration(output), time.perf_counter() - started, None, reused=True
        )
    with located(request):
        background = bed or _background(request.mix)
    try:
        with located(request):
            return _render(
                request, composed, output, background, engine, progress, started, tag, key, encoders
            )
    finally:
        background.close()


def _background(settings: MixSettings) -> Background:
    return make_background(
        settings.background,
        settings.sample_rate,
        beat=settings.beat,
        offset=settings.background_offset,
    )


def mix_settings(request: Request, prepared: TimedScript, channels: int) -> MixSettings:
    """The request's mix as this template, output and format need it: the loudness target for
    `channels` unless one was asked for, a long fade for sleep, and room for the encoder's own
    change in level and its overshoot of peaks."""
    loudness = request.mix.loudness
    kind = formats.get(request.export.format)
    settings = replace(
        request.mix,
        loudness=spoken_word_lufs(channels) if loudness is None else loudness,
        encoder_shift=kind.level_shift,
        peak_margin=request.mix.peak_margin + kind.overshoot,
    )
    if prepared.info.sleep:
        settings = replace(settings, fade_out=max(settings.fade_out, settings.sleep_fade_out))
    return settings


def bed_level(settings: MixSettings, background: Background) -> mix.BedLevel:
    """The bed's loudness and peak at unit gain, measured from a twin of `background`
    (unread)."""
    twin = background.twin()
    try:
        return mix.measure_background(twin, settings.sample_rate)
    finally:
        twin.close()


def mix_levels(
    prepared: TimedScript,
    settings: MixSettings,
    background: Background,
    bed: mix.BedLevel | None = None,
) -> Levels:
    """The measured levels of the session (`bed` from `bed_level`, else measured)."""
    if bed is None:
        bed = bed_level(settings, background)
    return plan_levels(
        prepared.timeline,
        prepared.clips,
        bed,
        background.channels,
        settings,
        sleep=prepared.info.sleep,
    )


class Mixed:
    """A session ready to be heard: its timeline and mix settings, and its sound, made block
    by block as a stream from `blocks` is read, so memory does not grow with its length."""

    def __init__(
        self, prepared: TimedScript, settings: MixSettings, background: Background, bed: Future
    ):
        self.prepared, self.settings, self.background = prepared, settings, background
        self.channels, self.sample_rate = background.channels, settings.sample_rate
        self.frames = round(prepared.timeline.duration * settings.sample_rate)
        self._bed = bed
        self._levels: Levels | None = None

    def blocks(self, start: int = 0, end: int | None = None) -> Iterator[np.ndarray]:
        """The session's frames from `start` to `end` (its end for None) as float32 blocks of
        shape (frames, channels) (see `mix.blocks`). The first stream plays the background,
        any other a twin of it: take every stream before reading any. The levels are planned
        at the first call (a caller starts its encoders first, to start up meanwhile)."""
        if self._levels is None:
            self._levels = mix_levels(
                self.prepared, self.settings, self.background, self._bed.result()
            )
            return mix.blocks(
                self.prepared.timeline, self._levels, self.background, self.settings, start, end
            )
        return self._twin(self.background.twin(), self._levels, start, end)

    def _twin(
        self, twin: Background, levels: Levels, start: int, end: int | None
    ) -> Iterator[np.ndarray]:
        try:
            yield from mix.blocks(self.prepared.timeline, levels, twin, self.settings, start, end)
        finally:
            twin.close()


def mixed(
    request: Request,
    background: Background,
    engine: Engine | None = None,
    progress: StageProgress | None = None,
    composed: Composed | None = None,
) -> Mixed:
    """The session's sound over `background` (the caller closes it): what `render` encodes
    and the Python API hands out as AudioSegments."""
    # While the voice is made ready, the other core finds the encoder. The bed is measured
    # and the bell struck once the speaking is done (0.2 s): beside it, their allocations
    # raised Piper's peak by about 20 MB (a 15-minute session: 278 MB against 258 MB).
    with ThreadPoolExecutor(2) as early:
        early.submit(ffmpeg.find)
        prepared = prepare(request, engine, progress, composed)
        bed = early.submit(bed_level, request.mix, background)
        early.submit(strike, request.mix.sample_rate)
    return Mixed(prepared, mix_settings(request, prepared, background.channels), background, bed)


def _render(
    request: Request,
    composed: Composed,
    output: Path,
    background: Background,
    engine: Engine | None,
    progress: StageProgress | None,
    started: float,
    tag: tags.TagInfo | None,
    key: str,
    encoders: int | None,
) -> Result:
    sound = mixed(request, background, engine, progress, composed)
    prepared, total = sound.prepared, sound.frames
    info = session_tags(request, prepared, tag)
    info = replace(info, extra={**info.extra, tags.HASH_KEY: key})
    done = 0

    def on_block(frames: int) -> None:
        nonlocal done
        done += frames
        if progress:
            progress("mix", done, total)

    with atomic.writing(output) as temporary:
        export.encode(
            sound,
            temporary,
            request.export,
            on_block,
            min(2, export.usable_cores()) if encoders is None else encoders,
            name=output,
        )
        # MP3 gets the full ID3 tag (chapters, cover, series); the other formats the basics
        formats.get(request.export.format).write_tags(temporary, info)
    transcripts.write_beside(output, prepared.timeline, request.export.captions or "none")
    return Result(output, prepared.timeline.duration, time.perf_counter() - started, prepared)


def describe(prepared: TimedScript) -> str:
    """The comment tag, for people: the template's description (else its title). What made
    the file, for letgo, is in its own frame (`tags.INPUTS_KEY`)."""
    return prepared.info.description or prepared.info.title


def _unplaced(value: Any) -> Any:
    """A setting's value as a shared file may show it: a path is given by its file name alone,
    so no tag publishes the folders of the computer it was made on (the freshness key, in
    its own frame, covers the files themselves)."""
    if isinstance(value, list | tuple):
        return [_unplaced(v) for v in value]
    if isinstance(value, Path) or (isinstance(value, str) and ("/" in value or "\\" in value)):
        return PureWindowsPath(str(value)).name  # takes either separator
    return value


def session_tags(
    request: Request, prepared: TimedScript, tag: tags.TagInfo | None = None
) -> tags.TagInfo:
    """`tag` (or the template's title) with the timeline's chapters and the inputs: the
    template, its variables and every setting."""
    inputs = {
        **{name: _unplaced(value) for name, value in request.settings().items()},
        "template": prepared.info.name,
        "template_file": prepared.info.path.name,
        "variables": prepared.variables,
        "letgo": __version__,
    }
    tag = tag or tags.TagInfo(title=prepared.info.title)
    return replace(
        tag,
        chapters=prepared.timeline.chapters,
        comment=tag.comment or describe(prepared),
        extra={
            tags.INPUTS_KEY: json.dumps(inputs, ensure_ascii=False, sort_keys=True),
            **tag.extra,
        },
    )
