"""A short sample of a voice, to choose one by ear before rendering a whole session.

A sample goes the way a session goes (normalising, the cache, levels, the encoder), so two
samples land at the same loudness and differ only in the voice and its settings.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import replace
from pathlib import Path

from letgo import session
from letgo.errors import UsageError
from letgo.file import atomic
from letgo.words import script

#: What a sample says when no text is given: a little of everything a session asks of a
#: voice (a greeting, a long sentence with a comma, a count, a quiet close).
TEXT = """Hello, and welcome.
Let your shoulders soften, and let the breath come and go by itself.
Breathe in for 4 counts, and out for 6.

There is nothing you need to fix right now.
You are already whole, just as you are."""

#: A sample starts almost at once and ends soon after its last word.
LEAD_IN, TAIL = 0.5, 0.3


def output_name(engine: str, voice: str | None, extension: str = ".mp3") -> str:
    """sample-piper-joe.mp3, sample-pyttsx3-gmw-en-us.mp3, sample-pyttsx3-default.mp3."""
    name = (Path(voice).stem if voice.endswith(".onnx") else voice) if voice else "default"
    return f"sample-{engine}-{re.sub(r'[^A-Za-z0-9_.]+', '-', name).strip('-')}{extension}"


#: The sample's template: the text comes in as a variable, so any Jinja in it is said as is;
#: it is marked as script markup (`script.Markup`), so a [pause 2s] in it is a pause.
TEMPLATE = """{#
title = "Voice sample"
description = "A few sentences to hear a voice by."
[variables.text]
required = true
#}
{{ text }}
"""


def render(
    request: session.Request, output: Path, text: str = TEXT, progress=None, engine=None
) -> session.Result:
    """Speak `text` with the request's engine and voice, on silence, into `output`."""
    if not text.strip():
        raise UsageError(
            "the sample text is empty; give a sentence or two, or none for the built-in one"
        )
    with tempfile.TemporaryDirectory(prefix="letgo-sample-") as folder:
        path = Path(folder) / "voice-sample.j2"
        atomic.write(path, TEMPLATE.encode("utf-8"))
        request = replace(
            request,
            template=str(path),
            minutes=None,
            variables={"text": script.Markup(text)},
            mix=replace(request.mix, background="none"),
            plan=replace(request.plan, lead_in=LEAD_IN, tail=TAIL),
        )
        return session.render(request, output, engine, progress)
