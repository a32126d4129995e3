#!/usr/bin/env python3
"""Voice benchmarks, measured in one run: real-time factor and pace of each engine, Piper with
one thread against several, and a session rendered with a cold and then a warm cache.

Usage: .venv/bin/python scripts/bench_voices.py [--template letting-go] [--minutes 5]
Prints ratios; the figures are this machine's, at this moment (other load skews them).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from letgo import normalize, script, session, templates
from letgo.engines import VoiceSettings, make_engine, trim
from letgo.errors import LetgoError
from letgo.settings import MixSettings


def sentences_of(template: str) -> list[str]:
    info = templates.TemplateLibrary(()).find(template)
    text = templates.render(info, templates.resolve_variables(info, {}))
    say = normalize.load(user=False)
    return list(dict.fromkeys(say(s.text) for s in script.parse(text).sentences))


def best_of(runs: int, engine_name: str, texts: list[str], **engine_args
            ) -> tuple[float, float, float, float]:
    """The fastest of a few runs: other work on the machine only ever slows a run down."""
    return min((speak(engine_name, texts, **engine_args) for _ in range(runs)),
               key=lambda result: result[1] / result[0])


def speak(engine_name: str, texts: list[str], **engine_args) -> tuple[float, float, float, float]:
    """(seconds of audio, seconds taken, words per minute of the trimmed speech, CPU seconds
    of this process: the work done, which other load does not change). The engine is
    warmed up first (model loaded, worker started): the factor is for speaking, not starting."""
    if engine_name == "piper":
        from letgo.engines.piper import PiperEngine
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
    from letgo.engines.piper import PiperEngine
    engine = PiperEngine(VoiceSettings(length_scale=length_scale))
    clips = [trim.edges(c) for c in engine.synthesize(texts)]
    return sum(len(re.findall(r"\w+", t)) for t in texts) * 60 / sum(c.duration for c in clips)


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def render_cold_and_warm(template: str, minutes: float, engine: str) -> None:
    """The same session rendered with an empty cache, then again; and the speech stage alone."""
    with tempfile.TemporaryDirectory(prefix="letgo-bench-") as folder:
        def request(background: str = "none", cache: str = "cache") -> session.Request:
            return session.Request(template=template, minutes=minutes, engine=engine,
                                   cache_dir=str(Path(folder) / cache),
                                   mix=MixSettings(background=background))

        out = Path(folder) / "out.mp3"
        # Best of two each: other work on the machine only ever slows a run down.
        cold = min(timed(lambda: session.render(request(cache=f"cold{n}"), out))
                   for n in range(2))
        warm = min(timed(lambda: session.render(request(cache="cold0"), out)) for _ in range(2))
        speech_cold = min(timed(lambda: session.prepare(request(cache=f"speech{n}")))
                          for n in range(2))
        speech_warm = min(timed(lambda: session.prepare(request(cache="speech0")))
                          for _ in range(2))
        warm_pink = timed(lambda: session.render(request("pink", cache="cold0"), out))
        print(f"{engine}: '{template}' at {minutes:g} min")
        print(f"  whole render, no background: cold {cold:.2f} s, warm {warm:.2f} s: "
              f"{cold / warm:.1f}x faster warm")
        print(f"  speech stage alone (prepare): cold {speech_cold:.2f} s, warm "
              f"{speech_warm:.3f} s: {speech_cold / speech_warm:.0f}x faster warm")
        pink_cold = cold - warm + warm_pink
        print(f"  with the pink background: warm {warm_pink:.2f} s, cold about {pink_cold:.2f} s "
              f"({pink_cold / warm_pink:.1f}x; mixing the background is not cached)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="letting-go")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--sentences", type=int, default=24,
                        help="How many of the template's sentences the engine figures use.")
    args = parser.parse_args()
    texts = sentences_of(args.template)[: args.sentences]
    print(f"{len(texts)} sentences of '{args.template}'; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} (other work skews every figure)")
    try:
        for name in ("pyttsx3", "piper"):
            audio, taken, wpm, cpu = best_of(2, name, texts)
            print(f"{name:<8} {audio:6.1f} s of speech in {taken:5.2f} s: real-time factor "
                  f"{audio / taken:5.1f}x, {wpm:.0f} words a minute")
            if name == "piper":
                print(f"         CPU time {cpu:.2f} s: {audio / cpu:.1f}x real time per core "
                      f"busy, so about {min(2, os.cpu_count() or 1) * audio / cpu:.1f}x on "
                      f"{min(2, os.cpu_count() or 1)} idle cores")
        one = best_of(2, "piper", texts, threads=1)
        two = best_of(2, "piper", texts, threads=2)
        onnx = best_of(2, "piper", texts, threads=1, onnx_threads=2)
        print(f"piper on 2 cores: 1 sentence at a time, 1 onnx thread {one[0] / one[1]:.1f}x; "
              f"1 at a time, 2 onnx threads {onnx[0] / onnx[1]:.1f}x; 2 sentences at once "
              f"(the default) {two[0] / two[1]:.1f}x real time: {one[1] / two[1]:.2f}x and "
              f"{onnx[1] / two[1]:.2f}x faster")
        pace = ", ".join(f"{scale:g} -> {speak_at(scale, texts):.0f}"
                         for scale in (1.0, 1.2, 1.3, 1.6))
        print(f"piper words a minute by length scale: {pace}")
        rates = ", ".join(f"{rate} -> {speak('pyttsx3', texts, rate=rate)[2]:.0f}"
                          for rate in (150, 125))
        print(f"pyttsx3 words a minute by rate: {rates}")
        render_cold_and_warm(args.template, args.minutes, "piper")
    except LetgoError as exc:
        print(f"bench_voices: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
