"""Shell completion, as the shells ask for it: template names, series plan names, background
names and voice ids, besides commands and options; and the set-up lines the README gives."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from letgo.cli import main
from letgo.voice.engines import list_voices

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def complete(shell: str, *words: str) -> list[str]:
    """What letgo offers for the last of `words`, asked the way `shell`'s script asks."""
    env = {
        "_LETGO_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": " ".join(("letgo",) + words),
        # bash and zsh give the index of the word being completed, fish the word itself
        "COMP_CWORD": words[-1] if shell == "fish" else str(len(words)),
    }
    result = CliRunner().invoke(main, [], env=env, prog_name="letgo")
    assert result.exit_code == 0, result.output
    if shell == "zsh":  # type, value, help: three lines each
        lines = result.stdout.splitlines()
        items = [(lines[i], lines[i + 1]) for i in range(0, len(lines), 3)]
    else:  # "type,value" per line (fish adds a tab and the help)
        items = [tuple(line.split("\t")[0].split(",", 1)) for line in result.stdout.splitlines()]
    return [value for kind, value in items if kind == "plain"]  # not "file": the shell's own


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_is_offered_names(shell):
    assert complete(shell, "render", "letting") == ["letting-go"]
    assert complete(shell, "render", "whole", "--background", "o") == ["ocean"]


def test_template_plan_background_and_voice_names_complete(shell="bash"):
    assert complete(shell, "render", "letting") == ["letting-go"]
    assert "sleep-release" in complete(shell, "script", "s")
    assert complete(shell, "series", "build", "seven") == ["seven-days-of-release"]
    assert complete(shell, "render", "whole", "--background", "o") == ["ocean"]
    installed = sorted(v.id for v in list_voices("pyttsx3") if v.installed)
    assert (
        complete(shell, "render", "whole", "--engine", "pyttsx3", "--voice", "gmw/en")
        == [v for v in installed if v.startswith("gmw/en")]
        != []
    )
    assert complete(shell, "render", "whole", "--engine", "piper", "--voice", "j") == [
        v.id for v in list_voices("piper") if v.installed and v.id.startswith("j")
    ]
    assert "render" in complete(shell, "ren")
    assert "--minutes" in complete(shell, "render", "whole", "--min")


def test_a_template_of_your_own_completes_from_templates(tmp_path):
    (tmp_path / "my-own-ease.j2").write_text("Hello.\n", encoding="utf-8")
    assert complete("bash", "show", "--templates", str(tmp_path), "my-o") == ["my-own-ease"]


def test_the_readme_set_up_lines_make_each_shells_script():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for shell, marker in (
        ("bash", "complete -o nosort -F _letgo_completion letgo"),
        ("zsh", "compdef _letgo_completion letgo"),
        ("fish", "complete --no-files --command letgo"),
    ):
        line = re.search(
            rf"^    (.*_LETGO_COMPLETE={shell}_source letgo.*?)\s+#", readme, re.M
        ).group(1)
        variable = re.search(r"_LETGO_COMPLETE=(\w+) letgo", line).group(1)
        made = CliRunner().invoke(main, [], env={"_LETGO_COMPLETE": variable}, prog_name="letgo")
        assert marker in made.output, (shell, made.output[:300])


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash here")
def test_bash_completes_a_template_name_through_the_readme_line():
    """The README's bash line, sourced in a real bash, completes `letgo render letting`."""
    script = (
        'eval "$(_LETGO_COMPLETE=bash_source letgo)"\n'
        "COMP_WORDS=(letgo render letting); COMP_CWORD=2\n"
        '_letgo_completion letgo 2>/dev/null; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
    assert result.stdout.split() == ["letting-go"], result.stderr
