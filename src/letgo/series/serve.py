"""Serving a built series over HTTP: its files only, with byte ranges so players can seek.

Only the files a build made are served: each session's audio and transcripts and each set's
playlist, feed, page and cover, as the folder's manifest lists them, and only when the file
lies inside the folder (a symlink out of it is not followed). There are no folder listings and
no dot-files; a set's folder (`/` or `/alex/`) shows its player page. Each `feed.xml` is made
afresh for the address the request came to, so a phone on the local network gets links it can
reach. A request must arrive whole within a time limit, a reply that falls below a floor
(`MIN_RATE` bytes a second over `RATE_WINDOW` seconds, far below any player's pace) is
dropped, only so many connections are served at once and only so many from one address, and
a connection beyond those gets an immediate 503: a slow, idle or greedy client cannot tie the
server up.
"""

from __future__ import annotations

import errno
import http.server
import io
import logging
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from letgo.errors import LetgoError, UsageError
from letgo.file import transcripts
from letgo.file.formats import MEDIA_TYPES
from letgo.series import listen
from letgo.series.manifest import NAME as MANIFEST
from letgo.series.manifest import Manifest, sidecars
from letgo.series.manifest import read as read_manifest

log = logging.getLogger(__name__)

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
#: A Host header a feed's links can be made from: a name or IPv4 address, or [IPv6], and a port.
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
CHUNK = 256 * 1024
#: Seconds a client has to send its whole request (headers included).
REQUEST_TIMEOUT = 10.0
#: The slowest a reply may be taken: a client reading less than MIN_RATE bytes a second over
#: RATE_WINDOW seconds is dropped. A 32 kb/s stream is read at 4 KB/s, so any player is far
#: above it; a client that stops reading, or trickles, gives its slot back within the window.
MIN_RATE = 1024
RATE_WINDOW = 30.0
#: A reply is sent in pieces of this size, so a slow reader's progress is seen piece by piece.
PIECE = 16 * 1024
#: Connections served at once; more are told to come back shortly (503).
MAX_CONNECTIONS = 32
#: Connections served at once to one client address: trickling readers from one place cannot
#: take every slot. More get the same 503.
MAX_PER_CLIENT = 8
#: Connections the system holds waiting to be accepted: enough that a crowd's connections
#: wait for the accept loop (which answers at once, a 503 if full) rather than being dropped
#: by the kernel and retried seconds later.
BACKLOG = 128
TYPES = {
    **MEDIA_TYPES,
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip",
    ".json": "application/json; charset=utf-8",  # a session's chapters
    ".m3u": "audio/x-mpegurl",
    ".xml": "application/rss+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
}
SET_FILES = (listen.PAGE, listen.FEED, listen.PLAYLIST, listen.COVER)


def shared(path: Path) -> bool:
    """Whether a browser player on another site may read `path` (Access-Control-Allow-Origin:
    *): a session's captions and chapters, which the feed points to; nothing else."""
    return path.name.endswith(tuple(transcripts.SIDECARS.values()))


@dataclass(frozen=True)
class Limits:
    """How much of the server one client may take, and for how long."""

    request_timeout: float = REQUEST_TIMEOUT
    """Seconds a client has to send its whole request."""
    max_connections: int = MAX_CONNECTIONS
    """Connections served at once."""
    max_per_client: int = MAX_PER_CLIENT
    """Connections served at once to one client address."""
    min_rate: float = MIN_RATE
    """Bytes a second a reply must be taken at, over `rate_window` seconds."""
    rate_window: float = RATE_WINDOW


class SeriesServer(http.server.ThreadingHTTPServer):
    """A thread per connection, at most `max_connections` of them and `max_per_client` for one
    client address; a connection beyond either is answered 503 at once."""

    daemon_threads = True
    block_on_close = False  # Ctrl-C stops at once; open connections end with the process
    server_address: tuple[str, int]  # (host, port, ...) as bound; IPv6 adds two more
    request_queue_size = BACKLOG

    def __init__(
        self,
        folder: Path,
        address: tuple[str, int],
        limits: Limits = Limits(),
        family: socket.AddressFamily = socket.AF_INET,
    ):
        self.folder = folder
        self.limits = limits
        self.request_timeout = limits.request_timeout
        self.address_family = family
        self.slots = threading.BoundedSemaphore(limits.max_connections)
        self.clients: dict[str, int] = {}  # address -> connections being served
        self.clients_lock = threading.Lock()
        self._manifest: tuple[tuple[int, int, int] | None, Manifest] = (None, Manifest())
        super().__init__(address, Handler)

    def manifest(self) -> Manifest:
        """The folder's manifest, read again only when it changes (a rebuild while serving);
        nothing is served while it cannot be read (e.g. a symlink put in its place)."""
        try:
            info = (self.folder / MANIFEST).lstat()
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        except OSError:
            stamp = None
        if stamp != self._manifest[0]:
            try:
                self._manifest = (stamp, read_manifest(self.folder))
            except LetgoError as exc:
                log.warning("%s", exc)
                self._manifest = (stamp, Manifest())
        return self._manifest[1]

    def files(self) -> set[str]:
        """The paths, relative to the folder, of every file the build made."""
        made = self.manifest()
        found: set[str] = set()
        for relpath in made.sessions:
            found.update(str(p) for p in sidecars(Path(relpath)))
        for subfolder in made.sets:
            found.update(f"{subfolder}/{name}" if subfolder else name for name in SET_FILES)
        if made.sets and "" not in made.sets:
            found.add(listen.PAGE)  # the index of the listeners' pages
        return found

    def process_request(self, request, client_address):
        client = client_address[0]
        if not self._admit(client):
            try:
                request.setblocking(False)  # the accept loop never waits on one client
                request.send(
                    b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 5\r\n"
                    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
            except OSError:
                pass
            self.shutdown_request(request)
            return
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        try:
            thread.start()
        except RuntimeError:  # no thread to be had; not after start(): the thread releases
            self._release(client)
            raise

    def _admit(self, client: str) -> bool:
        """Take a slot for `client`, if there is one for it."""
        with self.clients_lock:
            if self.clients.get(client, 0) >= self.limits.max_per_client:
                return False
            if not self.slots.acquire(blocking=False):
                return False
            self.clients[client] = self.clients.get(client, 0) + 1
        return True

    def _release(self, client: str) -> None:
        with self.clients_lock:
            left = self.clients.pop(client) - 1
            if left:
                self.clients[client] = left
            self.slots.release()

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(client_address[0])

    def handle_error(self, request, client_address):
        """A client that goes away mid-reply is normal; anything else is logged in one line."""
        import sys

        error = sys.exc_info()[1]
        level = logging.DEBUG if isinstance(error, OSError) else logging.WARNING
        log.log(
            level, "request from %s failed: %s: %s", client_address[0], type(error).__name__, error
        )


class _DeadlineReader(io.BufferedIOBase):
    """The request's reader: every line must arrive by the deadline, so a client that sends
    a byte now and then cannot hold its connection open (the socket's own timeout restarts
    with each byte)."""

    def __init__(self, rfile: io.BufferedReader, connection: socket.socket):
        super().__init__()
        self.rfile, self.connection = rfile, connection
        self.deadline = float("inf")

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        return self.rfile.read(size)

    def close(self) -> None:
        self.rfile.close()
        super().close()

    def readline(self, size: int | None = -1, /) -> bytes:
        limit = -1 if size is None else size
        line = b""
        while limit < 0 or len(line) < limit:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the request did not arrive in time")
            self.connection.settimeout(left)
            buffered = self.rfile.peek(1)  # at most one read from the socket
            if not buffered:
                break
            end = buffered.find(b"\n")
            take = len(buffered) if end < 0 else end + 1
            line += self.rfile.read(take if limit < 0 else min(take, limit - len(line)))
            if line.endswith(b"\n"):
                break
        return line


class Handler(http.server.BaseHTTPRequestHandler):
    """GET and HEAD of the series' own files, single byte ranges, a fresh feed per host."""

    server: SeriesServer
    server_version = "letgo"

    def setup(self):
        super().setup()
        assert isinstance(self.rfile, io.BufferedReader)  # rbufsize -1: a buffered socket file
        self.reader = _DeadlineReader(self.rfile, self.connection)
        self.rfile = self.reader

    def handle_one_request(self):
        self.reader.deadline = time.monotonic() + self.server.request_timeout
        super().handle_one_request()

    def log_message(self, format, *args):  # noqa: A002
        log.info("%s %s", self.address_string(), format % args)

    def do_GET(self):
        self._answer(body=True)

    def do_HEAD(self):
        self._answer(body=False)

    def _answer(self, body: bool) -> None:
        self.connection.settimeout(self.server.limits.rate_window)
        relpath = _relpath(self.path)
        host = self.headers.get("Host", "")
        if relpath is None or (host and not _HOST.match(host)):
            self.send_error(400)
            return
        if relpath not in self.server.files():
            self.send_error(404)
            return
        folder = self.server.folder
        path = (folder / relpath).resolve()
        if not path.is_relative_to(folder) or not path.is_file():
            self.send_error(404)  # a symlink out of the folder, or a file since removed
            return
        if path.name == listen.FEED:
            return self._send_feed(relpath, host, body)
        self._send_file(path, body)

    def _send_feed(self, relpath: str, host: str, body: bool) -> None:
        subfolder = relpath.rpartition("/")[0]
        if not host:
            address = self.server.server_address
            name = str(address[0])
            host = f"[{name}]:{address[1]}" if ":" in name else f"{name}:{address[1]}"
        base = f"http://{host}/" + (quote(subfolder) + "/" if subfolder else "")
        data = _feed_for(self.server.manifest(), subfolder, base)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", TYPES[".xml"])
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _send_file(self, path: Path, body: bool) -> None:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            size = info.st_size
            modified = self.date_time_string(int(info.st_mtime))
            etag = f'"{info.st_size:x}-{info.st_mtime_ns:x}"'
            start, end = 0, size - 1
            status = 200
            span = None
            if _still_current(self.headers.get("If-Range"), etag, modified):
                span = _span(self.headers.get("Range"), size)
            if span == "unsatisfiable":
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if isinstance(span, tuple):
                (start, end), status = span, 206
            self.send_response(status)
            self.send_header("Content-Type", TYPES.get(path.suffix, "application/octet-stream"))
            if shared(path):
                self.send_header("Access-Control-Allow-Origin", "*")
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", modified)
            self.end_headers()
            if body:
                handle.seek(start)
                self._send_paced(handle, end - start + 1)

    def _send_paced(self, handle, length: int) -> None:
        """Send `length` bytes of `handle`, dropping the client (TimeoutError) if it takes
        less than `min_rate` bytes a second over any stretch of `rate_window` seconds."""
        limits = self.server.limits
        due = limits.min_rate * limits.rate_window  # bytes owed by the end of each window
        window_end, owed = time.monotonic() + limits.rate_window, due
        left = length
        while left > 0:
            data = handle.read(min(CHUNK, left))
            if not data:
                break
            view = memoryview(data)
            for at in range(0, len(view), PIECE):
                piece = view[at : at + PIECE]
                now = time.monotonic()
                if now >= window_end:  # a window ended with its due bytes sent: a new one
                    window_end, owed = now + limits.rate_window, due
                self.connection.settimeout(max(window_end - now, 0.001))
                self.wfile.write(piece)  # socket.timeout (TimeoutError) if the window ends
                owed -= len(piece)
                if owed <= 0:
                    window_end, owed = time.monotonic() + limits.rate_window, due
            left -= len(data)


#: The largest byte position worth reading: any longer number is past the end of any file.
_MOST_DIGITS = 18


def _position(digits: str) -> int:
    return int(digits) if len(digits) <= _MOST_DIGITS else 10**_MOST_DIGITS


def _span(header: str | None, size: int) -> tuple[int, int] | str | None:
    """The (first, last) bytes a Range header asks for; "unsatisfiable" (416) for one that
    starts past the end; None (the whole file, 200) for none, for several ranges and for an
    invalid one such as `bytes=5-3` (RFC 9110, 14.2: a server may ignore it)."""
    match = _RANGE.match((header or "").strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        length = _position(last)
        if length == 0:
            return "unsatisfiable"
        return (max(0, size - length), size - 1) if size else "unsatisfiable"
    start = _position(first)
    if last and _position(last) < start:
        return None  # invalid: ignored
    if start >= size:
        return "unsatisfiable"
    return start, min(_position(last), size - 1) if last else size - 1


def _still_current(if_range: str | None, etag: str, modified: str) -> bool:
    """Whether a Range may be honoured: no If-Range, or one naming this very file (its strong
    ETag, or its Last-Modified date exactly); a resumed download of a file since rebuilt gets
    the whole new file instead of a piece of it stitched to a piece of the old."""
    if if_range is None:
        return True
    if_range = if_range.strip()
    if if_range.startswith(("W/", '"')):
        return if_range == etag  # a weak tag never matches (RFC 9110, 13.1.5)
    return if_range == modified


def _relpath(target: str) -> str | None:
    """The file a request target names, relative to the folder ('' segments dropped, a
    folder meaning its page); None when the target is malformed."""
    try:
        path = unquote(urlsplit(target).path, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    if any(ord(c) < 32 or c in "\\\x7f" for c in path):
        return None
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        return None
    if not parts or path.endswith("/"):
        parts.append(listen.PAGE)
    return "/".join(parts)


def _feed_for(made: Manifest, subfolder: str, base_url: str) -> bytes | None:
    """The feed of the set in `subfolder`, with links under `base_url`; None if unknown."""
    if subfolder not in made.sets or made.series is None:
        return None
    return listen.feed(listen.listing(made.series, made.sets[subfolder], made), base_url)


def make_server(
    folder: Path | str,
    host: str = "0.0.0.0",
    port: int = 8000,
    request_timeout: float = REQUEST_TIMEOUT,
    max_connections: int = MAX_CONNECTIONS,
    limits: Limits | None = None,
) -> SeriesServer:
    """A server for `folder` (not yet serving: call serve_forever); port 0 picks a free one.
    `host` is a name or an IPv4 or IPv6 address (`::1`, `::` for every interface). `limits`
    (when given) replaces `request_timeout` and `max_connections`."""
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; build a series into it first")
    if not sets(folder):
        raise UsageError(f"{folder} holds no built series; build one into it first")
    limits = limits or Limits(request_timeout=request_timeout, max_connections=max_connections)
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family = _family(host, port)
        return SeriesServer(folder, (host, port), limits, family)
    except socket.gaierror as exc:
        raise UsageError(
            f"cannot listen on '{host}': not an address of this computer ({exc.strerror})"
        ) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"cannot listen on {where}: {exc.strerror}; try another --port"
            ) from None
        if exc.errno == errno.EACCES and port < 1024:
            raise UsageError(
                f"cannot listen on {where}: {exc.strerror} (ports under 1024 need an "
                "administrator); try a --port from 1024 up"
            ) from None
        raise UsageError(f"cannot listen on {where}: {exc.strerror or exc}") from None
    except UnicodeError:  # a host name that is not one, e.g. with a NUL or too long
        raise UsageError(f"cannot listen on '{host}': not a host name or address") from None


def _family(host: str, port: int) -> socket.AddressFamily:
    """IPv6 for an IPv6 address (or a name that only has one), else IPv4."""
    if not host:
        return socket.AF_INET
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    families = [family for family, *_ in found]
    return socket.AF_INET if socket.AF_INET in families else families[0]


def sets(folder: Path) -> list[str]:
    """The sets a built series folder holds: [''] for a plain series, listeners' folders
    otherwise (their URL paths, ending in '/')."""
    return [quote(s) + "/" if s else "" for s in read_manifest(folder).sets]


def local_address() -> str:
    """This machine's address on the local network (no packet is sent), else localhost."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"
