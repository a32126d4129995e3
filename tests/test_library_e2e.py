"""End to end: two built-in meditations spoken by the real engine into real MP3 files."""

from __future__ import annotations

import logging
import re

import pytest

import measure
from letgo import session
from letgo.cli import main
from letgo.overview import overview
from letgo.settings.request import make
from letgo.words import pacing, templates


@pytest.mark.e2e
@pytest.mark.parametrize(
    "template, minutes, engine", [("daily-check-in", None, None), ("whole", 7.5, "pyttsx3")]
)
def test_real_render_hits_the_length_to_the_second(runner, tmp_path, template, minutes, engine):
    """With the default voice (Piper) at a template's own length, and pyttsx3 at another."""
    output = tmp_path / f"{template}.mp3"
    args = ["render", template, "-o", str(output), "-q", "-v", "name=Robin"]
    if engine is not None:
        args += ["--engine", engine]
    if minutes is not None:
        args += ["--minutes", str(minutes)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    info = measure.stream_info(output)
    target = 60 * (minutes if minutes is not None else 5)
    assert info.codec == "mp3"
    assert abs(info.duration - target) < 1.0, info.duration
    assert sorted(p.name for p in tmp_path.iterdir()) == [output.name]


@pytest.mark.e2e
def test_real_voice_shortest_length_is_reported_and_honoured(tmp_path):
    request = session.Request("daily-check-in")
    view = overview(request)
    assert 60 < view.shortest < view.default == 300
    # pyttsx3's clip lengths wander by a fraction of a second between runs, so the shortest
    # length from one run is honoured by the next with two seconds to spare
    target = view.shortest + 2.0
    prepared = session.prepare(session.Request("daily-check-in", minutes=target / 60))
    assert prepared.timeline.duration == pytest.approx(target, abs=1.0)
    # ... and that is close to the real floor: the two seconds spread over a short form's few
    # flexible pauses (about half a minute of them) stretch them by well under a tenth
    assert prepared.timeline.stretch < 0.1


BUILTIN = sorted(p.name[:-3] for p in templates.builtin_dir().glob("*.j2"))
#: The longest a meditation's shortest form may be, in seconds: five minutes, but ten for the
#: body scan and twenty for the sleep practice.
SHORT_FORM = {"body-scan-of-release": 600.0, "sleep-release": 1200.0}


@pytest.mark.e2e
@pytest.mark.library
@pytest.mark.parametrize("engine", ["pyttsx3", "piper"])
def test_every_meditation_has_a_short_form_with_each_real_voice(engine):
    """With either real voice, every meditation fits five minutes (the body scan ten, the
    sleep practice twenty), and at least six fit three: `letgo show NAME --engine E`."""
    shortest = {name: overview(session.Request(name, engine=engine)).shortest for name in BUILTIN}
    too_long = {
        name: round(seconds)
        for name, seconds in shortest.items()
        if seconds > SHORT_FORM.get(name, 300.0)
    }
    assert not too_long, too_long
    three = sorted(name for name, seconds in shortest.items() if seconds <= 180.0)
    assert len(three) >= 6, three


@pytest.mark.e2e
@pytest.mark.library
def test_no_silence_passes_two_minutes_at_the_longest_length_with_pyttsx3():
    """What the fake voice measures in test_library_pacing, with a real voice's clips."""
    for name in BUILTIN:
        info = templates.TemplateLibrary().find(name)
        request = session.Request(name, minutes=info.max_minutes, engine="pyttsx3")
        gap = pacing.longest_gap(session.prepare(request).timeline, sleep=info.sleep)
        assert gap.seconds <= pacing.MAX_SILENCE, (name, round(gap.seconds))


@pytest.mark.e2e
@pytest.mark.library
@pytest.mark.parametrize("engine", ["pyttsx3", "piper"])
def test_no_sentence_of_the_library_fails_the_speech_check_with_each_real_voice(
    engine, tmp_path, caplog
):
    """Every sentence of every meditation at its default length, spoken into an empty cache
    (so each is checked): none fails the speech check twice, and at most one in a hundred
    is spoken again (measured with scripts/bench_verify.py --library, pocketsphinx listening:
    0 of 1666 spoken again with pyttsx3, 0 of 1666 with Piper)."""
    spoken = 0
    with caplog.at_level(logging.INFO, logger="letgo.voice.speaking"):
        for name in BUILTIN:
            settings = {"engine": engine, "background": "none"}
            session.prepare(make(name, settings, cache_dir=str(tmp_path)))
    for record in caplog.records:
        found = re.match(r"\d+ sentences: \d+ from the cache, (\d+) to speak", record.getMessage())
        spoken += int(found.group(1)) if found else 0
    again = [r.getMessage() for r in caplog.records if "spoken again" in r.getMessage()]
    twice = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    print(f"{engine}: {spoken} sentences spoken, {len(again)} spoken again, {len(twice)} twice")
    assert spoken > 1500
    assert not [m for m in twice if "speech check" in m], twice
    assert len(again) <= spoken / 100, again
