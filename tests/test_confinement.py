"""Confinement (issue 22): what a plan, an output folder and the files in it may reach.

A series plan, a listeners CSV and an output folder may all come from someone else. Each test
plants what an attacker or a careless user would, builds with the fake engine, and checks that
nothing outside the job was read, published, touched or removed, and that every refusal is one
line naming what to change.
"""

from __future__ import annotations

import json
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest
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


# --- item 1: what a plan may read and publish ------------------------------------------------

SECRET = "$6$SECRET$do-not-publish"


@pytest.fixture
def secret(tmp_path) -> Path:
    """A file outside the plan's folder standing in for /etc/shadow."""
    path = tmp_path / "private" / "shadow"
    path.parent.mkdir()
    path.write_text(f"root:{SECRET}:19000:0:99999:7:::\nalex:{SECRET}:19000:0:99999:7:::\n")
    return path


def plan_with(folder: Path, session: str, series: str = "") -> Path:
    """A plan whose one session is `session` (TOML lines under [[sessions]])."""
    shutil.copytree(DATA, folder, dirs_exist_ok=True)
    plan = folder / "plan.toml"
    plan.write_text(
        f'[series]\ntitle = "Confined"\n{series}\n[defaults]\nminutes = 1\nengine = "fake"\n'
        f'background = "none"\n\n[[sessions]]\n{session}\n',
        encoding="utf-8",
    )
    return plan


def refused(plan: Path, out: Path, *more: str) -> str:
    """The one error line of a build that must be refused; nothing built, nothing leaked."""
    result = build(plan, out, *more)
    assert result.exit_code == 2, result.output
    line = one_error_line(result.stderr)
    assert SECRET not in result.output
    assert not out.exists() or not any(out.rglob("*.mp3"))
    return line


@pytest.mark.parametrize(
    "template",
    [
        "{secret}",  # an absolute path
        "../private/shadow",  # relative, out of the plan's folder
        "/proc/self/environ",
        "{secret}.j2",  # a .j2 that is not there
        "link.j2",  # a .j2 in the plan's folder that is a symlink out of it
        "link",  # the same, by name
        "secret.txt",  # a file in the plan's folder that is not a template
    ],
)
def test_a_plan_cannot_use_a_file_outside_its_templates(tmp_path, secret, template):
    folder = tmp_path / "plan"
    folder.mkdir()
    (folder / "link.j2").symlink_to(secret)
    (folder / "secret.txt").write_text(SECRET)
    named = template.format(secret=secret)
    plan = plan_with(folder, f"template = {json.dumps(named)}", 'templates = ["."]')
    line = refused(plan, tmp_path / "out")
    assert "template" in line


def test_a_plan_may_use_builtins_its_own_folder_and_its_templates_folders(tmp_path):
    from letgo.series import plan as series_plan

    folder = tmp_path / "plan"
    (folder / "mine").mkdir(parents=True)
    shutil.copy(DATA / "tiny.j2", folder / "mine" / "tiny-too.j2")
    plan = plan_with(
        folder,
        'template = "tiny.j2"\n\n[[sessions]]\ntemplate = "mine/tiny-too.j2"\n\n'
        '[[sessions]]\ntemplate = "tiny-too"\n\n[[sessions]]\ntemplate = "whole"',
        'templates = ["mine"]',
    )
    loaded = series_plan.load(plan)
    assert [e.request.template.rsplit("/", 1)[-1] for e in loaded.episodes] == [
        "tiny.j2",
        "tiny-too.j2",
        "tiny-too",
        "whole",
    ]


def test_a_plan_cannot_name_a_listeners_csv_outside_its_folder(tmp_path, secret):
    plan = plan_of(tmp_path / "plan")
    for csv in (str(secret), "../private/shadow", "/proc/self/environ", "plan.toml"):
        text = plan.read_text().replace(
            "[defaults]", f"[listeners]\ncsv = {json.dumps(csv)}\n\n[defaults]"
        )
        plan.write_text(text)
        line = refused(plan, tmp_path / "out")
        assert "listeners CSV is a .csv file inside the plan's folder" in line
        plan = plan_of(tmp_path / "plan")


def test_no_error_echoes_a_files_content(tmp_path, secret):
    """--listeners FILE is the user's own choice, so it is read; its first line is still
    never repeated back (a header that is not names is named by its number)."""
    plan = plan_of(tmp_path / "plan")
    result = build(plan, tmp_path / "out", "--listeners", str(secret))
    assert result.exit_code == 2
    assert SECRET not in one_error_line(result.stderr)
    for line in (
        f"pronunciations = [{json.dumps(str(secret))}]",
        f"background = {json.dumps(str(secret))}",
    ):
        plan.write_text(plan.read_text().replace("[defaults]", f"[defaults]\n{line}"))
        result = build(plan, tmp_path / "out")
        assert result.exit_code != 0 and SECRET not in result.output, result.output
        plan = plan_of(tmp_path / "plan")


# --- item 5: titles are one line -----------------------------------------------------------


@pytest.mark.parametrize(
    ("series", "session", "key"),
    [
        ('title = "Calm\\nhttp://evil.example/x.mp3"', "", "'title'"),
        ('title = "Calm"\nauthor = "Me\\r\\nhttp://evil.example/x.mp3"', "", "'author'"),
        ('title = "Calm"', 'title = "Day 1\\nhttp://evil.example/x.mp3"', "'title'"),
        ('title = "Calm"', 'title = "Day 1\\u2028two"', "'title'"),
    ],
)
def test_a_title_with_a_line_break_is_refused(tmp_path, series, session, key):
    folder = tmp_path / "plan"
    shutil.copytree(DATA, folder)
    plan = folder / "plan.toml"
    plan.write_text(
        f'[series]\n{series}\ntemplates = ["."]\n[defaults]\nengine = "fake"\nminutes = 1\n'
        f'background = "none"\n[[sessions]]\ntemplate = "tiny"\n{session}\n'
    )
    result = build(plan, tmp_path / "out")
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert key in line and "must be one line" in line
    assert not (tmp_path / "out" / "playlist.m3u").exists()


def test_the_playlist_never_takes_a_line_break_from_the_manifest():
    from letgo.series import listen
    from letgo.series.plan import SeriesInfo

    info = SeriesInfo(title="Calm\nhttp://evil.example/a.mp3", author="Me\r\nx")
    item = listen.Item("01-a.mp3", "Day\nhttp://evil.example/b.mp3", "", 1, 60.0, 1, "2026", "g")
    text = listen.playlist(listen.Listing(info, (item,)))
    assert [line for line in text.splitlines() if not line.startswith("#")] == ["01-a.mp3"]


# --- item 12: plan types ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("templates = [5]", "'templates'"),
        ('templates = "tpl"', "'templates'"),
        ("year = [1]", "'year'"),
        ("year = 1e400", "'year'"),
        ("year = 2026.5", "'year'"),
        ("year = true", "'year'"),
        ("author = 5", "'author'"),
    ],
)
def test_a_series_field_of_the_wrong_type_is_one_line_naming_it(tmp_path, line, key):
    plan = plan_with(tmp_path / "plan", 'template = "whole"', line)
    result = build(plan, tmp_path / "out")
    assert result.exit_code == 2
    assert key in one_error_line(result.stderr)


@pytest.mark.parametrize(
    ("extra", "key"),
    [("[listeners]\ncsv = 5", "'csv'"), ("[listeners]\ncsv = []", "'csv'")],
)
def test_a_listeners_field_of_the_wrong_type_is_one_line_naming_it(tmp_path, extra, key):
    plan = plan_of(tmp_path / "plan")
    plan.write_text(plan.read_text().replace("[defaults]", f"{extra}\n[defaults]"))
    result = build(plan, tmp_path / "out")
    assert result.exit_code == 2
    assert key in one_error_line(result.stderr)


def test_a_year_may_be_a_number_or_text():
    from letgo.series.plan import _year

    assert _year(2026, "x") == "2026" and _year("1999", "x") == "1999"


# --- item 13: names in every script ----------------------------------------------------------


def test_listener_folders_keep_the_letters_of_every_script(tmp_path):
    from letgo.series import plan as series_plan

    plan = plan_of(
        tmp_path / "plan", 1, listeners="name\nСаша\nМаша\n李雷\nΝίκη\n😀\n🌊\nZoë Ñúñez\n"
    )
    loaded = series_plan.load(plan)
    assert [e.folder for e in loaded.episodes] == [
        "саша",
        "маша",
        "李雷",
        "νίκη",
        "listener-5",
        "listener-6",
        "zoë-ñúñez",
    ]
    assert series_plan.slug("Day 1: Встреча с болью") == "day-1-встреча-с-болью"
    assert series_plan.slug("नमस्ते दुनिया") == "नमस्ते-दुनिया"  # the vowel signs stay


# --- item 20: the listener's row wins over the session ---------------------------------------


def test_a_listeners_row_wins_over_the_sessions_variables(tmp_path):
    from letgo.series import plan as series_plan

    plan = plan_of(tmp_path / "plan", 1, listeners="name,person\nAnna,Ben\nCleo,\n")
    text = plan.read_text() + '[sessions.variables]\nperson = ""\nname = "Someone"\n'
    plan.write_text(text)
    loaded = series_plan.load(plan)
    variables = [dict(e.request.variables) for e in loaded.episodes]
    assert variables[0]["person"] == "Ben" and variables[0]["name"] == "Anna"
    # an empty cell sets nothing, as for a setting: the session's value stands
    assert variables[1]["person"] == "" and variables[1]["name"] == "Cleo"


def test_changing_the_listeners_csv_rebuilds_that_listener(tmp_path):
    plan = plan_of(tmp_path / "plan", 1, listeners="name,person\nAnna,Ben\nCleo,Dan\n")
    plan.write_text(plan.read_text() + '[sessions.variables]\nperson = ""\n')
    out = tmp_path / "out"
    args = ["series", "build", str(plan), "-o", str(out), "--json", "-j", "1"]
    first = json.loads(CliRunner().invoke(main, args).stdout)
    assert first["built"] == 2
    (plan.parent / "people.csv").write_text("name,person\nAnna,Ben\nCleo,Eve\n")
    again = json.loads(CliRunner().invoke(main, args).stdout)
    assert (again["built"], again["skipped"]) == (1, 1)
    rebuilt = [s for s in again["sessions"] if s["status"] == "built"]
    assert [s["listener"] for s in rebuilt] == ["cleo"]
    assert "Let Eve go, gently." in (out / "cleo" / "01-part-1.srt").read_text()


# --- item 7: no path of this computer in a tag or a feed -------------------------------------


def test_no_tag_or_listening_file_holds_an_absolute_path(tmp_path):
    import wave

    import numpy as np
    from mutagen.id3 import ID3

    private = tmp_path / "home" / "someone"
    private.mkdir(parents=True)
    bed = private / "bed.wav"
    with wave.open(str(bed), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(22050)
        handle.writeframes((np.sin(np.arange(22050) / 7.0) * 3000).astype("<i2").tobytes())
    rules = private / "rules.toml"
    rules.write_text('[plain]\n"Sam" = "Samuel"\n')
    plan = plan_of(tmp_path / "plan", 1, listeners="name\nAnna\n")
    plan.write_text(
        plan.read_text()
        .replace('background = "none"', f"background = {json.dumps(str(bed))}")
        .replace("[defaults]", f"[defaults]\npronunciations = [{json.dumps(str(rules))}]")
        .replace('template = "tiny"', f"template = {json.dumps(str(plan.parent / 'tiny.j2'))}")
    )
    out = tmp_path / "out"
    result = build(plan, out)
    assert result.exit_code == 0, result.output
    mp3 = out / "anna" / "01-part-1.mp3"
    frames = ID3(mp3)
    text = " ".join(str(frame) for frame in frames.values() if frame.FrameID != "APIC")
    inputs = json.loads(frames.getall("TXXX:letgo:inputs")[0].text[0])
    assert inputs["background"] == "bed.wav" and inputs["pronunciations"] == ["rules.toml"]
    assert inputs["template_file"] == "tiny.j2"
    for published in [
        text,
        *(
            p.read_text()
            for p in out.rglob("*")
            if p.suffix in (".xml", ".m3u", ".html", ".vtt", ".srt")
        ),
    ]:
        assert str(tmp_path) not in published
        assert "file:" not in published


# --- item 19: identical covers are drawn once -------------------------------------------------


def test_identical_covers_are_drawn_once(tmp_path, monkeypatch):
    """Three listeners, two sessions each, one series title: one cover drawn (in the build,
    handed to every session's worker), six MP3s and three cover.png files that carry it."""
    from mutagen.id3 import ID3

    from letgo.file import tags
    from letgo.series import build as series_build
    from letgo.series import plan as series_plan

    drawn = []
    draw = tags.cover_png
    monkeypatch.setattr(tags, "cover_png", lambda seed, *a: drawn.append(seed) or draw(seed, *a))
    names = "".join(f"Listener {n}\n" for n in range(3))
    plan = series_plan.load(plan_of(tmp_path / "plan", 2, listeners=f"name\n{names}"))
    summary = series_build.build(plan, tmp_path / "out", jobs=2)
    assert summary.ok and summary.count("built") == 6
    assert drawn == ["Confined"]
    covers = {p.read_bytes() for p in (tmp_path / "out").rglob("cover.png")}
    assert len(list((tmp_path / "out").rglob("cover.png"))) == 3 and len(covers) == 1
    art = {ID3(p).getall("APIC")[0].data for p in (tmp_path / "out").rglob("*.mp3")}
    assert art == covers


# --- item 22: a per-listener folder, served and built ----------------------------------------


def test_a_per_listener_build_has_an_index_and_says_whose_session_is_whose(tmp_path):
    from letgo.series import serve

    out = tmp_path / "out"
    plan = plan_of(tmp_path / "plan", 1, listeners="name\nAnna\nСаша\n")
    result = CliRunner().invoke(main, ["series", "build", str(plan), "-o", str(out), "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "started  anna: Part 1" in result.stderr and "built    саша: Part 1" in result.stderr
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="anna/index.html"' in page and 'href="%D1%81%D0%B0%D1%88%D0%B0/index.html"' in page
    server = serve.make_server(out, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as reply:
            assert reply.status == 200 and reply.read().decode("utf-8") == page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/anna/", timeout=10) as reply:
            assert "Part 1" in reply.read().decode("utf-8")
    finally:
        server.shutdown()
        server.server_close()


# --- item 23: letgo show of a plan ------------------------------------------------------------


def test_show_names_a_plan_and_its_file(tmp_path):
    result = CliRunner().invoke(main, ["show", "seven-days-of-release"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Seven days of release  (seven-days-of-release, a series plan")
    path = Path(next(line for line in lines if line.startswith("File: "))[6:])
    assert path.name == "seven-days-of-release.toml" and path.is_file()
    assert "   1. Day 1: Meeting the pain  (template meeting-the-pain)" in lines
    plan = plan_of(tmp_path / "plan", 2)
    result = CliRunner().invoke(main, ["show", str(plan)])
    assert result.exit_code == 0, result.output
    assert f"File: {plan}" in result.stdout and "   2. Part 2  (template tiny)" in result.stdout
    result = CliRunner().invoke(main, ["show", "seven-days-of-nothing"])
    assert result.exit_code == 2 and "no template" in one_error_line(result.stderr)


def test_two_listeners_with_one_folder_are_named_not_their_titles(tmp_path):
    plan = plan_of(tmp_path / "plan", 1, listeners="name\nAnna\nBen\nanna\n")
    result = build(plan, tmp_path / "out")
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert "rows 2 and 4 would both build into the folder 'anna'" in line
