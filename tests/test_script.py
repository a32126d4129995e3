"""The script markup parser: examples, errors with line and column, and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from letgo.errors import TemplateError
from letgo.words.script import Cue, Pause, Speech, parse, parse_duration, split_sentences


def test_sections_speech_pauses_and_bells():
    script = parse("## Arrival\nSit down. Be still.\n[pause 4s]\n\n## Return\n[bell]\nGo well.\n")
    assert [s.title for s in script.sections] == ["Arrival", "Return"]
    assert script.sections[0].items == (
        Speech("Sit down.", 2),
        Speech("Be still.", 2, paragraph_end=True),
        Pause(4.0, 3),
    )
    assert script.sections[1].items == (Cue("bell", 6), Speech("Go well.", 7, paragraph_end=True))


def test_lines_run_on_into_one_paragraph_and_blank_lines_end_it():
    script = parse("First line\ncontinues here.\n\nNew paragraph.")
    first, second = script.sentences
    assert first == Speech("First line continues here.", 1, paragraph_end=True)
    assert second.paragraph_end


def test_flexible_pause_options():
    (pause,) = parse("[pause 20s flex min=5s weight=30]").items
    assert pause.flexible and pause.min_length == 5 and pause.stretch_weight == 30
    assert pause.length(0) == 5 and pause.length(1) == 35
    (plain,) = parse("[pause 10s flex]").items
    assert plain.length(1) == pytest.approx(10.0)  # as written at stretch 1
    assert plain.min_length == pytest.approx(3.0)


def test_ssml_break_inside_a_line():
    items = parse('Breathe in <break time="1500ms"/> and out.').items
    assert items == [Speech("Breathe in", 1), Pause(1.5, 1), Speech("and out.", 1, True)]


@pytest.mark.parametrize(
    "text, message, line, column",
    [
        ("Fine.\n[pasue 3s]", "unknown tag", 2, 1),
        ("Fine.\nWait [pause]", "needs a length", 2, 6),
        ("[pause 3x]", "not a duration", 1, 1),
        ("[pause 3s min=1s]", "need 'flex'", 1, 1),
        ("[pause 3s flex min=5s]", "longer than the pause", 1, 1),
        ("Hello ] there", "stray ']'", 1, 7),
        ("# Title", "section heading", 1, 1),
        ("<break/>", "needs time=", 1, 1),
    ],
)
def test_errors_carry_line_and_column(text, message, line, column):
    with pytest.raises(TemplateError) as caught:
        parse(text, "my.j2")
    assert message in str(caught.value)
    assert (caught.value.source, caught.value.line, caught.value.column) == ("my.j2", line, column)
    assert str(caught.value).startswith(f"my.j2:{line}:{column}: ")


@pytest.mark.parametrize("text, seconds", [("4s", 4), ("500ms", 0.5), ("2.5", 2.5), ("1m", 60)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_sentences_split_on_end_punctuation_only():
    assert split_sentences('Rest. "Be here." Now? Yes! and, then') == [
        "Rest.",
        '"Be here."',
        "Now?",
        "Yes!",
        "and, then",
    ]


# --- properties ------------------------------------------------------------------------------

words = st.text(alphabet="abcdefghij ", min_size=1, max_size=30).filter(lambda s: s.strip())
sentence = words.map(lambda s: " ".join(s.split()).capitalize() + ".")
pause = st.builds(
    lambda s, flex: Pause(s, 0, flex), st.integers(1, 600).map(lambda n: n / 10), st.booleans()
)
item = st.one_of(sentence, pause, st.just(Cue("bell", 0)))


def to_markup(entry) -> str:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, Cue):
        return "[bell]"
    return f"[pause {entry.seconds:g}s{' flex' if entry.flexible else ''}]"


@given(st.lists(st.lists(item, min_size=1, max_size=8), min_size=1, max_size=4))
def test_written_items_come_back_in_order(sections):
    text = "\n".join(
        f"## Part {n}\n" + "\n".join(to_markup(e) for e in entries)
        for n, entries in enumerate(sections)
    )
    script = parse(text)
    assert [s.title for s in script.sections] == [f"Part {n}" for n in range(len(sections))]
    for section, entries in zip(script.sections, sections, strict=False):
        spoken = [i.text for i in section.items if isinstance(i, Speech)]
        assert spoken == [e for e in entries if isinstance(e, str)]
        pauses = [(i.seconds, i.flexible) for i in section.items if isinstance(i, Pause)]
        assert pauses == [(e.seconds, e.flexible) for e in entries if isinstance(e, Pause)]
        assert sum(isinstance(i, Cue) for i in section.items) == sum(
            isinstance(e, Cue) for e in entries
        )


@given(st.text(max_size=200))
def test_any_text_parses_or_fails_with_a_located_error(text):
    try:
        parse(text)
    except TemplateError as exc:
        assert exc.line is not None and 1 <= exc.line <= max(1, len(text.splitlines()))
