"""letgo from Python: a session as an object, and its sound as pydub AudioSegments.

    >>> import letgo
    >>> s = letgo.Session("letting-go", minutes=10, variables={"name": "Sam"})
    >>> print(s.script)                # the script with its timings, as `letgo script` shows it
    >>> s.render("sam.mp3")            # what `letgo render` does
    >>> seg = s.to_segment()           # the whole session as one AudioSegment
    >>> for block in s.segments():     # or block by block, in constant memory
    ...     pass

Keyword arguments are letgo's settings, by the names config.toml uses (`request.SETTINGS`:
minutes, engine, voice, rate, background, loudness, format...). They are layered over
config.toml as the command line's flags are and checked the same way, and errors are letgo's
own exceptions (`letgo.LetgoError` and its family) with the messages the command line prints,
naming the keyword: `rate=5000: must be from 60 to 400`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from letgo import session
from letgo.errors import SettingError, UsageError, VariableError
from letgo.file import formats
from letgo.settings import request
from letgo.sound.backgrounds import Background, SegmentLoop
from letgo.voice import clips
from letgo.voice.clips import AudioSegment

__all__ = ["Session", "MOST_SEGMENT_MINUTES"]

#: The longest session `to_segment` makes: one AudioSegment holds the whole session in memory,
#: 16-bit at 44.1 kHz, 318 MB an hour in mono and 635 MB in stereo. Longer ones are for
#: `segments()` (or `render`), which hold a block at a time.
MOST_SEGMENT_MINUTES = 60.0
#: Sample width (bytes) of the segments handed out: 16-bit, as letgo's WAV files are.
WIDTH = 2


class Session:
    """One meditation session: a template, its variables and any of letgo's settings.

    `template` is a built-in name (see `letgo list`) or a template file's path; `variables`
    the template's variables by name; `templates` folders of your own templates (the
    command line's --templates); `cache=False` speaks every sentence afresh (--no-cache).
    Every other keyword is a setting, named as in config.toml: `minutes`, `engine`, `voice`,
    `rate`, `background` (a built-in name, an audio file's path, or a pydub AudioSegment,
    looped seamlessly like a file), `background_db`, `loudness`, `format`, ... Settings left
    out come from config.toml, else letgo's defaults.

    Bad input raises at once, with the command line's messages: an unknown template
    (`TemplateNotFound`), a variable it does not take (`VariableError`), a setting out of
    range or unknown (`SettingError`), a length it cannot fit (`FitError`, once spoken).

    Example:

        >>> import letgo
        >>> from pydub import AudioSegment
        >>> s = letgo.Session("whole", minutes=5, background=AudioSegment.from_file("bed.wav"))
        >>> s.render("whole.mp3").path
        PosixPath('whole.mp3')
    """

    def __init__(
        self,
        template: str | os.PathLike,
        *,
        variables: Mapping[str, str] | None = None,
        templates: Sequence[str | os.PathLike] = (),
        cache: bool = True,
        **settings: Any,
    ):
        if not isinstance(template, str | os.PathLike):
            raise UsageError(
                f"template must be a template's name or a file's path (text), got {template!r}"
            )
        self.template = os.fspath(template)
        self.variables = _variables(variables)
        if isinstance(templates, str | os.PathLike) or not all(
            isinstance(folder, str | os.PathLike) for folder in _items(templates, "templates")
        ):
            raise UsageError(f"templates must be a list of folders' paths, got {templates!r}")
        self.templates = tuple(os.fspath(folder) for folder in templates)
        self.cache = cache
        self.settings = dict(settings)
        made, _ = self._request(self.settings)
        self._composed = session.compose(made)  # the template, its variables and its length
        self._prepared: session.TimedScript | None = None

    def __repr__(self) -> str:
        given = "".join(f", {k}={v!r}" for k, v in self.settings.items())
        return f"letgo.Session({self.template!r}{given})"

    @property
    def script(self) -> session.TimedScript:
        """The script, spoken and laid out in time: `print(s.script)` shows what `letgo script`
        does; `.timeline` holds every sentence, bell and pause with its start, `.info` the
        template. Spoken once (and kept in the synthesis cache).

            >>> s = letgo.Session("letting-go", minutes=10)
            >>> round(s.script.timeline.duration)
            600
        """
        if self._prepared is None:
            made, _ = self._request(self.settings)
            with request.located(made):
                self._prepared = session.prepare(made, composed=self._composed)
        return self._prepared

    def render(
        self, path: str | os.PathLike, *, force: bool = False, **settings: Any
    ) -> session.Result:
        """Write the session to `path`, as `letgo render` does: complete or absent, tagged
        with its chapters; the format from the file's extension (or `format=`). A file that
        already holds this very session is kept unless `force`. Keywords are settings, over
        the session's own.

            >>> letgo.Session("letting-go").render("out.mp3", background="rain").path
            PosixPath('out.mp3')
        """
        path = Path(path).expanduser()
        settings = {**self.settings, **settings}
        settings["format"] = formats.choose(path, settings.get("format"))
        made, bed = self._request(settings)
        return session.render(made, path, reuse=not force, bed=bed)

    def to_segment(self, **settings: Any) -> AudioSegment:
        """The whole session as one pydub AudioSegment (16-bit, at the session's rate, mono
        or stereo as the background is): what `render("x.wav")` writes, sample for sample
        (`format` does not apply). At most MOST_SEGMENT_MINUTES long, since it is all held in
        memory: use `segments()` for longer.

            >>> seg = letgo.Session("letting-go", minutes=10).to_segment()
            >>> seg.duration_seconds
            600.0
            >>> (seg - 6).export("quieter.wav", format="wav")  # pydub from here on
        """
        made, bed = self._request(_as_pcm({**self.settings, **settings}))
        composed = session.compose(made)
        if composed.minutes is not None:
            _check_length(composed.minutes * 60)
        blocks = list(self._blocks(made, bed, composed, check=True))
        return AudioSegment(
            b"".join(block.raw_data for block in blocks),
            sample_width=WIDTH,
            frame_rate=blocks[0].frame_rate,
            channels=blocks[0].channels,
        )

    def segments(self, **settings: Any) -> Iterator[AudioSegment]:
        """The session as a run of AudioSegments, in order, each a couple of seconds long (the
        mixer's blocks): a session of any length, eight hours of sleep included, in constant
        memory. Joined they are exactly `to_segment()`.

            >>> for block in letgo.Session("sleep-release", minutes=480).segments():
            ...     player.write(block.raw_data)
        """
        made, bed = self._request(_as_pcm({**self.settings, **settings}))
        composed = session.compose(made)  # bad input raises here, not at the first block
        return self._blocks(made, bed, composed)

    # --- inside ----------------------------------------------------------------------------

    def _request(self, settings: Mapping[str, Any]) -> tuple[request.Request, Background | None]:
        """The request for `settings` over config.toml, and the AudioSegment bed to loop, if
        one was given."""
        settings = {name: _plain(name, value) for name, value in settings.items()}
        audio = settings.get("background")
        if isinstance(audio, AudioSegment):
            settings["background"] = _name(audio)
        made = request.make(
            self.template, settings, self.variables, self.templates, cache=self.cache
        )
        if not isinstance(audio, AudioSegment):
            return made, None
        with request.located(made):
            return made, SegmentLoop(audio, made.mix.sample_rate, offset=made.mix.background_offset)

    def _blocks(
        self,
        made: request.Request,
        bed: Background | None,
        composed: session.Composed,
        check: bool = False,
    ) -> Iterator[AudioSegment]:
        background = None
        try:
            with request.located(made):
                background = bed or session._background(made.mix)
                sound = session.mixed(made, background, composed=composed)
                if check:
                    _check_length(sound.prepared.timeline.duration)
                for block in sound.blocks():
                    yield clips.segment(block, sound.settings.sample_rate, width=WIDTH)
        finally:
            if background is not None:
                background.close()


def _as_pcm(settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` for sound handed out as PCM: mixed as for a WAV file (no room is made for
    a lossy encoder's change of level), so a segment is what `render("x.wav")` writes."""
    return {**settings, "format": "wav"}


def _variables(given: Mapping[str, Any] | None) -> dict[str, str]:
    """The template's variables as text: numbers are written out; anything else is an error."""
    values = {}
    if given is not None and not isinstance(given, Mapping):
        raise VariableError(
            f"variables must be a mapping of names to values (a dict), got {given!r}"
        )
    for name, value in (given or {}).items():
        if not isinstance(name, str):
            raise VariableError(f"a variable's name must be text, got {name!r}")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise VariableError(f"the value of '{name}' must be text, got {value!r}")
        values[str(name)] = str(value)
    return values


def _items(given: Any, what: str) -> list[Any]:
    """The items of a list-like argument; a UsageError for anything that is not one."""
    try:
        return list(given)
    except TypeError:
        raise UsageError(f"{what} must be a list, got {given!r}") from None


def _plain(name: str, value: Any) -> Any:
    """A keyword's value as a setting holds it: paths as text, an AudioSegment bed as it is."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, list | tuple):
        return tuple(os.fspath(v) if isinstance(v, os.PathLike) else v for v in value)
    if name == "background" and not isinstance(value, str | AudioSegment | None):
        raise SettingError(
            "background",
            value,
            "must be a built-in background's name, an audio file's path or a pydub AudioSegment",
            place=request.keyword(name, value),
        )
    return value


def _name(audio: AudioSegment) -> str:
    """What the request (its tags and freshness key) calls an AudioSegment bed: its shape and
    a hash of its sound, so another bed makes another file."""
    digest = hashlib.sha256(audio.raw_data).hexdigest()[:16]
    return (
        f"AudioSegment({audio.duration_seconds:.2f} s, {audio.channels} ch, "
        f"{audio.frame_rate} Hz, {8 * audio.sample_width}-bit, sha256 {digest})"
    )


def _check_length(seconds: float) -> None:
    if seconds > MOST_SEGMENT_MINUTES * 60 + 1e-6:
        size = seconds * 44100 * WIDTH * 2 / 1e6
        raise UsageError(
            f"to_segment() holds the whole session in memory, and this one is "
            f"{seconds / 60:.0f} minutes long (up to {size:,.0f} MB); it makes "
            f"sessions of at most {MOST_SEGMENT_MINUTES:g} minutes. Use "
            f"segments() to take it block by block in constant memory, or "
            f"render() to write it to a file"
        )
