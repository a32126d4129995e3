"""Rendering through the whole pipeline with the fake engine and the real encoder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mutagen.id3 import ID3

import measure
from audio_checks import assert_follows_timeline
from letgo import session
from letgo.errors import FitError, TemplateError
from letgo.settings.groups import MixSettings


def request(template, **changes) -> session.Request:
    return session.Request(
        template=str(template),
        engine="fake",
        mix=MixSettings(background=changes.pop("background", "none")),
        **changes,
    )


def test_a_render_is_an_mp3_of_the_asked_length_that_follows_its_timeline(
    short_template, fake_engine, tmp_path
):
    out = tmp_path / "s.mp3"
    result = session.render(request(short_template, minutes=1.0), out, engine=fake_engine)
    info = measure.stream_info(out)
    assert (info.codec, info.sample_rate) == ("mp3", 44100)
    assert abs(info.duration - 60.0) < 1.0
    assert assert_follows_timeline(out, result.prepared.timeline) >= 1
    tags = ID3(out)
    assert tags["TIT2"].text == ["A short test"]
    assert tags["TPE1"].text == ["letgo"]
    assert tags.getall("COMM")[0].text == ["Every kind of markup, in under a minute."]


def test_the_background_plays_in_the_pauses(short_template, fake_engine, tmp_path):
    out = tmp_path / "s.mp3"
    result = session.render(request(short_template, background="pink"), out, engine=fake_engine)
    assert_follows_timeline(out, result.prepared.timeline, background=True)
    assert measure.silences(out, noise_db=-60, minimum=1.0) == []


def test_variables_reach_the_speech(short_template, fake_engine, tmp_path):
    prepared = session.prepare(request(short_template, variables={"name": "Sam"}), fake_engine)
    assert prepared.script.sentences[0].text == "Hello, Sam."


def failing_requests(short_template, tmp_path):
    broken = tmp_path / "broken.j2"
    broken.write_text("Line one.\n{% if %}\n")
    return [request(short_template, minutes=0.1), request(broken)]


@pytest.mark.parametrize("case", [0, 1])
def test_a_failed_render_leaves_the_existing_file_and_no_partial_file(
    case, short_template, fake_engine, tmp_path
):
    out = tmp_path / "keep.mp3"
    out.write_bytes(b"earlier work")
    with pytest.raises((FitError, TemplateError)):
        session.render(failing_requests(short_template, tmp_path)[case], out, engine=fake_engine)
    assert out.read_bytes() == b"earlier work"
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".mp3") == ["keep.mp3"]


def test_an_interrupted_encode_leaves_no_partial_file(short_template, tmp_path, monkeypatch):
    from letgo.sound import mix

    def exploding_blocks(*args, **kwargs):
        yield from []
        raise KeyboardInterrupt

    monkeypatch.setattr(mix, "blocks", exploding_blocks)
    out = tmp_path / "new.mp3"
    with pytest.raises(KeyboardInterrupt):
        session.render(request(short_template), out, engine=None)
    assert list(tmp_path.iterdir()) == []


def test_a_successful_render_replaces_the_old_file_whole(short_template, fake_engine, tmp_path):
    out = tmp_path / "s.mp3"
    out.write_bytes(b"old")
    session.render(request(short_template), out, engine=fake_engine)
    assert out.read_bytes()[:3] == b"ID3"
    assert [p.name for p in tmp_path.iterdir()] == ["s.mp3"]
    assert os.access(out, os.R_OK)


def test_the_encoder_error_names_the_file_and_what_ffmpeg_said(
    short_template, fake_engine, tmp_path, monkeypatch
):
    """The file asked for, not the unnamed temporary one it is written through."""
    from dataclasses import replace

    from letgo.errors import EncodeError
    from letgo.file import formats

    broken = replace(formats.FORMATS["mp3"], codec=("-c:a", "no-such-codec", "-f", "mp3"))
    monkeypatch.setitem(formats.FORMATS, "mp3", broken)
    with pytest.raises(EncodeError, match="Encoder not found") as failed:
        session.render(request(short_template), tmp_path / "x.mp3", engine=fake_engine)
    assert f"encoding {tmp_path / 'x.mp3'} failed" in str(failed.value)
    assert "/proc/" not in str(failed.value) and "/dev/fd" not in str(failed.value)
    assert list(Path(tmp_path).iterdir()) == []
