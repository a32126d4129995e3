"""The pyttsx3 engine: the upstream failure reproduced, and the workaround proven on it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import measure
from audio_checks import assert_follows_timeline
from letgo import session
from letgo.errors import SynthesisError
from letgo.settings.groups import MixSettings
from letgo.voice.engines import Clip, clipcheck
from letgo.voice.engines.pyttsx3 import Pyttsx3Engine

SENTENCES = ["First sentence to keep.", "Second sentence to keep as well."]


@pytest.mark.e2e
def test_upstream_pyttsx3_loses_all_but_the_last_file_of_one_run(tmp_path):
    """The usual way (queue every sentence, one runAndWait) silently writes one file only."""
    naive = textwrap.dedent(f"""
        from letgo.voice.engines import espeak
        espeak.prepare()
        import pyttsx3
        engine = pyttsx3.init()
        for i, text in enumerate({SENTENCES!r}):
            engine.save_to_file(text, r"{tmp_path}/naive-%d.wav" % i)
        engine.runAndWait()
    """)
    subprocess.run([sys.executable, "-c", naive], check=True, capture_output=True)
    written = sorted(p.name for p in tmp_path.glob("naive-*.wav"))
    assert written == ["naive-1.wav"], "upstream behaviour changed; the workaround may be moot"


@pytest.mark.e2e
def test_our_engine_speaks_every_sentence_with_sound():
    engine = Pyttsx3Engine()
    try:
        clips = list(engine.synthesize(SENTENCES))
    finally:
        engine.close()
    assert len(clips) == 2
    for clip, text in zip(clips, SENTENCES, strict=False):
        assert clipcheck.problem(clip, text, 150) is None
        assert measure.rms_db(clip.samples) > -30
    assert clips[1].duration > clips[0].duration


class FlakyWorker:
    """Answers 'ok' but writes nothing, `failures` times; then lets the real worker speak."""

    def __init__(self, real, state):
        self.real, self.state = real, state
        self.process = real.process

    def ask(self, request, timeout):
        if request.get("op") == "say" and self.state["failures"] > 0:
            self.state["failures"] -= 1
            return {"ok": True}
        return self.real.ask(request, timeout)

    def close(self):
        self.real.close()


@pytest.mark.e2e
@pytest.mark.parametrize("failures, succeeds", [(2, True), (3, False)])
def test_a_driver_that_writes_nothing_is_retried_then_named(monkeypatch, failures, succeeds):
    engine = Pyttsx3Engine()
    original = Pyttsx3Engine._ensure_worker
    state = {"failures": failures}

    def flaky(self):
        worker = original(self)
        if not isinstance(worker, FlakyWorker):
            worker = self._worker = FlakyWorker(worker, state)
        return worker

    monkeypatch.setattr(Pyttsx3Engine, "_ensure_worker", flaky)
    try:
        if succeeds:
            (clip,) = engine.synthesize(["Rest here a while."])
            assert clipcheck.problem(clip, "Rest here a while.", 150) is None
        else:
            with pytest.raises(SynthesisError, match='"Rest here a while." after 3 attempts'):
                list(engine.synthesize(["Rest here a while."]))
    finally:
        engine.close()


@pytest.mark.parametrize(
    "clip, reason",
    [
        (None, "no audio"),
        (Clip(np.zeros(22050, dtype=np.float32), 22050), "silent"),
        (Clip(0.2 * np.ones(200, dtype=np.float32), 22050), "too short"),
    ],
)
def test_silence_is_never_taken_for_speech(clip, reason):
    assert reason in clipcheck.problem(clip, "Let your shoulders soften and rest.", 150)


@pytest.mark.e2e
def test_a_real_render_has_the_length_asked_for_and_follows_its_timeline(tmp_path):
    out = tmp_path / "whole.mp3"
    request = session.Request(
        template="whole", minutes=6, engine="pyttsx3", mix=MixSettings(background="none")
    )
    result = session.render(request, out)
    info = measure.stream_info(out)
    assert info.codec == "mp3" and info.sample_rate == 44100
    assert abs(info.duration - 360) < 1.0
    assert assert_follows_timeline(out, result.prepared.timeline) >= 5


def test_the_identity_names_the_voice_in_use_even_when_none_is_asked_for():
    """With no --voice the platform chooses; its choice is part of the cache key. eSpeak's
    choice is fixed by its library, which the identity names by checksum: no worker starts."""
    from letgo.voice.engines import VoiceSettings, espeak

    engines = [Pyttsx3Engine(VoiceSettings(voice=v)) for v in (None, "gmw/en-us")]
    try:
        default, american = (e.identity() for e in engines)
        assert all(e._worker is None for e in engines)
    finally:
        for e in engines:
            e.close()
    line, path = espeak.library()
    assert line in default and "/default/" in default
    if path is not None:
        assert f"/{path.stat().st_size}/" in default
    assert default != american and "/gmw/en-us/" in american


def test_a_system_espeak_is_found_where_the_dynamic_loader_would_look(tmp_path, monkeypatch):
    """LD_LIBRARY_PATH first (the loader's own order), read without running ldconfig."""
    from letgo.voice.engines import espeak

    if not sys.platform.startswith("linux"):
        pytest.skip("eSpeak is the pyttsx3 voice on Linux only")
    (tmp_path / "libespeak-ng.so.1").write_bytes(b"\x7fELF not really")
    monkeypatch.setenv("LD_LIBRARY_PATH", f"/nowhere:{tmp_path}")
    line, path = espeak.library()
    assert path == tmp_path / "libespeak-ng.so.1" and line.startswith("system eSpeak NG")
