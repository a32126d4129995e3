"""Running a series' sessions side by side: on local worker processes, or on a Dask cluster.

The runner knows nothing of sessions: it calls `work(task, updates)` for each task, in a worker,
and yields `(task, result)` as each finishes. `work` is a module-level function (it is pickled
to the workers) that never raises for a failing task: it returns its error as a result, so the
others go on. Through `updates` (a queue, or None on Dask) it may report progress as
`(name, fraction)`, which reaches `on_progress`.

Local workers are spawned processes (no inherited threads or engine state). Ctrl-C or SIGTERM
stops the tasks in hand, each cleaning up after itself; a worker whose build process dies (even
by SIGKILL) stops by itself.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from letgo.errors import UsageError

Task = TypeVar("Task")
Result = dict[str, Any]
Work = Callable[[Any, Any], Result]

#: Seconds a worker whose build has died has to stop its task before it exits anyway.
ORPHAN_GRACE = 10.0
#: In a local worker process: set while no task is in hand, so a worker whose build has
#: died knows when the task it stopped has finished cleaning up.
_IDLE = threading.Event()
_IDLE.set()


def run_local(
    todo: list[Task],
    workers: int,
    work: Work,
    on_start: Callable[[Task], None],
    on_progress: Callable[[str, float], None],
) -> Iterator[tuple[Task, Result]]:
    """Tasks on local worker processes, at most `workers` at once; yields (task, result)
    as each finishes."""
    import multiprocessing
    from multiprocessing.managers import SyncManager

    context = multiprocessing.get_context("spawn")  # no inherited threads or engine state
    workers = min(workers, len(todo))
    manager = SyncManager(ctx=context)
    manager.start(_watch_parent, (os.getpid(),))
    with manager:
        updates = manager.Queue()
        # A fresh process for each session: what one session's speaking and mixing leave in
        # a process's heap (a Piper model loaded and freed, onnxruntime's allocations) is not
        # carried into the next, so each worker keeps to a single render's memory (the same
        # session in a reused worker went over 300 MB). A start costs about a second.
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(os.getpid(), workers),
            max_tasks_per_child=1,
        )
        waiting = list(todo)
        pending: dict[Future, Task] = {}
        try:
            while waiting or pending:
                # only as many in flight as workers: after Ctrl-C nothing queued starts
                while waiting and len(pending) < workers:
                    task = waiting.pop(0)
                    pending[_submit_shielded(pool, work, task, updates)] = task
                    on_start(task)
                done, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                _drain(updates, on_progress)
                for future in done:
                    task = pending.pop(future)
                    try:
                        result = future.result()
                    except Exception as exc:  # the worker process itself died
                        result = {
                            "error": f"worker failed: {type(exc).__name__}: {exc}",
                            "seconds": 0.0,
                        }
                    yield task, result
        except BaseException:  # Ctrl-C, SIGTERM, a closed stderr: stop the tasks in hand
            for process in list(getattr(pool, "_processes", {}).values()):
                _signal(process.pid, signal.SIGTERM)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


def run_dask(
    todo: list[Task],
    scheduler: str,
    work: Work,
    key: Callable[[Task], str],
    on_start: Callable[[Task], None],
) -> Iterator[tuple[Task, Result]]:
    """Tasks on a Dask distributed cluster (`key` names each one there); yields
    (task, result) as each finishes. Its workers must reach the files the tasks write."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'letgo[cluster]'") from None
    check_reachable(scheduler)
    try:
        client = Client(scheduler, timeout=20)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    with client:
        futures = {}
        for task in todo:
            futures[client.submit(work, task, None, pure=False, key=key(task))] = task
            on_start(task)
        for future in as_completed(futures):
            task = futures[future]
            try:
                result = future.result()
            except Exception as exc:
                result = {
                    "error": f"Dask worker failed: {type(exc).__name__}: {exc}",
                    "seconds": 0.0,
                }
            yield task, result


def check_reachable(address: str) -> None:
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


# --- local workers ----------------------------------------------------------------------------


def _submit_shielded(pool: ProcessPoolExecutor, work: Work, task, updates) -> Future:
    """Submit with Ctrl-C ignored for the moment a worker may be spawned: the new process
    inherits the ignore, so a Ctrl-C during its start-up cannot kill it mid-import with a
    traceback; `_start_worker` turns Ctrl-C back on once it is ready to clean up after itself."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return pool.submit(_work_here, work, task, updates)
    finally:
        signal.signal(signal.SIGINT, previous)


def _work_here(work: Work, task, updates) -> Result:
    """`work` in a local worker process, marked busy while it runs."""
    _IDLE.clear()
    try:
        return work(task, updates)
    finally:
        _IDLE.set()


def _start_worker(build_pid: int, workers: int) -> None:
    """Runs first in each worker: Ctrl-C or SIGTERM stops the task in hand, which cleans up
    after itself, and the worker stops by itself if the build that started it dies. A Piper
    voice takes its share of the cores among the `workers`."""
    from letgo.voice.engines import piper

    piper.share_cores(workers)
    signal.signal(signal.SIGINT, _stop_task)
    signal.signal(signal.SIGTERM, _stop_task)
    _watch_parent(build_pid)


def _stop_task(signum, frame) -> None:
    if _IDLE.is_set():  # no task in hand, nothing to clean up: leave quietly (an exception
        os._exit(1)  # here would end the pool's wait for work with a traceback)
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
    with SIGKILL, so its own clean-up never ran), stop too, promptly. The task in hand is
    stopped as by SIGTERM, removing its temporary files; after ORPHAN_GRACE the process
    leaves regardless. Its output goes nowhere by then: no one is waiting for it."""

    def watch() -> None:
        while os.getppid() == build_pid:
            time.sleep(0.2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        _signal(os.getpid(), signal.SIGTERM)  # stops the task in hand, or an idle wait
        time.sleep(0.1)
        _IDLE.wait(ORPHAN_GRACE)
        os._exit(1)

    threading.Thread(target=watch, name="letgo-watch-build", daemon=True).start()


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except OSError:
        pass  # already gone


def _drain(updates, on_progress: Callable[[str, float], None]) -> None:
    import queue

    while True:
        try:
            name, fraction = updates.get_nowait()
        except queue.Empty:
            return
        on_progress(name, fraction)
