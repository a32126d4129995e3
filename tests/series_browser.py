"""Headless Chromium driven over the DevTools protocol (websocket-client), for the page test."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--mute-audio",
    "--remote-debugging-port=0",
]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


class Browser:
    def __init__(self, executable: str):
        self.profile = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile.name}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        port_file = Path(self.profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not start")
            time.sleep(0.1)
        self.port = int(port_file.read_text().split()[0])

    def evaluate(
        self, url: str, expression: str, timeout: float = 30.0, screenshot: Path | None = None
    ):
        """Open `url` in a new tab and return the value of an async `expression`; with
        `screenshot`, the page as it then looks is saved there (PNG)."""
        import websocket

        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT"
        )
        target = json.load(urllib.request.urlopen(request, timeout=10))
        socket = websocket.create_connection(
            target["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True
        )
        try:
            counter = iter(range(1, 10**6))

            def call(method, **params):
                number = next(counter)
                socket.send(json.dumps({"id": number, "method": method, "params": params}))
                while True:
                    message = json.loads(socket.recv())
                    if message.get("id") == number:
                        if "error" in message:
                            raise RuntimeError(message["error"])
                        return message["result"]

            call("Page.enable")
            call("Page.navigate", url=url)
            deadline = time.monotonic() + timeout
            while (
                call("Runtime.evaluate", expression="document.readyState", returnByValue=True)[
                    "result"
                ].get("value")
                != "complete"
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not load")
                time.sleep(0.1)
            result = call(
                "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
            )
            if "exceptionDetails" in result:
                raise RuntimeError(result["exceptionDetails"])
            if screenshot is not None:
                import base64

                shot = call("Page.captureScreenshot", format="png")
                screenshot.write_bytes(base64.b64decode(shot["data"]))
            return result["result"]["value"]
        finally:
            socket.close()

    def close(self) -> None:
        try:  # chromium and its helper processes (renderer, zygote) together
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.profile.cleanup()


#: For each <audio>: its duration once metadata loads, and its captions' state and cue count.
REPORT = """
(async () => {
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  const out = [];
  for (const audio of document.querySelectorAll("audio")) {
    if (audio.readyState < 1) {
      await Promise.race([new Promise((r) => audio.addEventListener("loadedmetadata", r,
                                                                     {once: true})), wait(15000)]);
    }
    const element = audio.querySelector("track");
    // the page's own "load" listener runs after readyState turns 2: wait for what it records
    for (let i = 0; i < 100 && !audio.dataset.captions; i++) await wait(100);
    const tracks = Array.from(audio.textTracks);
    const live = tracks.find((t) => t.mode !== "disabled" && t.cues && t.cues.length) || tracks[0];
    out.push({src: audio.getAttribute("src"), duration: audio.duration,
              expected: parseFloat(audio.dataset.duration), trackState: element.readyState,
              captions: audio.dataset.captions || "",
              cues: live && live.cues ? live.cues.length : 0,
              firstCue: live && live.cues && live.cues.length ? live.cues[0].startTime : null,
              chapters: audio.parentElement.querySelectorAll("a.chapter").length,
              error: audio.error ? audio.error.code : 0});
  }
  for (const [n, audio] of Array.from(document.querySelectorAll("audio")).entries()) {
    const link = audio.parentElement.querySelectorAll("a.chapter")[1];  // the second chapter
    link.click();
    out[n].seekedTo = audio.currentTime;
    out[n].chapterStart = parseFloat(link.dataset.start);
    audio.pause();
  }
  return out;
})()
"""


#: The first session's words: seek into its second sentence, see which word is marked, then
#: click its last word and see the player go there.
WORDS = """
(async () => {
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  const audio = document.querySelector("audio");
  if (audio.readyState < 1) {
    await Promise.race([new Promise((r) => audio.addEventListener("loadedmetadata", r,
                                                                   {once: true})), wait(15000)]);
  }
  for (let i = 0; i < 100 && !audio.dataset.captions; i++) await wait(100);
  const caption = audio.parentElement.querySelector(".caption");
  const track = Array.from(audio.textTracks).find((t) => t.mode === "hidden" && t.cues
                                                   && t.cues.length);
  const cue = track.cues[1];
  const stamps = [...cue.text.matchAll(/<(\\d+):(\\d\\d):(\\d\\d\\.\\d{3})>/g)]
    .map((m) => 3600 * m[1] + 60 * m[2] + parseFloat(m[3]));
  const at = stamps[1] + 0.02;  // just after the third word begins
  audio.currentTime = at;
  for (let i = 0; i < 50 && !caption.querySelector(".word.now"); i++) await wait(100);
  const words = Array.from(caption.querySelectorAll(".word"));
  const now = caption.querySelector(".word.now");
  const out = {cueText: cue.text, cueStart: cue.startTime, stamps, at,
               words: words.map((w) => [w.textContent, parseFloat(w.dataset.start)]),
               now: words.indexOf(now),
               marked: now ? getComputedStyle(now).backgroundColor : "",
               plain: words.length > 1 ? getComputedStyle(words[0]).backgroundColor : ""};
  const last = words[words.length - 1];
  last.click();
  audio.pause();
  out.clickedTo = audio.currentTime;
  out.lastStart = parseFloat(last.dataset.start);
  for (let i = 0; i < 30 && !last.classList.contains("now"); i++) await wait(100);
  out.nowAfterClick = Array.from(caption.querySelectorAll(".word")).indexOf(
    caption.querySelector(".word.now"));
  return out;
})()
"""
