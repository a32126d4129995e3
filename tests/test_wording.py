"""The library's wording: breath cues that vary, names that read right, lines a listener needs."""

from __future__ import annotations

import pytest

from letgo import script, templates


def spoken(markup: str) -> list[str]:
    return [s.text for s in script.parse(markup).sentences]


def test_breath_cue_sets_differ_and_none_says_pause():
    said = {name: spoken(templates.breath(times=3, hold=2, cues=name))
            for name in templates.BREATH_CUES}
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
    assert words == ["Let the breath come in, like a slow wave.", "And let the wave roll back out.",
                     "In, with the wave.", "And out."]


def test_an_unknown_cue_set_is_a_template_error_naming_the_known_ones(tmp_path):
    path = tmp_path / "t.j2"
    path.write_text('{#\ntitle = "T"\n#}\n{{ breath(cues="loud") }}\n', encoding="utf-8")
    with pytest.raises(templates.TemplateError, match=r"known: gentle, wave"):
        templates.render(templates.read_info(path, "file"), {})


@pytest.mark.parametrize("typed, said", [("alex", "Alex"), ("mcKenzie", "McKenzie"),
                                         ("Mum and Dad", "Mum and Dad"), ("", "")])
def test_capfirst_capitalises_the_first_letter_only(tmp_path, typed, said):
    path = tmp_path / "t.j2"
    path.write_text('{#\ntitle = "T"\n[variables.person]\ndefault = ""\nhelp = "A name."\n#}\n'
                    '[{{ person|capfirst }}]\n', encoding="utf-8")
    assert templates.render(templates.read_info(path, "file"), {"person": typed}).strip() \
        == f"[{said}]"
