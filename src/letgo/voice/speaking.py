"""Speaking a session's sentences: each once, from the cache where it can, in the voice variant
its prosody asks for, and checked (`verify`) before it is kept.

`progress(done, total)` is told of sentences spoken (or found) so far.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from letgo.errors import SynthesisError
from letgo.voice import verify
from letgo.voice.cache import ClipCache
from letgo.voice.engines import Clip, Engine, trim

log = logging.getLogger(__name__)


RatePitch = tuple[float, float]
"""(rate, pitch) of a passage, as <prosody> sets them; (1.0, 0.0) is the voice as it is."""
PLAIN_VOICE: RatePitch = (1.0, 0.0)


def synthesize(
    engine: Engine,
    sentences: list[str],
    progress: Callable[[int, int], None] | None = None,
    cache: ClipCache | None = None,
    voices: list[RatePitch] | None = None,
    label: str = "",
    strict: bool = False,
) -> list[Clip]:
    """A clip per sentence; a sentence said twice is spoken once, and one in `cache` not at all.

    `sentences` are what the engine is given (already normalised); `voices[i]` is the (rate,
    pitch) sentence i is said with (the engine's `variant`). The cache key is the (variant)
    engine's identity plus the text, so only a sentence that changed is spoken again. Each
    newly spoken clip passes the speech check (`verify`) or is spoken again; one that fails
    twice is a warning naming the sentence and `label` (the session), or with `strict` a
    SynthesisError, and is not cached (the next render speaks it again)."""
    wanted = list(zip(sentences, voices or [PLAIN_VOICE] * len(sentences), strict=False))
    unique = list(dict.fromkeys(wanted))
    engines = {
        voice: engine if voice == PLAIN_VOICE else engine.variant(*voice)
        for voice in dict.fromkeys(voice for _, voice in unique)
    }
    spoken: dict[tuple[str, RatePitch], Clip] = {}
    keys: dict[tuple[str, RatePitch], str] = {}
    if cache is not None:
        identities = {voice: variant.identity() for voice, variant in engines.items()}
        for line in unique:
            keys[line] = cache.key(identities[line[1]], line[0])
            hit = cache.get(keys[line])
            if hit is not None:
                spoken[line] = hit
    missing = [line for line in unique if line not in spoken]
    log.info(
        "%d sentences: %d from the cache, %d to speak",
        len(unique),
        len(unique) - len(missing),
        len(missing),
    )
    done = len(unique) - len(missing)
    if progress and done:
        progress(done, len(unique))
    for voice, variant in engines.items():
        texts = [text for text, v in missing if v == voice]
        if not texts:
            continue
        offset = done
        report = (
            (lambda n, _total, offset=offset: progress(offset + n, len(unique)))
            if progress
            else None
        )
        for text, clip in zip(texts, variant.synthesize(texts, report), strict=False):
            clip, passed = checked(variant, text, trim.edges(clip), label, strict)
            spoken[(text, voice)] = (
                cache.put(keys[(text, voice)], clip) if cache is not None and passed else clip
            )
        done += len(texts)
    if cache is not None and missing:  # it grew: keep it within its limit
        cache.prune()
    return [spoken[line] for line in wanted]


def checked(engine: Engine, text: str, clip: Clip, label: str, strict: bool) -> tuple[Clip, bool]:
    """`clip` if it passes the speech check, else `text` spoken again (for Piper, with other
    noise: its voice draws afresh each time) and checked again: (the clip to use, whether it
    passed). A second failure is one warning line, or with `strict` a SynthesisError."""
    reason = verify.problem(clip, text, engine.words_per_minute, engine.times_words)
    if reason is None:
        return clip, True
    log.info('"%s" failed the speech check (%s): spoken again', text, reason)
    again = trim.edges(next(iter(engine.synthesize([text]))))
    reason = verify.problem(again, text, engine.words_per_minute, engine.times_words)
    if reason is None:
        return again, True
    where = f" in {label}" if label else ""
    message = f'the sentence "{text}"{where} failed the speech check twice: {reason}'
    if strict:
        raise SynthesisError(message)
    log.warning("%s", message)
    return again, False
