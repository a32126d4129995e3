"""The isolated pyttsx3 worker: JSON requests on stdin, one JSON reply per line on stdout.

It runs in its own process so a hung or crashed speech driver can be killed and replaced
without taking the session with it. A fresh pyttsx3 engine speaks each sentence.
"""

from __future__ import annotations

import json
import os
import sys
import threading


def _voices(pyttsx3) -> list[dict]:
    engine = pyttsx3.init()
    default = engine.getProperty("voice")
    voices = []
    for v in engine.getProperty("voices"):
        languages = [
            lang.decode("utf-8", "replace") if isinstance(lang, bytes) else str(lang)
            for lang in (v.languages or [])
        ]
        voices.append(
            {
                "id": v.id,
                "name": v.name,
                "language": ", ".join(languages),
                "default": v.id == default,
            }
        )
    return voices


def _configure(engine, request: dict) -> None:
    if request.get("voice"):
        engine.setProperty("voice", request["voice"])
    engine.setProperty("rate", int(request.get("rate", 150)))
    engine.setProperty("volume", float(request.get("volume", 1.0)))
    if request.get("pitch") is not None:  # eSpeak only; other drivers raise KeyError
        try:
            engine.setProperty("pitch", int(request["pitch"]))
        except KeyError:
            raise ValueError("this platform's speech driver has no pitch setting") from None


#: Seconds to wait, after pyttsx3 returns, for eSpeak to finish the utterance it started.
FINISH_TIMEOUT = 20.0


def _listen(engine) -> tuple[list[list[int]], threading.Event] | None:
    """Where eSpeak NG says each word starts, and when it has finished: pyttsx3's driver
    passes on a word event's place in the text but drops its `audio_position` (ms into the
    speech), so the synthesis callback it registered is wrapped to read that too, then call
    the driver's own. eSpeak speaks on a thread of its own and `runAndWait` can return before
    it is done (and before the driver has written the file): the event set at the end of the
    utterance, once the driver has written it, says when it is. None on another driver (macOS,
    Windows): their word times are estimated."""
    driver = getattr(getattr(engine, "proxy", None), "_driver", None)
    if driver is None or type(driver).__module__ != "pyttsx3.drivers.espeak":
        return None
    from pyttsx3.drivers import _espeak

    heard: list[list[int]] = []
    finished = threading.Event()
    own = driver._onSynth

    def on_synth(wav, numsamples, events):
        i, last = 0, False
        while events[i].type != _espeak.EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _espeak.EVENT_WORD:
                heard.append([event.text_position, event.length, event.audio_position])
            last = last or event.type == _espeak.EVENT_MSG_TERMINATED
            i += 1
        try:
            return own(wav, numsamples, events)
        finally:
            if last:
                finished.set()

    _espeak.SetSynthCallback(on_synth)
    return heard, finished


def _say(pyttsx3, request: dict) -> dict:
    engine = pyttsx3.init()
    _configure(engine, request)
    listening = _listen(engine)
    engine.save_to_file(request["text"], request["path"])
    engine.runAndWait()
    if listening is not None and not listening[1].wait(FINISH_TIMEOUT):
        return {"ok": False, "error": "eSpeak did not finish the sentence"}
    del engine
    if not os.path.exists(request["path"]) or os.path.getsize(request["path"]) == 0:
        return {"ok": False, "error": "the driver wrote no file"}
    return {"ok": True, "words": listening[0] if listening is not None else None}


def main() -> None:
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # drivers print chatter; keep our channel clean
    sys.stdout = sys.stderr
    from letgo.voice.engines import espeak

    library = espeak.prepare()
    import pyttsx3

    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["op"] == "init":
                engine = pyttsx3.init()
                _configure(engine, request)
                from importlib.metadata import version

                reply = {
                    "ok": True,
                    "library": library,
                    "version": version("pyttsx3"),
                    "voice": str(engine.getProperty("voice")),
                }
            elif request["op"] == "voices":
                reply = {"ok": True, "voices": _voices(pyttsx3)}
            elif request["op"] == "say":
                reply = _say(pyttsx3, request)
            else:
                reply = {"ok": False, "error": f"unknown op {request['op']}"}
        except Exception as exc:  # noqa: BLE001 - every failure goes back as a reply
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
