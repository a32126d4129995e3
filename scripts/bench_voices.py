#!/usr/bin/env python3
"""Voice benchmarks, measured in one run: real-time factor and pace of each engine, Piper with
one thread against several, and `letgo render` with a cold and then a warm cache.

Usage: .venv/bin/python scripts/bench_voices.py [--template letting-go] [--minutes 5]
Prints ratios; the figures are this machine's, at this moment (other load skews them).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from letgo.errors import LetgoError
from letgo.voice.engines import VoiceSettings, make_engine, trim
from letgo.words import script, templates
from letgo.words import speakable as normalize


def sentences_of(template: str) -> list[str]:
    info = templates.TemplateLibrary(()).find(template)
    text = templates.render(info, templates.resolve_variables(info, {}))
    say = normalize.load(user=False)
    return list(dict.fromkeys(say(s.text) for s in script.parse(text).sentences))


def best_of(
    runs: int, engine_name: str, texts: list[str], **engine_args
) -> tuple[float, float, float, float]:
    """The fastest of a few runs: other work on the machine only ever slows a run down."""
    return min(
        (speak(engine_name, texts, **engine_args) for _ in range(runs)),
        key=lambda result: result[1] / result[0],
    )


def speak(engine_name: str, texts: list[str], **engine_args) -> tuple[float, float, float, float]:
    """(seconds of audio, seconds taken, words per minute of the trimmed speech, CPU seconds
    of this process: the work done, which other load does not change). The engine is
    warmed up first (model loaded, worker started): the factor is for speaking, not starting."""
    if engine_name == "piper":
        from letgo.voice.engines.piper import PiperEngine

        engine = PiperEngine(VoiceSettings(), **engine_args)
    else:
        engine = make_engine(engine_name, VoiceSettings(**engine_args))
    try:
        list(engine.synthesize(["Welcome."]))
        started, cpu = time.perf_counter(), time.process_time()
        clips = [trim.edges(c) for c in engine.synthesize(texts)]
        taken = time.perf_counter() - started
        cpu = time.process_time() - cpu
    finally:
        engine.close()
    audio = sum(c.duration for c in clips)
    words = sum(len(re.findall(r"\w+", t)) for t in texts)
    return audio, taken, words * 60 / audio, cpu


def speak_at(length_scale: float, texts: list[str]) -> float:
    """Piper's words a minute at `length_scale`."""
    from letgo.voice.engines.piper import PiperEngine

    engine = PiperEngine(VoiceSettings(length_scale=length_scale))
    clips = [trim.edges(c) for c in engine.synthesize(texts)]
    return sum(len(re.findall(r"\w+", t)) for t in texts) * 60 / sum(c.duration for c in clips)


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def letgo(*args: str, cache: Path) -> tuple[float, str]:
    """Run the letgo command as a user would: (wall seconds, its log)."""
    command = [sys.executable, "-c", "from letgo.cli import main; main()", "--verbose", *args]
    started = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "LETGO_CACHE_DIR": str(cache)}
    )
    if done.returncode:
        raise SystemExit(f"failed: letgo {' '.join(args)}\n{done.stderr}")
    return time.perf_counter() - started, done.stderr


def render_cold_and_warm(template: str, minutes: float, engine: str) -> None:
    """`letgo render` run as a user runs it: with an empty cache, then again unchanged (the
    file is found up to date), again with --force (every sentence from the cache), and
    with one sentence changed."""
    with tempfile.TemporaryDirectory(prefix="letgo-bench-") as folder:
        folder = Path(folder)

        def run(out: str, *extra: str, cache: str = "cache0") -> tuple[float, str]:
            return letgo(
                "render",
                template,
                "--minutes",
                f"{minutes:g}",
                "--engine",
                engine,
                "-q",
                "-o",
                str(folder / out),
                *extra,
                cache=folder / cache,
            )

        # Best of two each: other work on the machine only ever slows a run down.
        cold = min(run(f"cold{n}.mp3", cache=f"cache{n}")[0] for n in range(2))
        again = min(run("cold0.mp3")[0] for _ in range(2))
        forced = min(run("cold0.mp3", "--force")[0] for _ in range(2))
        changed, log = run("cold0.mp3", "-v", "name=Robin")
        spoken = re.search(r"(\d+) sentences: (\d+) from the cache, (\d+) to speak", log)
        print(f"{engine}: letgo render {template} --minutes {minutes:g} (pink background)")
        print(f"  first render (empty cache)          {cold:6.2f} s")
        print(
            f"  the same command again              {again:6.2f} s: {cold / again:5.1f}x faster "
            "(the file is up to date)"
        )
        print(
            f"  again with --force                  {forced:6.2f} s: {cold / forced:5.1f}x faster "
            "(every sentence from the cache; mixing and encoding again)"
        )
        print(
            f"  with name=Robin                     {changed:6.2f} s: "
            f"{spoken[3] if spoken else '?'} of {spoken[1] if spoken else '?'} sentences spoken"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="letting-go")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument(
        "--sentences",
        type=int,
        default=24,
        help="How many of the template's sentences the engine figures use.",
    )
    args = parser.parse_args()
    texts = sentences_of(args.template)[: args.sentences]
    print(
        f"{len(texts)} sentences of '{args.template}'; {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} (other work skews every figure)"
    )
    try:
        for name in ("pyttsx3", "piper"):
            audio, taken, wpm, cpu = best_of(2, name, texts)
            print(
                f"{name:<8} {audio:6.1f} s of speech in {taken:5.2f} s: real-time factor "
                f"{audio / taken:5.1f}x, {wpm:.0f} words a minute"
            )
            if name == "piper":
                print(
                    f"         CPU time {cpu:.2f} s: {audio / cpu:.1f}x real time per core "
                    f"busy, so about {min(2, os.cpu_count() or 1) * audio / cpu:.1f}x on "
                    f"{min(2, os.cpu_count() or 1)} idle cores"
                )
        one = best_of(2, "piper", texts, threads=1, onnx_threads=1)
        two = best_of(2, "piper", texts, threads=2, onnx_threads=1)
        onnx = best_of(2, "piper", texts, threads=1, onnx_threads=2)
        print(
            f"piper on 2 cores: 1 sentence at a time, 1 onnx thread {one[0] / one[1]:.1f}x; "
            f"1 at a time, 2 onnx threads (the default: memory) {onnx[0] / onnx[1]:.1f}x; 2 "
            f"sentences at once {two[0] / two[1]:.1f}x real time: the default takes "
            f"{onnx[1] / two[1]:.2f}x as long as 2 at once"
        )
        pace = ", ".join(
            f"{scale:g} -> {speak_at(scale, texts):.0f}" for scale in (1.0, 1.2, 1.4, 1.6)
        )
        print(f"piper words a minute by length scale: {pace}")
        rates = ", ".join(
            f"{rate} -> {speak('pyttsx3', texts, rate=rate)[2]:.0f}" for rate in (150, 125)
        )
        print(f"pyttsx3 words a minute by rate: {rates}")
        render_cold_and_warm(args.template, args.minutes, "piper")
    except LetgoError as exc:
        print(f"bench_voices: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
