"""Building a series: every session in parallel, incrementally, and never leaving partial files.

Each session's freshness key (freshness.freshness_key: the words as spoken, every setting, the
template, engine and voice, tags, letgo's version) is the one `letgo render` checks too. The
manifest (manifest.py) keeps each session's sources (template file, values, pronunciation files)
beside its words, so a rebuild renders again only the templates whose sources changed, and
records the key each file was built from; a session whose key and files are unchanged is
skipped. Every file is written under a temporary name and renamed; the manifest is rewritten
(atomically) as each session finishes, so a build killed at any moment loses only the sessions
in flight, and the next run removes their temporary files and builds them again.

Sessions run in local processes (`jobs`) or on a Dask distributed cluster (`scheduler`), by
runner.py. A build touches only files inside its folder, whatever the manifest says.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from letgo import freshness, session
from letgo.errors import LetgoError, OutputError, UsageError
from letgo.file import atomic, tags, transcripts
from letgo.file.export import usable_cores
from letgo.series import listen, runner
from letgo.series.manifest import Entry, Manifest, inside, sidecars
from letgo.series.manifest import read as read_manifest
from letgo.series.manifest import write as write_manifest
from letgo.series.plan import Episode, SeriesPlan

log = logging.getLogger(__name__)

LOCK = ".letgo-series.lock"
#: Share of a session's work taken by speaking (the rest is mixing and encoding).
SPEECH_SHARE = 0.4

#: What became of a session; the words `series build --json` prints (public: keep them).
Status = Literal["built", "skipped", "failed"]
STATUSES: tuple[Status, ...] = get_args(Status)
#: A progress report's kind: a session started, moved on, or reached its status.
Kind = Literal["start", "progress", Status]


@dataclass(frozen=True)
class Job:
    """What a worker needs to build one session (picklable, for processes and Dask)."""

    episode: Episode
    output: str
    """Absolute path of the audio file (on a path every worker can reach)."""
    key: str
    sources: str
    """What the manifest keeps beside the key: the hashes of the session's sources..."""
    words: str
    """...and of its words."""
    cover: bytes = b""
    """The cover art's PNG, drawn once for every session that shares it."""
    encoders: int | None = None
    """Encoders at once for this session: 1 while several sessions are built side by side
    (they fill the cores already); None lets a session alone encode on two (`session.render`)."""


@dataclass(frozen=True)
class Outcome:
    relpath: str
    title: str
    status: Status
    seconds: float = 0.0
    duration: float = 0.0
    error: str = ""
    listener: str = ""
    """The listener's folder the session is for ('' in a plain series)."""


@dataclass(frozen=True)
class Update:
    """A progress report: what happened to one session, and where the whole build stands."""

    kind: Kind
    relpath: str
    title: str
    fraction: float
    """This session's progress, 0 to 1."""
    overall: float
    """The build's progress over the sessions being built, 0 to 1."""
    elapsed: float
    remaining: float | None
    """Estimated seconds left; None until there is enough to go on."""
    finished: int
    to_build: int
    message: str = ""
    listener: str = ""
    """The listener's folder the session is for ('' in a plain series)."""


@dataclass
class Summary:
    folder: Path
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    written: list[str] = field(default_factory=list)
    """Listening files (playlist, feed, page, cover) that were written because they changed."""

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def count(self, status: Status) -> int:
        return sum(o.status == status for o in self.outcomes)

    def as_dict(self) -> dict:
        return {
            "folder": str(self.folder),
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            **{status: self.count(status) for status in STATUSES},
            "written": self.written,
            "sessions": [dataclasses.asdict(o) for o in self.outcomes],
        }


OnUpdate = Callable[[Update], None]


# --- inputs, and what the build may touch ----------------------------------------------------


def input_key(episode: Episode, entry: Entry | None) -> tuple[str, str, str]:
    """The session's freshness key (freshness.freshness_key), and the hashes of its sources and
    words to record beside it. When the manifest's `entry` has these very sources, its words
    are taken as they are: an unchanged session is not written again (no template is
    rendered)."""
    request = episode.request
    sources = freshness.sources_hash(request)
    said = entry.words if entry is not None and entry.sources == sources else None
    said = said or freshness.words_hash(session.compose(request))
    key = freshness.freshness_key(
        request, said, episode.tag, cover=f"{episode.cover}/{tags.COVER_STYLE}"
    )
    return key, sources, said


def is_current(folder: Path, episode: Episode, key: str, manifest: Manifest) -> bool:
    entry = manifest.sessions.get(episode.relpath)
    if entry is None or entry.key != key:
        return False
    audio = folder / episode.relpath
    try:
        return audio.stat().st_size == entry.bytes and all(p.is_file() for p in sidecars(audio))
    except OSError:
        return False


def _own_folder(folder: Path, plan: SeriesPlan) -> None:
    """Every file the plan makes lies in the folder or a listener's sub-folder of it, as a
    file of its own: a symlink there (to a folder or a file elsewhere) is refused, so a build
    writes through none."""
    if (folder / listen.PAGE).is_symlink():
        raise OutputError(
            f"{folder / listen.PAGE} is a symlink; a build writes only files of its own: remove it"
        )
    for subfolder, episodes in plan.sets().items():
        target = folder / subfolder
        if subfolder and target.is_symlink():
            raise OutputError(f"{target} is a symlink; a build writes only into its own folders")
        target.mkdir(parents=True, exist_ok=True)
        names = [*(listen.PLAYLIST, listen.FEED, listen.PAGE, listen.COVER)]
        names += [p.name for e in episodes for p in sidecars(Path(e.filename))]
        for name in names:
            if (target / name).is_symlink():
                raise OutputError(
                    f"{target / name} is a symlink; a build writes only files of its own: remove it"
                )


class FolderLock:
    """One build per output folder at a time (an advisory lock, released if the process dies)."""

    def __init__(self, folder: Path):
        self.path = folder / LOCK
        self._held = atomic.held(
            self.path, f"another build is writing to {folder}; wait for it to finish"
        )

    def __enter__(self) -> FolderLock:
        self._held.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._held.__exit__(*exc)


# --- one session (runs in a worker process or on a Dask worker) --------------------------------


def build_one(job: Job, updates=None) -> dict:
    """Build one session's audio, VTT and SRT; returns what the manifest records (an `Entry`'s
    JSON), or an error.

    Never raises for a failing session: the error goes back as text so the others go on.
    `updates` is a queue for (relpath, fraction) progress reports, or None.
    """
    started = time.perf_counter()
    episode = job.episode
    output = Path(job.output)
    last = [-1.0]

    def progress(stage: str, done: int, total: int) -> None:
        part = done / max(total, 1)
        fraction = (
            SPEECH_SHARE * part if stage == "speech" else SPEECH_SHARE + (1 - SPEECH_SHARE) * part
        )
        if updates is not None and fraction - last[0] >= 0.02:
            last[0] = fraction
            updates.put((episode.relpath, fraction))

    try:
        tag = dataclasses.replace(episode.tag, cover=job.cover or tags.cover_png(episode.cover))
        result = session.render(
            episode.request, output, progress=progress, tag=tag, key=job.key, encoders=job.encoders
        )
        assert result.prepared is not None  # made, not reused: it was mixed here
        timeline = result.prepared.timeline
        wanted = episode.request.export.captions
        captions = {None: "word", "none": "sentence"}.get(wanted, wanted or "word")
        transcripts.write_beside(output, timeline, captions, chapters=True)
    except LetgoError as exc:
        return {"error": str(exc), "seconds": time.perf_counter() - started}
    except Exception as exc:  # a bug or an OS failure in one session must not stop the rest
        log.exception("session %s failed", episode.relpath)
        return {"error": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - started}
    return {
        "key": job.key,
        "sources": job.sources,
        "words": job.words,
        "title": episode.title,
        "description": episode.description,
        "track": episode.tag.track,
        "duration": round(timeline.duration, 3),
        "bytes": output.stat().st_size,
        "built": datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        "chapters": [[c.title, round(c.start, 3), round(c.end, 3)] for c in timeline.chapters],
        "cues": [
            [
                round(s, 3),
                round(e, 3),
                t,
                captions == "word" and transcripts.word_text(event, s, e) or "",
            ]
            for (s, e, t), event in zip(transcripts.cues(timeline), timeline.speech, strict=True)
        ],
        "seconds": round(time.perf_counter() - started, 3),
    }


# --- the whole series ---------------------------------------------------------------------------


class _Tracker:
    """Turns per-session fractions into the overall fraction and the time left."""

    def __init__(self, to_build: int, on_update: OnUpdate | None):
        self.to_build, self.on_update = to_build, on_update
        self.fractions: dict[str, float] = {}
        self.finished = 0
        self.started = time.perf_counter()

    def report(self, kind: Kind, episode: Episode, fraction: float, message: str = "") -> None:
        if kind in ("built", "failed"):
            self.finished += 1
            fraction = 1.0
        if kind != "skipped":
            self.fractions[episode.relpath] = fraction
        if self.on_update is None:
            return
        overall = sum(self.fractions.values()) / self.to_build if self.to_build else 1.0
        elapsed = time.perf_counter() - self.started
        remaining = elapsed * (1 - overall) / overall if overall > 0.03 else None
        self.on_update(
            Update(
                kind,
                episode.relpath,
                episode.title,
                fraction,
                overall,
                elapsed,
                remaining,
                self.finished,
                self.to_build,
                message,
                episode.folder,
            )
        )


class Covers:
    """Cover art by seed, each drawn once however many sets and sessions share it (drawing
    one takes most of a second)."""

    def __init__(self) -> None:
        self.drawn: dict[str, bytes] = {}

    def __call__(self, seed: str) -> bytes:
        if seed not in self.drawn:
            self.drawn[seed] = tags.cover_png(seed)
        return self.drawn[seed]


def build(
    plan: SeriesPlan,
    folder: Path | str,
    jobs: int | None = None,
    force: bool = False,
    base_url: str | None = None,
    scheduler: str | None = None,
    on_update: OnUpdate | None = None,
) -> Summary:
    """Build every session of `plan` that is not already current, then the listening files."""
    started = time.perf_counter()
    folder = Path(folder).expanduser().resolve()
    atomic.ready(folder)
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, got {jobs}")
    summary = Summary(folder)
    covers = Covers()
    with FolderLock(folder):
        for leftover in atomic.remove_stale(folder, recursive=True):
            log.info("removed %s, left by an interrupted build", leftover)
        manifest = read_manifest(folder)
        _own_folder(folder, plan)
        todo: list[Job] = []
        skipped: list[Episode] = []
        for episode in plan.episodes:
            entry = manifest.sessions.get(episode.relpath)
            key, sources, said = input_key(episode, entry)
            if not force and entry is not None and is_current(folder, episode, key, manifest):
                # a new rule, same words: keep the new sources on record
                manifest.sessions[episode.relpath] = dataclasses.replace(
                    entry, sources=sources, words=said
                )
                skipped.append(episode)
            else:
                output = str(folder / episode.relpath)
                todo.append(Job(episode, output, key, sources, said, covers(episode.cover)))
        tracker = _Tracker(len(todo), on_update)
        for episode in skipped:
            duration = manifest.sessions[episode.relpath].duration
            summary.outcomes.append(
                Outcome(
                    episode.relpath,
                    episode.title,
                    "skipped",
                    duration=duration,
                    listener=episode.folder,
                )
            )
            tracker.report("skipped", episode, 1.0, "unchanged")
        if todo:
            workers = jobs or usable_cores()
            side_by_side = min(workers, len(todo)) > 1
            todo = [dataclasses.replace(job, encoders=1 if side_by_side else None) for job in todo]
            by_path = {job.episode.relpath: job.episode for job in todo}

            def start(job: Job) -> None:
                tracker.report("start", job.episode, 0.0)

            def progress(relpath: str, fraction: float) -> None:
                tracker.report("progress", by_path[relpath], fraction)

            results = (
                runner.run_dask(todo, scheduler, build_one, _dask_key, start)
                if scheduler
                else runner.run_local(todo, workers, build_one, start, progress)
            )
            for job, result in results:
                summary.outcomes.append(_record(folder, manifest, job, result, tracker))
        _forget_removed(folder, plan, manifest)
        summary.written = write_listening(plan, folder, manifest, base_url, covers)
    order = {e.relpath: n for n, e in enumerate(plan.episodes)}
    summary.outcomes.sort(key=lambda o: order[o.relpath])
    summary.seconds = time.perf_counter() - started
    return summary


def _dask_key(job: Job) -> str:
    return f"letgo-{job.key[:16]}-{job.episode.filename}"


def _record(folder: Path, manifest: Manifest, job: Job, result: dict, tracker: _Tracker) -> Outcome:
    episode = job.episode
    if "error" not in result:
        try:
            entry = Entry.from_json(result)
        except ValueError as exc:  # a worker's answer that does not hold up (a bug)
            result = {"error": f"the worker's record of it is wrong: {exc}", **result}
    if "error" in result:
        tracker.report("failed", episode, 1.0, result["error"])
        return Outcome(
            episode.relpath,
            episode.title,
            "failed",
            result.get("seconds", 0.0),
            error=result["error"],
            listener=episode.folder,
        )
    manifest.sessions[episode.relpath] = entry
    write_manifest(folder, manifest)
    tracker.report("built", episode, 1.0, f"{entry.duration:.0f} s of audio")
    return Outcome(
        episode.relpath,
        episode.title,
        "built",
        entry.seconds,
        entry.duration,
        listener=episode.folder,
    )


def _forget_removed(folder: Path, plan: SeriesPlan, manifest: Manifest) -> None:
    """Sessions no longer in the plan: delete the files this tool built for them (only ever
    files inside the folder: `manifest.read` keeps no other path, and `inside` checks that no
    symlinked sub-folder leads out)."""
    wanted = {e.relpath for e in plan.episodes}
    for relpath in [r for r in manifest.sessions if r not in wanted]:
        audio = inside(folder, relpath)
        for path in sidecars(audio) if audio is not None else []:
            path.unlink(missing_ok=True)
        del manifest.sessions[relpath]
    write_manifest(folder, manifest)


# --- listening files --------------------------------------------------------------------------


def write_listening(
    plan: SeriesPlan,
    folder: Path,
    manifest: Manifest,
    base_url: str | None = None,
    covers: Callable[[str], bytes] | None = None,
) -> list[str]:
    """Playlist, feed, page and cover for each set, and for listeners' sets an index of their
    pages at the top; only files whose bytes change are written. Identical covers are drawn
    once (`covers`)."""
    covers = covers or Covers()
    written = []
    sets = {}
    files_of: dict[str, dict[str, bytes]] = {}
    for subfolder, episodes in plan.sets().items():
        target = folder / subfolder
        data = listen.listing(plan.info, [e.relpath for e in episodes], manifest)
        url = (  # without one, links relative to the feed: no path of this computer in it
            base_url.rstrip("/") + "/" + (f"{subfolder}/" if subfolder else "") if base_url else ""
        )
        files = {
            listen.PLAYLIST: listen.playlist(data).encode("utf-8"),
            listen.FEED: listen.feed(data, url),
            listen.PAGE: listen.page(data).encode("utf-8"),
        }
        cover = (episodes[0].cover, tags.COVER_STYLE)
        if manifest.covers.get(subfolder) != cover or not (target / listen.COVER).is_file():
            files[listen.COVER] = covers(episodes[0].cover)  # slow: only when new
            manifest.covers[subfolder] = cover
        files_of[subfolder] = files
        sets[subfolder] = [e.relpath for e in episodes]
    if "" not in sets:  # listeners' sets: the folder's own page leads to theirs
        files_of[""] = {listen.PAGE: listen.index(plan.info, list(sets)).encode("utf-8")}
    for subfolder, files in files_of.items():
        for name, content in files.items():
            if atomic.write(folder / subfolder / name, content):
                written.append(f"{subfolder}/{name}" if subfolder else name)
    if manifest.series != plan.info or manifest.sets != sets or written:
        manifest.series, manifest.sets = plan.info, sets
        write_manifest(folder, manifest)
    return written
