"""A render whose output already holds the very same session leaves it as it is."""

from __future__ import annotations

import shutil

import pytest

from letgo import session
from letgo.cli import main
from letgo.file import formats, tags
from letgo.settings.groups import ExportSettings, MixSettings


def request(template, **changes) -> session.Request:
    return session.Request(
        template=str(template),
        engine="fake",
        mix=changes.pop("mix", MixSettings(background="pink")),
        **changes,
    )


def render(template, out, **changes) -> session.Result:
    return session.render(request(template, **changes), out, reuse=True)


def written(path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns


@pytest.mark.parametrize("fmt", ["mp3", "wav", "flac", "ogg", "m4a"])
def test_an_unchanged_session_is_not_rendered_again(fmt, short_template, tmp_path):
    out = tmp_path / f"s.{fmt}"
    changes = {"export": ExportSettings(format=fmt)}
    first = render(short_template, out, **changes)
    before = written(out)
    again = render(short_template, out, **changes)
    assert (first.reused, again.reused) == (False, True)
    assert written(out) == before
    assert len(formats.read_extra(out, fmt)[tags.HASH_KEY]) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"mix": MixSettings(background="rain")},
        {"mix": MixSettings(background="pink", duck_db=3.0)},
        {"variables": {"name": "Sam"}},
        {"minutes": 1.5},
    ],
    ids=["background", "ducking", "a sentence", "length"],
)
@pytest.mark.e2e
def test_any_change_renders_again(change, short_template, tmp_path):
    out = tmp_path / "s.mp3"
    render(short_template, out)
    before = written(out)
    assert not render(short_template, out, **change).reused
    assert written(out) != before


@pytest.mark.e2e
def test_an_edited_template_renders_again(short_template, tmp_path):
    template = tmp_path / "t.j2"
    shutil.copy(short_template, template)
    out = tmp_path / "s.mp3"
    render(template, out)
    template.write_text(template.read_text().replace("Rest here.", "Rest here a while."))
    assert not render(template, out).reused


def test_a_file_letgo_did_not_make_is_rendered_over(short_template, tmp_path):
    out = tmp_path / "s.mp3"
    out.write_bytes(b"not audio at all")
    assert not render(short_template, out).reused
    assert out.stat().st_size > 10_000


@pytest.mark.e2e
def test_the_cli_says_up_to_date_and_force_renders_again(runner, short_template, tmp_path):
    out = tmp_path / "s.mp3"
    args = ["render", str(short_template), "--engine", "fake", "-o", str(out)]
    assert runner.invoke(main, args).exit_code == 0
    before = written(out)
    result = runner.invoke(main, args)
    assert result.exit_code == 0 and "is up to date" in result.output and "--force" in result.output
    assert written(out) == before
    result = runner.invoke(main, [*args, "--force"])
    assert result.exit_code == 0 and "Wrote" in result.output
    assert written(out) != before
