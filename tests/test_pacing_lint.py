"""The pacing lint in `letgo check`, on templates written to break each rule (and mended)."""

from __future__ import annotations

import pytest

from letgo.cli import main
from letgo.words import pacing
from letgo.words.lint import check

HEADER = (
    '{#\ntitle = "Probe"\ndescription = "A test."\nminutes = 10\nmax_minutes = 40\n'
    '[variables.person]\ndefault = ""\nhelp = "A first name, e.g. Alex."\n#}\n'
)


def findings(tmp_path, body, header=HEADER, **values):
    path = tmp_path / "probe.j2"
    path.write_text(header + body, encoding="utf-8")
    return [(p.line, p.message) for p in check(path, values) if p.warning], path


def test_a_long_silence_at_the_longest_length_is_found_and_a_hold_mends_it(tmp_path):
    lines = "Settle.\n{{ pause(60, min=10) }}\nSay {% if person %}{{ person }}{% endif %}.\n"
    found, _ = findings(tmp_path, lines)
    ((line, message),) = [f for f in found if "without a spoken line" in f[1]]
    assert line == 11 and "at 40 min" in message
    mended = lines.replace("pause(60, min=10)", 'hold(60, min=10, cues=["Come back.", "Rest."])')
    found, _ = findings(tmp_path, mended)
    assert not [f for f in found if "without a spoken line" in f[1]]


def test_the_night_after_a_sleep_sessions_last_word_is_not_a_long_silence(tmp_path):
    body = (
        "Sleep well{% if person %}, {{ person }}{% endif %}.\n"
        '{{ hold(20, min=5, cues=["Rest."]) }}\nGood night.\n{{ pause(600, weight=100) }}\n'
    )
    sleep = HEADER.replace("max_minutes = 40", "max_minutes = 480\nsleep = true")
    found, _ = findings(tmp_path, body, sleep)
    assert not [f for f in found if "without a spoken line" in f[1]]
    found, _ = findings(tmp_path, body)  # the same text, not a sleep session
    assert [f for f in found if "without a spoken line" in f[1]]


def test_a_sentence_over_25_words_is_named_with_its_line(tmp_path):
    long = "And " + " ".join(["word"] * 25) + "."
    found, _ = findings(
        tmp_path,
        f"Short one{{% if person %}}, {{{{ person }}}}{{% endif %}}.\n"
        f"{long}\n{{{{ pause(10, min=8) }}}}\n",
    )
    assert (
        11,
        f"a sentence of 26 words (over 25) is hard to follow with closed eyes: "
        f"'And {' '.join(['word'] * 7)}...'",
    ) in found


def test_a_phrase_to_repeat_needs_a_beat_after_it(tmp_path):
    body = (
        "Say it{% if person %} to {{ person }}{% endif %}:\n"
        '{{ repeat("I let you go.") }}\nAnd rest.\n{{ pause(10, min=8) }}\n'
    )
    found, _ = findings(tmp_path, body)
    assert [line for line, m in found if "no beat after the phrase" in m] == [11]
    for beat in (
        '{{ repeat("I let you go.", pause=6) }}',
        '{{ repeat("I let you go.") }} {{ pause(5, min=3) }}',
    ):
        found, _ = findings(tmp_path, body.replace('{{ repeat("I let you go.") }}', beat))
        assert not [m for _, m in found if "no beat" in m], beat
    found, _ = findings(
        tmp_path,
        body.replace(
            '{{ repeat("I let you go.") }}', '{{ repeat("I let you go.") }} {{ pause(2) }}'
        ),
    )
    assert [m for _, m in found if "no beat" in m]  # a beat of 2 s is too short


def test_a_reflective_pause_needs_a_floor(tmp_path):
    body = (
        "Notice{% if person %}, {{ person }}{% endif %}.\n{{ pause(20, flex=True) }}\n"
        "Breathe.\n{{ pause(4, flex=True) }}\nRest.\n{{ pause(20, min=8) }}\n"
    )
    found, _ = findings(tmp_path, body)
    floors = [(line, m) for line, m in found if "reflective pause" in m]
    assert floors == [
        (
            11,
            "a reflective pause of 20 s has no min=, so at the shortest length "
            "it shrinks to 6 s; give it min=8 (or what it needs)",
        )
    ]


def test_a_person_is_warned_about_only_where_no_reading_is_possible(tmp_path):
    body = "Bring{% if person %} {{ person }}{% endif %} to mind.\n{{ pause(10, min=8) }}\n"
    for fine in ("my ex", "alex", "Alex", "Mum and Dad", "my parents", "her"):
        found, _ = findings(tmp_path, body, person=fine)
        assert not [m for _, m in found if "person=" in m], fine
    found, _ = findings(tmp_path, body, person="me")
    assert any("person='me' speaks of you" in m for _, m in found)
    found, _ = findings(tmp_path, body, person="I miss you so much!")
    assert any("person='I miss you so much!'" in m for _, m in found)
    found, _ = findings(tmp_path, body, person="42")
    assert any("has no letters" in m for _, m in found)


def test_check_prints_pacing_warnings_and_still_passes(runner, tmp_path):
    path = tmp_path / "probe.j2"
    path.write_text(
        HEADER + "Settle{% if person %}, {{ person }}{% endif %}.\n"
        "{{ pause(60, min=10) }}\nDone.\n",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["check", str(path), "-v", "person=myself"])
    assert result.exit_code == 0, result.output
    assert f"{path}:11: warning: at 40 min," in result.output
    assert "speaks of you, not of another person" in result.output
    assert "2 warning(s)" in result.output


def test_gaps_count_the_lead_in_and_the_end_except_a_sleep_night():
    from letgo.sound.timeline import Event, Silence, Timeline

    timeline = Timeline(
        100.0,
        (Event(10, 5, "speech", "a"), Event(50, 5, "speech", "b")),
        (Silence(15, 35, True, 3), Silence(55, 45, True, 7)),
    )
    assert [(g.start, g.seconds, g.line) for g in pacing.gaps(timeline)] == [
        (0.0, 10.0, 0),
        (15.0, 35.0, 3),
        (55.0, 45.0, 7),
    ]
    assert pacing.longest_gap(timeline, sleep=True).seconds == 35.0


@pytest.mark.parametrize(
    "value, warned",
    [("Sam", False), ("the one I love", True), ("Mum and Dad", False), ("your mother", True)],
)
def test_value_findings(value, warned):
    assert bool(pacing.value_findings("person", "Their first name.", value)) == warned
    assert not pacing.value_findings("intention", "What you hope for.", value)


def test_a_default_length_too_short_for_a_real_voice_is_found(tmp_path):
    said = "".join(f"This is sentence number {n}, said at an unhurried pace.\n" for n in range(12))
    body = "Hello{% if person %}, {{ person }}{% endif %}.\n" + said + "{{ pause(10, min=8) }}\n"
    # 12 sentences of 10 words: about 51 s at 140 words a minute, 40 s with the fake voice
    tight = HEADER.replace("minutes = 10\n", "minutes = 1\n")
    found, _ = findings(tmp_path, body, tight)
    ((line, message),) = [f for f in found if "real voice's pace" in f[1]]
    assert line == 4 and "more than its default of 1 min" in message
    found, _ = findings(tmp_path, body, HEADER.replace("minutes = 10\n", "minutes = 2\n"))
    assert not [f for f in found if "real voice's pace" in f[1]]
