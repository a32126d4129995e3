#!/usr/bin/env python3
"""Benchmark: letgo's render against the encoder alone and against the usual approach.

Prints ratios measured in this one run (never asserted by tests):

  1. speed: a 20-minute session rendered by `letgo render` vs ffmpeg alone encoding the
     finished 20-minute WAV of that session to the same format with the same settings;
  2. memory: peak resident size of a render at 20 minutes, 60 minutes and 8 hours (a short
     script with a long background tail), each in a child process;
  3. the usual approach, carried here as a small reference: every sentence to a file, pydub
     `+` to join them with their silences, a looped bed overlaid, faded and exported;
  4. the cost of letgo's own pydub stage (the clip layer: passages built as AudioSegments and
     read back block by block), measured in this process.

With --against DIR (another letgo checkout, e.g. `git worktree add /tmp/before main~3`), the
20-minute render is also timed with DIR's code, interleaved with this checkout's, so a change
is measured before and after in one run.

Usage (from the checkout, after scripts/test.sh or pip install -e .):

    .venv/bin/python scripts/bench.py            # everything (~10 minutes on 2 cores)
    .venv/bin/python scripts/bench.py --quick --against /tmp/before   # speed before and after
    .venv/bin/python scripts/bench.py --quick    # skip the 8-hour render and the 60-min reference
    .venv/bin/python scripts/bench.py --engine pyttsx3   # real speech on both sides

Timings are the best of --repeat runs; other work on the machine slows both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SLEEP_TEMPLATE = """{#
title = "Bench: short script, long night"
description = "A few sentences, then background to the end."
minutes = 20
sleep = true
#}
{{ bell() }}
{{ section("Settle") }}
Let the day go now, and let your body grow heavy.
Breathe out slowly, all the way, and let the breath go on its own.
{{ pause(20) }}
Rest here. There is nothing left to do tonight.
Sleep well.
{{ bell() }}
"""

LETGO = [sys.executable, "-c", "from letgo.cli import main; main()"]
#: letting-go as this checkout has it, by path: --against renders the very same text.
LETTING_GO = str(Path(__file__).resolve().parents[1] / "templates" / "letting-go.j2")


def run(command: list[str], **kwargs) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB of the child and whatever it waited for)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               **kwargs)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    error = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if status != 0:
        raise SystemExit(f"failed: {' '.join(map(str, command))}\n{error}")
    return wall, usage.ru_maxrss / 1024


def best(command: list[str], repeat: int, **kwargs) -> tuple[float, float]:
    results = [run(command, **kwargs) for _ in range(repeat)]
    return min(r[0] for r in results), max(r[1] for r in results)


def checkout(folder: str) -> dict:
    """Popen arguments that make `LETGO` run the letgo code of another checkout."""
    source = Path(folder).expanduser().resolve() / "src"
    if not (source / "letgo" / "__init__.py").is_file():
        raise SystemExit(f"--against: {folder} is not a letgo checkout (no src/letgo)")
    return {"env": {**os.environ, "PYTHONPATH": str(source)}}


def clip_layer_cost(template: str, minutes: float, engine: str, repeat: int
                    ) -> tuple[int, int, float, float]:
    """(passages, sentences, seconds building them, seconds reading them back) for one render:
    the pydub stage's own work. The clips are levelled and limited beforehand (that is the
    block mixer's numpy work, done with or without pydub), so only the making of sentence
    segments, the passages' assembly and the block-by-block reading are timed."""
    from dataclasses import fields

    from letgo import clips, mix, session
    from letgo.request import make
    from letgo.settings import MixSettings

    prepared = session.prepare(make(template, {"minutes": minutes, "engine": engine}))
    settings = MixSettings(loudness=-19.0)
    levels = mix.plan_levels(prepared.timeline, prepared.clips, float("-inf"), 1, settings)
    limited = {i: levels.limited(i) for i in range(len(prepared.clips))}

    class Limited(mix.Levels):
        def limited(self, i):
            return limited[i]

    held = Limited(**{f.name: getattr(levels, f.name) for f in fields(levels)})
    passages = clips.passages(prepared.timeline, levels.frames, settings.sample_rate)
    block = round(settings.block_seconds * settings.sample_rate)
    build = read = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        built = [p.build(held) for p in passages]
        build = min(build, time.perf_counter() - started)
        started = time.perf_counter()
        for p, audio in zip(passages, built):
            for a in range(0, p.end - p.start, block):
                clips.samples(audio.get_sample_slice(a, a + block))
        read = min(read, time.perf_counter() - started)
    return len(passages), sum(len(p.sentences) for p in passages), build, read


def render(template: str, minutes: float, out: Path, engine: str, *extra: str) -> list[str]:
    # --force: every run really renders (an up-to-date file would otherwise be kept).
    return [*LETGO, "render", template, "--minutes", f"{minutes:g}", "--engine", engine,
            "-q", "--force", "-o", str(out), *extra]


# --- the usual approach -----------------------------------------------------------------------

def reference(template: str, minutes: float, engine: str, folder: Path, out: Path) -> None:
    """The way most people do it, kept small and honest; runs in its own process."""
    from pydub import AudioSegment

    from letgo import ffmpeg, session

    AudioSegment.converter = ffmpeg.exe()  # pydub's class-level setting: the usual way
    # The same script and the same timings as letgo's session (planning is not the point).
    prepared = session.prepare(session.Request(template, minutes=minutes, engine=engine))
    sentences = [s.text for s in prepared.script.sentences]
    files = []
    if engine == "pyttsx3":
        from letgo.engines import espeak

        espeak.prepare()
        import pyttsx3

        for i, text in enumerate(sentences):  # every sentence to a file
            path = folder / f"s{i}.wav"
            speaker = pyttsx3.init()
            speaker.setProperty("rate", 150)
            speaker.save_to_file(text, str(path))
            speaker.runAndWait()
            files.append(path)
    else:
        import wave

        import numpy as np

        for i, clip in enumerate(prepared.clips):
            path = folder / f"s{i}.wav"
            with wave.open(str(path), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(clip.sample_rate)
                w.writeframes((np.clip(clip.samples, -1, 1) * 32767).astype("<i2").tobytes())
            files.append(path)
    bell = AudioSegment.from_file(folder / "bell.wav")
    voice = AudioSegment.silent(duration=0, frame_rate=44100)
    for event in prepared.timeline.events:  # concatenate with `+`, silences between
        gap = event.start * 1000 - len(voice)
        if gap > 0:
            voice = voice + AudioSegment.silent(duration=gap, frame_rate=44100)
        if event.kind == "speech":
            voice = voice + AudioSegment.from_file(files[event.clip]).set_frame_rate(44100)
        else:
            voice = voice + bell[:event.duration * 1000]
    voice = voice + AudioSegment.silent(duration=prepared.timeline.duration * 1000 - len(voice),
                                        frame_rate=44100)
    bed = AudioSegment.from_file(folder / "bed.wav")
    looped = (bed * (len(voice) // len(bed) + 1))[:len(voice)] - 20  # loop the bed
    mixed = looped.overlay(voice).fade_in(3000).fade_out(6000)
    mixed.export(str(out), format="mp3", bitrate="128k")


# --- main ---------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="fake", choices=["fake", "pyttsx3"],
                        help="voice for both sides (fake: exact tones, so only mixing and "
                             "encoding are compared)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the best counts")
    parser.add_argument("--quick", action="store_true",
                        help="skip the 8-hour render and the 60-minute reference")
    parser.add_argument("--against", metavar="DIR",
                        help="also time the 20-minute render with another letgo checkout's code")
    parser.add_argument("--reference", nargs=5, metavar=("TEMPLATE", "MINUTES", "ENGINE",
                                                         "FOLDER", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference:
        template, minutes, engine, folder, out = args.reference
        reference(template, float(minutes), engine, Path(folder), Path(out))
        return

    from letgo import export, ffmpeg

    with tempfile.TemporaryDirectory(prefix="letgo-bench-") as tmp:
        tmp = Path(tmp)
        sleep = tmp / "sleep.j2"
        sleep.write_text(SLEEP_TEMPLATE)
        print(f"letgo benchmark: {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f} at start, engine {args.engine}, best of {args.repeat}")

        # 1. speed against the encoder floor
        minutes = 20
        wav = tmp / "finished.wav"
        run(render(LETTING_GO, minutes, wav, args.engine))
        codec = export.CODECS["mp3"]
        floor, _ = best([ffmpeg.exe(), "-hide_banner", "-nostdin", "-v", "error", "-y",
                         "-i", str(wav), *codec, "-b:a", "128k", str(tmp / "floor.mp3")],
                        args.repeat)
        command = render(LETTING_GO, minutes, tmp / "ours.mp3", args.engine)
        if args.against:  # interleaved, so both see the same load
            other = checkout(args.against)
            run(command, **other)  # its own synthesis cache entries, if they differ
            theirs = ours = float("inf")
            for _ in range(args.repeat):
                theirs = min(theirs, run(command, **other)[0])
                ours = min(ours, run(command)[0])
        else:
            ours, _ = best(command, args.repeat)
        print(f"\n1. speed, {minutes}-minute session (letting-go), mp3 128k")
        print(f"   ffmpeg alone encoding the finished WAV   {floor:7.2f} s")
        print(f"   letgo render                             {ours:7.2f} s")
        print(f"   ratio session / encoder floor            {ours / floor:7.2f}x   (goal <= 1.2x)")
        if args.against:
            print(f"   letgo render with {args.against}: {theirs:7.2f} s, ratio "
                  f"{theirs / floor:5.2f}x (this checkout {ours / floor:5.2f}x)")
        count, sentences, build, read = clip_layer_cost(LETTING_GO, minutes, args.engine,
                                                        args.repeat)
        print(f"   of which the pydub clip layer: {count} passages ({sentences} sentences) built "
              f"in {build:.3f} s, read back block by block in {read:.3f} s: "
              f"{100 * (build + read) / ours:.1f}% of the render")

        # 2. memory with length
        print("\n2. peak memory (RSS, letgo and its encoder) by length: short script, long tail")
        lengths = [20, 60] + ([] if args.quick else [480])
        peaks = {}
        for m in lengths:
            wall, rss = run(render(str(sleep), m, tmp / f"long{m}.mp3", args.engine))
            peaks[m] = rss
            print(f"   {m:4d} min: {rss:7.1f} MB   rendered in {wall:7.1f} s "
                  f"({m * 60 / wall:5.0f}x real time)")
        last = lengths[-1]
        print(f"   ratio {last} min / 20 min                  {peaks[last] / peaks[20]:7.2f}x   "
              f"(goal: flat; < 300 MB at 8 h)")

        # 3. the usual approach
        print("\n3. the usual approach (sentence files, pydub +, looped stereo bed file overlaid, "
              "export) vs letgo with the same bed file")
        # A stereo nature-sound-like bed file, as people loop: both sides use the same file.
        ffmpeg.run(["-y", "-filter_complex", "anoisesrc=c=pink:d=60:r=44100:a=0.1:seed=1[a];"
                    "anoisesrc=c=pink:d=60:r=44100:a=0.1:seed=2[b];[a][b]amerge=inputs=2",
                    str(tmp / "bed.wav")], "making a bed")
        bed = ["--background", str(tmp / "bed.wav"), "--background-offset", "0"]
        from letgo.bell import strike
        import wave

        import numpy as np
        with wave.open(str(tmp / "bell.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(44100)
            w.writeframes((strike(44100) * 32767).astype("<i2").tobytes())
        for m in [20] + ([] if args.quick else [40]):
            ref_wall, ref_rss = best([sys.executable, __file__, "--reference", "letting-go",
                                      str(m), args.engine, str(tmp), str(tmp / "ref.mp3")],
                                     1 if m > 20 else args.repeat)
            our_wall, our_rss = best(render("letting-go", m, tmp / "ours.mp3", args.engine, *bed),
                                     1 if m > 20 else args.repeat)
            print(f"   {m} min: usual {ref_wall:6.2f} s {ref_rss:7.1f} MB   letgo {our_wall:6.2f} s "
                  f"{our_rss:6.1f} MB   ->  {ref_wall / our_wall:4.2f}x faster, "
                  f"{ref_rss / our_rss:4.1f}x less memory   (goals >= 1.5x, >= 5x)")
            if m == 20:  # both pay for the same stereo encode: how much of each run is it?
                run(render("letting-go", m, tmp / "stereo.wav", args.engine, *bed))
                floor2, _ = best([ffmpeg.exe(), "-hide_banner", "-nostdin", "-v", "error", "-y",
                                  "-i", str(tmp / "stereo.wav"), *codec, "-b:a", "128k",
                                  str(tmp / "floor2.mp3")], args.repeat)
                print(f"   {m} min: ffmpeg alone encoding this stereo session {floor2:6.2f} s: "
                      f"usual {ref_wall / floor2:4.2f}x it, letgo {our_wall / floor2:4.2f}x it")
            if args.engine != "fake":  # the usual approach speaks every sentence: so can letgo
                cold, cold_rss = best(render("letting-go", m, tmp / "ours.mp3", args.engine,
                                             "--no-cache", *bed), 1 if m > 20 else args.repeat)
                print(f"   {m} min, letgo speaking every sentence too (--no-cache): {cold:6.2f} s "
                      f"{cold_rss:6.1f} MB   ->  {ref_wall / cold:4.2f}x faster, "
                      f"{ref_rss / cold_rss:4.1f}x less memory")
        print(json.dumps({"floor_s": round(floor, 3), "session_s": round(ours, 3),
                          "ratio": round(ours / floor, 3),
                          "against_ratio": round(theirs / floor, 3) if args.against else None,
                          "pydub_s": round(build + read, 4),
                          "peak_mb": {str(k): round(v, 1) for k, v in peaks.items()}}))


if __name__ == "__main__":
    main()
