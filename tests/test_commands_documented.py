"""House rule 8: every command has help with an example, and the README shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from letgo.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(main.commands))
def test_command_has_an_example_and_is_in_the_readme(runner, name):
    help_text = runner.invoke(main, [name, "--help"]).output
    assert "Example" in help_text, name
    assert f"letgo {name}" in README, f"the README's command list does not show 'letgo {name}'"
