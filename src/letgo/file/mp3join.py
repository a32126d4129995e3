"""One MP3 from two LAME encoders working at once, each on a half of the session.

LAME runs on one core; a session split in two is encoded on two. An MP3 frame holds 1152
samples and the encoders start on the session's frame grid, so their frames line up. The
halves overlap: the second encoder starts OVERLAP frames before the join, so by the join its
filter bank and psychoacoustic model have settled on the same sound as the first's, and the
first runs OVERLAP frames past the join, so its last frames saw what follows. The frames are
then cut at the join and put end to end; the decoder hears one stream, and the error at the
join is the coding noise heard anywhere else (tests/test_mp3join.py measures it).

One thing crosses a frame: LAME's bit reservoir. A frame's audio data may begin up to 511
bytes back, in the unused end of the frames before it (`main_data_begin`). The first frame
kept from the second half gets the bytes it borrows copied into the end of the first half's
last kept frames, where the first half's own next frame (dropped) kept its borrowed bytes; the
join moves by up to SHIFT frames until they fit. The header frame (Info and LAME tag: frame count,
size, encoder delay and padding) is taken from the first half with the second half's padding,
and ffmpeg remuxes the stream so it rewrites the rest (seek table, checksums) as for any file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

FRAME = 1152
"""Samples in an MPEG-1 Layer III frame (the rates letgo writes: 32, 44.1 and 48 kHz)."""
OVERLAP = 16
"""Frames (0.4 s) each half runs past the join: the encoders agree well before that."""
SHIFT = 8
"""The most frames the join moves from the middle to fit the reservoir."""
BACK = 6
"""Frames back the reservoir may reach: 511 bytes is over six frames' data at 32 kb/s."""
SHORTEST = 2048
"""Frames (46 s at 44.1 kHz) below which a session is encoded whole: it takes a quarter of a
second, and a second encoder would cost about as much to start."""
_BITRATES = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_RATES = (44100, 48000, 32000)


class JoinError(Exception):
    """The halves cannot be joined (not MPEG-1 Layer III, or no frame where the reservoir
    fits): the caller encodes the session whole instead."""


def halves(frames: int) -> tuple[int, int, int] | None:
    """(join, end of the first half, start of the second) in samples for a session of
    `frames` samples, or None when it is too short to be worth two encoders."""
    grid = frames // FRAME
    if grid < SHORTEST:
        return None
    join = grid // 2
    return join * FRAME, (join + OVERLAP) * FRAME, (join - OVERLAP) * FRAME


def _frame_length(header: bytes) -> int:
    """Bytes in the frame whose 4-byte header this is; JoinError for anything but MPEG-1
    Layer III."""
    h = int.from_bytes(header, "big")
    if h >> 21 != 0x7FF or (h >> 19) & 3 != 3 or (h >> 17) & 3 != 1:
        raise JoinError("not an MPEG-1 Layer III frame")
    bitrate, rate = (h >> 12) & 15, (h >> 10) & 3
    if not 0 < bitrate < 15 or rate == 3:
        raise JoinError("a free-format or reserved frame header")
    return 144_000 * _BITRATES[bitrate] // _RATES[rate] + ((h >> 9) & 1)


def _side_info(header: bytes) -> int:
    """Bytes of side information after the header (and its CRC, if any)."""
    mono = (header[3] >> 6) == 3
    return (17 if mono else 32) + (0 if header[1] & 1 else 2)


def frames(file: BinaryIO) -> Iterator[tuple[int, int]]:
    """(offset, length) of every frame in an MP3 file, its Info frame first; the file is read
    in pieces, and nothing is kept, so any length costs the same memory."""
    file.seek(0)
    head = file.read(10)
    position = 0
    if head[:3] == b"ID3":
        position = 10 + ((head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9])
    buffer, base = b"", position
    while True:
        if position + 4 > base + len(buffer):
            file.seek(position)
            buffer, base = file.read(1 << 20), position
            if len(buffer) < 4:
                return
        at = position - base
        length = _frame_length(buffer[at : at + 4])
        yield position, length
        position += length


def _around(file: BinaryIO, lo: int, hi: int) -> tuple[int, int, dict[int, tuple[int, int]]]:
    """(where the Info frame starts, where the audio starts, {i: (offset, length)} of audio
    frames lo <= i < hi)."""
    walk = frames(file)
    info = next(walk, None)
    if info is None:
        raise JoinError("no frames")
    kept = {}
    for i, frame in enumerate(walk):
        if i == 0:
            audio = frame[0]
        if i >= lo:
            kept[i] = frame
        if i + 1 >= hi:
            break
    if len(kept) < hi - lo:
        raise JoinError("a half is shorter than planned")
    return info[0], audio, kept


def _read(file: BinaryIO, offset: int, length: int) -> bytes:
    file.seek(offset)
    return file.read(length)


def _reservoir(file: BinaryIO, frame: tuple[int, int]) -> int:
    """The frame's main_data_begin: how many bytes back its audio data starts."""
    head = _read(file, frame[0], 6)
    protected = 0 if head[1] & 1 else 2
    return int.from_bytes(_read(file, frame[0] + 4 + protected, 2), "big") >> 7


def _main_data(file: BinaryIO, frames: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(offset, length) of each frame's main data area: what follows its side information."""
    areas = []
    for offset, length in frames:
        side = 4 + _side_info(_read(file, offset, 4))
        areas.append((offset + side, length - side))
    return areas


def join(first: BinaryIO, second: BinaryIO, join_frame: int, out: BinaryIO) -> None:
    """Write to `out` the first half's frames before the join and the second's from it.

    `first` and `second` are the encoders' MP3 files: the first encoded the session from its
    start, the second from `OVERLAP` frames before `join_frame` (the session's frame grid)."""
    info_at, a_start, a = _around(first, join_frame - SHIFT - BACK, join_frame + SHIFT + 1)
    second_info, _, b = _around(second, OVERLAP - SHIFT - BACK, OVERLAP + SHIFT + 1)
    for shift in sorted(range(-SHIFT, SHIFT + 1), key=abs):
        m, k = join_frame + shift, OVERLAP + shift  # a[m] and b[k] hold the same samples
        borrowed, room = _reservoir(second, b[k]), _reservoir(first, a[m])
        if borrowed <= room:
            break
    else:
        raise JoinError("no frame near the middle where the reservoir fits")

    # The bytes b[k] borrows: the last `borrowed` bytes of the second half's main data before
    # it, laid into the last `borrowed` bytes of the first half's main data before a[m].
    before = _main_data(second, [b[i] for i in range(k - BACK, k)])
    lead = b"".join(_read(second, offset, length) for offset, length in before)
    if len(lead) < borrowed:
        raise JoinError("the reservoir reaches further back than the overlap")
    tail = {}  # offset in `first` -> bytes to put there
    need = lead[len(lead) - borrowed :] if borrowed else b""
    for offset, length in reversed(_main_data(first, [a[i] for i in range(m - BACK, m)])):
        if not need:
            break
        take = min(len(need), length)
        tail[offset + length - take] = need[len(need) - take :]
        need = need[: len(need) - take]
    if need:
        raise JoinError("the reservoir reaches further back than the overlap")

    info = bytearray(_read(first, info_at, a_start - info_at))
    tag = 4 + _side_info(bytes(info[:4]))  # where "Info" (or "Xing") starts
    if bytes(info[tag : tag + 4]) not in (b"Info", b"Xing"):
        raise JoinError("no Info frame")
    if int.from_bytes(info[tag + 4 : tag + 8], "big") != 0x0F:  # frames, size, seek table, quality
        raise JoinError("an Info frame laid out otherwise")
    second_tag = _read(second, second_info + tag, 160)  # its Info frame is as long
    if second_tag[:4] not in (b"Info", b"Xing"):
        raise JoinError("no Info frame in the second half")
    second.seek(0, 2)
    second_end = second.tell()  # ffmpeg writes no ID3v1 tag at the end
    count = m + int.from_bytes(second_tag[8:12], "big") - k
    size = len(info) + (a[m][0] - a_start) + (second_end - b[k][0])
    info[tag + 8 : tag + 12] = count.to_bytes(4, "big")
    info[tag + 12 : tag + 16] = size.to_bytes(4, "big")
    # The LAME tag's encoder delay and padding: the joined stream ends as the second half does.
    info[tag + 141 : tag + 144] = second_tag[141:144]
    info[tag + 148 : tag + 152] = size.to_bytes(4, "big")

    out.write(info)
    _copy(first, a_start, a[m][0], out, tail)
    _copy(second, b[k][0], second_end, out, {})


def _copy(source: BinaryIO, start: int, end: int, out: BinaryIO, patches: dict[int, bytes]) -> None:
    """Copy source[start:end] to `out` in pieces, with `patches` (offset -> bytes) laid over."""
    position = start
    for at in sorted(patches) + [end]:
        while position < at:
            source.seek(position)
            piece = source.read(min(1 << 20, at - position))
            out.write(piece)
            position += len(piece)
        if at in patches:
            out.write(patches[at])
            position += len(patches[at])
