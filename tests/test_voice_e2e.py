"""The voice at default settings, on real rendered files with each real engine: spoken-word
loudness by channel count (AES TD1004: -19 LUFS mono, -16 LUFS stereo), true peak at most
-1 dBTP, the voice's own dynamics kept (peak-to-loudness ratio of 16 dB or more over its
speech) and a teacher's pace (120 words a minute or fewer, sentence gaps in, written pauses
out), measured as /work/shared/tools/voicecheck.py measures them."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import measure
from letgo import session
from letgo.cli import main
from letgo.settings.groups import MixSettings
from letgo.voice.engines.piper import known_voices

#: One worker runs the module (scripts/test.sh: --dist loadgroup), so its speech cache is shared.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("voice_e2e")]

PIPER = pytest.param(
    "piper",
    marks=pytest.mark.skipif(
        not any(v.installed for v in known_voices()), reason="piper is not installed"
    ),
)
ENGINES = ["pyttsx3", PIPER]
#: Long enough for every sentence of letting-go, short enough for the suite.
MINUTES = 6


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> str:
    """One synthesis cache for the module: each engine speaks letting-go once."""
    return str(tmp_path_factory.mktemp("speech"))


def render(engine: str, background: str, out, cache_dir: str) -> session.Result:
    request = session.Request(
        "letting-go",
        minutes=MINUTES,
        engine=engine,
        mix=MixSettings(background=background),
        cache_dir=cache_dir,
    )
    return session.render(request, out)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_voice_keeps_its_dynamics_at_a_teachers_pace(engine, cache_dir, tmp_path):
    out = tmp_path / "voice.mp3"
    result = render(engine, "none", out, cache_dir)
    voice = measure.voice(out, result.prepared.timeline)
    assert voice.plr_db >= 16.0, voice
    assert voice.true_peak_dbtp <= -1.0, voice
    assert voice.pace_wpm <= 120.0, voice
    assert voice.words > 200, voice  # the whole script (about 240 words at 6 min) was metered
    whole = measure.loudness(out)
    assert abs(whole.integrated_lufs - -19.0) <= 1.0, whole


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("background, channels, target", [("pink", 1, -19.0), ("rain", 2, -16.0)])
def test_the_default_loudness_follows_the_channel_count(
    engine, background, channels, target, cache_dir, tmp_path
):
    out = tmp_path / f"{background}.mp3"
    render(engine, background, out, cache_dir)
    assert measure.stream_info(out).channels == channels
    loud = measure.loudness(out)
    assert abs(loud.integrated_lufs - target) <= 1.0, loud
    assert loud.true_peak_dbtp <= -1.0, loud


def test_a_series_of_mono_and_stereo_sessions_each_hits_its_own_target(
    cache_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("LETGO_CACHE_DIR", cache_dir)
    plan = tmp_path / "course.toml"
    plan.write_text(f"""
[series]
title = "Two rooms"
author = "Test Teacher"

[defaults]
minutes = {MINUTES}
engine = "pyttsx3"

[[sessions]]
template = "letting-go"
title = "Day 1: Indoors"
background = "pink"

[[sessions]]
template = "letting-go"
title = "Day 2: In the rain"
background = "rain"
""")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["series", "build", str(plan), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    files = sorted(out.glob("*.mp3"))
    assert len(files) == 2, files
    for path, (channels, target) in zip(files, [(1, -19.0), (2, -16.0)], strict=False):
        assert measure.stream_info(path).channels == channels, path
        loud = measure.loudness(path)
        assert abs(loud.integrated_lufs - target) <= 1.0, (path, loud)
        assert loud.true_peak_dbtp <= -1.0, (path, loud)
