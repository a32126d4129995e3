"""The library's wording: breath cues that vary, names that read right, lines a listener needs."""

from __future__ import annotations

import re
import tomllib

import pytest

from letgo.cli import main
from letgo.words import script, templates


def spoken(markup: str) -> list[str]:
    return [s.text for s in script.parse(markup).sentences]


def test_breath_cue_sets_differ_and_none_says_pause():
    said = {
        name: spoken(templates.breath(times=3, hold=2, cues=name)) for name in templates.BREATH_CUES
    }
    assert len({tuple(words) for words in said.values()}) == len(said)
    for name, words in said.items():
        assert "Pause." not in words, name
        assert len(words) >= 9, name  # in, hold, out for each of three rounds


def test_the_first_hold_of_every_cue_set_is_optional():
    for name, rounds in templates.BREATH_CUES.items():
        first_hold = rounds[0][1].lower()
        assert any(word in first_hold for word in ("if", "only", "or none")), name


def test_breath_without_a_hold_says_no_hold_cue():
    words = spoken(templates.breath(times=2, hold=0, cues="wave"))
    assert words == [
        "In, like a slow wave.",
        "And let it roll out.",
        "In, with the wave.",
        "And back out.",
    ]


def test_an_unknown_cue_set_is_a_template_error_naming_the_known_ones(tmp_path):
    path = tmp_path / "t.j2"
    path.write_text('{#\ntitle = "T"\n#}\n{{ breath(cues="loud") }}\n', encoding="utf-8")
    with pytest.raises(templates.TemplateError, match=r"known: gentle, wave"):
        templates.render(templates.read_info(path, "file"), {})


@pytest.mark.parametrize(
    "typed, said",
    [
        ("alex", "Alex"),
        ("mcKenzie", "McKenzie"),
        ("Mum and Dad", "Mum and Dad"),
        ("my ex", "Your ex"),
        ("", "This person"),
    ],
)
def test_capfirst_capitalises_the_first_letter_only(tmp_path, typed, said):
    path = tmp_path / "t.j2"
    path.write_text(
        '{#\ntitle = "T"\n[variables.person]\ndefault = ""\nhelp = "A name."\n#}\n'
        "[{{ person|capfirst }}]\n",
        encoding="utf-8",
    )
    assert (
        templates.render(templates.read_info(path, "file"), {"person": typed}).strip()
        == f"[{said}]"
    )


# --- the built-in library, read as a teacher would --------------------------------------------

BUILTIN = sorted(p.name[:-3] for p in templates.builtin_dir().glob("*.j2"))
SERIES_DIR = templates.builtin_dir() / "series"
#: Where the hurt is heaviest: each needs an anchor and permission to stop.
HEAVY = [
    "meeting-the-pain",
    "when-they-have-left",
    "grief",
    "forgiveness",
    "time-to-leave",
    "your-healing-is-your-own",
    "letting-go",
]


def parsed(template, minutes=None, **values) -> script.Script:
    info = templates.TemplateLibrary().find(template)
    return script.parse(templates.render(info, values, minutes=minutes))


def said(template, minutes=None, **values) -> list[str]:
    return [s.text for s in parsed(template, minutes, **values).sentences]


def test_list_shows_sixteen_meditations_and_two_courses(runner):
    result = runner.invoke(main, ["list"])
    assert result.exit_code == 0, result.output
    meditations, _, courses = result.output.partition("Series:")
    assert len(re.findall(r"^\s+\S+\s+\d+ min\s", meditations, re.M)) >= 16
    assert len(re.findall(r"^\s+\S+\s+\d+ sessions?\s", courses, re.M)) >= 2


def test_the_library_has_sixteen_meditations_and_two_courses():
    assert len(BUILTIN) >= 16
    for practice in (
        "kindness-for-yourself",
        "forgiveness",
        "urge-to-reach-out",
        "grief",
        "body-scan-of-release",
        "morning-check-in",
        "evening-check-in",
    ):
        assert practice in BUILTIN
    assert {p.stem for p in SERIES_DIR.glob("*.toml")} >= {
        "seven-days-of-release",
        "leaving-kindly",
    }


@pytest.mark.parametrize("name", BUILTIN)
def test_no_stiff_or_stage_words_and_no_long_sentences(name):
    for sentence in said(name):
        assert sentence != "Pause.", name
        assert len(sentence.split()) <= 25, sentence
        # contractions, as people speak ("as you are" at a clause's end stays whole)
        assert not re.search(
            r"\b(do not|does not|you are|it is|there is|that is)\b(?![.,!?])", sentence
        ), sentence


def test_openings_and_closings_vary():
    firsts = {name: said(name)[0] for name in BUILTIN}
    lasts = {name: said(name)[-1] for name in BUILTIN}
    assert len(set(lasts.values())) == len(BUILTIN), lasts
    assert len(set(firsts.values())) == len(BUILTIN), firsts
    assert not any("When you are ready, open your eyes" in s for n in BUILTIN for s in said(n))


def test_breath_cue_sets_vary_across_the_library():
    used = set()
    for name in BUILTIN:
        used |= set(
            re.findall(
                r'breath\([^)]*cues="(\w+)"',
                templates.TemplateLibrary().find(name).path.read_text(encoding="utf-8"),
            )
        )
    assert used == set(templates.BREATH_CUES)


@pytest.mark.parametrize("name", HEAVY)
def test_heavy_practices_offer_an_anchor_and_permission_to_stop(name):
    text = " ".join(said(name)).lower()
    assert re.search(r"\bstop\b", text), name
    assert re.search(
        r"anchor|feel your feet|feel your seat|your seat under you|"
        r"feel that support",
        text,
    ), name


def test_leaving_puts_safety_first():
    sentences = said("time-to-leave", person="Alex")
    safety = next(i for i, s in enumerate(sentences) if "safety comes first" in s)
    leaving = next(i for i, s in enumerate(sentences) if "how would I leave" in s)
    assert safety < leaving
    assert any("helpline" in s for s in sentences)
    assert any("helpline" in s for s in said("two-kinds-of-bond"))


@pytest.mark.parametrize("name", ["when-they-have-left", "grief"])
def test_a_loss_keeps_no_hope_of_a_return_alive(name):
    text = " ".join(said(name, minutes=40, person="Alex")).lower()
    assert not re.search(
        r"\b(if|whether|until|when)\b[^.]*\b(they|alex)\b[^.]*"
        r"\b(return|come back|comes back)\b",
        text,
    ), text


def test_sleep_does_not_dwell_on_being_alone_in_the_dark():
    text = " ".join(said("sleep-release")).lower()
    assert "alone" not in text and "dark" not in text


def test_sleep_slows_and_softens_as_it_goes():
    voices = [(s.prosody.rate, s.prosody.volume) for s in parsed("sleep-release").sentences]
    rates, volumes = [r for r, _ in voices], [v for _, v in voices]
    assert rates == sorted(rates, reverse=True) and volumes == sorted(volumes, reverse=True)
    assert rates[0] == 1.0 and rates[-1] <= 0.85 and volumes[-1] <= -6


@pytest.mark.parametrize("name", BUILTIN)
def test_a_phrase_to_repeat_stands_alone_with_a_beat_before_and_after(name):
    items = parsed(
        name,
        **(
            {"intention": "I can trust myself"}
            if "intention" in templates.TemplateLibrary().find(name).variable_names()
            else {}
        ),
    ).items
    for i, item in enumerate(items):
        if isinstance(item, script.Speech) and item.repeat:
            before, after = items[i - 1], items[i + 1]
            assert isinstance(before, script.Pause) or (
                isinstance(before, script.Speech) and before.repeat
            ), item.text
            if not (isinstance(after, script.Speech) and after.repeat):
                assert isinstance(after, script.Pause) and after.min_length >= 3, item.text


@pytest.mark.parametrize("name", BUILTIN)
def test_values_read_right_whatever_their_grammar_or_case(name):
    info = templates.TemplateLibrary().find(name)
    values = {
        k: v
        for k, v in {"name": "robin", "person": "mum and Dad"}.items()
        if k in info.variable_names()
    }
    text = " ".join(said(name, **values))
    if "person" in values:
        assert "Mum and Dad" in text and "mum and Dad" not in text
        assert not re.search(r"Mum and Dad (is|has|was|does)\b", text), text
    if "name" in values:
        assert "Robin" in text and "robin" not in text


@pytest.mark.parametrize("name", BUILTIN)
def test_help_asks_for_a_first_name(name):
    for variable in templates.TemplateLibrary().find(name).variables:
        if variable.name in ("name", "person"):
            assert "first name" in variable.help and "e.g." in variable.help, (name, variable)


def test_whole_never_asks_to_say_again_what_was_never_said():
    assert not any("once more" in s for s in said("whole"))
    with_words = said("whole", intention="I can trust myself")
    assert "I can trust myself." in with_words


@pytest.mark.parametrize("plan_name", ["seven-days-of-release", "leaving-kindly"])
def test_a_course_names_its_person_once_links_its_days_and_titles_them_truly(plan_name):
    plan_ = tomllib.loads((SERIES_DIR / f"{plan_name}.toml").read_text(encoding="utf-8"))
    assert "person" in plan_["defaults"]["variables"]
    sessions = plan_["sessions"]
    assert len(sessions) == 7
    library = templates.TemplateLibrary()
    for day, entry in enumerate(sessions, start=1):
        info = library.find(entry["template"])
        assert entry["title"] == f"Day {day}: {info.title}"
        assert "person" not in entry.get("variables", {})  # set once, for every day
        own = entry.get("variables", {})
        assert ("recap" in own) == (day > 1) and ("onward" in own) == (day < 7), entry["title"]
        if "person" in info.variable_names():
            text = " ".join(said(entry["template"], person="Alex", **own))
            assert "Alex" in text, entry["title"]


def test_release_owns_the_wound_and_sees_the_bond_before_a_concrete_step():
    order = [
        s["template"]
        for s in tomllib.loads(
            (SERIES_DIR / "seven-days-of-release.toml").read_text(encoding="utf-8")
        )["sessions"]
    ]
    assert order.index("your-healing-is-your-own") < order.index("small-steps")
    assert order.index("two-kinds-of-bond") < order.index("small-steps")


@pytest.mark.parametrize("plan_name", ["seven-days-of-release", "leaving-kindly"])
def test_a_course_keeps_its_full_stops_and_never_presumes_the_outcome(plan_name):
    plan_ = tomllib.loads((SERIES_DIR / f"{plan_name}.toml").read_text(encoding="utf-8"))
    assert "short sessions" not in plan_["series"]["description"]
    assert "engine" not in plan_["defaults"]  # the built-in plans follow the default engine
    for entry in plan_["sessions"]:
        own = entry.get("variables", {})
        takes = templates.TemplateLibrary().find(entry["template"]).variable_names()
        sentences = said(
            entry["template"], **own, **({"person": "Alex"} if "person" in takes else {})
        )
        for key in ("recap", "onward"):
            if key in own:
                last = own[key].split(". ")[-1].rstrip(".")
                assert any(s == last + "." for s in sentences), (entry["title"], key, sentences)
                assert not re.search(r"you've (seen|owned|forgiven|let go)", own[key], re.I)


def test_leaving_kindly_puts_safety_on_day_one_and_gives_the_leaver_their_own_words():
    plan_ = tomllib.loads((SERIES_DIR / "leaving-kindly.toml").read_text(encoding="utf-8"))
    order = [s["template"] for s in plan_["sessions"]]
    assert order[0] == "time-to-leave"
    assert order.index("kindness-for-yourself") < order.index("forgiveness")
    day = next(s for s in plan_["sessions"] if s["template"] == "love-and-freedom")
    text = " ".join(said("love-and-freedom", person="Alex", **day["variables"]))
    assert "I love you" not in text and "leads away from you" not in text
    assert "I wish you well, from here." in text


def test_seven_days_puts_kindness_before_ownership_and_no_image_returns_on_days_four_to_six():
    plan_ = tomllib.loads((SERIES_DIR / "seven-days-of-release.toml").read_text(encoding="utf-8"))
    order = [s["template"] for s in plan_["sessions"]]
    assert order.index("kindness-for-yourself") < order.index("your-healing-is-your-own")
    images = {"thread": 0, "open hand": 0, "hand that slowly opens": 0}
    for template in order[3:6]:
        text = " ".join(said(template, minutes=40, person="Alex")).lower()
        for image in images:
            images[image] += image in text
    assert all(count <= 1 for count in images.values()), images


@pytest.mark.parametrize(
    "name", ["grief", "when-they-have-left", "sleep-release", "meeting-the-pain"]
)
def test_the_heaviest_practices_name_a_crisis_line_and_read_its_number_digit_by_digit(name):
    from letgo.words import speakable

    plain = " ".join(said(name, minutes=templates.TemplateLibrary().find(name).max_minutes))
    assert "your local emergency number or a crisis line" in plain

    def shown(text):
        return script.restore(text).replace(speakable.DIGIT_JOINER, "")

    with_number = [s for s in said(name, helpline="116 123") if "116 123" in shown(s)]
    assert with_number, name  # the captions show the number as typed...
    spoken = speakable.Normalizer()(with_number[0])  # ...and the voice reads it digit by digit
    assert "one one six, one two three" in spoken and "hundred" not in spoken
