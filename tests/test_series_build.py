"""`letgo series build` with the fake engine: files, tags, chapters, transcripts, listening
files, incremental rebuilds, failures and plan errors, all through the CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import feedparser
import numpy as np
import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3

import measure
from letgo.cli import main
from letgo.file import ffmpeg, tags

DATA = Path(__file__).parent / "series_data"
TITLES = ["Day 1: Arriving", "Day 2: Releasing", "Day 3: Returning"]
FILES = ["01-day-1-arriving", "02-day-2-releasing", "03-day-3-returning"]
LENGTHS = [60.0, 75.0, 60.0]
SECTIONS = ["Arrival", "Release", "Return"]


def copy_data(folder: Path) -> Path:
    shutil.copytree(DATA, folder)
    return folder / "course.toml"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def build(plan: Path, out: Path, *extra: str) -> dict:
    result = run("series", "build", str(plan), "-o", str(out), "--json", "--jobs", "2", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def mtimes(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns
        for p in folder.rglob("*")
        if p.is_file() and p.name != ".letgo-series.lock"
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("series")
    plan = copy_data(root / "plan")
    summary = build(plan, root / "out", "--base-url", "https://example.org/course")
    assert summary["built"] == 3 and summary["ok"]
    return root / "out"


@pytest.mark.e2e
def test_every_file_is_there(built):
    names = {p.name for p in built.iterdir()}
    for stem in FILES:
        assert {f"{stem}.mp3", f"{stem}.vtt", f"{stem}.srt"} <= names
    assert {"playlist.m3u", "feed.xml", "index.html", "cover.png"} <= names
    assert not [n for n in names if ".part" in n]


def test_tags_read_back_with_mutagen(built):
    for n, (stem, title, length) in enumerate(zip(FILES, TITLES, LENGTHS, strict=False), start=1):
        path = built / f"{stem}.mp3"
        frames = ID3(path)
        assert str(frames["TIT2"]) == title
        assert str(frames["TALB"]) == "A tiny course"
        assert str(frames["TPE1"]) == "Test Teacher"
        assert str(frames["TRCK"]) == f"{n}/3"
        assert str(frames["TDRC"]) == "2026"
        assert str(frames["TCON"]) == "Meditation"
        cover = frames.getall("APIC")[0]
        assert cover.mime == "image/png" and cover.data.startswith(b"\x89PNG")
        chapters = tags.read_chapters(path)
        assert [c.title for c in chapters] == SECTIONS
        assert chapters[0].start == 0 and chapters[-1].end == pytest.approx(length, abs=0.01)
        assert all(a.end == b.start for a, b in zip(chapters, chapters[1:], strict=False))
        toc = frames.getall("CTOC")[0]
        assert [
            frames[f"CHAP:{i}"].sub_frames["TIT2"].text[0] for i in toc.child_element_ids
        ] == SECTIONS
        extra = tags.read_extra(path)
        inputs = json.loads(extra["letgo:inputs"])
        assert inputs["template"] == "tiny" and inputs["variables"]["name"] == "Sam"
        assert re.fullmatch(r"[0-9a-f]{64}", extra["letgo:hash"])
        assert measure.stream_info(path).duration == pytest.approx(length, abs=0.1)


def test_chapters_read_back_with_ffmpeg(built):
    text = subprocess.run(
        ffmpeg.command(*ffmpeg.source(built / f"{FILES[1]}.mp3"), "-f", "ffmetadata", "-"),
        capture_output=True,
        text=True,
    ).stdout
    # in time order in the file itself, as ffmpeg-based players list them
    assert re.findall(r"^title=(.+)$", text.split("[CHAPTER]", 1)[1], re.M) == SECTIONS
    starts = [int(x) for x in re.findall(r"^START=(\d+)$", text, re.M)]
    assert starts == sorted(starts)
    assert text.count("[CHAPTER]") == 3
    assert "album=A tiny course" in text and "track=2/3" in text


def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    def seconds(stamp):
        h, m, s = stamp.replace(",", ".").split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    return [
        (seconds(a), seconds(b), re.sub(r"<[^>]*>", "", t))  # the words' cue timestamps out
        for a, b, t in re.findall(r"(\S+) --> (\S+)\n(.+)", text)
    ]


def test_transcripts_follow_the_speech(built):
    for stem, length in zip(FILES[:2], LENGTHS, strict=False):  # the first two have no background
        text = (built / f"{stem}.vtt").read_text()
        assert text.startswith("WEBVTT\n")
        cues = parse_vtt(text)
        assert parse_vtt((built / f"{stem}.srt").read_text()) == cues
        assert [c[2] for c in cues][:2] == ["Welcome, Sam.", "Let your shoulders soften."]
        audio = ffmpeg.decode(built / f"{stem}.mp3", 44100)[:, 0]
        rate = 44100
        for start, end, _ in cues:
            assert 0 <= start < end <= length
            before = audio[int((start - 0.3) * rate) : int((start - 0.05) * rate)]
            after = audio[int((start + 0.05) * rate) : int((start + 0.3) * rate)]
            # speech starts at the cue: the level jumps there (even over a ringing bell)
            assert measure.rms_db(after) > -35, (stem, start)
            assert measure.rms_db(after) - measure.rms_db(before) > 10, (stem, start)
        late = [c for c in cues if c[0] > 15]  # long after the opening bell: silence before
        assert all(
            measure.rms_db(audio[int((s - 0.3) * rate) : int((s - 0.05) * rate)]) < -50
            for s, _, _ in late
        )


def test_playlist(built):
    lines = (built / "playlist.m3u").read_text().splitlines()
    assert lines[0] == "#EXTM3U"
    assert [line for line in lines if not line.startswith("#")] == [f"{s}.mp3" for s in FILES]
    assert [int(x) for x in re.findall(r"#EXTINF:(\d+),", "\n".join(lines))] == [60, 75, 60]


def test_feed_reads_as_a_podcast(built):
    feed = feedparser.parse(str(built / "feed.xml"))
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "A tiny course"
    assert feed.feed.image.href == "https://example.org/course/cover.png"
    assert feed.namespaces.get("itunes") == "http://www.itunes.com/dtds/podcast-1.0.dtd"
    assert [e.title for e in feed.entries] == TITLES
    for entry, stem, length in zip(feed.entries, FILES, LENGTHS, strict=False):
        enclosure = entry.enclosures[0]
        assert enclosure.href == f"https://example.org/course/{stem}.mp3"
        assert enclosure.type == "audio/mpeg"
        assert int(enclosure.length) == (built / f"{stem}.mp3").stat().st_size
        assert int(entry.itunes_duration) == round(length)


@pytest.mark.e2e
def test_no_change_rebuild_rewrites_nothing_and_one_change_rebuilds_one(tmp_path):
    plan = copy_data(tmp_path / "plan")
    out = tmp_path / "out"
    assert build(plan, out)["built"] == 3
    before = mtimes(out)
    again = build(plan, out)
    assert (again["built"], again["skipped"], again["written"]) == (0, 3, [])
    assert mtimes(out) == before

    plan.write_text(plan.read_text().replace('person = "Alex"', 'person = "Jo"'))
    changed = build(plan, out)
    assert [s["status"] for s in changed["sessions"]] == ["skipped", "built", "skipped"]
    after = mtimes(out)
    for stem in (FILES[0], FILES[2]):
        for suffix in (".mp3", ".vtt", ".srt"):
            assert after[stem + suffix] == before[stem + suffix]
    assert after[FILES[1] + ".mp3"] != before[FILES[1] + ".mp3"]
    assert "Let Jo go, gently." in (out / f"{FILES[1]}.srt").read_text()


@pytest.mark.e2e
def test_a_failing_session_does_not_stop_the_others(tmp_path):
    plan = copy_data(tmp_path / "plan")
    plan.write_text(plan.read_text().replace("minutes = 1.25", "minutes = 0.2"))
    result = run("series", "build", str(plan), "-o", str(tmp_path / "out"), "--jobs", "2")
    assert result.exit_code == 1
    assert "Day 2: Releasing" in result.stderr and "needs at least" in result.stderr
    assert "Traceback" not in result.output
    # not a terminal: plain progress lines, one per event, with the overall share and time left
    assert re.search(r"built +Day 1: Arriving: 60 s of audio +\[\d/3, \d+% overall", result.stderr)
    assert re.search(r"FAILED +Day 2: Releasing", result.stderr)
    assert (tmp_path / "out" / f"{FILES[0]}.mp3").is_file()
    assert (tmp_path / "out" / f"{FILES[2]}.mp3").is_file()
    assert not (tmp_path / "out" / f"{FILES[1]}.mp3").exists()
    assert "Day 2" not in (tmp_path / "out" / "playlist.m3u").read_text()


@pytest.mark.e2e
def test_one_set_per_listener_from_a_csv(tmp_path):
    plan = copy_data(tmp_path / "plan")
    text = (
        plan.read_text().split("[[sessions]]")[0] + '[[sessions]]\ntemplate = "tiny"\n'
        'title = "Your rest"\n'
    )
    plan.write_text(text + '\n[listeners]\ncsv = "people.csv"\n')
    (plan.parent / "people.csv").write_text("name,person,minutes\nMia,Leo,1\nOmar,,1.5\n")
    summary = build(plan, tmp_path / "out")
    assert summary["built"] == 2
    for folder, name, length in (("mia", "Mia", 60), ("omar", "Omar", 90)):
        mp3 = tmp_path / "out" / folder / "01-your-rest.mp3"
        assert json.loads(tags.read_extra(mp3)["letgo:inputs"])["variables"]["name"] == name
        assert measure.stream_info(mp3).duration == pytest.approx(length, abs=0.1)
        assert (tmp_path / "out" / folder / "feed.xml").is_file()
    assert "Let Leo go" in (tmp_path / "out" / "mia" / "01-your-rest.srt").read_text()
    assert [s["duration"] for s in build(plan, tmp_path / "out")["sessions"]] == [60, 90]
    assert build(plan, tmp_path / "out", "--force")["built"] == 2
    (plan.parent / "people.csv").write_text("name,persn\nMia,Leo\n")
    result = run("series", "build", str(plan), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2 and "column 'persn'" in result.stderr


@pytest.mark.parametrize(
    "change, words",
    [
        (
            ('title = "Day 2: Releasing"', 'title = "Day 2: Releasing"\ncolour = "blue"'),
            ["session 2", "Day 2: Releasing", "unknown field 'colour'"],
        ),
        (('person = "Alex"', 'persn = "Alex"'), ["session 2", "'variables.persn'", "person"]),
        (("minutes = 1.25", "minutes = -3"), ["session 2", "minutes = -3: must be more than 0"]),
        (("minutes = 1.25", "minutes = 9"), ["session 2", "minutes = 9", "at most 5"]),
        (
            ('template = "tiny"\ntitle = "Day 3', 'template = "tinny"\ntitle = "Day 3'),
            ["session 3", "'template'", "tinny"],
        ),
        (
            ('engine = "fake"', 'engine = "espeak-ish"'),
            ["[defaults] engine = 'espeak-ish'", "must be one of"],
        ),
    ],
)
def test_plan_errors_name_the_session_and_field(tmp_path, change, words):
    plan = copy_data(tmp_path / "plan")
    assert change[0] in plan.read_text()
    plan.write_text(plan.read_text().replace(change[0], change[1], 1))
    result = run("series", "build", str(plan), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert line.startswith("letgo: error: ") and "\n" not in line
    for word in words:
        assert word in line
    assert not (tmp_path / "out").exists()


def test_series_new_writes_a_plan_that_loads(tmp_path):
    from letgo.series import plan as series_plan

    path = tmp_path / "mine.toml"
    result = run("series", "new", str(path), "--title", "A week of ease")
    assert result.exit_code == 0 and path.is_file()
    loaded = series_plan.load(path)
    assert loaded.info.title == "A week of ease" and len(loaded.episodes) == 2
    assert run("series", "new", str(path)).exit_code == 2


def test_builtin_plans_load(tmp_path):
    from letgo.series import plan as series_plan

    for name in series_plan.builtin_plans():
        loaded = series_plan.load(name)
        assert loaded.episodes and loaded.info.title
    assert run("series", "build", "no-such-plan", "-o", str(tmp_path)).exit_code == 2


def test_plain_render_has_chapters_too(tmp_path):
    out = tmp_path / "one.mp3"
    result = run("render", str(DATA / "tiny.j2"), "--engine", "fake", "-o", str(out), "-q")
    assert result.exit_code == 0, result.output
    assert [c.title for c in tags.read_chapters(out)] == SECTIONS
    frames = ID3(out)
    assert str(frames["TIT2"]) == "A tiny rest" and str(frames["TPE1"]) == "letgo"
    assert str(frames.getall("COMM")[0]) == "A short test meditation with three sections."


def test_cover_is_a_valid_png():
    import zlib

    data = tags.cover_png("A tiny course", size=64)
    assert data == tags.cover_png("A tiny course", size=64)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = np.frombuffer(data[16:24], ">u4")
    assert (width, height) == (64, 64)
    start = data.index(b"IDAT") + 4
    length = int.from_bytes(data[start - 8 : start - 4], "big")
    assert len(zlib.decompress(data[start : start + length])) == 64 * (64 * 3 + 1)
