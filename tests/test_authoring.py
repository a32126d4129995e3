"""Writing one's own: show, new, check, user template folders and the script view."""

from __future__ import annotations

import re

import pytest

from letgo.cli import main
from letgo.words import templates

BUILTIN = sorted(p.name[:-3] for p in templates.builtin_dir().glob("*.j2"))
SHADOW = """{#
title = "My own whole"
description = "A user's version of a built-in."
minutes = 2
max_minutes = 5
#}
## Mine
This one is mine.
{{ pause(10, flex=True) }}
"""


def test_show_describes_variables_length_range_and_sections(runner):
    result = runner.invoke(main, ["show", "letting-go", "--engine", "fake"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Letting go in love" in out and "built-in" in out
    assert re.search(r"shortest \d+ min \d\d s, default 12 min 00 s, longest 40 min", out)
    assert re.search(
        r"person\s+default empty\. The person you're letting go, as you think of them", out
    )
    sections = out.split("Sections")[1]
    for title in ("Arrival", "Meeting what is here", "Letting go", "Return"):
        assert title in sections


def test_show_unknown_template_suggests_a_name(runner):
    result = runner.invoke(main, ["show", "leting-go", "--engine", "fake"])
    assert result.exit_code == 2 and "did you mean letting-go" in result.output


def test_new_writes_a_starter_that_passes_check_and_is_listed(runner, tmp_path):
    result = runner.invoke(main, ["new", "morning-ease"])
    assert result.exit_code == 0, result.output
    path = templates.user_template_dir() / "morning-ease.j2"
    assert path.is_file() and str(path) in result.output
    assert runner.invoke(main, ["check", str(path)]).exit_code == 0
    listed = runner.invoke(main, ["list"]).output
    assert re.search(r"morning-ease .*\(user: ", listed)
    script = runner.invoke(main, ["script", "morning-ease", "--engine", "fake"])
    assert script.exit_code == 0 and "## The heart of it" in script.output


def test_new_refuses_to_overwrite_and_to_take_a_bad_name(runner, tmp_path):
    assert runner.invoke(main, ["new", "calm", "--dir", str(tmp_path)]).exit_code == 0
    before = (tmp_path / "calm.j2").read_text()
    (tmp_path / "calm.j2").write_text(before + "My edits.\n")
    again = runner.invoke(main, ["new", "calm", "--dir", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output
    assert (tmp_path / "calm.j2").read_text().endswith("My edits.\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calm.j2"]  # no temporary left
    bad = runner.invoke(main, ["new", "../escape", "--dir", str(tmp_path)])
    assert bad.exit_code == 2 and "not a template name" in bad.output


def test_every_builtin_template_passes_check(runner):
    result = runner.invoke(main, ["check", *BUILTIN])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "body, line, message",
    [
        ("Hello {{ nmae }}.\n", 9, "'nmae' is not defined"),
        ("Hello.\nAnd {{ name }.\n", 10, "syntax error"),
        (
            "Hello.\n{% if name %}\nHi.\n{% for x in range(2) %}A.{% endfor %}\n",
            10,
            "syntax error: this {% if %} is never closed",
        ),
        ("Hello.\n[pasue 3s]\n", 10, "bad markup: unknown tag [pasue 3s]"),
        ("Hello.\n{% if name %}Hi [bel].{% endif %}\n", 10, "bad markup"),
        ("Hello.\n{{ pause(300) }}\n", 10, "fixed pause of 300 s"),
        ("Hello.\n[pause 0.1s]\n", 10, "too short"),
        ("Hello.\n{{ pause(5, min=9) }}\n", 10, "min is longer than the pause"),
    ],
)
def test_check_reports_file_and_line(runner, tmp_path, body, line, message):
    path = tmp_path / "mine.j2"
    path.write_text(
        '{#\ntitle = "T"\ndescription = "D"\nminutes = 3\n[variables.name]\n'
        'default = ""\nhelp = "n"\n#}\n' + body + "{{ pause(9, flex=True) }}\n"
        "{{ name }}\n",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:{line}: " in result.output and message in result.output, result.output


def test_a_misspelt_helper_is_reported_once_with_what_it_may_mean(runner, tmp_path):
    """Found by the names check; the render that then fails on it does not say it again."""
    path = tmp_path / "mine.j2"
    path.write_text(
        '{#\ntitle = "T"\ndescription = "D"\nminutes = 3\n#}\nHello. {{ pase(3) }}\n'
        "{{ pause(9, flex=True) }}\n",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert result.output.count("pase") == 1, result.output
    assert f"{path}:6: 'pase' is not defined; did you mean pause()?" in result.output


@pytest.mark.parametrize(
    "body, message",
    [
        ("Hello {{ paus(3) }}.\n", "'paus' is a variable, not a helper; did you mean pause()?"),
        ("Hello {{ zzqx(3) }}.\n", "'zzqx' is a variable, not a helper; the helpers are pause()"),
        ("Hello {{ 'you' | uper }}.\n", "there is no filter named 'uper'; did you mean upper?"),
    ],
)
def test_a_template_without_a_header_hears_what_it_misspelt(runner, tmp_path, body, message):
    """With no header every free name is a variable, so a misspelt helper is a variable
    called like one; a misspelt filter is not a syntax error. check and render say so."""
    path = tmp_path / "mine.j2"
    path.write_text(body, encoding="utf-8")
    checked = runner.invoke(main, ["check", str(path)])
    assert checked.exit_code == 1 and f"{path}:1: {message}" in checked.output, checked.output
    out = tmp_path / "mine.wav"
    rendered = runner.invoke(main, ["render", str(path), "--engine", "fake", "-o", str(out)])
    assert rendered.exit_code == 2 and not out.exists()  # the template is the input
    assert rendered.output.startswith(f"letgo: error: {path}:1: {message}"), rendered.output


def test_check_reports_unused_variables_and_header_mistakes(runner, tmp_path):
    path = tmp_path / "mine.j2"
    path.write_text(
        '{#\ntitle = "T"\ndescription = "D"\nminutes = 9\nmax_minutes = 5\n'
        '[variables.spare]\ndefault = ""\nhelp = "never used"\n#}\n'
        "Hello.\n{{ pause(9, flex=True) }}\n",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:5: max_minutes (5) is less than minutes (9)" in result.output
    assert f"{path}:6: variable 'spare' is declared but never used" in result.output


def test_user_template_wins_over_builtin_and_list_says_where(runner, tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "whole.j2").write_text(SHADOW, encoding="utf-8")
    listed = runner.invoke(main, ["list", "--templates", str(mine)]).output
    assert re.search(
        rf"^\s+whole .*My own whole.*\(--templates: {re.escape(str(mine))}\)$", listed, re.M
    )
    for command in ("script", "show"):
        result = runner.invoke(
            main, [command, "whole", "--engine", "fake", "--templates", str(mine)]
        )
        assert result.exit_code == 0 and "My own whole" in result.output, result.output
    # the environment variable and the config folder work the same way, in that order
    monkeypatch.setenv("LETGO_TEMPLATES", str(mine))
    assert "$LETGO_TEMPLATES" in runner.invoke(main, ["list"]).output
    assert templates.TemplateLibrary().find("whole").origin == "$LETGO_TEMPLATES"
    monkeypatch.delenv("LETGO_TEMPLATES")
    user = templates.user_template_dir()
    user.mkdir(parents=True)
    (user / "whole.j2").write_text(SHADOW, encoding="utf-8")
    assert templates.TemplateLibrary().find("whole").origin == "user"
    other = tmp_path / "other"
    other.mkdir()
    (other / "whole.j2").write_text(SHADOW.replace("My own whole", "Flag wins"), "utf-8")
    assert templates.TemplateLibrary([other]).find("whole").title == "Flag wins"


def test_script_shows_sections_start_times_pauses_and_total(runner):
    result = runner.invoke(main, ["script", "whole", "--engine", "fake", "--minutes", "12"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert re.search(r"^## Arrival\s+\[0:00\.0", out, re.M)
    assert re.search(r"^## Return\s+\[\d+:\d\d\.\d", out, re.M)
    assert re.search(r"^\s+\d+:\d\d\.\d\s+Settle into your seat\.$", out, re.M)
    assert re.search(r"^\s+\d+:\d\d\.\d\s+\[flexible pause \d+\.\d s\]$", out, re.M)
    assert re.search(r"^\s+\d+:\d\d\.\d\s+\[pause 4\.0 s\]$", out, re.M)
    assert re.search(r"^Total: 12:00\.0 \(720\.0 s\)$", out, re.M)


def test_templates_option_exists_wherever_templates_are_looked_up(runner):
    for command in ("render", "script", "show", "list", "check"):
        help_text = runner.invoke(main, [command, "--help"]).output
        assert "--templates" in help_text, command


def test_a_broken_user_template_is_listed_with_its_error_not_fatal(runner, tmp_path):
    (tmp_path / "broken.j2").write_text("{#\ntitle = \n#}\nHi.\n", encoding="utf-8")
    result = runner.invoke(main, ["list", "--templates", str(tmp_path)])
    assert result.exit_code == 0
    assert re.search(r"broken .*cannot be read: .*bad TOML header", result.output)
    assert "letting-go" in result.output
    check = runner.invoke(main, ["check", str(tmp_path / "broken.j2")])
    assert check.exit_code == 1 and "broken.j2:1: bad TOML header" in check.output


def test_show_at_a_given_length_and_beyond_the_range(runner):
    result = runner.invoke(main, ["show", "whole", "--engine", "fake", "--minutes", "20"])
    assert result.exit_code == 0 and "(at 20 minutes)" in result.output
    beyond = runner.invoke(main, ["show", "whole", "--engine", "fake", "--minutes", "31"])
    assert beyond.exit_code == 2 and "at most 30 minutes" in beyond.output
