"""The Python API: letgo.Session and its sound as pydub AudioSegments."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import letgo
from letgo.cli import main
from letgo.file import ffmpeg
from letgo.sound.backgrounds import SegmentLoop
from letgo.voice import clips
from letgo.voice.clips import AudioSegment

RATE = 44100
DATA = Path(__file__).parent / "sound_data"
SLEEP = str(DATA / "sleep-short.j2")
README = Path(__file__).parents[1] / "README.md"
QUIET = """{#
title = "Quiet start"
description = "Background alone for a while, then a few words."
minutes = 1
#}
{{ pause(6, min=6) }}
Breathe in. Breathe out.
{{ pause(20) }}
"""


def decode(path: Path) -> bytes:
    return subprocess.run(
        ffmpeg.command(*ffmpeg.source(path), "-f", "s16le", "-"),
        capture_output=True,
        check=True,
    ).stdout


def tone(
    seconds: float, frequency: float = 330.3, rate: int = RATE, channels: int = 2, width: int = 2
) -> AudioSegment:
    t = np.arange(round(seconds * rate)) / rate
    x = 0.5 * np.sin(2 * np.pi * frequency * t)
    return clips.segment(np.repeat(x[:, None], channels, axis=1), rate, width=width)


@pytest.mark.e2e
def test_a_session_round_trips_through_pydub(tmp_path):
    """to_segment is the timeline's length (within 1 ms a minute), segments() add up to it,
    and both are what render writes to a WAV file, sample for sample."""
    s = letgo.Session("letting-go", minutes=5, engine="fake")
    timeline = s.script.timeline
    assert timeline.duration == pytest.approx(300)
    seg = s.to_segment()
    assert isinstance(seg, AudioSegment)
    assert (seg.frame_rate, seg.sample_width, seg.channels) == (RATE, 2, 1)
    assert abs(seg.duration_seconds - timeline.duration) <= 0.001 * timeline.duration / 60
    blocks = list(s.segments())
    assert len(blocks) > 100 and all(isinstance(b, AudioSegment) for b in blocks)
    assert sum(int(b.frame_count()) for b in blocks) == int(seg.frame_count())
    assert b"".join(b.raw_data for b in blocks) == seg.raw_data
    result = s.render(tmp_path / "s.wav")
    assert result.path == tmp_path / "s.wav" and not result.reused
    assert decode(result.path) == seg.raw_data
    assert s.render(tmp_path / "s.wav").reused  # as `letgo render` keeps an up-to-date file
    assert not s.render(tmp_path / "s.wav", force=True).reused


def test_script_is_what_letgo_script_shows():
    s = letgo.Session("letting-go", minutes=5, engine="fake", variables={"name": "Sam"})
    shown = CliRunner().invoke(
        main, ["script", "letting-go", "--minutes", "5", "--engine", "fake", "-v", "name=Sam"]
    )
    assert shown.exit_code == 0, shown.output
    assert str(s.script) == shown.output.rstrip("\n")
    assert "Sam" in str(s.script)


@pytest.mark.e2e
def test_keywords_are_the_settings_and_override_per_call(tmp_path):
    s = letgo.Session("letting-go", minutes=5, engine="fake", background="rain")
    assert s.to_segment(background="none").channels == 1
    out = s.render(tmp_path / "rain.flac", loudness=-23.0)
    assert out.path.suffix == ".flac"
    assert ffmpeg.probe(out.path).channels == 2  # the session's own background: rain


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(template="no-such-template"), letgo.TemplateNotFound, "no-such-template"),
        (
            dict(template="letting-go", minutes=0),
            letgo.SettingError,
            "minutes=0: must be more than 0",
        ),
        (dict(template="letting-go", minutes=500), letgo.FitError, "at most 40 minutes"),
        (
            dict(template="letting-go", variables={"nmae": "Sam"}),
            letgo.VariableError,
            "did you mean 'name'",
        ),
        (dict(template="letting-go", rate=5000), letgo.SettingError, "rate=5000: must be"),
        (dict(template="letting-go", minuts=5), letgo.SettingError, "did you mean 'minutes'"),
        (dict(template="letting-go", background=3), letgo.SettingError, "pydub AudioSegment"),
    ],
)
def test_bad_input_raises_letgos_own_errors_at_once(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)) as raised:
        letgo.Session(engine="fake", **kwargs)
    assert isinstance(raised.value, letgo.UsageError)


def test_a_missing_background_file_is_found_when_the_sound_is_made(tmp_path):
    s = letgo.Session("letting-go", minutes=5, engine="fake", background="nowhere/bed.wav")
    with pytest.raises(letgo.SettingError, match="background='nowhere/bed.wav': no such file"):
        s.to_segment()
    with pytest.raises(letgo.SettingError, match="no such file"):
        s.render(tmp_path / "x.mp3")
    assert not (tmp_path / "x.mp3").exists()


def test_errors_read_as_the_command_lines_do():
    cli = CliRunner().invoke(main, ["script", "no-such-template", "--engine", "fake"])
    with pytest.raises(letgo.TemplateNotFound) as raised:
        letgo.Session("no-such-template", engine="fake")
    assert cli.output.strip() == f"letgo: error: {raised.value}"


def test_a_session_too_short_for_its_script_says_so_when_spoken():
    s = letgo.Session("letting-go", minutes=1, engine="fake")
    with pytest.raises(letgo.FitError, match="minutes or more"):
        _ = s.script


def test_to_segment_refuses_a_long_session_and_points_to_segments():
    s = letgo.Session(SLEEP, minutes=90, engine="fake")
    with pytest.raises(letgo.UsageError, match=r"segments\(\)"):
        s.to_segment()


def test_an_audiosegment_bed_loops_with_no_click_at_the_seam(tmp_path):
    """A 330.3 Hz tone 1.1 s long does not end on a whole cycle: looped naively it would jump
    by up to twice its amplitude. In the session's opening seconds (the bed alone, fading in)
    no step is larger than the tone's own, across three seams."""
    (tmp_path / "quiet.j2").write_text(QUIET, encoding="utf-8")
    s = letgo.Session(
        str(tmp_path / "quiet.j2"),
        engine="fake",
        background=tone(1.1),
        background_offset=0.5,
        background_db=0.0,
    )
    seg = s.to_segment()
    assert seg.channels == 2
    opening = clips.samples(seg)[: round(3.9 * RATE), 0]
    amplitude = np.abs(opening).max()
    natural = 2 * np.pi * 330.3 / RATE * amplitude  # the largest step of the tone itself
    assert np.abs(np.diff(opening)).max() < 1.2 * natural
    steady = np.abs(opening[round(3.0 * RATE) :])  # faded in: never a gap
    assert steady[: len(steady) // 441 * 441].reshape(-1, 441).max(axis=1).min() > 0.5 * amplitude


def test_a_segment_loop_plays_like_the_file_loop(tmp_path):
    """The same sound as a file and as an AudioSegment loops to the same samples."""
    bed = tone(2.37)
    path = tmp_path / "bed.wav"
    bed.set_sample_width(2).export(str(path), format="wav")
    from letgo.sound.backgrounds import make_background

    from_file = make_background(str(path), RATE, offset=0.7)
    from_segment = SegmentLoop(AudioSegment.from_file(str(path)), RATE, offset=0.7)
    for frames in (30000, 200000, 7):
        assert np.allclose(from_file.read(frames), from_segment.read(frames), atol=2**-15)


@pytest.mark.parametrize(
    "width, rate, channels, heard",
    [
        (1, 22050, 1, 1),  # 8-bit mono at a low rate
        (3, 48000, 2, 2),  # 24-bit (pydub holds it as 32) at 48 kHz
        (2, 48000, 6, 2),  # six channels: mixed to two
    ],
)
def test_an_unusual_audiosegment_bed_is_converted_not_refused(width, rate, channels, heard):
    t = np.arange(round(2.0 * rate)) / rate
    x = (0.4 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    full = float(1 << (8 * width - 1))
    pcm = np.clip(np.rint(np.repeat(x[:, None], channels, axis=1) * full), -full, full - 1)
    data = (
        pcm.astype(np.int8).tobytes()
        if width == 1
        else pcm.astype("<i2").tobytes()
        if width == 2
        else b"".join(
            int(v).to_bytes(3, "little", signed=True) for v in pcm.ravel().astype(np.int64)
        )
    )
    bed = AudioSegment(data, sample_width=width, frame_rate=rate, channels=channels)
    loop = SegmentLoop(bed, RATE, offset=0.0)
    assert loop.channels == heard
    sound = loop.read(RATE)
    spectrum = np.abs(np.fft.rfft(sound[:, 0]))
    assert np.fft.rfftfreq(len(sound), 1 / RATE)[spectrum.argmax()] == pytest.approx(440, abs=2)
    assert np.abs(sound).max() == pytest.approx(0.4, abs=0.02)


@pytest.mark.e2e
def test_a_different_bed_makes_a_different_file(tmp_path):
    out = tmp_path / "s.mp3"
    first = letgo.Session(
        "whole", minutes=6, engine="fake", background=tone(3.0), background_offset=0.0
    )
    assert not first.render(out).reused
    assert first.render(out).reused
    other = letgo.Session(
        "whole", minutes=6, engine="fake", background=tone(3.0, 220.0), background_offset=0.0
    )
    assert not other.render(out).reused


#: The child's own peak RSS. Not ru_maxrss: Linux carries the high-water mark of the process
#: that forked it (here, pytest with every earlier test's memory) across fork and exec.
PEAK_MB = (
    "def own_peak_mb():\n"
    "    with open('/proc/self/status') as status:\n"
    "        line = next(l for l in status if l.startswith('VmHWM:'))\n"
    "    return int(line.split()[1]) / 1024\n"
)


@pytest.mark.e2e
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_segments_stream_a_long_session_in_constant_memory():
    """Eight hours through segments() in a child process (the default pink bed): its peak
    stays as a ten-minute one's, and under 300 MB."""
    code = (
        PEAK_MB + "import sys, letgo\n"
        f"s = letgo.Session({SLEEP!r}, minutes=float(sys.argv[1]), engine='fake')\n"
        "n = sum(int(b.frame_count()) for b in s.segments())\n"
        "assert n == round(s.script.timeline.duration * 44100), n\n"
        "print(own_peak_mb())\n"
    )
    peaks = {}
    for minutes in (10, 480):
        run = subprocess.run(
            [sys.executable, "-c", code, str(minutes)], capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        peaks[minutes] = float(run.stdout.split()[-1])
    assert peaks[480] < 300, peaks
    assert peaks[480] < peaks[10] + 20, peaks


@pytest.mark.e2e
def test_the_readmes_python_example_runs(tmp_path):
    """The README's "From Python" example, as written, in an empty folder: it needs no file a
    fresh checkout lacks. It speaks with the fake voice, chosen in the user's config.toml (which
    the API follows like the CLI): the point is the API as the README shows it; the real
    voices' renders are other tests', and Piper as the default is test_default_engine's."""
    text = README.read_text(encoding="utf-8")
    example = re.search(r"## From Python.*?```python\n(.*?)```", text, re.S).group(1)
    config = tmp_path.parent / f"{tmp_path.name}-config"
    config.mkdir()
    (config / "config.toml").write_text('[voice]\nengine = "fake"\n')
    run = subprocess.run(
        [sys.executable, "-c", example],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "LETGO_CACHE_DIR": str(tmp_path / "c"), "LETGO_CONFIG_DIR": str(config)},
    )
    assert run.returncode == 0, run.stderr
    assert "Total:" in run.stdout
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == ["audio_out", "c"], made  # nothing else written beside them
    for name in ("sam.mp3", "sam-first-minute.wav", "whole.mp3"):
        assert (tmp_path / "audio_out" / name).stat().st_size > 100_000
    assert (tmp_path / "audio_out" / "sam-first-minute.wav").stat().st_size < 6_000_000
