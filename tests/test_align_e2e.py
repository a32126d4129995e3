"""The speech check hears the words: forced alignment catches another sentence's audio, which
the engines' own word times cannot (it has as many words, at about the same length)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import needs_piper
from letgo.voice import align, speaking, verify
from letgo.voice.cache import ClipCache
from letgo.voice.engines import make_engine, trim

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not align.installed(), reason="pocketsphinx: pip install 'letgo[align]'"),
]

#: A pair pocketsphinx told apart in 3 of 3 takes of each with each voice (Piper's differ).
RIGHT = "Let a little movement come back into your fingers and toes."
WRONG = "Go at your own pace for the rest of the day."  # as many words, about as long
VOICES = ["pyttsx3", pytest.param("piper", marks=needs_piper)]


class Swapping:
    """A real engine that says WRONG the first time it is asked for RIGHT."""

    def __init__(self, engine):
        self.engine, self.calls, self.swapped = engine, [], False

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def synthesize(self, sentences, progress=None):
        self.calls.append(list(sentences))
        asked = list(sentences)
        if RIGHT in asked and not self.swapped:
            self.swapped = True
            asked[asked.index(RIGHT)] = WRONG
        yield from self.engine.synthesize(asked, progress)


@pytest.fixture(scope="module", params=VOICES)
def voice(request):
    engine = make_engine(request.param)
    yield engine
    getattr(engine, "close", lambda: None)()


def test_another_sentences_audio_passes_the_other_checks_and_fails_alignment(voice):
    right, wrong = (trim.edges(c) for c in voice.synthesize([RIGHT, WRONG]))
    pace, timed = voice.words_per_minute, voice.times_words
    assert verify.problem(wrong, RIGHT, pace, timed) is None  # the engine's times cannot tell
    with align.for_voice(voice.language, [RIGHT]) as aligner:
        assert aligner.hears(right, RIGHT) is True
        assert aligner.hears(wrong, RIGHT) is False
        assert aligner.hears(right, "Partway along, breathing.") is None  # not in its dictionary
        assert verify.problem(wrong, RIGHT, pace, timed, aligner) == (
            "pocketsphinx cannot align the text to it"
        )
        assert verify.problem(right, RIGHT, pace, timed, aligner) is None


def test_another_sentences_audio_is_caught_and_spoken_again(voice, tmp_path, caplog):
    engine = Swapping(voice)
    cache = ClipCache(tmp_path)
    with caplog.at_level(logging.INFO, logger="letgo.voice.speaking"):
        clips = speaking.synthesize(engine, [WRONG, RIGHT], cache=cache, label="'t'")
    assert engine.calls == [[WRONG, RIGHT], [RIGHT]]  # spoken again, once
    (record,) = [r for r in caplog.records if "speech check" in r.getMessage()]
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        f'"{RIGHT}" failed the speech check (pocketsphinx cannot align the text to it): '
        "spoken again"
    )
    with align.for_voice(voice.language, [RIGHT]) as aligner:
        assert aligner.hears(clips[1], RIGHT) is True  # what is kept says its sentence
    assert cache.get(cache.key(voice.identity(), RIGHT)) is not None


def test_two_listeners_answer_at_once_each_for_its_own_clip(voice):
    """The speech check asks `speaking.LISTENERS` processes from as many threads."""
    right, wrong = (trim.edges(c) for c in voice.synthesize([RIGHT, WRONG]))
    asked = [(right, RIGHT), (wrong, RIGHT), (wrong, WRONG), (right, WRONG)] * 3
    with align.for_voice(voice.language, [RIGHT, WRONG], processes=2) as aligner:
        assert aligner.processes == 2
        with ThreadPoolExecutor(2) as pool:
            heard = list(pool.map(lambda pair: aligner.hears(*pair), asked))
    assert heard == [True, False, True, False] * 3


def test_an_aligner_that_stops_is_one_warning_and_the_check_goes_on(voice, caplog):
    right = trim.edges(next(iter(voice.synthesize([RIGHT]))))
    aligner = align.for_voice(voice.language, [RIGHT])
    assert aligner is not None
    for listener in aligner._all:
        listener._process.kill()
    with caplog.at_level(logging.WARNING):
        assert aligner.hears(right, RIGHT) is None
        assert aligner.hears(right, RIGHT) is None
    (record,) = caplog.records
    assert record.getMessage().startswith("the speech check's aligner failed (it stopped")
    assert verify.problem(right, RIGHT, voice.words_per_minute, voice.times_words, aligner) is None


@pytest.mark.parametrize("language", ["de", "fr-fr", "", "?"])
def test_only_english_voices_are_aligned(language):
    assert align.for_voice(language, [RIGHT]) is None


@pytest.mark.parametrize("language", ["en", "en-gb", "en_US", "en-us, en"])
def test_english_voices_are_aligned(language):
    aligner = align.for_voice(language, [RIGHT])
    assert isinstance(aligner, align.AlignerProcess)
    aligner.close()
