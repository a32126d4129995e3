"""What a template can say about time and voice: `minutes`, hold(), minimums, prosody, repeat."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letgo import session, timefmt
from letgo.cli import main
from letgo.errors import FitError, TemplateError
from letgo.sound import timeline as plan
from letgo.sound.levels import plan_levels
from letgo.voice.engines.fake import FakeEngine, fake_duration
from letgo.words import templates
from letgo.words.script import Pause, Prosody, Speech, parse

HEADER = '{#\ntitle = "Probe"\ndescription = "A test."\nminutes = 5\nmax_minutes = 60\n#}\n'


def write(tmp_path, body: str, header: str = HEADER):
    path = tmp_path / "probe.j2"
    path.write_text(header + body, encoding="utf-8")
    return path


def prepare(path, minutes=None, **variables):
    request = session.Request(
        str(path), variables=variables, minutes=minutes, engine="fake", cache=False
    )
    return session.prepare(request, engine=FakeEngine())


# --- minutes -----------------------------------------------------------------------------------


def test_a_template_sees_the_length_asked_for_or_its_default(tmp_path):
    path = write(
        tmp_path,
        "This is {{ minutes }} minutes.\n"
        "{% if minutes >= 20 %}There is time for more.{% endif %}\n"
        "{{ pause(20, min=5) }}\n",
    )
    assert prepare(path).timeline.speech[0].text == "This is 5.0 minutes."
    long = prepare(path, minutes=25)
    assert [e.text for e in long.timeline.speech] == [
        "This is 25.0 minutes.",
        "There is time for more.",
    ]


def test_minutes_is_reserved(tmp_path):
    path = write(
        tmp_path,
        "Hi.\n",
        HEADER.replace("#}", '[variables.minutes]\ndefault = "3"\nhelp = "no"\n#}'),
    )
    with pytest.raises(TemplateError, match="given to every template"):
        templates.read_info(path, "file")


GROWING = (
    "Arrive.\n{{ pause(30, min=20) }}\n"
    "{% if minutes >= 2 %}{% for n in range(12) %}Here is more guidance, said slowly.\n"
    "{% endfor %}{% endif %}\nGo well.\n"
)


def test_the_shortest_length_renders_the_text_at_the_length_it_is_for(tmp_path, runner):
    """At 1.9 min the short text fits; at 2 min the long text needs more than 2 min."""
    path = write(tmp_path, GROWING)
    fake = FakeEngine()
    speaker = session.Speaker(templates.read_info(path, "file"), {}, fake, str)
    found = speaker.shortest(session.PlanSettings())
    short_text = speaker.at(0)
    assert found == pytest.approx(plan.shortest_seconds(*short_text))
    assert found < 120  # the short text's own shortest, not the long text's
    with pytest.raises(FitError) as caught:
        prepare(path, minutes=found / 60 - 0.05)
    suggested = float(re.search(r"ask for (\d+\.\d) minutes", str(caught.value)).group(1))
    prepare(path, minutes=suggested)  # the suggestion fits, text and all
    result = runner.invoke(main, ["show", str(path), "--engine", "fake"])
    assert result.exit_code == 0, result.output
    assert f"shortest {timefmt.length(found)}" in result.output


def test_a_suggested_length_past_a_threshold_fits_its_own_longer_text(tmp_path):
    """The short text needs just under 2 min, so 2.0 would be suggested, but at 2.0 the text
    grows: the suggestion is a length whose own text fits."""
    body = (
        "Arrive.\n{{ pause(100, min=103) }}\n".replace("100", "110")
        + "{% if minutes >= 2 %}{% for n in range(30) %}Here is more guidance, said slowly.\n"
        "{% endfor %}{% endif %}Go well.\n"
    )
    path = write(tmp_path, body)
    with pytest.raises(FitError) as caught:
        prepare(path, minutes=1)
    suggested = float(re.search(r"ask for (\d+\.\d) minutes", str(caught.value)).group(1))
    assert suggested > 2.5
    assert prepare(path, minutes=suggested).timeline.duration == pytest.approx(suggested * 60)


# --- hold() --------------------------------------------------------------------------------------

HOLD = (
    "## Sit\nSettle.\n"
    '{{ hold(60, min=10, cues=["Come back to your breath.", "Return, gently."]) }}\n'
    "Open your eyes.\n"
)


def test_hold_markup_and_its_cues():
    mark = templates.hold(60, min=10, cues=["Come back.", "Return,\n gently."])
    assert mark == "[hold 60s flex min=10s | Come back. | Return, gently.]"
    (item,) = parse(mark).items
    assert item.flexible and item.min_length == 10
    assert [c.text for c in item.cues] == ["Come back.", "Return, gently."]
    for bad in (["a [pause 9s]"], ["one | two"], [""]):
        with pytest.raises(ValueError, match="cue"):
            templates.hold(60, cues=bad)


def test_a_long_session_keeps_guiding_and_a_short_one_says_no_cue(tmp_path):
    path = write(tmp_path, HOLD)
    short = prepare(path, minutes=1.5).timeline
    assert [e.text for e in short.speech] == ["Settle.", "Open your eyes."]
    long = prepare(path, minutes=30).timeline
    said = [e.text for e in long.speech]
    assert said[0] == "Settle." and said[-1] == "Open your eyes." and len(said) > 10
    assert said[1:4] == [
        "Come back to your breath.",
        "Return, gently.",
        "Come back to your breath.",
    ]
    assert long.duration == pytest.approx(30 * 60, abs=1e-6)
    gaps = [b.start - a.end for a, b in zip(long.speech, long.speech[1:], strict=False)]
    assert max(gaps) <= 150 + 1e-6
    assert long.chapters[0].end == pytest.approx(long.duration)
    for event in long.speech:  # each cue is its clip, at its exact length
        assert event.duration == pytest.approx(fake_duration(event.text))


def test_script_and_captions_show_the_cues_where_they_are_said(tmp_path, runner):
    path = write(tmp_path, HOLD)
    result = runner.invoke(main, ["script", str(path), "--engine", "fake", "--minutes", "10"])
    assert result.exit_code == 0, result.output
    assert "Return, gently." in result.output


# --- minimums ------------------------------------------------------------------------------------


def test_minimums_hold_at_the_shortest_length(tmp_path):
    path = write(
        tmp_path,
        "Breathe.\n{{ pause(20, min=8, weight=30) }}\n"
        '{{ repeat("I let you go.", pause=6) }}\nEnd.\n'
        "{{ pause(60, flex=True) }}\n",
    )
    info = templates.read_info(path, "file")
    shortest = session.Speaker(info, {}, FakeEngine(), str).shortest(session.PlanSettings())
    timeline = prepare(path, minutes=shortest / 60).timeline
    assert [round(s.duration, 6) for s in timeline.silences] == [8.0, 3.0, 18.0]


# --- prosody -------------------------------------------------------------------------------------


def test_prosody_markup_and_helper():
    items = parse(
        'Plain.\n<prosody rate="80%" volume="-6dB" pitch="-10%">Slow and low.\n'
        "Still.</prosody>\nPlain again."
    ).sentences
    assert [s.prosody for s in items] == [
        Prosody(),
        Prosody(0.8, -6, -0.1),
        Prosody(0.8, -6, -0.1),
        Prosody(),
    ]
    env = templates.make_environment()
    text = env.from_string("{% call prosody(rate=0.85, volume=-3) %}Softly.{% endcall %}").render()
    assert text == '<prosody rate="85%" volume="-3dB">Softly.</prosody>'
    assert parse(text).sentences[0].prosody == Prosody(0.85, -3.0)


@pytest.mark.parametrize(
    "text, message",
    [
        ('<prosody rate="300%">Hi.</prosody>', "out of range"),
        ('<prosody volume="loud">Hi.</prosody>', "dB"),
        ('<prosody speed="1">Hi.</prosody>', "unknown attribute"),
        ('Hi <prosody rate="80%">there.</prosody>', "whole sentences"),
        ('<prosody rate="80%">Hi.', "never closed"),
        ('<prosody rate="80%"><prosody rate="90%">Hi.</prosody></prosody>', "inside another"),
        ("Hi.</repeat>", "without an opening"),
    ],
)
def test_bad_prosody_is_a_located_error(text, message):
    with pytest.raises(TemplateError, match=message):
        parse(text)


def test_a_slower_passage_has_longer_clips_and_the_fit_stays_exact(tmp_path):
    path = write(
        tmp_path,
        'Breathe in.\n<prosody rate="50%" volume="-6dB">Breathe in.</prosody>'
        "\n{{ pause(30, min=5) }}\n",
    )
    prepared = prepare(path, minutes=3)
    plain, slow = prepared.timeline.speech
    assert slow.duration == pytest.approx(2 * plain.duration, abs=1e-4)
    assert (plain.volume, slow.volume) == (0.0, -6.0)
    assert prepared.timeline.duration == pytest.approx(180)


def test_a_softer_passage_is_softer_after_levelling(tmp_path):
    from letgo.sound import dsp, mix

    path = write(
        tmp_path,
        'Breathe in.\n<prosody volume="-6dB">Breathe in.</prosody>\n{{ pause(30, min=5) }}\n',
    )
    prepared = prepare(path, minutes=2)
    settings = session.MixSettings(loudness=-16.0)
    levels = plan_levels(
        prepared.timeline, prepared.clips, mix.BedLevel(float("-inf")), 1, settings
    )
    plain, soft = levels.speech(0), levels.speech(1)
    rate = settings.sample_rate
    assert dsp.loudness(plain, rate) - dsp.loudness(soft, rate) == pytest.approx(6.0, abs=0.01)
    assert abs(levels.predicted_lufs - settings.loudness) < 0.2  # the softer clip is counted


def test_prosody_is_part_of_the_cache_key(tmp_path):
    path = write(
        tmp_path, 'Breathe in.\n<prosody rate="80%">Breathe in.</prosody>\n{{ pause(30, min=5) }}\n'
    )
    request = session.Request(
        str(path), minutes=2, engine="fake", cache_dir=str(tmp_path / "cache")
    )
    engine = FakeEngine()
    first = session.prepare(request, engine=engine)
    assert engine.calls == ["Breathe in.", "Breathe in."]  # once plain, once slower
    again = FakeEngine()
    second = session.prepare(request, engine=again)
    assert again.calls == []
    assert [c.duration for c in second.clips] == [c.duration for c in first.clips]
    assert second.clips[1].duration > second.clips[0].duration


# --- repeat ----------------------------------------------------------------------------------


def test_a_phrase_to_repeat_is_its_own_sentence_with_a_beat_after_it():
    mark = templates.repeat("I let you go with kindness.", pause=6)
    assert mark == "<repeat>I let you go with kindness.</repeat> [pause 6s flex min=3s]"
    items = parse("Say it quietly, in your own voice: " + mark).items
    assert items[0] == Speech("Say it quietly, in your own voice:", 1)
    assert items[1].repeat and items[1].text == "I let you go with kindness."
    assert isinstance(items[2], Pause) and items[2].min_length == 3
    env = templates.make_environment()
    text = env.from_string("{% call repeat() %}I am here, {{ who }}.{% endcall %}").render(
        who="Sam"
    )
    assert parse(text).sentences[0] == Speech("I am here, Sam.", 1, True, repeat=True)


def test_a_value_in_a_cue_or_a_phrase_to_repeat_is_said_as_typed(tmp_path):
    header = HEADER.replace("#}", '[variables.person]\ndefault = ""\nhelp = "A first name."\n#}')
    path = write(
        tmp_path,
        'Sit.\n{{ hold(60, min=10, cues=["Come back, " ~ person ~ "."]) }}\n'
        '{{ repeat("I let you go, " ~ person ~ ".", pause=5) }}\n',
        header,
    )
    prepared = prepare(path, minutes=20, person="Sam | [pause 600s] <b>")
    said = [e.text for e in prepared.timeline.speech]
    assert "Come back, Sam | [pause 600s] <b>." in said
    assert "I let you go, Sam | [pause 600s] <b>." in said
    assert prepared.timeline.duration == pytest.approx(20 * 60)


def test_the_split_limit_is_a_setting_like_any_other(tmp_path, runner):
    path = write(tmp_path, HOLD)
    said = {}
    for limit in ("150", "60"):
        result = runner.invoke(
            main,
            ["script", str(path), "--engine", "fake", "--minutes", "20", "--hold-split", limit],
        )
        assert result.exit_code == 0, result.output
        said[limit] = result.output.count("Return, gently.")
    assert said["60"] > 2 * said["150"] > 0
    result = runner.invoke(main, ["script", str(path), "--engine", "fake", "--hold-split", "5"])
    assert result.exit_code == 2 and "hold" in result.output


# --- properties of the markup ----------------------------------------------------------------

_sentence = st.builds(
    lambda w, end: " ".join(w).capitalize() + end,
    st.lists(st.sampled_from(["rest", "breathe", "soft", "here", "now"]), min_size=1, max_size=6),
    st.sampled_from([".", "!", "?"]),
)
_voice = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from([0.5, 0.8, 1.0, 1.25, 2.0]),
        st.sampled_from([-20.0, -3.0, 0.0, 6.0]),
        st.sampled_from([-0.5, -0.1, 0.0, 0.5]),
    ),
)


@settings(deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(_sentence, min_size=1, max_size=3), _voice, st.booleans()),
        min_size=1,
        max_size=6,
    )
)
def test_passages_keep_their_words_and_each_sentence_its_voice(passages):
    """Whatever the passages, their prosody and line breaks: every sentence comes back once,
    in order, with the voice of the passage it was in."""
    text, expected = [], []
    for sentences, voice, broken in passages:
        body = ("\n" if broken else " ").join(sentences)
        if voice:
            rate, volume, pitch = voice
            text.append(
                f'<prosody rate="{rate:.0%}" volume="{volume:+g}dB" '
                f'pitch="{pitch:+.0%}">{body}</prosody>'
            )
            expected += [(s, Prosody(rate, volume, pitch)) for s in sentences]
        else:
            text.append(body)
            expected += [(s, Prosody()) for s in sentences]
    parsed = parse("\n".join(text))
    assert [(s.text, s.prosody) for s in parsed.sentences] == expected
