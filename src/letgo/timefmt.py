"""Times as letgo shows them: every way a number of seconds is written for people, in one place.

- `clock`: 'm:ss.s', the script listing and `letgo show` (12:00.0)
- `clock_whole`: 'm:ss', whole seconds cut, the player page and a series' time left (12:00)
- `length`: 'M min SS s', lengths in messages (12 min 00 s)
- `stamp`: 'hh:mm:ss.mmm', caption cues (WebVTT '.', SubRip ',')
"""

from __future__ import annotations


def clock(seconds: float) -> str:
    """'m:ss.s', rounded before splitting so 719.97 s reads 12:00.0, not 11:60.0."""
    minutes, tenths = divmod(round(seconds * 10), 600)
    return f"{minutes}:{tenths / 10:04.1f}"


def clock_whole(seconds: float) -> str:
    """'m:ss' of the whole seconds in `seconds` (59.9 s reads 0:59)."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def length(seconds: float) -> str:
    """'M min SS s', rounded to the second."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def stamp(seconds: float, separator: str = ".") -> str:
    """'hh:mm:ss' and milliseconds after `separator`, rounded to the millisecond; never below
    zero."""
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"
