"""Variety as a rule the build keeps, counted on the rendered scripts (every `minutes` branch,
the helpers' output such as breath cues and hold cues, the courses' recap and onward lines):
no sentence of six words or more is said in more than two meditations."""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict

import pytest

from letgo.words import script, templates

LIBRARY = templates.TemplateLibrary()
BUILTIN = sorted(p.name[:-3] for p in templates.builtin_dir().glob("*.j2"))
SERIES_DIR = templates.builtin_dir() / "series"
#: The longest a sentence may be and still be shared by many (a cue such as "Breathe in.").
SHARED_WORDS = 5
#: How many meditations may say the same longer sentence.
MOST = 2
_LENGTHS = re.compile(r"minutes\s*(?:>=|>|<|<=)\s*(\d+(?:\.\d+)?)")
FILLED = {"name": "Sam", "person": "Alex", "intention": "I can rest", "helpline": "116 123"}


def lengths(info: templates.TemplateInfo) -> list[float]:
    """A length in every `minutes` branch the template has, from none at all to its longest."""
    text = info.path.read_text(encoding="utf-8")
    marks = sorted({float(m) for m in _LENGTHS.findall(text)})
    found = {0.0, info.minutes or 0.0, info.max_minutes or 0.0}
    for mark in marks:
        found |= {mark - 0.01, mark, mark + 0.01}
    return sorted(m for m in found if m >= 0)


def course_lines() -> dict[str, list[dict[str, str]]]:
    """Each template's recap and onward values in the built-in courses."""
    found: dict[str, list[dict[str, str]]] = defaultdict(list)
    for plan_path in SERIES_DIR.glob("*.toml"):
        plan = tomllib.loads(plan_path.read_text(encoding="utf-8"))
        for entry in plan.get("sessions", []):
            own = {k: v for k, v in entry.get("variables", {}).items() if k in ("recap", "onward")}
            if own:
                found[entry["template"]].append(own)
    return found


def sentences(name: str) -> set[str]:
    """Every sentence the template can say, hold cues included, as said."""
    info = LIBRARY.find(name)
    known = set(info.variable_names())
    filled = {k: v for k, v in FILLED.items() if k in known}
    variants = [{}, filled, *[{**filled, **own} for own in course_lines().get(name, [])]]
    said: set[str] = set()
    for values in variants:
        for minutes in lengths(info):
            parsed = script.parse(templates.render(info, values, minutes=minutes))
            for speech in parsed.spoken:
                text = script.restore(speech.text)
                for sentence in re.split(r"(?<=[.!?…])\s+", text):
                    said.add(sentence.strip())
    return said


def words(sentence: str) -> list[str]:
    return re.findall(r"[\w'’-]+", sentence.lower())


def shared() -> dict[str, set[str]]:
    """Each longer sentence (by its words, case and punctuation aside) and who says it."""
    who: dict[str, set[str]] = defaultdict(set)
    for name in BUILTIN:
        for sentence in sentences(name):
            key = " ".join(words(sentence))
            if len(key.split()) > SHARED_WORDS:
                who[key].add(name)
    return who


def test_no_sentence_of_six_words_or_more_is_said_in_more_than_two_meditations():
    over = {s: sorted(names) for s, names in shared().items() if len(names) > MOST}
    assert not over, "\n".join(f"{len(n)}x '{s}': {', '.join(n)}" for s, n in sorted(over.items()))


def test_the_count_sees_breath_cues_hold_cues_branches_and_course_lines():
    said = sentences("meeting-the-pain")
    assert any("sigh" in s.lower() for s in said)  # breath() cue set
    assert any(s.startswith("Just keeping it company") for s in said)  # a hold's cue
    recaps = [own["recap"] for own in course_lines().get("your-healing-is-your-own", [])]
    assert recaps and all(
        r.split(". ")[0].rstrip(".") in " ".join(sentences("your-healing-is-your-own"))
        for r in recaps
    )


@pytest.mark.parametrize("opening", ["first", "last"])
def test_openings_and_closings_are_each_a_meditations_own(opening):
    seen: dict[str, str] = {}
    for name in BUILTIN:
        info = LIBRARY.find(name)
        parsed = script.parse(templates.render(info, {}))
        line = parsed.sentences[0 if opening == "first" else -1].text
        assert line not in seen, (name, seen.get(line), line)
        seen[line] = name


def test_the_check_ins_do_not_overlap_and_any_time_means_any_time():
    daily, morning = sentences("daily-check-in"), sentences("morning-check-in")
    common = {s for s in daily & morning if len(words(s)) > 3}
    assert not common, common
    text = " ".join(daily).lower()
    assert "yesterday" not in text and "into your day" not in text
