"""Settings for one run: small frozen dataclasses, built per run and passed down."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlanSettings:
    """How speech, gaps and cues are laid out in time."""

    lead_in: float = 4.0
    """Seconds of background alone before the first sound."""
    tail: float = 8.0
    """Seconds of background after the last sound, fading out."""
    sentence_gap: float = 0.7
    """Silence after a sentence inside a paragraph."""
    paragraph_gap: float = 1.8
    """Silence after the last sentence of a paragraph."""
    bell_gap: float = 6.0
    """Time a bell is given before whatever follows it (its ring goes on underneath)."""


@dataclass(frozen=True)
class MixSettings:
    """How the timeline becomes sound."""

    sample_rate: int = 44100
    """Sample rate of the session, in Hz."""
    block_seconds: float = 2.0
    """Length of the blocks the mixer hands to the encoder; memory scales with this, not the session."""
    background: str = "pink"
    """A built-in background name, 'none', or a path to an audio file."""
    background_db: float = -20.0
    """Background level relative to the voice, in dB (before ducking)."""
    duck_db: float = 6.0
    """How far the background dips under speech, in dB."""
    duck_attack: float = 0.6
    """Seconds the background takes to dip before speech starts."""
    duck_release: float = 1.5
    """Seconds the background takes to rise again after speech."""
    duck_min_gap: float = 4.0
    """Gaps between speech shorter than this keep the background down."""
    fade_in: float = 3.0
    """Seconds of fade-in at the start of the file."""
    fade_out: float = 6.0
    """Seconds of fade-out at the end of the file."""
    voice_rms_db: float = -20.0
    """Level each speech clip is brought to (RMS, dBFS) so the voice stays steady."""
    limit_db: float = -1.5
    """Sample ceiling in dBFS; keeps the encoded file's true peak below -1 dBTP."""


@dataclass(frozen=True)
class ExportSettings:
    """How the mix is encoded."""

    format: str = "mp3"
    """Container and codec: mp3."""
    bitrate: str = "128k"
    """Encoder bitrate for lossy formats."""
