"""Speaking a session's sentences: each once, from the cache where it can, in the voice variant
its prosody asks for, and checked (`verify`) before it is kept.

`progress(done, total)` is told of sentences spoken (or found) so far.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext

from letgo.errors import SynthesisError
from letgo.voice import align, verify
from letgo.voice.cache import ClipCache
from letgo.voice.engines import Clip, Engine, trim

log = logging.getLogger(__name__)


#: Recogniser processes checking clips at once (`align`): eSpeak speaks a session faster than
#: one can listen (letting-go at 12 minutes: 2.2 s against 3.5 s).
LISTENERS = 2
#: Fewer sentences to speak than this start one: a second pays for its start (0.13 s
#: of a core) only over a stream of them.
STREAM = 20

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
    listeners = LISTENERS if len(missing) >= STREAM else 1
    aligner = (
        align.for_voice(engine.language, [text for text, _ in missing], listeners)
        if missing
        else None
    )
    checkers = aligner.processes if aligner else 1
    if progress and done:
        progress(done, len(unique))
    with aligner or nullcontext(), ThreadPoolExecutor(checkers, "check") as checking:
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
            said = _checked(variant, texts, report, checking, aligner, label, strict)
            for text, clip, passed in said:
                if cache is not None and passed:
                    clip = cache.put(keys[(text, voice)], clip)
                spoken[(text, voice)] = clip
            done += len(texts)
    if cache is not None and missing:  # it grew: keep it within its limit
        cache.prune()
    return [spoken[line] for line in wanted]


def _checked(
    engine: Engine,
    texts: list[str],
    report: Callable[[int, int], None] | None,
    checking: ThreadPoolExecutor,
    aligner: align.AlignerProcess | None,
    label: str,
    strict: bool,
) -> Iterator[tuple[str, Clip, bool]]:
    """(text, the clip to keep, whether it passed) for each of `texts`, in order, as `engine`
    speaks them. Each clip is checked on `checking`'s threads while the engine speaks the next
    (pyttsx3 speaks in a process of its own, Piper mostly outside the GIL, the recogniser in
    processes of its own), so the check costs a cold render little of its time; one that
    fails is spoken again (`kept`)."""
    pending: deque[tuple[str, Clip, Future[str | None]]] = deque()
    wpm, timed = engine.words_per_minute, engine.times_words
    for text, clip in zip(texts, engine.synthesize(texts, report), strict=False):
        clip = trim.edges(clip)
        found = checking.submit(verify.problem, clip, text, wpm, timed, aligner)
        pending.append((text, clip, found))
        while pending and pending[0][2].done():
            text, clip, found = pending.popleft()
            yield text, *kept(engine, text, clip, found.result(), label, strict, aligner)
    while pending:
        text, clip, found = pending.popleft()
        yield text, *kept(engine, text, clip, found.result(), label, strict, aligner)


def kept(
    engine: Engine,
    text: str,
    clip: Clip,
    reason: str | None,
    label: str,
    strict: bool,
    aligner: align.AlignerProcess | None = None,
) -> tuple[Clip, bool]:
    """The clip to keep for `text`, where the speech check found `reason` wrong with `clip`
    (None: nothing): `clip` itself, or `text` spoken again (for Piper, with other noise: its
    voice draws afresh each time) and checked again (with `aligner`, where the voice is
    English): (the clip, whether it passed). A second failure is one warning line, or with
    `strict` a SynthesisError."""
    if reason is None:
        return clip, True
    log.info('"%s" failed the speech check (%s): spoken again', text, reason)
    again = trim.edges(next(iter(engine.synthesize([text]))))
    reason = verify.problem(again, text, engine.words_per_minute, engine.times_words, aligner)
    if reason is None:
        return again, True
    where = f" in {label}" if label else ""
    message = f'the sentence "{text}"{where} failed the speech check twice: {reason}'
    if strict:
        raise SynthesisError(message)
    log.warning("%s", message)
    return again, False
