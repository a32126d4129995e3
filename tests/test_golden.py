"""Golden scripts: each built-in template's rendered script with its default variables.

Wording changes must be deliberate. After changing a template on purpose, regenerate with:

    LETGO_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py

and review the diff of tests/golden/ before committing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from letgo.words import templates

GOLDEN = Path(__file__).parent / "golden"
BUILTIN = sorted(p.name[:-3] for p in templates.builtin_dir().glob("*.j2"))


@pytest.mark.parametrize("name", BUILTIN)
def test_rendered_script_matches_golden(name):
    info = templates.TemplateLibrary().find(name)
    assert info.origin == "built-in"
    text = templates.render(info, {})
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("LETGO_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), f"no golden file for {name}; run with LETGO_UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8"), (
        f"{name} renders differently from {golden}; if the change is deliberate, "
        "regenerate with LETGO_UPDATE_GOLDEN=1 (see this module's docstring)"
    )


def test_every_golden_file_has_a_template():
    stale = sorted(p.stem for p in GOLDEN.glob("*.txt") if p.stem not in BUILTIN)
    assert not stale, f"golden files for templates that no longer exist: {stale}"
