"""The real Piper voice: speech where the timeline says, the right length, and the cache."""

from __future__ import annotations

import pytest

import measure
from audio_checks import BELL_RING, assert_follows_timeline
from conftest import needs_piper
from letgo import session
from letgo.settings.groups import MixSettings
from letgo.voice.engines import VoiceSettings, clipcheck, make_engine

pytestmark = [pytest.mark.e2e, needs_piper]

EDGE = 0.6  # Piper clips start and end with a little silence of their own (up to ~0.5 s)


def request(template, store, **changes) -> session.Request:
    return session.Request(
        template=str(template),
        engine="piper",
        cache_dir=str(store),
        mix=MixSettings(background="none"),
        **changes,
    )


def test_a_piper_session_has_speech_where_the_timeline_says_and_the_right_length(
    short_template, tmp_path
):
    out = tmp_path / "piper.mp3"
    result = session.render(request(short_template, tmp_path / "cache", minutes=1.0), out)
    timeline = result.prepared.timeline
    assert abs(measure.stream_info(out).duration - 60.0) < 1.0
    assert assert_follows_timeline(out, timeline) >= 1
    # No stretch of silence (a second or more) lies inside a spoken sentence...
    quiet = measure.silences(out, noise_db=-45, minimum=1.0)
    for event in timeline.speech:
        for start, end in quiet:
            overlap = min(end, event.end - EDGE) - max(start, event.start + EDGE)
            assert overlap <= 0, f"silence {start:.2f}-{end:.2f} s inside {event.text!r}"
    # ...and every written pause of two seconds or more, clear of a bell's ring, is silent.
    bells = [e.start for e in timeline.events if e.kind == "bell"]
    pauses = [
        s
        for s in timeline.silences
        if s.duration >= 2.0 and not any(b <= s.start < b + BELL_RING for b in bells)
    ]
    assert pauses
    for pause in pauses:
        assert any(
            start <= pause.start + EDGE and end >= pause.start + pause.duration - EDGE
            for start, end in quiet
        ), f"pause at {pause.start:.2f} s not silent"


def test_a_warm_render_loads_no_model_and_sounds_the_same(short_template, tmp_path):
    store = tmp_path / "cache"
    cold = session.prepare(request(short_template, store))
    engine = make_engine("piper")
    warm = session.prepare(request(short_template, store), engine)
    assert not engine.loaded
    assert warm.timeline == cold.timeline


def test_every_clip_is_speech_in_order_and_slower_with_a_longer_length_scale():
    sentences = [
        "Rest.",
        "Let the whole body soften, from the crown of the head to the feet.",
        "Breathe.",
    ]
    fast = list(make_engine("piper", VoiceSettings(length_scale=1.0)).synthesize(sentences))
    slow = list(make_engine("piper", VoiceSettings(length_scale=1.6)).synthesize(sentences))
    assert [c.sample_rate for c in fast] == [22050] * 3
    assert fast[1].duration > 2 * max(fast[0].duration, fast[2].duration)
    for clip, text in zip(slow, sentences, strict=False):
        assert clipcheck.problem(clip, text, 160) is None
    assert slow[1].duration > 1.3 * fast[1].duration
