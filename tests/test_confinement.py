"""Confinement (issue 22): what a plan, an output folder and the files in it may reach.

A series plan, a listeners CSV and an output folder may all come from someone else. Each test
plants what an attacker or a careless user would, builds with the fake engine, and checks that
nothing outside the job was read, published, touched or removed, and that every refusal is one
line naming what to change.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from letgo.cli import main
from letgo.series import manifest as manifests

DATA = Path(__file__).parent / "series_data"
MANIFEST = ".letgo-series.json"


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("letgo: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def plan_of(
    folder: Path, sessions: int = 1, series: str = "", listeners: str | None = None
) -> Path:
    """A plan of `sessions` tiny sessions (fake engine, 1 minute) in `folder`."""
    shutil.copytree(DATA, folder, dirs_exist_ok=True)
    body = "".join(
        f'\n[[sessions]]\ntemplate = "tiny"\ntitle = "Part {n}"\n' for n in range(1, sessions + 1)
    )
    extra = ""
    if listeners is not None:
        (folder / "people.csv").write_text(listeners, encoding="utf-8")
        extra = '[listeners]\ncsv = "people.csv"\n'
    plan = folder / "plan.toml"
    plan.write_text(
        f'[series]\ntitle = "Confined"\ntemplates = ["."]\n{series}\n{extra}[defaults]\n'
        f'minutes = 1\nengine = "fake"\nbackground = "none"\n{body}',
        encoding="utf-8",
    )
    return plan


def build(plan: Path, out: Path, *more: str):
    return CliRunner().invoke(main, ["series", "build", str(plan), "-o", str(out), "-q", *more])


def victims(folder: Path) -> list[Path]:
    """Files a planted manifest will name: an MP3 and its transcripts, outside the output."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for name in ("victim.mp3", "victim.vtt", "victim.srt"):
        (folder / name).write_text("not yours to delete")
        made.append(folder / name)
    return made


def entry(**fields) -> dict:
    """A manifest entry as a build writes one."""
    return {
        "key": "0" * 64,
        "sources": "1" * 64,
        "words": "2" * 64,
        "title": "Planted",
        "description": "",
        "track": 1,
        "duration": 60.0,
        "bytes": 19,
        "built": "2026-01-01T00:00:00+00:00",
        "chapters": [],
        "cues": [],
        "seconds": 1.0,
        **fields,
    }


# --- item 2: the manifest is data from disk --------------------------------------------------


def test_a_planted_manifest_never_removes_files_outside_the_folder(tmp_path):
    """Sessions 'no longer in the plan' listed as ../victims/victim.mp3, an absolute path, the
    lock file and a symlinked sub-folder: the build removes none of them."""
    out = tmp_path / "out"
    out.mkdir()
    outside = victims(tmp_path / "victims")
    absolute = victims(tmp_path / "elsewhere")
    (out / "linked").symlink_to(tmp_path / "victims")
    (out / ".letgo-series.lock").write_text("")
    planted = {
        "../victims/victim.mp3": entry(),
        str(tmp_path / "elsewhere" / "victim.mp3"): entry(),
        "linked/victim.mp3": entry(),
        ".letgo-series.lock": entry(),
        "a/b/c.mp3": entry(),
    }
    (out / MANIFEST).write_text(json.dumps({"format": 1, "sessions": planted}))
    result = build(plan_of(tmp_path / "plan"), out)
    assert result.exit_code == 0, result.output
    for path in [*outside, *absolute]:
        assert path.read_text() == "not yours to delete"
    assert (out / ".letgo-series.lock").exists()
    kept = json.loads((out / MANIFEST).read_text())
    assert set(kept["sessions"]) == {"01-part-1.mp3"}  # the planted names are gone from it


def test_a_session_of_its_own_no_longer_planned_is_removed(tmp_path):
    """The other side of the rule: a session the build made, now dropped from the plan, goes."""
    out = tmp_path / "out"
    assert build(plan_of(tmp_path / "plan", 2), out).exit_code == 0
    assert (out / "02-part-2.mp3").is_file()
    assert build(plan_of(tmp_path / "plan", 1), out).exit_code == 0
    assert not any(out.glob("02-part-2.*"))
    assert (out / "01-part-1.mp3").is_file()


def test_a_symlinked_manifest_is_refused_and_its_target_untouched(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    target = tmp_path / "victim.json"
    target.write_text("precious")
    (out / MANIFEST).symlink_to(target)
    result = build(plan_of(tmp_path / "plan"), out)
    assert result.exit_code == 2
    assert "is a symlink" in one_error_line(result.stderr)
    assert target.read_text() == "precious"


def test_a_manifest_that_does_not_hold_up_is_ignored_entry_by_entry(tmp_path):
    """Wrong types, a non-JSON file, deep nesting: never a traceback; such entries are built
    again, good ones are kept."""
    out = tmp_path / "out"
    plan = plan_of(tmp_path / "plan", 2)
    assert build(plan, out).exit_code == 0
    good = json.loads((out / MANIFEST).read_text())
    good["sessions"]["02-part-2.mp3"]["bytes"] = "many"
    good["sessions"]["01-part-1.mp3"]["chapters"] = [["x", "y"]]
    good["sets"] = {"../up": ["../up/x.mp3"]}
    good["covers"] = {"": [1, 2, 3]}
    good["series"] = {"title": 5}
    (out / MANIFEST).write_text(json.dumps(good))
    result = CliRunner().invoke(main, ["series", "build", str(plan), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["built"], summary["skipped"]) == (2, 0)
    for junk in (b"[" * 100000, b"\xff\xfe not json", b'{"format": 1, "sessions": []}'):
        (out / MANIFEST).write_bytes(junk)
        assert manifests.read(out) == manifests.Manifest()


def test_the_manifest_reader_keeps_only_names_inside_the_folder():
    data = {
        "format": 1,
        "sessions": {
            name: entry()
            for name in (
                "ok.mp3",
                "alex/ok.flac",
                "../x.mp3",
                "/etc/x.mp3",
                "a/../../x.mp3",
                ".hidden.mp3",
                "alex/.x.mp3",
                "notes.txt",
                "a\\b.mp3",
                "a/b/c.mp3",
                "",
                "new\nline.mp3",
            )
        },
        "sets": {"": ["ok.mp3"], "alex": ["alex/ok.flac", "../x.mp3"], "..": []},
    }
    read = manifests.Manifest.from_json(data)
    assert set(read.sessions) == {"ok.mp3", "alex/ok.flac"}
    assert read.sets == {"": ["ok.mp3"], "alex": ["alex/ok.flac"]}
    assert read.sessions["ok.mp3"] == manifests.Entry.from_json(entry())
    assert manifests.Manifest.from_json(read.as_json()) == read


def test_a_symlinked_listener_folder_is_never_written_through(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "alex").symlink_to(elsewhere)
    plan = plan_of(tmp_path / "plan", 1, listeners="name\nAlex\n")
    result = build(plan, out)
    assert result.exit_code == 2
    assert "is a symlink" in one_error_line(result.stderr)
    assert not any(elsewhere.iterdir())


def test_a_symlinked_session_file_is_never_written_through(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.mp3"
    victim.write_text("precious")
    (out / "01-part-1.mp3").symlink_to(victim)
    result = build(plan_of(tmp_path / "plan"), out)
    assert result.exit_code == 2
    assert "is a symlink" in one_error_line(result.stderr)
    assert victim.read_text() == "precious"
