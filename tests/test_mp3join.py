"""An MP3 encoded in two halves at once and joined: gapless, and the join unheard."""

from __future__ import annotations

import subprocess
import threading
from types import SimpleNamespace

import numpy as np
import pytest

import measure
from letgo import session
from letgo.file import export, ffmpeg, mp3join, tags
from letgo.settings.groups import ExportSettings, MixSettings

RATE = 44100
MP3 = ExportSettings(format="mp3", bitrate="128k")


class Samples:
    """A `Source` over samples held in memory."""

    def __init__(self, samples: np.ndarray):
        self.samples = samples.reshape(len(samples), -1).astype(np.float32)
        self.frames, self.channels = self.samples.shape
        self.sample_rate = RATE

    def blocks(self, start=0, end=None):
        end = self.frames if end is None else end
        for a in range(start, end, 88200):
            yield self.samples[a : min(end, a + 88200)]


def speechlike(seconds: float, channels: int = 1, seed: int = 3) -> np.ndarray:
    """Pink-ish noise under bursts of a gliding, harmonic tone with silences between: a bed
    and a voice, with onsets that make LAME switch to short blocks."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    bed = np.cumsum(rng.standard_normal((n, channels)), axis=0)
    bed -= np.convolve(bed[:, 0], np.ones(441) / 441, mode="same")[:, None]
    bed *= 0.02 / bed.std()
    pitch = 140 + 40 * np.sin(2 * np.pi * t / 3.1)
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    tone = sum(np.sin(k * phase) / k for k in range(1, 8))
    bursts = (np.sin(2 * np.pi * t / 2.3) > 0.2) * (np.sin(2 * np.pi * t / 0.31) > -0.5)
    return (bed + 0.25 * (tone * bursts)[:, None]).astype(np.float32)


def decode(path, channels: int = 1) -> np.ndarray:
    result = subprocess.run(
        ffmpeg.command(*ffmpeg.source(path), "-f", "f32le", "-ac", str(channels), "-"),
        capture_output=True,
        check=True,
    )
    return ffmpeg.frames(result.stdout, channels)


def encoded(samples: np.ndarray, path, encoders: int, bitrate: str = "128k") -> np.ndarray:
    path.write_bytes(b"")
    export.encode(
        Samples(samples), path, ExportSettings(format="mp3", bitrate=bitrate), encoders=encoders
    )
    return decode(path, samples.shape[1])


def worst_error(decoded: np.ndarray, source: np.ndarray, around: int) -> float:
    """The loudest 10 ms of coding error within a second of `around`."""
    error = decoded[around - RATE : around + RATE] - source[around - RATE : around + RATE]
    windows = error[: len(error) // 441 * 441].reshape(-1, 441, error.shape[1])
    return float(np.sqrt(np.mean(windows.astype(np.float64) ** 2, axis=(1, 2))).max())


def test_a_short_session_is_encoded_whole():
    assert mp3join.halves(30 * RATE) is None
    join, first_end, second_start = mp3join.halves(120 * RATE)
    assert join % mp3join.FRAME == 0
    assert first_end - join == join - second_start == mp3join.OVERLAP * mp3join.FRAME


@pytest.mark.e2e
@pytest.mark.parametrize("channels, bitrate", [(1, "128k"), (2, "128k"), (1, "32k"), (2, "320k")])
def test_the_halves_join_gaplessly_and_the_join_is_coding_noise(
    tmp_path, monkeypatch, channels, bitrate
):
    joins = []
    monkeypatch.setattr(mp3join, "join", lambda *a, join=mp3join.join: joins.append(join(*a)))
    source = speechlike(100.0, channels)
    whole = encoded(source, tmp_path / "whole.mp3", encoders=1, bitrate=bitrate)
    halves = encoded(source, tmp_path / "halves.mp3", encoders=2, bitrate=bitrate)
    assert len(joins) == 1, "joined, not encoded whole"
    # Gapless: exactly the source's samples, in place (a frame off would be a large error).
    assert len(halves) == len(whole) == len(source)
    join = mp3join.halves(len(source))[0]
    reference = worst_error(whole, source, join)
    assert worst_error(halves, source, join) < 1.3 * reference
    rms = lambda x: float(np.sqrt(np.mean((x - source).astype(np.float64) ** 2)))  # noqa: E731
    assert abs(rms(halves) - rms(whole)) < 0.05 * rms(whole)


@pytest.mark.e2e
def test_the_joined_file_has_a_true_header(tmp_path):
    """Players read its length and gapless trim from the Info frame ffmpeg wrote afresh."""
    source = speechlike(90.0)
    out = tmp_path / "halves.mp3"
    encoded(source, out, encoders=2)
    info = measure.stream_info(out)
    assert abs(info.duration - 90.0) < 0.03
    data = out.read_bytes()
    with open(out, "rb") as file:
        (info_at, _), *frames = mp3join.frames(file)
    tag = data.index(b"Info", info_at)
    assert int.from_bytes(data[tag + 8 : tag + 12], "big") == len(frames)
    assert int.from_bytes(data[tag + 12 : tag + 16], "big") == len(data) - info_at


@pytest.mark.e2e
def test_halves_that_cannot_be_joined_are_encoded_whole(tmp_path, monkeypatch):
    def refuse(*args):
        raise mp3join.JoinError("refused for the test")

    monkeypatch.setattr(mp3join, "join", refuse)
    source = speechlike(80.0)
    assert len(encoded(source, tmp_path / "whole.mp3", encoders=2)) == len(source)


@pytest.mark.e2e
def test_a_failure_while_feeding_stops_both_encoders_and_leaves_nothing(tmp_path):
    source = Samples(speechlike(80.0))
    out = tmp_path / "s.mp3"
    out.write_bytes(b"")
    calls = 0

    def on_block(frames):
        nonlocal calls
        calls += 1
        if calls == 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export.encode(source, out, MP3, on_block, encoders=2)
    assert [p.name for p in tmp_path.iterdir()] == ["s.mp3"]
    assert threading.active_count() == 1


@pytest.mark.e2e
def test_a_render_in_halves_matches_one_encoded_whole(short_template, fake_engine, tmp_path):
    request = session.Request(
        template=str(short_template),
        engine="fake",
        minutes=3.0,
        mix=MixSettings(background="ocean"),
    )
    halves, whole = tmp_path / "halves.mp3", tmp_path / "whole.mp3"
    result = session.render(request, halves, engine=fake_engine, encoders=2)
    session.render(request, whole, engine=fake_engine, encoders=1)
    a, b = decode(halves, 2), decode(whole, 2)
    assert len(a) == len(b) == round(result.prepared.timeline.duration * RATE)
    loudness = [measure.loudness(path).integrated_lufs for path in (halves, whole)]
    assert abs(loudness[0] - loudness[1]) < 0.1
    assert tags.read_extra(halves) == tags.read_extra(whole)


@pytest.mark.e2e
def test_a_failure_in_the_second_half_stops_the_first(tmp_path):
    """The second half's feeder fails (say, the progress display's stderr closed): the first
    encoder is stopped at its next block instead of running on to its end."""
    source = Samples(speechlike(300.0))
    out = tmp_path / "s.mp3"
    out.write_bytes(b"")
    fed = {"first": 0}

    def on_block(frames):
        if threading.current_thread().name == "letgo-second-half":
            raise BrokenPipeError("stderr closed")
        fed["first"] += frames

    with pytest.raises(BrokenPipeError):
        export.encode(source, out, MP3, on_block, encoders=2)
    assert fed["first"] < source.frames // 4
    assert [p.name for p in tmp_path.iterdir()] == ["s.mp3"]


@pytest.mark.e2e
def test_without_room_for_the_halves_a_session_is_encoded_whole(tmp_path, monkeypatch):
    """A split encode needs twice the file's size free on the disk for a moment."""
    monkeypatch.setattr(  # measured on the open file, which may have no name yet
        export.os, "fstatvfs", lambda fd: SimpleNamespace(f_bavail=25, f_frsize=4096)
    )
    monkeypatch.setattr(mp3join, "join", lambda *a: pytest.fail("split despite the full disk"))
    source = speechlike(80.0)
    assert len(encoded(source, tmp_path / "whole.mp3", encoders=2)) == len(source)
