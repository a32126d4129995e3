"""Word times: from the engine, through the cache, phrasing and the timeline, into the captions."""

from __future__ import annotations

import re

import numpy as np
import pytest
import webvtt
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from letgo import session
from letgo.cli import main
from letgo.file import transcripts
from letgo.settings.request import make
from letgo.voice import timing
from letgo.voice.cache import ClipCache, decode, encode
from letgo.voice.engines import Clip, trim
from letgo.voice.engines.fake import SAMPLE_RATE, FakeEngine, fake_words
from letgo.words import phrasing

STAMP = re.compile(r"<(\d\d):(\d\d):(\d\d)\.(\d\d\d)>")


def seconds(match: re.Match) -> float:
    h, m, s, ms = (int(x) for x in match.groups())
    return h * 3600 + m * 60 + s + ms / 1000


def test_the_fake_engine_times_its_words_exactly():
    text = "Let it go, gently."
    clip = next(FakeEngine().synthesize([text]))
    assert clip.words == fake_words(text)
    assert timing.valid(clip.words, 4, len(clip.samples))
    # a word runs from its first letter's share of the clip to its last's
    per_char = 0.05 * SAMPLE_RATE
    assert clip.words[1] == (round(4 * per_char), round(6 * per_char))
    assert clip.words[-1][1] == len(clip.samples)
    slower = next(FakeEngine().variant(rate=0.5).synthesize([text]))
    assert slower.words == fake_words(text, 0.5)
    for (a, b), (c, d) in zip(clip.words, slower.words, strict=True):  # twice as long
        assert abs(c - 2 * a) <= 1 and abs(d - 2 * b) <= 1


def spoken_with_pauses(rate: int = 16000) -> tuple[Clip, str]:
    """'one two, three four' as tones with a quiet pause at the comma, its words known."""
    t = np.arange(rate // 4) / rate
    word = (0.4 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    gap = np.zeros(rate // 20, np.float32)
    pause = np.zeros(rate // 4, np.float32)
    pieces = [word, gap, word, pause, word, gap, word]
    spans, at = [], 0
    for piece in pieces:
        if piece is word:
            spans.append((at, at + len(piece)))
        at += len(piece)
    return Clip(np.concatenate(pieces), rate, tuple(spans)), "one two, three four"


def test_phrasing_moves_the_words_after_the_pause_by_the_silence_it_adds():
    clip, text = spoken_with_pauses()
    wide = phrasing.widen(clip, text, 0.8)
    added = len(wide.samples) - len(clip.samples)
    assert added == round(0.8 * clip.sample_rate) - clip.sample_rate // 4
    assert wide.words[:2] == clip.words[:2]
    assert wide.words[2:] == tuple((a + added, b + added) for a, b in clip.words[2:])
    for (a, b), (c, d) in zip(clip.words, wide.words, strict=True):  # the same sound
        assert np.array_equal(clip.samples[a:b], wide.samples[c:d])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(1, 500)), max_size=4))
def test_widening_keeps_every_word_in_order(inserts):
    spans = ((0, 100), (150, 300), (300, 420), (700, 1000))
    moved = timing.widened(spans, sorted(inserts))
    assert timing.valid(moved, 4, 1000 + sum(extra for _, extra in inserts))
    for (a, b), (c, d) in zip(spans, moved, strict=True):
        assert d - c >= b - a  # a word never shrinks


def test_trimming_moves_the_words_with_the_cut():
    rate = 16000
    clip, _ = spoken_with_pauses(rate)
    padded = Clip(
        np.concatenate([np.zeros(rate, np.float32), clip.samples, np.zeros(rate, np.float32)]),
        rate,
        tuple((a + rate, b + rate) for a, b in clip.words),
    )
    cut = trim.edges(padded)
    assert len(cut.samples) < len(padded.samples)
    start = padded.words[0][0] - cut.words[0][0]  # what was cut from the front
    assert abs(start - (rate - trim.LEAD_MARGIN * rate)) <= 1
    assert cut.words == tuple((a - start, b - start) for a, b in padded.words)
    for (a, b), (c, d) in zip(padded.words, cut.words, strict=True):
        assert np.array_equal(padded.samples[a:b], cut.samples[c:d])


def test_the_cache_keeps_the_words_and_checks_them(tmp_path):
    clip, _ = spoken_with_pauses()
    cache = ClipCache(tmp_path)
    key = cache.key("fake", "one two, three four")
    stored = cache.put(key, clip)
    assert stored.words == clip.words
    assert cache.get(key).words == clip.words
    bare = Clip(clip.samples, clip.sample_rate)
    assert decode(encode(bare, key), key).words is None
    # words out of order (a damaged or forged entry) are refused, checksum and all
    data = bytearray(encode(Clip(clip.samples, clip.sample_rate, ((50, 10),)), key))
    assert decode(bytes(data), key) is None
    data = bytearray(encode(clip, key))
    data[-3] ^= 0xFF  # a word time changed after the checksum
    assert decode(bytes(data), key) is None


def test_written_words_take_the_times_of_what_was_said_for_them():
    said = "Breathe in for four counts, then out for five."
    times = [(float(i), i + 0.5) for i in range(len(said.split()))]
    out = timing.written("Breathe in for 4 counts, then out for 5.", said, times)
    assert [w for w, _, _ in out] == "Breathe in for 4 counts, then out for 5.".split()
    assert out[3] == ("4", 3.0, 3.5) and out[-1] == ("5.", 8.0, 8.5)
    out = timing.written(
        "Try 4-7-8 now.", "Try four seven eight now.", [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    )
    assert out[0] == ("Try", 0, 1) and out[1] == ("4-7-8", 1.0, 4.0) and out[2] == ("now.", 4, 5)


def test_an_estimate_shares_the_voiced_part_by_letters():
    clip, text = spoken_with_pauses()
    spans = timing.estimate(clip, text)
    assert timing.valid(spans, 4, len(clip.samples))
    assert spans[0][0] == 0 and spans[-1][1] == len(clip.samples)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("captions")
    request = make(
        "letting-go",
        {"engine": "fake", "minutes": 6.0, "background": "none", "captions": "word"},
        cache_dir=str(folder / "cache"),
    )
    result = session.render(request, folder / "letting-go.wav")
    return folder, result


def test_render_writes_word_captions_that_a_webvtt_parser_reads(rendered):
    folder, result = rendered
    text = (folder / "letting-go.vtt").read_text()
    captions = webvtt.read(str(folder / "letting-go.vtt")).captions
    speech = result.prepared.timeline.speech
    assert len(captions) == len(speech)
    srt = webvtt.from_srt(str(folder / "letting-go.srt")).captions
    assert [c.text for c in srt] == [c.text for c in captions]  # SRT: the same, by sentence
    assert not STAMP.search((folder / "letting-go.srt").read_text())
    timed = 0
    for caption in captions:
        stamps = [seconds(m) for m in STAMP.finditer(caption.raw_text)]
        timed += bool(stamps)
        # as WebVTT requires: after the cue's start and each other, before its end
        bounds = [caption.start_in_seconds + caption.start_time.milliseconds / 1000]
        assert all(a < b for a, b in zip(bounds + stamps, stamps, strict=False))
        end = caption.end_in_seconds + caption.end_time.milliseconds / 1000
        assert all(s < end for s in stamps)
    assert timed > 0.9 * len(captions)
    assert text.count(" --> ") == len(speech)


def test_word_times_in_the_file_are_the_engines_plus_the_sentence_start(rendered):
    """The fake voice says each letter in 0.05 s / rate: a word of a sentence with no phrase
    mark (so no pause was widened) starts at the sentence's start plus its letters before it,
    at the rate its <prosody> asked."""
    _, result = rendered
    prepared = result.prepared
    checked = set()
    for event in prepared.timeline.speech:
        said = prepared.spoken[event.clip]
        clip = prepared.clips[event.clip]
        if phrasing.PHRASE_MARK.search(said) or said != event.text:
            continue
        rate = fake_words(said)[-1][1] / len(clip.samples)  # the variant's rate, if any
        expected = [event.start + a / SAMPLE_RATE for a, _ in fake_words(said, rate)]
        assert [w for w, _, _ in event.words] == said.split()
        assert [a for _, a, _ in event.words] == pytest.approx(expected, abs=1e-9)
        checked.add(round(rate, 3))
    assert len(checked) >= 2  # the voice as it is and at least one <prosody rate>


def test_captions_none_and_sentence(tmp_path):
    runner = CliRunner()
    env = {"LETGO_CACHE_DIR": str(tmp_path / "cache")}
    base = ["render", "urge-to-reach-out", "--engine", "fake", "--background", "none"]
    out = tmp_path / "a.mp3"
    result = runner.invoke(main, [*base, "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert not out.with_suffix(".vtt").exists() and not out.with_suffix(".srt").exists()
    result = runner.invoke(main, [*base, "-o", str(out), "--captions", "sentence"], env=env)
    assert result.exit_code == 0, result.output  # the key changed: rendered again
    vtt = out.with_suffix(".vtt").read_text()
    assert " --> " in vtt and not STAMP.search(vtt)
    assert out.with_suffix(".srt").exists()
    result = runner.invoke(main, [*base, "-o", str(out), "--captions", "words"], env=env)
    assert result.exit_code == 2 and "captions" in result.output


def test_chapters_json_is_podcasting_2_chapters(rendered):
    _, result = rendered
    import json

    data = json.loads(transcripts.chapters_json(result.prepared.timeline))
    assert data["version"] == "1.2.0"
    chapters = data["chapters"]
    assert [c["title"] for c in chapters] == [c.title for c in result.prepared.timeline.chapters]
    assert chapters[0]["startTime"] == 0
    assert all(
        a["startTime"] < b["startTime"] for a, b in zip(chapters, chapters[1:], strict=False)
    )
