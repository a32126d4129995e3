"""Building a series: every session in parallel, incrementally, and never leaving partial files.

Each session's freshness key (session.freshness_key: the words as spoken, every setting, the
template, engine and voice, tags, letgo's version) is the one `letgo render` checks too. The
manifest keeps each session's sources (template file, values, pronunciation files) beside its
words, so a rebuild renders again only the templates whose sources changed. The manifest in the
output folder records the key each file was built from; a session whose key and files are unchanged
is skipped. Every file is written under a temporary name and renamed; the manifest is rewritten
(atomically) as each session finishes, so a build killed at any moment loses only the sessions in
flight, and the next run removes their temporary files and builds them again.

Sessions run in local processes (`jobs`) or on a Dask distributed cluster (`scheduler`).
"""

from __future__ import annotations

import dataclasses
import datetime
import errno
import json
import logging
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from letgo import session
from letgo.errors import LetgoError, OutputError, UsageError
from letgo.file import atomic, tags, transcripts
from letgo.file.export import cores
from letgo.series import listen
from letgo.series.plan import Episode, SeriesPlan

log = logging.getLogger(__name__)

MANIFEST = ".letgo-series.json"
LOCK = ".letgo-series.lock"
FORMAT = 1
#: Share of a session's work taken by speaking (the rest is mixing and encoding).
SPEECH_SHARE = 0.4


@dataclass(frozen=True)
class Job:
    """What a worker needs to build one session (picklable, for processes and Dask)."""

    episode: Episode
    output: str
    """Absolute path of the MP3 (on a path every worker can reach)."""
    key: str
    record: dict = field(default_factory=dict)
    """What the manifest keeps beside the key: the session's sources and words."""
    encoders: int | None = None
    """Encoders at once for this session: 1 while several sessions are built side by side
    (they fill the cores already); None lets a session alone encode on two (`session.render`)."""


@dataclass(frozen=True)
class Outcome:
    relpath: str
    title: str
    status: str
    """'built', 'skipped' or 'failed'."""
    seconds: float = 0.0
    duration: float = 0.0
    error: str = ""


@dataclass(frozen=True)
class Update:
    """A progress report: what happened to one session, and where the whole build stands."""

    kind: str
    """'skip', 'start', 'progress', 'done' or 'fail'."""
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

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    def as_dict(self) -> dict:
        return {
            "folder": str(self.folder),
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "built": self.count("built"),
            "skipped": self.count("skipped"),
            "failed": self.count("failed"),
            "written": self.written,
            "sessions": [dataclasses.asdict(o) for o in self.outcomes],
        }


OnUpdate = Callable[[Update], None]


# --- inputs and the manifest ----------------------------------------------------------------


def input_key(episode: Episode, entry: dict) -> tuple[str, dict]:
    """The session's freshness key (session.freshness_key), and the sources and words to record
    beside it. When the manifest's `entry` has these very sources, its words are taken as they
    are: an unchanged session is not written again (no template is rendered)."""
    request = episode.request
    sources = session.sources(request)
    said = entry.get("words") if entry.get("sources") == sources else None
    said = said or session.words(session.write(request))
    key = session.freshness_key(
        request, said, episode.tag, cover=f"{episode.cover}/{tags.COVER_STYLE}"
    )
    return key, {"sources": sources, "words": said}


def read_manifest(folder: Path) -> dict:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"format": FORMAT, "sessions": {}}
    if data.get("format") != FORMAT or not isinstance(data.get("sessions"), dict):
        return {"format": FORMAT, "sessions": {}}
    return data


def _write_manifest(folder: Path, manifest: dict) -> None:
    atomic.write(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"))


def sidecars(mp3: Path) -> list[Path]:
    return [mp3, mp3.with_suffix(".vtt"), mp3.with_suffix(".srt")]


def is_current(folder: Path, episode: Episode, key: str, manifest: dict) -> bool:
    entry = manifest["sessions"].get(episode.relpath)
    if not entry or entry.get("key") != key:
        return False
    mp3 = folder / episode.relpath
    try:
        return mp3.stat().st_size == entry["bytes"] and all(p.is_file() for p in sidecars(mp3))
    except OSError:
        return False


def _try_lock(handle) -> bool:
    """An exclusive lock on an open file without waiting; False if another process holds it.
    flock on POSIX, msvcrt on Windows; either is released when the process dies."""
    if sys.platform == "win32":
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class FolderLock:
    """One build per output folder at a time (an advisory lock, released if the process dies)."""

    def __init__(self, folder: Path):
        self.path = folder / LOCK

    def __enter__(self):
        try:  # never through a symlink, never a FIFO's wait: only a regular file of our own
            fd = os.open(
                self.path,
                os.O_RDWR
                | os.O_CREAT
                | getattr(os, "O_NOFOLLOW", 0)
                | getattr(os, "O_NONBLOCK", 0),
                0o666,
            )
        except OSError as exc:
            why = "it is a symlink; remove it" if exc.errno == errno.ELOOP else exc.strerror
            raise OutputError(f"cannot use {self.path} as the build's lock: {why}") from None
        self.handle = os.fdopen(fd, "a")
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            self.handle.close()
            raise OutputError(f"{self.path} is not a regular file; remove it")
        if not _try_lock(self.handle):
            self.handle.close()
            raise UsageError(
                f"another build is writing to {self.path.parent}; wait for it to finish"
            )
        return self

    def __exit__(self, *exc):
        self.handle.close()  # closing the file releases the lock


# --- one session (runs in a worker process or on a Dask worker) --------------------------------


def build_one(job: Job, updates=None) -> dict:
    """Build one session's MP3, VTT and SRT; returns what the manifest records, or an error.

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
        tag = dataclasses.replace(episode.tag, cover=tags.cover_png(episode.cover))
        result = session.render(
            episode.request, output, progress=progress, tag=tag, key=job.key, encoders=job.encoders
        )
        assert result.prepared is not None  # rendered afresh: nothing is reused here
        timeline = result.prepared.timeline
        atomic.write(output.with_suffix(".vtt"), transcripts.vtt(timeline).encode("utf-8"))
        atomic.write(output.with_suffix(".srt"), transcripts.srt(timeline).encode("utf-8"))
    except LetgoError as exc:
        return {"error": str(exc), "seconds": time.perf_counter() - started}
    except Exception as exc:  # a bug or an OS failure in one session must not stop the rest
        log.exception("session %s failed", episode.relpath)
        return {"error": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - started}
    return {
        "key": job.key,
        **job.record,
        "title": episode.title,
        "description": episode.description,
        "track": episode.tag.track,
        "duration": round(timeline.duration, 3),
        "bytes": output.stat().st_size,
        "built": datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        "chapters": [[c.title, round(c.start, 3), round(c.end, 3)] for c in timeline.chapters],
        "cues": [[round(s, 3), round(e, 3), t] for s, e, t in transcripts.cues(timeline)],
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

    def report(self, kind: str, episode: Episode, fraction: float, message: str = "") -> None:
        if kind in ("done", "fail"):
            self.finished += 1
            fraction = 1.0
        if kind != "skip":
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
            )
        )


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
    with FolderLock(folder):
        for leftover in atomic.remove_stale(folder, recursive=True):
            log.info("removed %s, left by an interrupted build", leftover)
        manifest = read_manifest(folder)
        todo: list[Job] = []
        skipped: list[Episode] = []
        for episode in plan.episodes:
            (folder / episode.folder).mkdir(parents=True, exist_ok=True)
            key, record = input_key(episode, manifest["sessions"].get(episode.relpath, {}))
            if not force and is_current(folder, episode, key, manifest):
                manifest["sessions"][episode.relpath].update(record)  # a new rule, same words
                skipped.append(episode)
            else:
                todo.append(Job(episode, str(folder / episode.relpath), key, record))
        tracker = _Tracker(len(todo), on_update)
        for episode in skipped:
            duration = manifest["sessions"][episode.relpath]["duration"]
            summary.outcomes.append(
                Outcome(episode.relpath, episode.title, "skipped", duration=duration)
            )
            tracker.report("skip", episode, 1.0, "unchanged")
        if todo:
            side_by_side = min(jobs or cores(), len(todo)) > 1
            todo = [dataclasses.replace(job, encoders=1 if side_by_side else None) for job in todo]
            results = (
                _run_dask(todo, jobs or cores(), scheduler, tracker)
                if scheduler
                else _run_local(todo, jobs or cores(), tracker)
            )
            for job, result in results:
                summary.outcomes.append(_record(folder, manifest, job, result, tracker))
        _forget_removed(folder, plan, manifest)
        summary.written = write_listening(plan, folder, manifest, base_url)
    order = {e.relpath: n for n, e in enumerate(plan.episodes)}
    summary.outcomes.sort(key=lambda o: order[o.relpath])
    summary.seconds = time.perf_counter() - started
    return summary


def _record(folder: Path, manifest: dict, job: Job, result: dict, tracker: _Tracker) -> Outcome:
    episode = job.episode
    if "error" in result:
        tracker.report("fail", episode, 1.0, result["error"])
        return Outcome(
            episode.relpath, episode.title, "failed", result["seconds"], error=result["error"]
        )
    manifest["sessions"][episode.relpath] = result
    _write_manifest(folder, manifest)
    tracker.report("done", episode, 1.0, f"{result['duration']:.0f} s of audio")
    return Outcome(episode.relpath, episode.title, "built", result["seconds"], result["duration"])


def _forget_removed(folder: Path, plan: SeriesPlan, manifest: dict) -> None:
    """Sessions no longer in the plan: delete the files this tool built for them."""
    wanted = {e.relpath for e in plan.episodes}
    gone = [relpath for relpath in manifest["sessions"] if relpath not in wanted]
    for relpath in gone:
        for path in sidecars(folder / relpath):
            path.unlink(missing_ok=True)
        del manifest["sessions"][relpath]
    _write_manifest(folder, manifest)


def _run_local(todo: list[Job], jobs: int, tracker: _Tracker):
    """Sessions on local worker processes; yields (job, result) as each finishes."""
    import multiprocessing
    from multiprocessing.managers import SyncManager

    context = multiprocessing.get_context("spawn")  # no inherited threads or engine state
    workers = min(jobs, len(todo))
    manager = SyncManager(ctx=context)
    manager.start(_watch_parent, (os.getpid(),))
    with manager:
        updates = manager.Queue()
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )
        waiting = list(todo)
        pending: dict[Future, Job] = {}
        by_path = {job.episode.relpath: job for job in todo}
        try:
            while waiting or pending:
                # only as many in flight as workers: after Ctrl-C nothing queued starts
                while waiting and len(pending) < workers:
                    job = waiting.pop(0)
                    pending[_submit_shielded(pool, job, updates)] = job
                    tracker.report("start", job.episode, 0.0)
                done, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                _drain(updates, by_path, tracker)
                for future in done:
                    job = pending.pop(future)
                    try:
                        result = future.result()
                    except Exception as exc:  # the worker process itself died
                        result = {
                            "error": f"worker failed: {type(exc).__name__}: {exc}",
                            "seconds": 0.0,
                        }
                    yield job, result
        except BaseException:  # Ctrl-C, SIGTERM, a closed stderr: stop the sessions in hand
            for process in list(getattr(pool, "_processes", {}).values()):
                _signal(process.pid, signal.SIGTERM)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


def _submit_shielded(pool: ProcessPoolExecutor, job: Job, updates):
    """Submit with Ctrl-C ignored for the moment a worker may be spawned: the new process
    inherits the ignore, so a Ctrl-C during its start-up cannot kill it mid-import with a
    traceback; `_start_worker` turns Ctrl-C back on once it is ready to clean up after itself."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return pool.submit(_build_here, job, updates)
    finally:
        signal.signal(signal.SIGINT, previous)


#: Seconds a worker whose build has died has to stop its session before it exits anyway.
ORPHAN_GRACE = 10.0
#: In a local worker process: set while no session is in hand, so a worker whose build has
#: died knows when the session it stopped has finished cleaning up.
_IDLE = threading.Event()
_IDLE.set()


def _build_here(job: Job, updates) -> dict:
    """`build_one` in a local worker process, marked busy while it runs."""
    _IDLE.clear()
    try:
        return build_one(job, updates)
    finally:
        _IDLE.set()


def _start_worker(build_pid: int) -> None:
    """Runs first in each worker: Ctrl-C or SIGTERM stops the session in hand, which cleans up
    after itself, and the worker stops by itself if the build that started it dies."""
    signal.signal(signal.SIGINT, _stop_session)
    signal.signal(signal.SIGTERM, _stop_session)
    _watch_parent(build_pid)


def _stop_session(signum, frame) -> None:
    # once is enough: a second signal (Ctrl-C, then the build's SIGTERM) must not cut the
    # clean-up short. A handler doing nothing, not SIG_IGN: one already on its way would
    # then raise "ignored due to race condition".
    signal.signal(signal.SIGINT, _already_stopping)
    signal.signal(signal.SIGTERM, _already_stopping)
    raise KeyboardInterrupt


def _already_stopping(signum, frame) -> None:
    pass


def _watch_parent(build_pid: int) -> None:
    """In a helper process (worker or manager): when the build process is gone (killed, even
    with SIGKILL, so its own clean-up never ran), stop too, promptly. The session in hand is
    stopped as by SIGTERM, removing its temporary files; after ORPHAN_GRACE the process
    leaves regardless. Its output goes nowhere by then: no one is waiting for it."""

    def watch() -> None:
        while os.getppid() == build_pid:
            time.sleep(0.2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        _signal(os.getpid(), signal.SIGTERM)  # stops the session in hand, or an idle wait
        time.sleep(0.1)
        _IDLE.wait(ORPHAN_GRACE)
        os._exit(1)

    threading.Thread(target=watch, name="letgo-watch-build", daemon=True).start()


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except OSError:
        pass  # already gone


def _drain(updates, by_path: dict[str, Job], tracker: _Tracker) -> None:
    import queue

    while True:
        try:
            relpath, fraction = updates.get_nowait()
        except queue.Empty:
            return
        tracker.report("progress", by_path[relpath].episode, fraction)


def _run_dask(todo: list[Job], jobs: int, scheduler: str, tracker: _Tracker):
    """Sessions on a Dask distributed cluster; its workers must reach the output folder."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'letgo[cluster]'") from None
    _check_reachable(scheduler)
    try:
        client = Client(scheduler, timeout=20)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    with client:
        futures = {}
        for job in todo:
            future = client.submit(
                build_one, job, None, pure=False, key=f"letgo-{job.key[:16]}-{job.episode.filename}"
            )
            futures[future] = job
            tracker.report("start", job.episode, 0.0)
        for future in as_completed(futures):
            job = futures[future]
            try:
                result = future.result()
            except Exception as exc:
                result = {
                    "error": f"Dask worker failed: {type(exc).__name__}: {exc}",
                    "seconds": 0.0,
                }
            yield job, result


def _check_reachable(address: str) -> None:
    """Fail in a moment, not after Dask's long connect timeout, when nothing listens there."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or not parts.port:
        return  # another transport: let Dask judge it
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=5).close()
    except OSError as exc:
        raise UsageError(
            f"cannot reach the Dask scheduler at {address}: {exc.strerror or exc}"
        ) from None


# --- listening files --------------------------------------------------------------------------


def listing(info, relpaths: list[str], manifest: dict) -> listen.Listing:
    """What the listening files show: the built sessions among `relpaths`, in that order."""
    items = []
    for relpath in relpaths:
        entry = manifest["sessions"].get(relpath)
        if not entry:
            continue
        items.append(
            listen.Item(
                file=relpath.rsplit("/", 1)[-1],
                title=entry["title"],
                description=entry["description"],
                track=entry["track"],
                duration=entry["duration"],
                bytes=entry["bytes"],
                built=entry["built"],
                guid=f"{relpath}#{entry['key'][:16]}",
                chapters=tuple(tuple(c) for c in entry["chapters"]),
                cues=tuple(tuple(c) for c in entry["cues"]),
            )
        )
    return listen.Listing(info, tuple(items))


def write_listening(
    plan: SeriesPlan, folder: Path, manifest: dict, base_url: str | None = None
) -> list[str]:
    """Playlist, feed, page and cover for each set; only files whose bytes change are written."""
    written = []
    sets = {}
    for subfolder, episodes in plan.sets().items():
        target = folder / subfolder
        data = listing(plan.info, [e.relpath for e in episodes], manifest)
        url = (
            base_url.rstrip("/") + "/" + (f"{subfolder}/" if subfolder else "")
            if base_url
            else target.as_uri() + "/"
        )
        files = {
            listen.PLAYLIST: listen.playlist(data).encode("utf-8"),
            listen.FEED: listen.feed(data, url),
            listen.PAGE: listen.page(data).encode("utf-8"),
        }
        cover = [episodes[0].cover, tags.COVER_STYLE]
        if (
            manifest.get("covers", {}).get(subfolder) != cover
            or not (target / listen.COVER).is_file()
        ):
            files[listen.COVER] = tags.cover_png(episodes[0].cover)  # slow: only when new
            manifest.setdefault("covers", {})[subfolder] = cover
        for name, content in files.items():
            if atomic.write(target / name, content):
                written.append(str(Path(subfolder) / name) if subfolder else name)
        sets[subfolder] = [e.relpath for e in episodes]
    info = dataclasses.asdict(plan.info)
    if manifest.get("series") != info or manifest.get("sets") != sets or written:
        manifest["series"], manifest["sets"] = info, sets
        _write_manifest(folder, manifest)
    return written
