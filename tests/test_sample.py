"""`letgo sample`: a few sentences in a voice, levelled like a session, to choose by ear."""

from __future__ import annotations

import pytest

import measure
from audio_checks import assert_follows_timeline
from letgo import sample, session
from letgo.cli import main
from letgo.voice.engines.fake import FakeEngine


def test_a_sample_says_its_text_as_written_on_silence_at_the_session_loudness(tmp_path):
    engine = FakeEngine()
    output = tmp_path / "sample.wav"
    result = sample.render(
        session.Request(template="unused", engine="fake"),
        output,
        "Breathe in for 4 counts.\n[pause 2s]\nSay {{ this }} as written.",
        engine=engine,
    )
    assert engine.calls == ["Breathe in for four counts.", "Say {{ this }} as written."]
    timeline = result.prepared.timeline
    assert timeline.speech[0].start == pytest.approx(sample.LEAD_IN)
    assert assert_follows_timeline(output, timeline) == 1  # the pause is silent
    assert measure.loudness(output).integrated_lufs == pytest.approx(-19, abs=1)  # mono


def test_the_built_in_text_is_a_few_sentences_of_meditation(tmp_path):
    engine = FakeEngine()
    result = sample.render(
        session.Request(template="unused", engine="fake"), tmp_path / "sample.mp3", engine=engine
    )
    assert len(engine.calls) == 5 and "Breathe in for four counts, and out for six." in engine.calls
    assert 10 < result.duration < 30


def test_the_sample_command_names_its_file_by_engine_and_voice(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["sample", "Rest here.", "--engine", "fake"])
    assert result.exit_code == 0, result.output
    assert "Wrote audio_out/sample-fake-default.mp3" in result.output
    assert measure.stream_info(tmp_path / "audio_out" / "sample-fake-default.mp3").duration > 1


@pytest.mark.parametrize(
    "engine, voice, name",
    [
        ("piper", None, "sample-piper-default.mp3"),
        ("piper", "~/voices/en_GB-alba-medium.onnx", "sample-piper-en_GB-alba-medium.mp3"),
        ("pyttsx3", "gmw/en-us", "sample-pyttsx3-gmw-en-us.mp3"),
        (
            "pyttsx3",
            "Microsoft Zira Desktop - English (United States)",
            "sample-pyttsx3-Microsoft-Zira-Desktop-English-United-States.mp3",
        ),
    ],
)
def test_sample_file_names(engine, voice, name):
    assert sample.output_name(engine, voice) == name


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_sample_text_is_a_usage_error(runner, tmp_path, text):
    result = runner.invoke(
        main, ["sample", text, "--engine", "fake", "-o", str(tmp_path / "s.mp3")]
    )
    assert result.exit_code == 2 and "the sample text is empty" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "s.mp3").exists()


@pytest.mark.e2e
def test_a_pyttsx3_sample_has_speech_where_its_timeline_says(tmp_path):
    output = tmp_path / "sample.mp3"
    result = sample.render(session.Request(template="unused"), output)
    assert_follows_timeline(output, result.prepared.timeline)
    assert measure.loudness(output).integrated_lufs == pytest.approx(-19, abs=1)  # mono
