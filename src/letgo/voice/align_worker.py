"""The aligner's own process: `align.AlignerProcess` sends it clips, it says whether each says
its text. pocketsphinx holds Python's GIL while it decodes (30-50 ms a sentence), which in the
speaking process would stall the engine's next sentence; here it runs beside it.

Requests on stdin: a JSON line, `{"texts": [...]}` (the words to know) or `{"text": ...,
"rate": ..., "frames": ...}` followed by that many 16-bit samples; one JSON line answers each:
`{"hears": true | false | null}` (null: a word it does not know) or `{"error": ...}`.
"""

from __future__ import annotations

import json
import sys

import numpy as np


def main() -> None:
    from letgo.voice.align import Aligner
    from letgo.voice.engines import Clip

    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    aligner = Aligner()
    for line in requests:
        request = json.loads(line)
        try:
            if "texts" in request:
                aligner.learn(request["texts"])
                reply: dict = {"ok": True}
            else:
                pcm = np.frombuffer(requests.read(2 * request["frames"]), dtype="<i2")
                clip = Clip(pcm.astype(np.int16), request["rate"])
                reply = {"hears": aligner.hears(clip, request["text"])}
        except Exception as exc:  # noqa: BLE001 - every failure goes back as a reply
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(reply).encode() + b"\n")
        replies.flush()


if __name__ == "__main__":
    main()
