"""The speech check: a clip that does not say its sentence is caught and spoken again."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from click.testing import CliRunner

from letgo import session
from letgo.cli import main
from letgo.errors import SynthesisError
from letgo.voice import speaking, verify
from letgo.voice.cache import ClipCache
from letgo.voice.engines import Clip
from letgo.voice.engines.fake import FakeEngine, fake_words
from letgo.words import templates

SENTENCE = "Let your hands rest, open, on your knees."
OTHER = "Breathe."


def wrong(kind: str, text: str) -> Clip:
    """A clip for `text` that does not say it."""
    right = next(FakeEngine().synthesize([text]))
    if kind == "another sentence":
        return next(FakeEngine().synthesize([OTHER]))
    if kind == "silence":
        return Clip(np.zeros_like(right.samples), right.sample_rate, right.words)
    if kind == "truncated":  # the engine stopped early but reported the words it meant to say
        return Clip(right.samples[: right.frames // 3], right.sample_rate, right.words)
    if kind == "untimed":
        return right.timed(None)
    if kind == "a word dropped":  # a stretch of silence where a word should be
        samples = right.samples.copy()
        a, b = right.words[2]
        samples[a:b] = 0
        return Clip(samples, right.sample_rate, right.words)
    raise ValueError(kind)


class Flaky(FakeEngine):
    """Says `SENTENCE` wrongly the first `failures` times it is asked."""

    def __init__(self, kind: str, failures: int = 1):
        super().__init__()
        self.kind, self.failures = kind, failures

    def synthesize(self, sentences, progress=None):
        for text, clip in zip(sentences, super().synthesize(sentences, progress), strict=True):
            if text == SENTENCE and self.failures > 0:
                self.failures -= 1
                yield wrong(self.kind, text)
            else:
                yield clip


KINDS = ["another sentence", "silence", "truncated", "untimed", "a word dropped"]


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_wrong_clip_fails_the_check(kind):
    engine = FakeEngine()
    assert verify.problem(wrong(kind, SENTENCE), SENTENCE, engine.words_per_minute) is not None


@pytest.mark.parametrize("kind", KINDS)
def test_a_wrong_clip_is_caught_and_spoken_again(kind, tmp_path, caplog):
    engine = Flaky(kind)
    cache = ClipCache(tmp_path)
    with caplog.at_level(logging.WARNING):
        clips = speaking.synthesize(engine, [OTHER, SENTENCE], cache=cache, label="'test'")
    assert engine.calls == [OTHER, SENTENCE, SENTENCE]  # spoken again, once
    assert clips[1].words == fake_words(SENTENCE)  # the right clip is used and cached
    assert verify.problem(clips[1], SENTENCE, engine.words_per_minute) is None
    assert not caplog.records
    again = speaking.synthesize(FakeEngine(), [OTHER, SENTENCE], cache=cache)
    assert again[1].words == clips[1].words


def test_a_clip_wrong_twice_is_one_warning_and_not_cached(tmp_path, caplog):
    engine = Flaky("silence", failures=2)
    cache = ClipCache(tmp_path)
    with caplog.at_level(logging.WARNING):
        speaking.synthesize(engine, [SENTENCE], cache=cache, label="'letting-go'")
    (record,) = caplog.records
    assert record.getMessage() == (
        f"the sentence \"{SENTENCE}\" in 'letting-go' failed the speech check twice: "
        "the audio is silent (RMS 0.00000)"
    )
    assert cache.get(cache.key(engine.identity(), SENTENCE)) is None  # tried again next time


def test_verify_makes_it_an_error(tmp_path):
    with pytest.raises(SynthesisError, match="failed the speech check twice"):
        speaking.synthesize(Flaky("truncated", 2), [SENTENCE], label="'x'", strict=True)


def test_verify_on_the_command_line(tmp_path, monkeypatch):
    """--verify is a setting like any: a render with it and a sentence that cannot be said
    right ends in one line naming the sentence."""
    made = []

    def engine(name, settings):
        made.append(Flaky("a word dropped", 2))
        return made[-1]

    template = tmp_path / "t.j2"
    template.write_text(f"{SENTENCE}\n")
    monkeypatch.setattr(session, "make_engine", engine)
    env = {"LETGO_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "a.wav"
    args = ["render", str(template), "--engine", "fake", "--background", "none", "-o", str(out)]
    result = CliRunner().invoke(main, [*args, "--verify"], env=env)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"letgo: error: the sentence \"{SENTENCE}\" in 't' failed the speech check twice: "
        "no sound under the word 'hands'"
    ]
    assert not out.exists()
    result = CliRunner().invoke(main, [*args, "--no-verify"], env=env)
    assert result.exit_code == 0 and out.exists()


def test_no_sentence_of_the_library_is_flagged_with_the_fake_voice():
    """The fake voice says every sentence right: the check passes all of them."""
    engine = FakeEngine()
    library = templates.TemplateLibrary()
    checked = 0
    for info in library.all():
        variables = templates.resolve_variables(info, {})
        for minutes in {info.minutes, info.max_minutes}:
            text = templates.render(info, variables, minutes=minutes)
            from letgo.words import script, speakable

            normalize = speakable.load(())
            lines = [normalize(s.text) for s in script.parse(text, str(info.path)).spoken]
            for line, clip in zip(lines, engine.synthesize(lines), strict=True):
                assert verify.problem(clip, line, engine.words_per_minute) is None, line
                checked += 1
    assert checked > 1000
