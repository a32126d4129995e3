"""Shared fixtures: a fake engine with exact clip lengths, small templates, a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from letgo.engines.fake import FakeEngine

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


@pytest.fixture
def short_template() -> Path:
    """A tiny template with every kind of markup, for fast pipeline tests."""
    return DATA / "short.j2"
