#!/usr/bin/env python3
"""Benchmark: a render against its encoder, memory by length, and the voice's level and pace.

Prints, measured in this one run (never asserted by tests):

  1. speed: `letgo render letting-go -m 20` (mono MP3 128k) against ffmpeg alone encoding the
     finished WAV of that session with the same settings (the encoder floor), with the fake
     engine and with pyttsx3 from a warm cache, as letgo runs (two encoders, one per half:
     see letgo.file.mp3join) and on one encoder; how long after `letgo` starts its first
     block reaches the encoder (from its --verbose log, read as it is written); and the cost
     of letgo's own pydub stage (the clip layer: passages built as AudioSegments and read
     back block by block), measured in this process;
  2. memory: peak resident size of a render at 20 minutes, 60 minutes and 8 hours (a short
     script with a long night of background), each in a child process; and cold renders
     (a fresh speech cache, so every sentence is spoken) with Piper and with pyttsx3:
     `letting-go` at 20 minutes and `sleep-release` over an eight-hour night, their peak
     memory and render time (Piper's peak follows the longest piece it speaks at once: see
     letgo.voice.engines.piper);
  3. the voice: for each engine, `letting-go` at default settings with no background, metered
     over the speech alone with ffmpeg's ebur128 (as /work/shared/tools/voicecheck.py does):
     loudness, true peak, peak-to-loudness ratio (PLR), the pace in words a minute from one
     sentence's start to the next (sentence gaps in, written pauses out) and the articulation
     rate (words a minute of the voice itself, its pauses out);
  4. with --usual: the usual approach (sentence files, pydub `+`, a looped bed overlaid,
     exported) against letgo with the same bed.

With --against DIR (another letgo checkout, e.g. `git worktree add /tmp/before main~3`), the
20-minute renders (and Piper's cold one) are also timed with DIR's code, interleaved with this
checkout's, so a change is measured before and after in one run.

Usage, from the checkout after scripts/test.sh or pip install -e . (the speech cache is the
bench's own, warmed first):

    .venv/bin/python scripts/bench.py            # 1-3 (about 5 minutes on 2 quiet cores)
    .venv/bin/python scripts/bench.py --quick    # without the 8-hour render, one run each
    .venv/bin/python scripts/bench.py --usual    # and the pydub comparison
    .venv/bin/python scripts/bench.py --speed --repeat 7   # part 1 alone, more runs
    .venv/bin/python scripts/bench.py --cold     # part 2b alone: Piper and pyttsx3, cold
    .venv/bin/python scripts/bench.py --cold --quick --repeat 3 --against /tmp/before \\
        --template /tmp/before/templates/letting-go.j2   # Piper cold, before and after
    .venv/bin/python scripts/bench.py --quick --against /tmp/before \\
        --template /tmp/before/templates/letting-go.j2   # speed before and after, same text

Timings are the medians of --repeat runs (the encoder alone and letgo taking turns), with the
load average printed beside them; letgo runs from Python's bytecode cache, as an installed copy
does. Peak memory is what letgo's own process reports from /proc as it exits (Linux).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SLEEP_TEMPLATE = """{#
title = "Bench: short script, long night"
description = "A few sentences, then background to the end."
minutes = 20
max_minutes = 480
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

#: letgo's CLI, reporting its own peak resident size on stderr as it exits. Its own: the kernel
#: carries a parent's high-water mark across fork and exec, so the ru_maxrss that wait4 gives
#: would include this (much larger) bench process.
PEAK = "letgo-bench-peak-mb:"
LETGO = [
    sys.executable,
    "-c",
    "import atexit, sys\n"
    "def peak():\n"
    "    with open('/proc/self/status') as status:\n"
    "        kb = next(int(l.split()[1]) for l in status if l.startswith('VmHWM:'))\n"
    f"    print('{PEAK}', kb / 1024, file=sys.stderr)\n"
    "atexit.register(peak)\n"
    "from letgo.cli import main; main()",
]
#: letgo as it runs on one core: no session is long enough to be encoded in halves.
ONE_ENCODER = [
    *LETGO[:2],
    LETGO[2].replace(
        "from letgo.cli import main; main()",
        "from letgo.file import mp3join\n"
        "mp3join.SHORTEST = float('inf')\n"
        "from letgo.cli import main; main()",
    ),
]
#: letting-go as this checkout has it, by path: --against renders the very same text.
LETTING_GO = str(Path(__file__).resolve().parents[1] / "templates" / "letting-go.j2")


def run(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB of letgo itself; 0 for another program)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True
    )
    error = process.stderr.read()
    status = process.wait()
    wall = time.perf_counter() - started
    process.stderr.close()
    if status != 0:
        raise SystemExit(f"failed: {' '.join(map(str, command))}\n{error}")
    peaks = [float(line.split()[1]) for line in error.splitlines() if line.startswith(PEAK)]
    return wall, max(peaks, default=0.0)


def median_of(command: list[str], repeat: int, env: dict | None = None) -> tuple[float, float]:
    """(median wall seconds, highest peak MB) of `repeat` runs."""
    results = [run(command, env) for _ in range(repeat)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def checkout(folder: str, env: dict) -> dict:
    """`env` with PYTHONPATH set so `LETGO` runs the letgo code of another checkout."""
    source = Path(folder).expanduser().resolve() / "src"
    if not (source / "letgo" / "__init__.py").is_file():
        raise SystemExit(f"--against: {folder} is not a letgo checkout (no src/letgo)")
    return {**env, "PYTHONPATH": str(source)}


def clip_layer_cost(
    template: str, minutes: float, engine: str, repeat: int, cache_dir: str
) -> tuple[int, int, float, float]:
    """(passages, sentences, seconds building them, seconds reading them back) for one render:
    the pydub stage's own work. The clips are levelled and limited beforehand (that is the
    block mixer's numpy work, done with or without pydub), so only the making of sentence
    segments, the passages' assembly and the block-by-block reading are timed."""
    from dataclasses import fields

    from letgo import session
    from letgo.settings.groups import MixSettings
    from letgo.sound import mix
    from letgo.sound.levels import Levels, plan_levels
    from letgo.voice import clips

    prepared = session.prepare(
        session.Request(template, minutes=minutes, engine=engine, cache_dir=cache_dir)
    )
    settings = MixSettings(loudness=-19.0)
    levels = plan_levels(
        prepared.timeline, prepared.clips, mix.BedLevel(float("-inf")), 1, settings
    )
    limited = {i: levels.limited(i) for i in range(len(prepared.clips))}

    class Limited(Levels):
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
        for p, audio in zip(passages, built, strict=False):
            for a in range(0, p.end - p.start, block):
                clips.samples(audio.get_sample_slice(a, a + block))
        read = min(read, time.perf_counter() - started)
    return len(passages), sum(len(p.sentences) for p in passages), build, read


def first_block(command: list[str], env: dict) -> tuple[float, float]:
    """(seconds from starting `command` (a --verbose render) to its first block reaching the
    encoder, seconds to the end)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True
    )
    first = None
    for line in process.stderr:
        if first is None and "first block at the encoder" in line:
            first = time.perf_counter() - started
    if process.wait() != 0 or first is None:
        raise SystemExit(f"failed: {' '.join(command)}")
    return first, time.perf_counter() - started


def render(template: str, minutes: float | None, out: Path, engine: str, *extra: str) -> list[str]:
    # --force: every run really renders (an up-to-date file would otherwise be kept).
    length = ["--minutes", f"{minutes:g}"] if minutes else []
    return [
        *LETGO,
        "render",
        template,
        *length,
        "--engine",
        engine,
        "-q",
        "--force",
        "-o",
        str(out),
        *extra,
    ]


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


# --- the voice, metered over its speech -----------------------------------------------------------


def voice(engine: str, folder: Path, env: dict) -> dict:
    """The voice of `letting-go` at default settings with no background, metered over its
    sentences (`measure.voice`, the method of /work/shared/tools/voicecheck.py), and
    its articulation rate: words a minute of the voice itself, each clip from its first sound
    to its last with its phrase pauses out."""
    import measure
    from letgo import session
    from letgo.settings.groups import MixSettings
    from letgo.sound import dsp
    from letgo.words import phrasing

    out = folder / f"voice-{engine}.mp3"
    run(render("letting-go", None, out, engine, "--background", "none"), env)
    prepared = session.prepare(
        session.Request(
            "letting-go",
            engine=engine,
            mix=MixSettings(background="none"),
            cache_dir=env["LETGO_CACHE_DIR"],
        )
    )
    metered = measure.voice(out, prepared.timeline)
    said = 0.0
    for event in prepared.timeline.speech:
        clip = prepared.clips[event.clip]
        hop = clip.sample_rate // 100
        frames = len(clip.samples) // hop
        rms = np.sqrt(np.mean(clip.samples[: frames * hop].reshape(frames, hop) ** 2, axis=1))
        loud = np.flatnonzero(rms > rms.max() * dsp.db(phrasing.QUIET_DB))
        pauses = sum(b - a for a, b in phrasing.pauses(clip)) / clip.sample_rate
        said += (loud[-1] + 1 - loud[0]) * 0.01 - pauses if len(loud) else 0.0
    return {
        "voiced_lufs": metered.loudness_lufs,
        "true_peak": metered.true_peak_dbtp,
        "plr_db": round(metered.plr_db, 1),
        "words": metered.words,
        "pace_wpm": round(metered.pace_wpm, 1),
        "articulation_wpm": round(metered.words / said * 60, 1),
    }


# --- the usual approach ---------------------------------------------------------------------------


def reference(template: str, minutes: float, engine: str, folder: Path, out: Path) -> None:
    """The way most people do it, kept small and honest; runs in its own process."""
    from pydub import AudioSegment

    from letgo import session
    from letgo.file import ffmpeg

    AudioSegment.converter = ffmpeg.exe()  # pydub's class-level setting: the usual way
    # The same script and the same timings as letgo's session (planning is not the point).
    prepared = session.prepare(session.Request(template, minutes=minutes, engine=engine))
    texts = {event.clip: event.text for event in prepared.timeline.speech}  # hold cues too
    files = {}
    if engine == "pyttsx3":
        from letgo.voice.engines import espeak

        espeak.prepare()
        import pyttsx3

        for i, text in texts.items():  # every sentence to a file
            path = folder / f"s{i}.wav"
            speaker = pyttsx3.init()
            speaker.setProperty("rate", 150)
            speaker.save_to_file(text, str(path))
            speaker.runAndWait()
            files[i] = path
    else:
        import wave

        for i in texts:
            clip, path = prepared.clips[i], folder / f"s{i}.wav"
            with wave.open(str(path), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(clip.sample_rate)
                w.writeframes((np.clip(clip.samples, -1, 1) * 32767).astype("<i2").tobytes())
            files[i] = path
    bell = AudioSegment.from_file(folder / "bell.wav")
    voice = AudioSegment.silent(duration=0, frame_rate=44100)
    for event in prepared.timeline.events:  # concatenate with `+`, silences between
        gap = event.start * 1000 - len(voice)
        if gap > 0:
            voice = voice + AudioSegment.silent(duration=gap, frame_rate=44100)
        if event.kind == "speech":
            voice = voice + AudioSegment.from_file(files[event.clip]).set_frame_rate(44100)
        else:
            voice = voice + bell[: event.duration * 1000]
    voice = voice + AudioSegment.silent(
        duration=prepared.timeline.duration * 1000 - len(voice), frame_rate=44100
    )
    bed = AudioSegment.from_file(folder / "bed.wav")
    looped = (bed * (len(voice) // len(bed) + 1))[: len(voice)] - 20  # loop the bed
    mixed = looped.overlay(voice).fade_in(3000).fade_out(6000)
    mixed.export(str(out), format="mp3", bitrate="128k")


def usual(tmp: Path, env: dict, engine: str, repeat: int, template: str) -> None:
    import wave

    from letgo.file import ffmpeg, formats
    from letgo.sound.bell import strike

    print(
        "\n4. the usual approach (sentence files, pydub +, looped stereo bed file overlaid, "
        "export) vs letgo with the same bed file"
    )
    ffmpeg.run(
        [
            "-y",
            "-filter_complex",
            "anoisesrc=c=pink:d=60:r=44100:a=0.1:seed=1[a];"
            "anoisesrc=c=pink:d=60:r=44100:a=0.1:seed=2[b];[a][b]amerge=inputs=2",
            str(tmp / "bed.wav"),
        ],
        "making a bed",
    )
    bed = ["--background", str(tmp / "bed.wav"), "--background-offset", "0"]
    with wave.open(str(tmp / "bell.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes((strike(44100) * 32767).astype("<i2").tobytes())
    argv = [__file__, "--reference", template, "20", engine, str(tmp), str(tmp / "ref.mp3")]
    reference_run = LETGO[2].replace(
        "from letgo.cli import main; main()",
        f"import runpy; sys.argv = {argv!r}; runpy.run_path(sys.argv[0], run_name='__main__')",
    )
    ref_wall, ref_rss = median_of([*LETGO[:2], reference_run], repeat, env)
    our_wall, our_rss = median_of(render(template, 20, tmp / "ours.mp3", engine, *bed), repeat, env)
    run(render(template, 20, tmp / "stereo.wav", engine, *bed), env)
    floor, _ = median_of(
        ffmpeg.command(
            "-y",
            *ffmpeg.source(tmp / "stereo.wav"),
            *formats.FORMATS["mp3"].codec,
            "-b:a",
            "128k",
            ffmpeg.local(tmp / "floor2.mp3"),
        ),
        repeat,
    )
    print(
        f"   20 min ({engine}): usual {ref_wall:6.2f} s {ref_rss:7.1f} MB"
        f"   letgo {our_wall:6.2f} s "
        f"{our_rss:6.1f} MB   ->  {ref_wall / our_wall:4.2f}x faster, "
        f"{ref_rss / our_rss:4.1f}x less memory; the stereo encode alone {floor:6.2f} s "
        f"({load()})"
    )


# --- main -----------------------------------------------------------------------------------------


def cold_renders(
    tmp: Path, env: dict, quick: bool, repeat: int, template: str, other: dict | None = None
) -> dict:
    """Part 2b: letting-go at 20 minutes and sleep-release over an eight-hour night, each
    rendered with a fresh speech cache by Piper and by pyttsx3: peak memory and time (the
    20-minute renders the median of `repeat`, taking turns; the night once). With `other`
    (--against), Piper's 20-minute render also with that checkout's code, at the same
    length scale, so the cost of speaking within the memory budget is measured."""
    from letgo.voice.engines import VoiceSettings

    print(
        "\n2b. cold renders (a fresh speech cache: every sentence spoken), Piper against "
        f"pyttsx3; peak memory is letgo's own RSS (goal: < 300 MB); {load()}"
    )
    pace = ["--length-scale", f"{VoiceSettings.length_scale:g}"]
    cold: dict[str, dict] = {}
    jobs = [(template, "letting-go", 20, repeat)]
    if not quick:
        jobs.append(("sleep-release", "sleep-release", 480, 1))
    fresh = iter(range(1_000_000))
    for source, name, minutes, runs in jobs:
        times: dict[str, list[tuple[float, float]]] = {}
        for _ in range(runs):
            for engine in ("piper", "pyttsx3") + (("against",) if other and runs > 1 else ()):
                where = {**(other if engine == "against" else env)}
                where["LETGO_CACHE_DIR"] = str(tmp / f"cold-{next(fresh)}")
                speaker = "piper" if engine == "against" else engine
                out = tmp / f"cold-{engine}-{minutes}.mp3"
                extra = pace if speaker == "piper" else []
                times.setdefault(engine, []).append(
                    run(render(source, minutes, out, speaker, *extra), where)
                )
        both = {}
        for engine, results in times.items():
            wall = statistics.median(r[0] for r in results)
            rss = max(r[1] for r in results)
            both[engine] = {"seconds": round(wall, 2), "peak_mb": round(rss, 1)}
            label = "piper, --against" if engine == "against" else engine
            print(
                f"   {name} {minutes:4d} min, {label:16s}: {rss:6.1f} MB, rendered in "
                f"{wall:6.1f} s (median of {len(results)}; {load()})"
            )
        cold[f"{name}-{minutes}"] = both
        print(
            f"   {name} {minutes} min: Piper takes "
            f"{both['piper']['seconds'] / both['pyttsx3']['seconds']:.2f}x pyttsx3's time"
        )
        if "against" in both:
            print(
                f"   {name} {minutes} min: Piper now takes "
                f"{both['piper']['seconds'] / both['against']['seconds']:.2f}x the time it took "
                f"with --against's code (peak {both['against']['peak_mb']:.0f} MB then)"
            )
    return cold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, help="runs per timing; the median counts (default 3, --quick 1)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="one run per timing unless --repeat, no 8-hour render"
    )
    parser.add_argument(
        "--cold", action="store_true", help="part 2b alone: Piper and pyttsx3 rendering cold"
    )
    parser.add_argument(
        "--speed", action="store_true", help="only the render against its encoder (part 1)"
    )
    parser.add_argument(
        "--usual", action="store_true", help="also compare with the usual pydub approach"
    )
    parser.add_argument(
        "--against",
        metavar="DIR",
        help="also time the 20-minute renders with another letgo checkout's code",
    )
    parser.add_argument(
        "--template",
        default=LETTING_GO,
        help="the 20-minute session's template (default: this checkout's "
        "letting-go); give one both sides read when using --against",
    )
    parser.add_argument(
        "--reference",
        nargs=5,
        metavar=("TEMPLATE", "MINUTES", "ENGINE", "FOLDER", "OUT"),
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args()
    if args.reference:
        template, minutes, engine, folder, out = args.reference
        reference(template, float(minutes), engine, Path(folder), Path(out))
        return
    repeat = args.repeat or (1 if args.quick else 3)
    template = str(Path(args.template).resolve())

    from letgo.file import ffmpeg, formats
    from letgo.voice.engines.piper import known_voices

    with tempfile.TemporaryDirectory(prefix="letgo-bench-") as tmp:
        tmp = Path(tmp)
        # letgo runs as an installed copy does, from Python's bytecode cache (pip writes it on
        # install; PYTHONDONTWRITEBYTECODE, set in some sandboxes, would have every run
        # compile letgo's modules again: about 60 ms of start-up that users never see).
        env = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            "LETGO_CACHE_DIR": str(tmp / "cache"),
        }
        sleep = tmp / "sleep.j2"
        sleep.write_text(SLEEP_TEMPLATE)
        print(f"letgo benchmark: {os.cpu_count()} cores, {load()} at start, median of {repeat}")
        other = checkout(args.against, env) if args.against else None
        if args.cold:
            print(json.dumps({"cold": cold_renders(tmp, env, args.quick, repeat, template, other)}))
            return
        print("warming the bench's own speech cache (pyttsx3 speaks letting-go once)...")
        run(render(template, 20, tmp / "warm.mp3", "pyttsx3"), env)
        run(render(str(sleep), 20, tmp / "warm.mp3", "pyttsx3"), env)

        # 1. speed against the encoder floor
        print("\n1. speed: letting-go, 20 minutes, mono mp3 128k")
        summary: dict = {"load_at_start": os.getloadavg()[0]}
        for engine in ("fake", "pyttsx3"):
            wav = tmp / f"finished-{engine}.wav"
            run(render(template, 20, wav, engine), env)
            encoder = ffmpeg.command(
                "-y",
                *ffmpeg.source(wav),
                *formats.FORMATS["mp3"].codec,
                "-b:a",
                "128k",
                ffmpeg.local(tmp / "floor.mp3"),
            )
            arguments = ["--verbose", *render(template, 20, tmp / "ours.mp3", engine)[len(LETGO) :]]
            verbose, alone = [*LETGO, *arguments], [*ONE_ENCODER, *arguments]
            floors, timed, single, against = [], [], [], []
            if other:
                run(verbose, other)  # its own synthesis cache entries, if they differ
            # The encoder alone, letgo (two encoders, then one) and --against take turns, so
            # all see the same load.
            for _ in range(repeat):
                floors.append(run(encoder)[0])
                timed.append(first_block(verbose, env))
                single.append(first_block(alone, env))
                if other:
                    against.append(run(verbose, other)[0])
            floor = statistics.median(floors)
            first = statistics.median(t[0] for t in timed)
            ours = statistics.median(t[1] for t in timed)
            one = statistics.median(t[1] for t in single)
            one_first = statistics.median(t[0] for t in single)
            print(
                f"   {engine:8s} ffmpeg alone {floor:6.2f} s   letgo render {ours:6.2f} s, "
                f"ratio {ours / floor:4.2f}x (two encoders); on one encoder {one:6.2f} s, "
                f"ratio {one / floor:4.2f}x (goal <= 1.1x); first block at the encoder "
                f"{first:4.2f} s / {one_first:4.2f} s after start (goal ~1 s)   ({load()})"
            )
            summary[engine] = {
                "floor_s": round(floor, 3),
                "render_s": round(ours, 3),
                "ratio": round(ours / floor, 3),
                "one_encoder_s": round(one, 3),
                "one_encoder_ratio": round(one / floor, 3),
                "first_block_s": round(first, 3),
            }
            if other:
                theirs = statistics.median(against)
                print(
                    f"   {engine:8s} with {args.against}: {theirs:6.2f} s, ratio "
                    f"{theirs / floor:4.2f}x"
                )
                summary[engine]["against_ratio"] = round(theirs / floor, 3)
        count, sentences, build, read = clip_layer_cost(
            template, 20, "pyttsx3", repeat, env["LETGO_CACHE_DIR"]
        )
        print(
            f"   of which the pydub clip layer (pyttsx3): {count} passages ({sentences} "
            f"sentences) built in {build:.3f} s, read back block by block in {read:.3f} s: "
            f"{100 * (build + read) / ours:.1f}% of the render"
        )
        summary["pydub_s"] = round(build + read, 4)

        if args.speed:
            print(json.dumps(summary))
            return

        # 2. memory with length
        print(
            "\n2. peak memory (letgo's own RSS), pyttsx3 from the cache: "
            "a short script and a long night"
        )
        peaks = {}
        for minutes in [20, 60] + ([] if args.quick else [480]):
            wall, rss = run(render(str(sleep), minutes, tmp / f"long{minutes}.mp3", "pyttsx3"), env)
            peaks[minutes] = rss
            print(
                f"   {minutes:4d} min: {rss:7.1f} MB   rendered in {wall:7.1f} s "
                f"({minutes * 60 / wall:5.0f}x real time)"
            )
        last = max(peaks)
        print(
            f"   ratio {last} min / 20 min: {peaks[last] / peaks[20]:4.2f}x "
            f"(goal: flat; < 300 MB at 8 h)"
        )
        summary["peak_mb"] = {str(k): round(v, 1) for k, v in peaks.items()}

        # 2b. the voice engines cold: every sentence spoken, as a first render speaks it
        if any(v.installed for v in known_voices()):
            summary["cold"] = cold_renders(tmp, env, args.quick, repeat, template, other)

        # 3. the voice
        print(
            "\n3. the voice: letting-go at default settings, no background, metered over its "
            "speech (goals: PLR >= 16 dB, pace <= 120 words a minute)"
        )
        engines = ["pyttsx3"] + (["piper"] if any(v.installed for v in known_voices()) else [])
        for engine in engines:
            v = voice(engine, tmp, env)
            print(
                f"   {engine:8s} voice {v['voiced_lufs']:6.1f} LUFS, true peak "
                f"{v['true_peak']:5.1f} dBTP, PLR {v['plr_db']:4.1f} dB; pace {v['pace_wpm']:5.1f} "
                f"words a minute (articulation {v['articulation_wpm']:5.1f}), {v['words']} words"
            )
            summary[f"voice_{engine}"] = v

        if args.usual:
            usual(tmp, env, "pyttsx3", repeat, template)
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
