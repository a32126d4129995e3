"""A Piper voice that also says how long each phoneme lasts: patched once, on disk.

piper-tts reports per-phoneme sample counts (`include_alignments=True`) only from a model whose
`w_ceil` tensor (the Ceil that rounds each phoneme id's length in frames) is a graph output.
Its own `alignment` extra patches the model in memory with the `onnx` package, which raises
Piper's load from about 156 to 342 MB. Here the same edit is made to the file's bytes: an ONNX
model is a protobuf, and a graph output is one more `ValueInfoProto` (field 12) appended to the
graph (field 7 of the model), so the patched file is the original with a few dozen bytes added
and one length prefix rewritten. It is written once, complete or absent (`atomic`), into
letgo's voice cache, named by the model's size, time and path, and read from there after.
Nothing of the model is held in memory beyond what onnxruntime loads anyway (the original is
read through mmap and copied out in pieces).
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import os
from pathlib import Path

import platformdirs

from letgo.file import atomic

log = logging.getLogger(__name__)

_MODEL_GRAPH, _GRAPH_NODE, _GRAPH_OUTPUT = 7, 1, 12
_NODE_OUTPUT, _NODE_OP = 2, 4
_LEN = 2  # protobuf wire type: length-delimited


class NotPatchable(ValueError):
    """The file is not an ONNX model with one Ceil tensor to expose."""


def cache_dir() -> Path:
    """Where patched voices are kept: $LETGO_VOICE_CACHE_DIR, else the user cache folder."""
    override = os.environ.get("LETGO_VOICE_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_cache_path("letgo") / "voices"


def _varint(data, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise NotPatchable("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise NotPatchable("varint too long")


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _fields(data, start: int, end: int):
    """(field number, wire type, tag start, value start, value end) of each field in
    data[start:end]; a varint's or fixed value's span is its bytes."""
    pos = start
    while pos < end:
        tag_at = pos
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            _, after = _varint(data, pos)
        elif wire == 1:
            after = pos + 8
        elif wire == 5:
            after = pos + 4
        elif wire == _LEN:
            length, pos = _varint(data, pos)
            after = pos + length
        else:
            raise NotPatchable(f"unsupported wire type {wire}")
        if after > end:
            raise NotPatchable("field runs past its message")
        yield number, wire, tag_at, pos, after
        pos = after


def _string_fields(data, start: int, end: int, number: int) -> list[str]:
    return [
        bytes(data[a:b]).decode("utf-8", "replace")
        for n, w, _, a, b in _fields(data, start, end)
        if n == number and w == _LEN
    ]


def find_graph(data) -> tuple[int, int, int]:
    """(tag start, value start, value end) of the model's graph."""
    for number, wire, tag_at, a, b in _fields(data, 0, len(data)):
        if number == _MODEL_GRAPH and wire == _LEN:
            return tag_at, a, b
    raise NotPatchable("no graph in the model")


def ceil_output(data, graph: tuple[int, int, int]) -> str:
    """The name of the one Ceil node's output (piper's w_ceil), checked not yet an output."""
    _, start, end = graph
    found: set[str] = set()
    outputs: list[str] = []
    for number, wire, _, a, b in _fields(data, start, end):
        if number == _GRAPH_NODE and wire == _LEN:
            if "Ceil" in _string_fields(data, a, b, _NODE_OP):
                found.update(_string_fields(data, a, b, _NODE_OUTPUT))
        elif number == _GRAPH_OUTPUT and wire == _LEN:
            outputs += _string_fields(data, a, b, 1)
    if len(found) != 1:
        raise NotPatchable(f"{len(found)} Ceil tensors, expected one")
    name = found.pop()
    if name in outputs:
        raise NotPatchable(f"{name} is already an output")
    return name


def outputs(data) -> list[str]:
    """The names of the model's graph outputs, in order."""
    _, start, end = find_graph(data)
    names: list[str] = []
    for number, wire, _, a, b in _fields(data, start, end):
        if number == _GRAPH_OUTPUT and wire == _LEN:
            names += _string_fields(data, a, b, 1)
    return names


def patch_bytes(data) -> list[bytes | memoryview]:
    """The patched model as pieces to write one after another (views into `data`)."""
    graph = find_graph(data)
    name = ceil_output(data, graph)
    tag_at, start, end = graph
    value_info = b"\x0a" + _encode_varint(len(name.encode())) + name.encode()
    extra = bytes([(_GRAPH_OUTPUT << 3) | _LEN]) + _encode_varint(len(value_info)) + value_info
    header = bytes([(_MODEL_GRAPH << 3) | _LEN]) + _encode_varint(end - start + len(extra))
    view = memoryview(data)
    return [view[:tag_at], header, view[start:end], extra, view[end:]]


def patched_path(model: Path) -> Path:
    stat = model.stat()
    tag = hashlib.sha256(f"{model.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return cache_dir() / f"{model.stem}.{tag.hexdigest()[:16]}.aligned.onnx"


def aligned_model(model: Path) -> Path | None:
    """The path of `model` patched to report phoneme lengths, made once; None (logged) where
    the model cannot be patched or the cache cannot be written (the voice then speaks
    without engine word times)."""
    target = patched_path(model)
    if target.is_file():
        return target
    try:
        with open(model, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            pieces = patch_bytes(data)
            atomic.ready(target.parent)
            try:
                with atomic.writing(target) as temporary, open(temporary, "wb") as out:
                    for piece in pieces:
                        out.write(piece)
            finally:
                for piece in pieces:
                    if isinstance(piece, memoryview):
                        piece.release()
    except NotPatchable as exc:
        log.info("%s cannot report word times (%s)", model, exc)
        return None
    except Exception as exc:  # noqa: BLE001 - a cache that cannot be written costs captions only
        log.warning("cannot write the word-timing copy of %s (%s)", model, exc)
        return None
    log.info("patched %s for phoneme alignments: %s", model.name, target)
    return target
