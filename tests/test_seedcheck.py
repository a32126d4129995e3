"""Original writing only: no run of eight words from the source texts in the templates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEEDCHECK = REPO.parent / "shared" / "tools" / "seedcheck.py"


@pytest.mark.skipif(
    not SEEDCHECK.is_file(),
    reason=f"{SEEDCHECK} is not here (the shared folder exists only in the "
    "development workspace, not in CI)",
)
def test_templates_repeat_no_sentence_of_the_source_texts():
    result = subprocess.run(
        [sys.executable, str(SEEDCHECK), str(REPO / "templates")], capture_output=True, text=True
    )
    assert result.stdout == "" and result.returncode == 0, result.stdout
