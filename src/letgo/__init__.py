"""letgo: offline voice-guided meditations on release and self-completeness."""

__version__ = "0.1.0"
