"""Serving a built series folder over HTTP, with byte ranges so players can seek.

Python's SimpleHTTPRequestHandler answers every request with the whole file; audio players
and podcast apps ask for ranges (`Range: bytes=...`) to seek and to resume. This handler
answers them with 206 Partial Content. Each `feed.xml` is made afresh for the address the
request came to, so a phone subscribing over the local network gets links it can reach.
"""

from __future__ import annotations

import http.server
import logging
import os
import re
import socket
from functools import partial
from pathlib import Path

from ..errors import UsageError
from . import listen

log = logging.getLogger(__name__)

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with single byte ranges, a fresh feed per host, quiet logs."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mp3": "audio/mpeg", ".vtt": "text/vtt; charset=utf-8",
                      ".srt": "application/x-subrip", ".m3u": "audio/x-mpegurl",
                      ".xml": "application/rss+xml; charset=utf-8"}

    def __init__(self, *args, feeds=None, **kwargs):
        self.feeds = feeds
        super().__init__(*args, **kwargs)

    def log_message(self, format, *args):  # noqa: A002
        log.info("%s %s", self.address_string(), format % args)

    def end_headers(self):
        self.send_header("Accept-Ranges", "bytes")
        super().end_headers()

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.name == listen.FEED and self.feeds is not None:
            body = self.feeds(path, self._base_url())
            if body is not None:
                self.send_response(200)
                self.send_header("Content-Type", self.extensions_map[".xml"])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                return _Bytes(body)
        header = self.headers.get("Range")
        if not header or not path.is_file():
            return super().send_head()
        match = _RANGE.match(header.strip())
        size = path.stat().st_size
        if not match or match.groups() == ("", ""):
            return super().send_head()  # a form we do not do (several ranges): whole file
        first, last = match.groups()
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        if start >= size or start > end:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        handle = open(path, "rb")
        handle.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Last-Modified", self.date_time_string(int(path.stat().st_mtime)))
        self.end_headers()
        return _Slice(handle, end - start + 1)

    def copyfile(self, source, outputfile):
        if isinstance(source, _Slice | _Bytes):
            source.copy_to(outputfile)
        else:
            super().copyfile(source, outputfile)

    def _base_url(self) -> str:
        host = self.headers.get("Host") or f"{self.server.server_address[0]}:" \
                                            f"{self.server.server_address[1]}"
        folder = self.path.split("?", 1)[0].rsplit("/", 1)[0]
        return f"http://{host}{folder}/"


class _Slice:
    def __init__(self, handle, length: int):
        self.handle, self.length = handle, length

    def copy_to(self, out) -> None:
        left = self.length
        while left > 0:
            data = self.handle.read(min(CHUNK, left))
            if not data:
                break
            out.write(data)
            left -= len(data)

    def close(self) -> None:
        self.handle.close()


class _Bytes:
    def __init__(self, data: bytes):
        self.data = data

    def copy_to(self, out) -> None:
        out.write(self.data)

    def close(self) -> None:
        pass


def make_server(folder: Path | str, host: str = "0.0.0.0", port: int = 8000
                ) -> http.server.ThreadingHTTPServer:
    """A server for `folder` (not yet serving: call serve_forever); port 0 picks a free one."""
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; build a series into it first")
    feeds = partial(_feed_for, folder)
    handler = partial(Handler, directory=str(folder), feeds=feeds)
    try:
        return http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}; "
                         "try another --port") from None


def _feed_for(folder: Path, path: Path, base_url: str) -> bytes | None:
    """The feed of the set in `path`'s folder, with links under `base_url`; None if unknown."""
    from .build import read_manifest, listing
    from .plan import SeriesInfo

    manifest = read_manifest(folder)
    try:
        subfolder = os.path.relpath(path.parent, folder)
    except ValueError:
        return None
    subfolder = "" if subfolder == "." else subfolder
    sets = manifest.get("sets") or {}
    if subfolder not in sets or "series" not in manifest:
        return None
    data = listing(SeriesInfo(**manifest["series"]), sets[subfolder], manifest)
    return listen.feed(data, base_url)


def local_address() -> str:
    """This machine's address on the local network (no packet is sent), else localhost."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"
