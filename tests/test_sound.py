"""Sound, measured on real rendered files: loudness, ducking, loop seams, binaural beats,
every background and format, and memory that does not grow with a session's length."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import measure
from letgo import session
from letgo.cli import main
from letgo.file import ffmpeg
from letgo.settings.groups import MixSettings, spoken_word_lufs
from letgo.sound import mix
from letgo.sound.backgrounds import BUILT_IN, make_background
from letgo.sound.bell import strike
from letgo.sound.levels import GUIDED_AFTER

DATA = Path(__file__).parent / "sound_data"
DUCK = str(DATA / "duck.j2")
SLEEP = str(DATA / "sleep-short.j2")
RATE = 44100


def render(tmp_path: Path, name: str, *args: str, template: str = DUCK) -> Path:
    out = tmp_path / name
    result = CliRunner().invoke(
        main, ["render", template, "--engine", "fake", "-q", "-o", str(out), *args]
    )
    assert result.exit_code == 0, result.output
    assert out.is_file()
    return out


def high_band(x: np.ndarray, cutoff: float = 1500.0) -> np.ndarray:
    """The signal above `cutoff` Hz: the background without the fake voice's 220 Hz tone."""
    spectrum = np.fft.rfft(x, axis=0)
    spectrum[np.fft.rfftfreq(len(x), 1 / RATE) < cutoff] = 0
    return np.fft.irfft(spectrum, len(x), axis=0)


def sine_file(path: Path, seconds: float, frequency: float = 330.3, channels: int = 2) -> Path:
    ffmpeg.run(
        [
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=f={frequency}:d={seconds}:r={RATE}",
            "-ac",
            str(channels),
            "-c:a",
            "flac",
            str(path),
        ],
        "making a test file",
    )
    return path


# --- backgrounds ---------------------------------------------------------------------------------


def test_backgrounds_command_lists_every_background():
    result = CliRunner().invoke(main, ["backgrounds"])
    assert result.exit_code == 0
    for name in BUILT_IN:
        assert name in result.output


@pytest.mark.e2e
@pytest.mark.parametrize("name", list(BUILT_IN) + ["file"])
def test_every_background_renders_at_the_target_loudness(tmp_path, name):
    background = str(sine_file(tmp_path / "loop.flac", 5.3)) if name == "file" else name
    out = render(tmp_path, f"{name}.wav", "--background", background)
    info = measure.stream_info(out)
    stereo = name == "file" or BUILT_IN[name].channels == 2
    assert info.channels == (2 if stereo else 1)
    loud = measure.loudness(out)
    assert abs(loud.integrated_lufs - spoken_word_lufs(info.channels)) <= 1.0, loud
    assert loud.true_peak_dbtp <= -1.0, loud


@pytest.mark.parametrize("name", list(BUILT_IN))
def test_generated_backgrounds_join_blocks_without_a_seam(name):
    """State carries across reads: the step between the last sample of one read and the first
    of the next is no bigger than the steps inside the reads."""
    bed = make_background(name, RATE)
    sizes = [1000, 44100, 7, 30000, 88200, 513, 88200]
    parts = [bed.read(n) for n in sizes]
    audio = np.concatenate(parts)
    if name == "none":
        assert not audio.any()
        return
    steps = np.abs(np.diff(audio, axis=0)).max(axis=1)
    edges = np.cumsum(sizes)[:-1] - 1
    inside = np.delete(steps, edges)
    assert steps[edges].max() <= np.percentile(inside, 99.9)


@pytest.mark.e2e
@pytest.mark.parametrize("name", list(BUILT_IN) + ["file", "streamed file"])
def test_a_bed_is_the_same_however_it_is_read_or_skipped(tmp_path, monkeypatch, name):
    """The second half of an MP3 encoded in halves skips to its start and must play the very
    samples the first half played there (see letgo.file.mp3join): skipping to a place leaves a bed
    as reading up to it does (cheaply: a generated bed skips minutes in a moment)."""
    from letgo.sound.backgrounds import FileLoop

    if name == "streamed file":
        monkeypatch.setattr(FileLoop, "IN_MEMORY", 0)
    if name.endswith("file"):
        name = str(sine_file(tmp_path / "s.flac", 2.37))
    bed = make_background(name, RATE, offset=0.7)
    read, skipped = bed.twin(), bed.twin()
    before = 3 * 60 * RATE + 12345
    for size in [88200] * (before // 88200) + [before % 88200]:
        read.read(size)
    skipped.skip(before)
    for n in (1000, 88200, 7):
        assert np.array_equal(read.read(n), skipped.read(n))
    for stream in (bed, read, skipped):
        stream.close()


@pytest.mark.parametrize("streamed", [False, True])
def test_file_loop_has_no_click_at_the_seam(tmp_path, monkeypatch, streamed):
    """A 330.3 Hz sine 2.37 s long does not end on a whole cycle: looped naively it would
    jump by up to twice its amplitude. With the crossfade no step exceeds a sine's own.
    Short files loop in memory; long ones are streamed (forced here)."""
    from letgo.sound.backgrounds import FileLoop

    if streamed:
        monkeypatch.setattr(FileLoop, "IN_MEMORY", 0)
    path = sine_file(tmp_path / "short.flac", 2.37)
    loop = make_background(str(path), RATE, offset=0.5)
    assert (loop.process is not None) == streamed
    audio = np.concatenate([loop.read(10000) for _ in range(int(8 * RATE / 10000))])
    amplitude = np.max(np.abs(audio[:RATE]))
    natural = 2 * np.pi * 330.3 / RATE * amplitude  # the largest step of the sine itself
    steps = np.max(np.abs(np.diff(audio, axis=0)))
    assert steps < 1.5 * natural, (steps, natural)
    tail = np.abs(audio[RATE // 2 :])
    tail = tail[: len(tail) // 441 * 441].reshape(-1, 441, 2).max(axis=1)
    assert tail.min() > 0.3 * amplitude  # never a gap


@pytest.mark.parametrize("streamed", [False, True])
def test_a_file_loops_twin_plays_the_same(tmp_path, monkeypatch, streamed):
    """The bed is measured from a twin; a short file's twin decodes nothing again."""
    from letgo.sound.backgrounds import FileLoop

    if streamed:
        monkeypatch.setattr(FileLoop, "IN_MEMORY", 0)
    loop = make_background(str(sine_file(tmp_path / "s.flac", 2.37)), RATE, offset=0.7)
    if not streamed:
        monkeypatch.setattr(FileLoop, "_decode", lambda *a: pytest.fail("decoded again"))
    twin = loop.twin()
    for frames in (30000, 100000, 7):
        assert np.array_equal(loop.read(frames), twin.read(frames))
    loop.close()
    twin.close()


def test_file_background_bad_path_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "render",
            DUCK,
            "--engine",
            "fake",
            "-o",
            str(tmp_path / "x.mp3"),
            "--background",
            str(tmp_path / "missing.wav"),
        ],
    )
    assert result.exit_code == 2
    assert "missing.wav" in result.output
    assert not (tmp_path / "x.mp3").exists()


@pytest.mark.e2e
def test_binaural_channels_differ_by_the_beat(tmp_path):
    out = render(tmp_path, "beat.flac", "--background", "binaural", "--beat", "7")
    audio = ffmpeg.decode(out, RATE, 2)
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))[:, None], axis=0))
    freqs = np.fft.rfftfreq(len(audio), 1 / RATE)
    band = (freqs > 180) & (freqs < 212)  # the carriers; the fake voice sits at 220 Hz
    left, right = (freqs[band][np.argmax(spectrum[band, c])] for c in (0, 1))
    assert right - left == pytest.approx(7.0, abs=0.2)


# --- mixing --------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_background_ducks_under_speech_by_the_configured_depth(tmp_path):
    request = session.Request(DUCK, engine="fake")
    timeline = session.prepare(request).timeline
    out = render(tmp_path, "duck.wav", "--background", "pink", "--duck-db", "9")
    bed = high_band(ffmpeg.decode(out, RATE, 1)[:, 0])

    def level(start: float, end: float) -> float:
        return measure.rms_db(bed[round(start * RATE) : round(end * RATE)])

    speech = mix.duck_intervals(timeline, MixSettings())
    pauses = [(s.start, s.start + s.duration) for s in timeline.silences if s.duration >= 15]
    assert speech and pauses
    under = [level(a + 1.0, b - 0.5) for a, b in speech if b - a > 3]
    between = [level(a + 3.0, b - 2.0) for a, b in pauses]
    for u in under:
        for p in between:
            assert p - u == pytest.approx(9.0, abs=2.0)


@pytest.mark.e2e
def test_mp3_meets_loudness_and_true_peak_targets(tmp_path):
    out = render(tmp_path, "session.mp3", "--minutes", "6", template="letting-go")
    loud = measure.loudness(out)
    assert measure.stream_info(out).channels == 1
    assert abs(loud.integrated_lufs - -19.0) <= 1.0, loud  # mono spoken word (AES TD1004)
    assert loud.true_peak_dbtp <= -1.0, loud
    quiet = measure.loudness(render(tmp_path, "quiet.mp3", "--lufs", "-23"))
    assert abs(quiet.integrated_lufs - -23.0) <= 1.0, quiet


@pytest.mark.e2e
def test_sessions_of_a_series_agree(tmp_path):
    """Mono and stereo sessions each sit on their own channel count's target, 3 LU apart,
    which the ear hears as equally loud."""
    files = [
        render(tmp_path, "a.mp3", "--minutes", "6", template="letting-go"),
        render(tmp_path, "b.mp3", "--background", "ocean"),
        render(tmp_path, "c.mp3", "--background", "rain", "-m", "2"),
    ]
    assert [measure.stream_info(f).channels for f in files] == [1, 2, 2]
    above = [
        measure.loudness(f).integrated_lufs - spoken_word_lufs(measure.stream_info(f).channels)
        for f in files
    ]
    assert max(above) - min(above) <= 0.5, above


def test_sleep_template_fades_out_slowly(tmp_path):
    out = render(tmp_path, "sleep.wav", "--minutes", "6", template=SLEEP)
    audio = ffmpeg.decode(out, RATE, 1)[:, 0]
    end = len(audio) / RATE

    def level(t: float) -> float:
        return measure.rms_db(audio[round((t - 2) * RATE) : round(t * RATE)])

    # 180 s fade: an equal-power curve is -3 dB halfway and far down near the end.
    assert level(end - 190) - level(end - 90) == pytest.approx(3.0, abs=1.5)
    assert level(end - 190) - level(end - 5) > 15


@pytest.mark.e2e
@pytest.mark.parametrize("minutes", [6, 12])
def test_a_sleep_session_is_set_by_its_guided_part(tmp_path, minutes):
    """The words land at the target as in any session; the night of background after them
    stays under the voice, so the whole file measures lower, the more so the longer it is."""
    out = render(
        tmp_path, "sleep.mp3", "--minutes", str(minutes), "--background", "rain", template=SLEEP
    )
    prepared = session.prepare(session.Request(SLEEP, minutes=minutes, engine="fake"))
    guided = max(e.end for e in prepared.timeline.events) + GUIDED_AFTER
    words = measure.loudness(out, end=guided)
    assert abs(words.integrated_lufs - -16.0) <= 1.0, words
    assert words.true_peak_dbtp <= -1.0, words
    night = measure.loudness(out, start=guided + 5, end=guided + 65)
    assert -16.0 - 30 < night.integrated_lufs <= -16.0 + MixSettings.background_db + 1, night
    whole = measure.loudness(out)
    assert whole.integrated_lufs < words.integrated_lufs - 3, (whole, words)


def test_bell_is_a_long_decaying_strike():
    bell = strike(RATE)
    first, last = bell[:RATE], bell[-2 * RATE : -RATE]
    assert measure.rms_db(first) - measure.rms_db(last) > 15
    assert np.max(np.abs(bell)) <= 0.5 + 1e-6
    assert abs(bell[0]) < 1e-3 and abs(bell[-1]) < 1e-3


# --- formats -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ext, codec",
    [("wav", "pcm_s16le"), ("flac", "flac"), ("ogg", "opus"), ("m4a", "aac"), ("mp3", "mp3")],
)
def test_formats_follow_the_extension_and_carry_a_title(tmp_path, ext, codec):
    import mutagen

    out = render(tmp_path, f"s.{ext}", "--background", "brown")
    assert measure.stream_info(out).codec == codec
    tags = mutagen.File(out).tags
    text = str(tags)
    assert "Ducking check" in text


def test_format_option_names_the_default_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main, ["render", DUCK, "--engine", "fake", "-q", "--format", "flac"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "audio_out" / "duck.flac").is_file()
    clash = CliRunner().invoke(
        main, ["render", DUCK, "--engine", "fake", "--format", "ogg", "-o", str(tmp_path / "x.mp3")]
    )
    assert clash.exit_code == 2 and "--format" in clash.output


# --- memory --------------------------------------------------------------------------------------


def _mix_peak(minutes: float) -> int:
    """Peak traced memory while mixing (not encoding) a session of `minutes`."""
    request = session.Request(
        SLEEP, minutes=minutes, engine="fake", mix=MixSettings(background="ocean")
    )
    prepared = session.prepare(request)
    background = make_background("ocean", RATE)
    settings = session.mix_settings(request, prepared, background.channels)
    levels = session.mix_levels(prepared, settings, background)
    tracemalloc.start()
    try:
        frames = sum(len(b) for b in mix.blocks(prepared.timeline, levels, background, settings))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert frames == round(prepared.timeline.duration * RATE)
    return peak


@pytest.mark.e2e
def test_memory_does_not_grow_with_session_length():
    short, long = _mix_peak(5), _mix_peak(20)
    assert long <= short * 1.1 + 1_000_000, (short, long)
    assert long < 50_000_000
