"""A person as a listener types them, read back in the second person in every built-in."""

from __future__ import annotations

import re

import pytest

from letgo.cli import main
from letgo.words import script, templates
from letgo.words.person import Person


def read(typed: str) -> Person:
    return Person.typed(script.literal(typed))


@pytest.mark.parametrize(
    "typed, said, possessive, plural, they",
    [
        ("alex", "Alex", "Alex's", False, "they"),
        ("Alex", "Alex", "Alex's", False, "they"),
        ("James", "James", "James's", False, "they"),
        ("mcKenzie", "McKenzie", "McKenzie's", False, "they"),
        ("mary-jane o'brien", "Mary-Jane O'Brien", "Mary-Jane O'Brien's", False, "they"),
        ("ludwig van beethoven", "Ludwig van Beethoven", "Ludwig van Beethoven's", False, "they"),
        ("my mother", "your mother", "your mother's", False, "she"),
        ("My Mother", "your mother", "your mother's", False, "she"),
        ("my ex", "your ex", "your ex's", False, "they"),
        ("ex", "your ex", "your ex's", False, "they"),
        ("our son", "your son", "your son's", False, "he"),
        ("Mum", "Mum", "Mum's", False, "she"),
        ("mum", "Mum", "Mum's", False, "she"),
        ("Mum and Dad", "Mum and Dad", "Mum and Dad's", True, "they"),
        ("mum & dad", "Mum & Dad", "Mum & Dad's", True, "they"),
        ("my mum and dad", "your mum and dad", "your mum and dad's", True, "they"),
        ("my parents", "your parents", "your parents'", True, "they"),
        ("the kids", "the kids", "the kids'", True, "they"),
        ("her", "her", "her", False, "she"),
        ("him", "him", "his", False, "he"),
        ("them", "them", "their", True, "they"),
        ("", "this person", "this person's", False, "they"),
    ],
)
def test_a_person_reads_in_the_second_person(typed, said, possessive, plural, they):
    person = read(typed)
    assert str(person) == said
    assert person.possessive == possessive
    assert person.plural == plural and person.is_ == ("are" if plural else "is")
    assert person.they == they
    assert bool(person) == bool(typed)


def test_a_subject_pronoun_and_its_verb():
    her = read("her")
    assert (her.subject, her.verb("comes", "come"), her.them, her.their) == (
        "she",
        "comes",
        "her",
        "her",
    )
    them = read("Mum and Dad").they
    assert (str(them), them.verb("comes", "come")) == ("they", "come")


def test_an_empty_person_reads_as_the_templates_fallback():
    person = Person.typed("", "the one you've lost")
    assert str(person) == "the one you've lost" and not person
    assert str(Person.typed("", "them")) == "them" and Person.typed("", "them").subject == "they"


def test_markup_in_a_person_stays_words():
    person = read("[pause 60s] <break time='9s'/>")
    assert "[" not in person and "<" not in person
    assert script.restore(person).startswith("[pause 60s]")


@pytest.mark.parametrize(
    "typed, problem",
    [
        ("Alex", None),
        ("my ex", None),
        ("Mum and Dad", None),
        ("me", "speaks of you"),
        ("myself", "speaks of you"),
        ("I don't know!", "speaks of you"),
        ("gone. forever", "reads as a sentence"),
        ("42", "has no letters"),
        ("the one who never once listened to a word I said", "speaks of you"),
        ("the one who never once listened to a single word", "is long"),
    ],
)
def test_the_lint_finds_a_problem_only_where_no_reading_is_possible(typed, problem):
    found = read(typed).problem()
    assert (found is None) if problem is None else (problem in (found or "")), found


# --- every built-in that takes a person, with every kind of value -----------------------------

PERSONAL = [
    p.name[:-3]
    for p in sorted(templates.builtin_dir().glob("*.j2"))
    if "person" in templates.read_info(p, "built-in").variable_names()
]
VALUES = ["alex", "Alex", "my mother", "my ex", "Mum and Dad", "my parents", "her", ""]
#: A verb that agrees only with one person, and only with many.
SINGULAR_VERB = r"(is|has|was|does|comes|feels|seems|isn't|hasn't|wasn't|doesn't)"
PLURAL_VERB = r"(are|have|were|do|come|feel|seem|aren't|haven't|weren't|don't)"


def spoken(runner, name: str, person: str) -> list[str]:
    result = runner.invoke(main, ["script", name, "--engine", "fake", "-v", f"person={person}"])
    assert result.exit_code == 0, result.output
    return [
        line.split("  ", 1)[1].strip()
        for line in result.output.splitlines()
        if re.match(r"^\s+\d+:\d\d\.\d  [^\[]", line)
    ]


def test_the_table_reads_the_script_lines():
    assert len(PERSONAL) >= 12


@pytest.mark.parametrize("name", PERSONAL)
def test_every_person_reads_right_in_every_template(runner, name):
    for typed in VALUES:
        lines = spoken(runner, name, typed)
        text = " ".join(lines)
        assert lines, (name, typed)
        for line in lines:  # every sentence starts with a capital
            for sentence in re.split(r"(?<=[.!?])\s+", line):
                assert not sentence[:1].islower(), (name, typed, sentence)
        assert not re.search(r"\b[Mm]y (mother|ex|parents)\b", text), (name, typed)
        assert "alex" not in text, (name, typed)
        said = str(read(typed)) if typed else None
        if typed in ("alex", "Alex"):
            assert "Alex" in text, (name, typed)
        if typed == "my mother":
            assert "your mother" in text or "Your mother" in text, (name, typed)
            assert not re.search(rf"\byour mother {PLURAL_VERB}\b", text, re.I), (name, text)
        if typed in ("Mum and Dad", "my parents"):
            assert said and said.lower() in text.lower(), (name, typed)
            assert not re.search(rf"\b{said} {SINGULAR_VERB}\b", text, re.I), (name, text)
        if typed == "her":
            assert not re.search(r"\b[Hh]er (comes|is|has|was)\b", text), (name, text)


@pytest.mark.parametrize("name", PERSONAL)
def test_markup_typed_as_a_person_adds_no_pause(runner, name):
    def pauses(person):
        result = runner.invoke(main, ["script", name, "--engine", "fake", "-v", f"person={person}"])
        assert result.exit_code == 0, result.output
        return len(re.findall(r"^\s+\d+:\d\d\.\d  \[", result.output, re.M))

    assert pauses("Sam [pause 60s] [bell]") == pauses("Sam")
