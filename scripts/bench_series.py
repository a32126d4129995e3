#!/usr/bin/env python3
"""Benchmark `letgo series build`: a seven-session series with --jobs 1 and --jobs 2, then a
rebuild with nothing changed, each build from an empty speech cache of its own (the rebuild
from the --jobs 2 build's). Prints the times and their ratios, measured in this one run, and
the peak memory (VmHWM, read from /proc while it runs) of the build's own process and of its
largest session worker (goal with Piper: each under 300 MB).

Uses the built-in plan seven-days-of-release when it is installed, else a seven-session plan of
the built-in templates (said which). Usage:

    .venv/bin/python scripts/bench_series.py [--engine pyttsx3|piper|fake] [--minutes M]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from letgo.series import plan as series_plan
from letgo.settings import request

BUILTIN = "seven-days-of-release"


def own_plan(folder: Path) -> Path:
    sessions = "".join(
        f'\n[[sessions]]\ntemplate = "{"letting-go" if n % 2 else "whole"}"\ntitle = "Day {n}"\n'
        for n in range(1, 8)
    )
    path = folder / "seven.toml"
    path.write_text(f'[series]\ntitle = "Seven sessions"\n{sessions}')
    return str(path)


def peaks(pid: int, stop: threading.Event, found: dict[int, int]) -> None:
    """Poll the peak resident size (kB) of `pid` and of every process under it, until `stop`."""
    while not stop.is_set():
        parents = {}
        for entry in Path("/proc").iterdir():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
        for child in parents:
            ancestor = child
            while ancestor not in (pid, 0, 1) and ancestor in parents:
                ancestor = parents[ancestor]
            if ancestor != pid:
                continue
            try:
                status = (Path("/proc") / str(child) / "status").read_text().splitlines()
                kb = next(int(x.split()[1]) for x in status if x.startswith("VmHWM:"))
            except (OSError, StopIteration, ValueError):
                continue
            found[child] = max(found.get(child, 0), kb)
        stop.wait(0.2)


def build(plan: str, out: Path, cache: Path, *extra: str) -> tuple[float, dict]:
    """Wall seconds and the JSON summary of a build with the speech cache `cache`; prints the
    CPU seconds used, the peak memory of the build and of its largest worker, and the
    machine's load."""
    command = [
        sys.executable,
        "-c",
        "from letgo.cli import main; main()",
        "series",
        "build",
        str(plan),
        "-o",
        str(out),
        "--json",
        *extra,
    ]
    load = os.getloadavg()[0]
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    env = {**os.environ, "LETGO_CACHE_DIR": str(cache)}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    found: dict[int, int] = {}
    stop = threading.Event()
    poller = threading.Thread(target=peaks, args=(process.pid, stop, found), daemon=True)
    poller.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    poller.join()
    main_mb = found.pop(process.pid, 0) / 1024
    worker_mb = max(found.values(), default=0) / 1024
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    print(
        f"  {' '.join(extra[:2])}: {seconds:.2f} s wall, {used:.1f} s CPU "
        f"(load average {load:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores); "
        f"peak memory: the build {main_mb:.1f} MB, its largest worker {worker_mb:.1f} MB"
    )
    if process.returncode != 0:
        sys.exit(f"build failed: {stderr}")
    return seconds, json.loads(stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="pyttsx3", choices=["pyttsx3", "piper", "fake"])
    parser.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="length of every session (default: each template's or plan's own)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if BUILTIN in series_plan.builtin_plans():
            plan, which = BUILTIN, f"built-in {BUILTIN}"
        else:
            plan, which = own_plan(folder), "own 7-session plan (letting-go, whole alternating)"
        overrides = ["--engine", args.engine] + (
            ["--minutes", str(args.minutes)] if args.minutes else []
        )
        flags = {"engine": args.engine, **({"minutes": args.minutes} if args.minutes else {})}
        loaded = series_plan.load(
            plan, overrides=request.Layer.read(flags, lambda name, value: f"--{name} {value}")
        )
        audio = 0.0
        for episode in loaded.episodes:
            from letgo.words.templates import TemplateLibrary

            info = TemplateLibrary(episode.request.template_dirs).find(episode.request.template)
            audio += episode.request.minutes or info.minutes or 0
        print(
            f"plan: {which}; engine {args.engine}; {len(loaded.episodes)} sessions, "
            f"{audio:g} minutes of audio"
        )
        # Both builds start from an empty speech cache of their own: every sentence spoken
        one, summary = build(plan, folder / "jobs1", folder / "cache1", "--jobs", "1", *overrides)
        assert summary["built"] == 7, summary
        two, summary = build(plan, folder / "jobs2", folder / "cache2", "--jobs", "2", *overrides)
        assert summary["built"] == 7, summary
        again, summary = build(plan, folder / "jobs2", folder / "cache2", "--jobs", "2", *overrides)
        assert summary["built"] == 0 and not summary["written"], summary
    print(f"--jobs 1: {one:7.1f} s")
    print(f"--jobs 2: {two:7.1f} s   speed-up {one / two:.2f}x")
    print(
        f"no-change rebuild: {again:.2f} s (whole command)   "
        f"{again / two:.4f} of the --jobs 2 build"
    )


if __name__ == "__main__":
    main()
