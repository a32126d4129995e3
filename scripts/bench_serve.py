"""Load test of `letgo series serve`: a crowd of clients on 127.0.0.1 against a built series.

    .venv/bin/python scripts/bench_serve.py                  # 2,000 requests from 50 clients
    .venv/bin/python scripts/bench_serve.py --requests 500 --clients 20
    .venv/bin/python scripts/bench_serve.py --one-address    # 50 clients behind one address

Builds a small series with the fake voice into a temporary folder, starts `letgo series serve`
on it in its own process, and sends the requests from client threads, each from its own
loopback address (127.0.0.2, 127.0.0.3, ...: 50 clients, as 50 phones would be) where the
system allows it. Half ask for a piece of a session's MP3 (a Range, as a player seeking does),
half for a whole small file (page, feed, playlist, transcript, cover). Every body is checked
against the file on disk. An immediate 503 (the server full) counts as served: it is the
answer the server promises, and the client may come back. A request taking over a second is
a stall.

Prints the latency's median, 99th percentile and maximum, and the counts: answers by status,
stalls, wrong bodies, failures. Exits 1 if any request stalled, failed or got a wrong body.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STALL = 1.0
PLAN = """[series]
title = "Bench"
templates = ["."]
[defaults]
minutes = {minutes}
engine = "fake"
background = "none"
[[sessions]]
template = "tiny"
title = "One"
[[sessions]]
template = "tiny"
title = "Two"
"""


def letgo(*args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from letgo.cli import main; main()", *args], **popen
    )


def build(folder: Path, minutes: float) -> Path:
    plan_folder = folder / "plan"
    plan_folder.mkdir()
    tiny = ROOT / "tests" / "series_data" / "tiny.j2"
    (plan_folder / "tiny.j2").write_bytes(tiny.read_bytes())
    (plan_folder / "plan.toml").write_text(PLAN.format(minutes=minutes))
    out = folder / "out"
    process = letgo("series", "build", str(plan_folder / "plan.toml"), "-o", str(out), "-q")
    if process.wait() != 0:
        sys.exit("the series did not build")
    return out


def source_addresses(clients: int) -> list[str | None]:
    """A loopback address per client where they can be bound, else the one address."""
    import socket

    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.2", 0))
    except OSError:
        return [None] * clients
    return [f"127.0.{(n + 2) // 256}.{(n + 2) % 256}" for n in range(clients)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=3, help="length of each session")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--one-address",
        action="store_true",
        help="every client from 127.0.0.1 (the per-address limit then answers most with 503)",
    )
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="letgo-bench-serve-") as scratch:
        out = build(Path(scratch), options.minutes)
        files = {
            "/" + p.relative_to(out).as_posix(): p.read_bytes()
            for p in out.iterdir()
            if p.is_file() and not p.name.startswith(".")
        }
        audio = [name for name in files if name.endswith(".mp3")]
        small = [name for name in files if not name.endswith((".mp3", ".xml"))]
        server = letgo(
            "series",
            "serve",
            str(out),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            first = server.stdout.readline() if server.stdout else ""
            found = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
            if not found:
                sys.exit(f"the server did not start: {first!r}")
            port = int(found[1])
            results = crowd(port, files, audio, small, options)
        finally:
            server.terminate()
            server.wait(timeout=30)
    report(results, options)


def crowd(port, files, audio, small, options) -> list[tuple[float, str]]:
    """(seconds, outcome) of every request; outcomes: a status, 'wrong body' or 'failed: ...'."""
    rng = random.Random(options.seed)
    jobs = []
    for _ in range(options.requests):
        if rng.random() < 0.5:
            name = rng.choice(audio)
            size = len(files[name])
            start = rng.randrange(size)
            end = min(size - 1, start + rng.randrange(1, 128 * 1024))
            jobs.append((name, (start, end)))
        else:
            jobs.append((rng.choice(small), None))
    queue = iter(jobs)
    lock = threading.Lock()
    results: list[tuple[float, str]] = []

    def client(source: str | None) -> None:
        while True:
            with lock:
                job = next(queue, None)
            if job is None:
                return
            name, span = job
            headers = {"Range": f"bytes={span[0]}-{span[1]}"} if span else {}
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(
                    "127.0.0.1",
                    port,
                    timeout=30,
                    source_address=(source, 0) if source else None,
                )
                conn.request("GET", name, headers=headers)
                reply = conn.getresponse()
                body = reply.read()
                conn.close()
                want = files[name][span[0] : span[1] + 1] if span else files[name]
                if reply.status == 503:
                    outcome = "503"
                elif reply.status in (200, 206) and body == want:
                    outcome = str(reply.status)
                else:
                    outcome = "wrong body"
            except OSError as exc:
                outcome = f"failed: {type(exc).__name__}"
            took = time.perf_counter() - started
            with lock:
                results.append((took, outcome))

    threads = [
        threading.Thread(target=client, args=(source,))
        for source in (
            [None] * options.clients if options.one_address else source_addresses(options.clients)
        )
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def report(results: list[tuple[float, str]], options) -> None:
    times = sorted(took for took, _ in results)
    counts = Counter(outcome for _, outcome in results)
    stalls = sum(took > STALL for took in times)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    where = "one address" if options.one_address else "their own loopback addresses"
    print(f"{len(results)} requests from {options.clients} clients on {where}")
    print(
        f"latency: p50 {statistics.median(times) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"max {times[-1] * 1000:.1f} ms"
    )
    print("answers: " + ", ".join(f"{k} x{v}" for k, v in sorted(counts.items())))
    print(f"stalls over {STALL:g} s: {stalls}; wrong bodies: {counts['wrong body']}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    bad = stalls + counts["wrong body"] + sum(v for k, v in counts.items() if k.startswith("fail"))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
