"""Listening to a built series: the HTTP server (ranges, feed per host) and the player page
in headless Chromium, served and opened from disk."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from letgo.cli import main
from letgo.series import serve
from series_browser import REPORT, WORDS, Browser, find_chromium

DATA = Path(__file__).parent / "series_data"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("listen") / "out"
    result = CliRunner().invoke(
        main,
        ["series", "build", str(DATA / "course.toml"), "-o", str(out), "-q"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def server(folder):
    httpd = serve.make_server(folder, "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def get(url: str, headers: dict | None = None):
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10)


@pytest.mark.e2e
def test_range_requests_let_players_seek(folder, server):
    mp3 = next(folder.glob("01-*.mp3"))
    data = mp3.read_bytes()
    with get(server + mp3.name, {"Range": "bytes=1000-1999"}) as reply:
        assert reply.status == 206
        assert reply.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
        assert reply.headers["Content-Type"] == "audio/mpeg"
        assert reply.read() == data[1000:2000]
    with get(server + mp3.name, {"Range": "bytes=-500"}) as reply:
        assert reply.read() == data[-500:]
    with get(server + mp3.name) as reply:
        assert reply.status == 200 and reply.headers["Accept-Ranges"] == "bytes"
        assert reply.read() == data
    with pytest.raises(urllib.error.HTTPError) as error:
        get(server + mp3.name, {"Range": f"bytes={len(data) + 10}-"})
    assert error.value.code == 416


def test_served_feed_points_at_the_server(server):
    with get(server + "feed.xml") as reply:
        feed = feedparser.parse(reply.read())
    assert not feed.bozo and len(feed.entries) == 3
    for entry in feed.entries:
        href = entry.enclosures[0].href
        assert href.startswith(server)
        with get(href, {"Range": "bytes=0-3"}) as audio:
            assert audio.read()[:3] == b"ID3"


def test_serve_command_prints_the_feed_url(folder):
    import subprocess
    import sys

    command = [
        sys.executable,
        "-c",
        "from letgo.cli import main; main()",
        "series",
        "serve",
        str(folder),
        "--port",
        "0",
        "--host",
        "127.0.0.1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        feed_url = lines[2].split("podcast feed:")[1].strip()
        assert feed_url.startswith("http://127.0.0.1:") and feed_url.endswith("/feed.xml")
        with get(feed_url) as reply:
            assert len(feedparser.parse(reply.read()).entries) == 3
    finally:
        process.terminate()
        process.wait()


def test_serve_command_rejects_a_missing_folder(tmp_path):
    result = CliRunner().invoke(main, ["series", "serve", str(tmp_path / "nope")])
    assert result.exit_code == 2


@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        pytest.fail("chromium is not installed (scripts/test.sh installs it with apt-get)")
    chromium = Browser(executable)
    yield chromium
    chromium.close()


@pytest.mark.e2e
@pytest.mark.parametrize("where", ["served", "disk"])
def test_player_page_in_headless_chromium(folder, server, browser, where):
    url = server + "index.html" if where == "served" else (folder / "index.html").as_uri()
    report = browser.evaluate(url, REPORT)
    assert [r["src"] for r in report] == sorted(p.name for p in folder.glob("*.mp3"))
    vtts = {p.stem: p.read_text().count(" --> ") for p in folder.glob("*.vtt")}
    for row in report:
        assert row["error"] == 0
        assert row["duration"] == pytest.approx(row["expected"], abs=0.1)
        assert row["cues"] == vtts[row["src"][:-4]]
        assert row["firstCue"] == pytest.approx(10.0, abs=0.01)
        assert row["chapters"] == 3
        assert row["chapterStart"] > 10 and row["seekedTo"] == pytest.approx(row["chapterStart"])
        if where == "served":  # the <track> file itself loads
            assert row["trackState"] == 2 and row["captions"] == "loaded"
        else:  # Chromium refuses <track> files beside a file:// page; the page carries them
            assert row["captions"] in ("loaded", "embedded")


@pytest.mark.e2e
@pytest.mark.parametrize("where", ["served", "disk"])
def test_the_page_marks_the_word_being_said_and_a_click_seeks_to_it(
    folder, server, browser, where, tmp_path
):
    url = server + "index.html" if where == "served" else (folder / "index.html").as_uri()
    shot = tmp_path / f"words-{where}.png"
    out = browser.evaluate(url, WORDS, screenshot=shot)
    assert out["cueText"].startswith("Let <00:00:")  # the VTT's cue timestamps, by the word
    words = [w for w, _ in out["words"]]
    assert " ".join(w.strip() for w in words) == "Let your shoulders soften."
    starts = [s for _, s in out["words"]]
    assert starts[0] == pytest.approx(out["cueStart"], abs=0.001)
    assert starts[1:] == pytest.approx(out["stamps"], abs=0.001)
    assert out["now"] == 2  # the third word: its start passed, the fourth's not yet
    assert out["marked"] != out["plain"]  # and it looks marked
    assert out["clickedTo"] == pytest.approx(out["lastStart"], abs=0.01)
    assert out["nowAfterClick"] == len(words) - 1
    assert shot.stat().st_size > 5000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_feed_names_each_episodes_captions_and_chapters(folder):
    from xml.etree import ElementTree

    from letgo.series.listen import PODCAST_NS

    root = ElementTree.parse(folder / "feed.xml").getroot()
    items = root.findall("./channel/item")
    assert len(items) == 3
    for item in items:
        audio = item.find("enclosure").get("url")
        stem = audio.rsplit(".", 1)[0]
        found = [t.attrib for t in item.findall(f"{{{PODCAST_NS}}}transcript")]
        assert found == [
            {"url": stem + ".vtt", "type": "text/vtt", "language": "en", "rel": "captions"},
            {"url": stem + ".srt", "type": "application/x-subrip", "language": "en"},
        ]
        (chapters,) = item.findall(f"{{{PODCAST_NS}}}chapters")
        assert chapters.attrib == {
            "url": stem + ".chapters.json",
            "type": "application/json+chapters",
        }
        local = folder / chapters.get("url").rsplit("/", 1)[-1].replace("%20", " ")
        data = json.loads(local.read_text())
        assert data["version"] == "1.2.0" and len(data["chapters"]) == 3
        assert all(isinstance(c["startTime"], int | float) and c["title"] for c in data["chapters"])


@pytest.mark.e2e
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_captions_and_chapters_may_be_read_by_players_on_other_sites(folder, server, method):
    stem = next(folder.glob("01-*.mp3")).stem
    for ending, kind in [
        (".vtt", "text/vtt"),
        (".srt", "application/x-subrip"),
        (".chapters.json", "application/json"),
        (".mp3", "audio/mpeg"),
        ("", "text/html"),  # the page
    ]:
        name = stem + ending if ending else "index.html"
        request = urllib.request.Request(server + name, method=method)
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 200
            assert reply.headers["Content-Type"].startswith(kind)
            shared = reply.headers.get("Access-Control-Allow-Origin")
            assert shared == ("*" if ending in (".vtt", ".srt", ".chapters.json") else None), name
            assert (reply.read() != b"") == (method == "GET")
