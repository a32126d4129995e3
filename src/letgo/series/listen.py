"""The files people listen with: an M3U playlist, a podcast feed and an offline player page.

All three are made from a `Listing` (what the build recorded), so a no-change build produces
the same bytes and `atomic.write` leaves the files alone.
"""

from __future__ import annotations

import datetime
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from letgo import timefmt
from letgo.file import transcripts
from letgo.file.formats import MEDIA_TYPES
from letgo.file.transcripts import vtt_text
from letgo.series.manifest import Manifest
from letgo.series.plan import SeriesInfo

PLAYLIST = "playlist.m3u"
FEED = "feed.xml"
PAGE = "index.html"
COVER = "cover.png"


@dataclass(frozen=True)
class Item:
    """One built session as the listening files show it."""

    file: str
    title: str
    description: str
    track: int
    duration: float
    bytes: int
    built: str
    """ISO time it was built (UTC); the feed's publication date."""
    guid: str
    chapters: tuple[tuple[str, float, float], ...] = ()
    cues: tuple[tuple[float, float, str, str], ...] = ()
    """(start, end, text, timed) of each sentence: `timed` is its cue text as the VTT has it
    by the word (cue timestamps before the words), or ''."""

    @property
    def stem(self) -> str:
        return self.file.rsplit(".", 1)[0]


@dataclass(frozen=True)
class Listing:
    info: SeriesInfo
    items: tuple[Item, ...]


def listing(info: SeriesInfo, relpaths: list[str], manifest: Manifest) -> Listing:
    """What the listening files show: the built sessions among `relpaths`, in that order."""
    items = []
    for relpath in relpaths:
        entry = manifest.sessions.get(relpath)
        if entry is None:
            continue
        items.append(
            Item(
                file=relpath.rsplit("/", 1)[-1],
                title=entry.title,
                description=entry.description,
                track=entry.track,
                duration=entry.duration,
                bytes=entry.bytes,
                built=entry.built,
                guid=f"{relpath}#{entry.key[:16]}",
                chapters=entry.chapters,
                cues=entry.cues,
            )
        )
    return Listing(info, tuple(items))


def playlist(listing: Listing) -> str:
    """An M3U playlist: one #EXTINF line and one file name per session. Titles are one line
    (the plan refuses others); any line break that reaches here anyway is a space, so no
    title can add an entry."""
    info = listing.info
    lines = ["#EXTM3U", f"#PLAYLIST:{one_line(info.title)}"]
    for item in listing.items:
        lines += [
            f"#EXTINF:{round(item.duration)},{one_line(info.author)} - {one_line(item.title)}",
            one_line(item.file),
        ]
    return "\n".join(lines) + "\n"


def one_line(text: str) -> str:
    return _BREAKS.sub(" ", text)


#: Line breaks and other control characters.
_BREAKS = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]+")


#: The Podcasting 2.0 namespace: transcripts and chapters for each episode.
PODCAST_NS = "https://podcastindex.org/namespace/1.0"
#: The types the feed gives each transcript and the chapters, as Podcasting 2.0 names them.
TRANSCRIPT_TYPES = {"vtt": "text/vtt", "srt": "application/x-subrip"}
CHAPTERS_TYPE = "application/json+chapters"


def _podcast_index():
    """feedgen extensions (feed and entry) writing <podcast:transcript> and
    <podcast:chapters> under each item."""
    from feedgen.ext.base import BaseEntryExtension, BaseExtension
    from feedgen.util import xml_elem

    class Feed(BaseExtension):
        def extend_ns(self):
            return {"podcast": PODCAST_NS}

    class Entry(BaseEntryExtension):
        def __init__(self):
            self.links: list[tuple[str, dict[str, str]]] = []

        def extend_ns(self):
            return {"podcast": PODCAST_NS}

        def extend_rss(self, item):
            for tag, attributes in self.links:
                xml_elem(f"{{{PODCAST_NS}}}{tag}", item, attrib=attributes)
            return item

    return Feed, Entry


def feed(listing: Listing, base_url: str) -> bytes:
    """RSS 2.0 with the iTunes namespace, as podcast apps expect; `base_url` ends with '/'
    ('' for links relative to the feed's folder). Each episode also names its captions
    (<podcast:transcript>: the VTT as captions, the SRT) and its JSON chapters
    (<podcast:chapters>), the Podcasting 2.0 way."""
    from feedgen.feed import FeedGenerator

    info = listing.info
    base = base_url if not base_url or base_url.endswith("/") else base_url + "/"
    generator = FeedGenerator()
    generator.load_extension("podcast")
    generator.register_extension("podcast_index", *_podcast_index())
    generator.title(info.title)
    generator.link(href=info.link or base + PAGE, rel="alternate")
    generator.description(info.description or info.title)
    generator.author({"name": info.author})
    generator.language(info.language)
    generator.generator("letgo")
    generator.image(base + COVER, title=info.title, link=info.link or base + PAGE)
    generator.podcast.itunes_author(info.author)
    generator.podcast.itunes_category("Health & Fitness", "Mental Health")
    generator.podcast.itunes_explicit("no")
    generator.podcast.itunes_image(base + COVER)
    generator.podcast.itunes_summary(info.description or info.title)
    generator.podcast.itunes_type("serial")
    latest = None
    for item in listing.items:
        built = datetime.datetime.fromisoformat(item.built)
        latest = built if latest is None or built > latest else latest
        entry = generator.add_entry(order="append")
        entry.id(item.guid)
        entry.guid(item.guid, permalink=False)
        entry.title(item.title)
        entry.description(item.description or item.title)
        entry.enclosure(
            base + quote(item.file),
            str(item.bytes),
            MEDIA_TYPES.get(Path(item.file).suffix, "audio/mpeg"),
        )
        entry.published(built)
        entry.podcast.itunes_duration(round(item.duration))
        entry.podcast.itunes_episode(item.track)
        entry.podcast.itunes_episode_type("full")
        entry.podcast.itunes_is_closed_captioned("yes")
        files = transcripts.sidecars(Path(item.file))
        links = [
            (
                "transcript",
                {
                    "url": base + quote(files[kind].as_posix()),
                    "type": TRANSCRIPT_TYPES[kind],
                    "language": info.language,
                    **({"rel": "captions"} if kind == "vtt" else {}),
                },
            )
            for kind in ("vtt", "srt")
        ]
        if item.chapters:
            url = base + quote(files["chapters"].as_posix())
            links.append(("chapters", {"url": url, "type": CHAPTERS_TYPE}))
        entry.podcast_index.links = links
    generator.lastBuildDate(latest or datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))
    return generator.rss_str(pretty=True)


def page(listing: Listing) -> str:
    """A self-contained player page: no network, works from disk or served."""
    info = listing.info
    sessions = []
    for n, item in enumerate(listing.items):
        chapters = "".join(
            f'<li><a href="#" class="chapter" data-audio="a{n}" data-start="{start:.3f}">'
            f'{html.escape(title)}</a> <span class="time">{timefmt.clock_whole(start)}</span></li>'
            for title, start, _ in item.chapters
        )
        length = timefmt.clock_whole(item.duration)
        sessions.append(f'''
<section class="session" id="s{n}">
  <h2>{item.track}. {html.escape(item.title)} <span class="time">{length}</span></h2>
  <p>{html.escape(item.description)}</p>
  <audio id="a{n}" controls preload="metadata" src="{html.escape(quote(item.file))}"
         data-duration="{item.duration:.3f}">
    <track kind="captions" srclang="{html.escape(info.language)}" label="Transcript"
           src="{html.escape(quote(item.stem))}.vtt" default>
  </audio>
  <p class="caption" aria-live="polite"></p>
  <ol class="chapters">{chapters}</ol>
  <p class="files"><a href="{html.escape(quote(item.stem))}.vtt">transcript (VTT)</a> ·
     <a href="{html.escape(quote(item.stem))}.srt">SRT</a></p>
</section>''')
    cues = {
        f"a{n}": [(start, end, timed or vtt_text(text)) for start, end, text, timed in item.cues]
        for n, item in enumerate(listing.items)
    }
    return PAGE_TEMPLATE.format(
        title=html.escape(info.title),
        author=html.escape(info.author),
        description=html.escape(info.description),
        sessions="".join(sessions),
        cues=json.dumps(cues, ensure_ascii=False).replace("</", "<\\/"),
    )


def index(info: SeriesInfo, subfolders: list[str]) -> str:
    """The page at the top of a folder of listeners' sets: a link to each listener's page."""
    links = "".join(
        f'<li><a href="{html.escape(quote(name))}/{PAGE}">{html.escape(name)}</a></li>\n'
        for name in subfolders
    )
    return INDEX_TEMPLATE.format(
        title=html.escape(info.title),
        author=html.escape(info.author),
        description=html.escape(info.description),
        links=links,
    )


#: The opening both pages share: the title and the page's look.
HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  body {{ font-family: Georgia, serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem;
         background: #f4f1ea; color: #2d3b36; line-height: 1.5; }}
"""

INDEX_TEMPLATE = (
    HEAD
    + """  a {{ color: #35695a; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{author}</p>
<p>{description}</p>
<p>A set of sessions for each listener:</p>
<ul class="listeners">
{links}</ul>
</body>
</html>
"""
)


PAGE_TEMPLATE = (
    HEAD
    + """  header {{ display: flex; gap: 1.2rem; align-items: center; }}
  header img {{ width: 7rem; height: 7rem; border-radius: .6rem; }}
  .session {{ border-top: 1px solid #cfc8b8; padding: 1rem 0; }}
  audio {{ width: 100%; }}
  .caption {{ min-height: 1.5em; font-style: italic; color: #4d6b60; }}
  .caption .word {{ cursor: pointer; border-radius: .2em; }}
  .caption .word.now {{ background: #dfe9d8; color: #1f3a30; }}
  .time {{ color: #7b8a84; font-size: .85em; font-weight: normal; }}
  a {{ color: #35695a; }}
</style>
</head>
<body>
<header><img src="cover.png" alt=""><div><h1>{title}</h1><p>{author}</p></div></header>
<p>{description}</p>
<p><a href="playlist.m3u">playlist</a> · <a href="feed.xml">podcast feed</a></p>
{sessions}
<script>
// Transcript cues, for when the browser will not load a .vtt beside a page opened from disk.
const CUES = {cues};
// A cue's words: the first at the cue's start, each other after its cue timestamp.
const STAMP = /<(\\d+:\\d\\d:\\d\\d\\.\\d\\d\\d)>/;
const decode = (html) => new DOMParser().parseFromString(html, "text/html").body.textContent;
const cueWords = (cue) => {{
  const parts = cue.text.split(STAMP);
  const words = [[cue.startTime, parts[0]]];
  for (let i = 1; i < parts.length; i += 2) {{
    const [h, m, s] = parts[i].split(":");
    words.push([3600 * h + 60 * m + parseFloat(s), parts[i + 1]]);
  }}
  return words.filter(([, text]) => text.trim());
}};
for (const audio of document.querySelectorAll("audio")) {{
  const caption = audio.parentElement.querySelector(".caption");
  const element = audio.querySelector("track");
  let track = element.track;
  // the word being said is marked; a click on a word plays from it
  const mark = () => {{
    let now = null;
    for (const word of caption.querySelectorAll(".word"))
      if (parseFloat(word.dataset.start) <= audio.currentTime + 0.001) now = word;
    for (const word of caption.querySelectorAll(".word"))
      word.classList.toggle("now", word === now);
  }};
  const follow = () => {{ mark(); if (!audio.paused) requestAnimationFrame(follow); }};
  audio.addEventListener("play", follow);
  audio.addEventListener("seeked", mark);
  audio.addEventListener("timeupdate", mark);
  const show = (t) => {{
    t.mode = "hidden";
    t.addEventListener("cuechange", () => {{
      const active = t.activeCues && t.activeCues[0];
      caption.replaceChildren();
      for (const [start, text] of active ? cueWords(active) : []) {{
        const word = document.createElement("span");
        word.className = "word";
        word.dataset.start = start.toFixed(3);
        word.textContent = decode(text);
        word.addEventListener("click", () => {{
          audio.currentTime = start;
          audio.play().catch(() => {{}});
        }});
        caption.append(word);
      }}
      mark();
    }});
  }};
  const fallback = () => {{
    if (audio.dataset.captions === "embedded") return;
    track.mode = "disabled";
    track = audio.addTextTrack("captions", "Transcript", element.srclang);
    for (const [start, end, text] of CUES[audio.id] || [])
      track.addCue(new VTTCue(start, end, text));
    audio.dataset.captions = "embedded";
    show(track);
  }};
  element.addEventListener("load", () => {{ audio.dataset.captions = "loaded"; }});
  element.addEventListener("error", fallback);
  if (element.readyState === 2) audio.dataset.captions = "loaded";
  if (element.readyState === 3) fallback();
  show(track);
}}
for (const link of document.querySelectorAll("a.chapter")) {{
  link.addEventListener("click", (event) => {{
    event.preventDefault();
    const audio = document.getElementById(link.dataset.audio);
    audio.currentTime = parseFloat(link.dataset.start);
    audio.play().catch(() => {{}});  // a browser may ask for a tap first; the seek stands
  }});
}}
</script>
</body>
</html>
"""
)
