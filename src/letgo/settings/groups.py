"""Settings for one run: small frozen dataclasses, built per run and passed down."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class PlanSettings:
    """How speech, gaps and cues are laid out in time."""

    lead_in: float = 4.0
    """Seconds of background alone before the first sound."""
    tail: float = 8.0
    """Seconds of background after the last sound, fading out."""
    sentence_gap: float = 2.4
    """Silence after a sentence inside a paragraph: a teacher's pace comes from room between
    sentences, not from a slower voice (with phrase_gap, it keeps `letting-go` at about 111
    words a minute with Piper's length scale at 1.4: scripts/pace.py)."""
    paragraph_gap: float = 3.0
    """Silence after the last sentence of a paragraph."""
    phrase_gap: float = 0.8
    """The shortest pause at a comma, semicolon, colon or dash inside a sentence (the engine's
    own pause there is lengthened to it; 0 leaves it as the engine made it)."""
    bell_gap: float = 6.0
    """Time a bell is given before whatever follows it (its ring goes on underneath)."""
    hold_split: float = 100.0
    """A hold() stretched past this many seconds is split into equal parts with its return
    cues said between them, so no silence between spoken lines runs much past this."""


@dataclass(frozen=True)
class MixSettings:
    """How the timeline becomes sound."""

    sample_rate: int = 44100
    """Sample rate of the session, in Hz."""
    block_seconds: float = 2.0
    """Length of the blocks the mixer hands to the encoder.

    Memory scales with this, not with the session."""
    background: str = "pink"
    """A built-in background name (see `letgo backgrounds`), 'none', or a path to an audio file."""
    background_db: float = -20.0
    """Background loudness relative to the voice, in LU (dB), in pauses (before ducking); lowered
    further if needed so a session that is mostly pauses still measures the loudness target."""
    background_offset: float | None = None
    """Where a background file starts playing, in seconds; None for a random place."""
    beat: float = 6.0
    """Binaural beat frequency in Hz: the right ear's carrier is this much above the left's."""
    duck_db: float = 6.0
    """How far the background dips under speech, in dB."""
    duck_attack: float = 0.6
    """Seconds the background takes to dip before speech starts."""
    duck_release: float = 1.5
    """Seconds the background takes to rise again after speech."""
    duck_min_gap: float = 4.0
    """Gaps between speech shorter than this keep the background down."""
    fade_in: float = 3.0
    """Seconds the background takes to fade in at the start of the file."""
    fade_out: float = 6.0
    """Seconds of fade-out at the end of the file (never reaching back into speech)."""
    sleep_fade_out: float = 180.0
    """Fade-out for sleep meditations (templates with `sleep = true`): a long, slow ending."""
    loudness: float | None = None
    """Target integrated loudness of the file, LUFS (ITU-R BS.1770), e.g. -16, -19, -23; None
    for spoken word's standard by channel count (see `spoken_word_lufs`)."""
    true_peak: float = -1.0
    """Highest true peak allowed in the encoded file, dBTP."""
    peak_margin: float = 0.5
    """dB kept free under `true_peak` before encoding, for the lossy encoder's overshoot (MP3
    at 128k and 64k measures speech peaks lower than its input; for AAC see the format
    table's `overshoot`). What the bed adds under the voice is measured and kept free as well."""
    encoder_shift: float = 0.0
    """dB the mix is aimed above the target to make up for the encoder (see the format table's
    `level_shift`, letgo.file.formats)."""
    bell_db: float = -8.0
    """Loudness of a bell strike relative to the voice, in LU."""
    limit_db: float = -1.0
    """Last-resort sample ceiling in dBFS on the mix (levels are set so it rarely acts)."""


@dataclass(frozen=True)
class ExportSettings:
    """How the mix is encoded."""

    format: str = "mp3"
    """Container and codec: mp3, wav, flac, ogg (Opus) or m4a (AAC)."""
    bitrate: str = "128k"
    """Encoder bitrate for lossy formats."""
    captions: str | None = None
    """Captions written beside the file: none, sentence (a VTT and an SRT, a cue a sentence)
    or word (the VTT's cues also time each word). None: none for `render`, word for a series
    (a series always has its captions; there none is taken as sentence)."""


#: What `captions` may be (`ExportSettings.captions`).
CAPTIONS = ("none", "sentence", "word")


def spoken_word_lufs(channels: int) -> float:
    """The loudness spoken word is streamed at (AES TD1004.1.15-10): -16 LUFS for stereo and
    -19 LUFS for mono. A mono file plays in both ears and sounds about 3 dB louder than it
    meters, so the two sound equally loud: sessions of a series match whatever their channels."""
    return -16.0 if channels >= 2 else -19.0


def bits_per_second(text: str) -> int | None:
    """A bitrate as typed (`128k`, `96K`, `128000`) in bits per second; None if it is not one."""
    found = re.fullmatch(r"(\d{1,7})([kK]?)", text)
    if not found:
        return None
    return int(found[1]) * (1000 if found[2] else 1)
