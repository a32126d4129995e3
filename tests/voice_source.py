"""A stand-in for Piper's voice source on 127.0.0.1, for the tests of `letgo voices download`
and the README's examples: the catalogue at /voices.json (each file's size and MD5) and the
files at the catalogue's paths (model, config, model card), `?download=true` and all, as the
real source serves them. The voice is the installed joe's own files, offered as
en_US-joe-medium, en_GB-alba-medium and en_GB-cori-medium (the README names them). `cut`
makes a body stop halfway."""

from __future__ import annotations

import functools
import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from letgo.voice.engines import piper

VOICES = {"en_US-joe-medium": "joe", "en_GB-alba-medium": "alba", "en_GB-cori-medium": "cori"}


def joe_files() -> dict[str, Path]:
    files = piper.resolve_voice("joe")
    return {
        ".onnx": files.model,
        ".onnx.json": files.config,
        "card": files.model.parent / "MODEL_CARD",
    }


def catalogue(digests) -> tuple[dict, dict[str, Path]]:
    """(voices.json, path -> the file served there)."""
    entries, served = {}, {}
    for key, speaker in VOICES.items():
        language = key.split("-")[0]
        folder = f"{language.split('_')[0]}/{language}/{speaker}/medium"
        files = {}
        for kind, path in joe_files().items():
            name = "MODEL_CARD" if kind == "card" else f"{key}{kind}"
            files[f"{folder}/{name}"] = {
                "size_bytes": digests[kind][0],
                "md5_digest": digests[kind][1],
            }
            served[f"{folder}/{name}"] = path
        entries[key] = {
            "key": key,
            "name": speaker,
            "language": {"code": language, "family": language.split("_")[0]},
            "quality": "medium",
            "num_speakers": 1,
            "speaker_id_map": {},
            "files": files,
            "aliases": [],
        }
    return entries, served


class Source(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.entries, self.served = catalogue(digests())
        self.cut: str | None = None  # a file name suffix whose body stops halfway
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Source

    def log_message(self, *args):
        pass

    def do_GET(self):
        parts = urlsplit(self.path)
        path = parts.path.lstrip("/")
        self.server.requests.append(self.path)
        if path == "voices.json":
            body = json.dumps(self.server.entries).encode()
        elif path in self.server.served:
            body = self.server.served[path].read_bytes()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.server.cut and path.endswith(self.server.cut):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)


@functools.cache
def digests() -> dict[str, tuple[int, str]]:
    """(size, MD5) of each of joe's files."""
    return {
        kind: (path.stat().st_size, hashlib.md5(path.read_bytes()).hexdigest())
        for kind, path in joe_files().items()
    }


@contextmanager
def serving() -> Iterator[Source]:
    server = Source()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
