"""Every setting of a session, declared once, and the layers that set them.

A setting is one `Setting` entry in `SETTINGS`. Its name is the same everywhere: the key in
config.toml (under its `table`), in a series plan's [defaults] and [[sessions]], the column of
a listener CSV, and the keyword argument of the Python API; the CLI's option is made from it
too (the CLI spells the flag). Its default is the field of the same name in the dataclass it
lands in (`VoiceSettings`, `PlanSettings`, `MixSettings`, `ExportSettings` or `Request`), so
the default is written once, with its docstring, where the code that uses it reads it.

To add a setting:

1. add the field, with its default and a docstring, to the dataclass that the code using it
   reads (settings.py, engines.VoiceSettings, or `Request` below);
2. add one `Setting(...)` to `SETTINGS`: name, kind, lands_in, table, help, and its range
   (`low`/`high`) or `choices`.

Nothing else: the options (render and series build take every setting; script, show and
sample those of the voice and pacing tables), the config.toml key, the plan key, the CSV
column, the checks, the freshness key and the tests (tests/test_settings.py walks `SETTINGS`)
all follow. A flag spelled other than --the-name-with-dashes goes in cli.FLAGS.

Values come in layers, each overriding the one below it:

    built-in defaults < config.toml < plan [defaults] < plan session < listener row < flags

(the Python API's keyword arguments stand where the flags do). Each layer is checked as it is
read; an error names the layer and the place (`config.toml: [pacing] sentence_gap = -1: ...`,
`plan.toml: session 3: minutes = 0: ...`, `listeners.csv row 12, column rate = 'x': ...`).
Errors raised later by the library name the setting (`SettingError.setting`), and are told
where the value came from by `located`. Only the CLI (letgo.cli) knows the flags.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from letgo.errors import SettingError
from letgo.file import formats
from letgo.settings import groups
from letgo.settings.groups import ExportSettings, MixSettings, PlanSettings
from letgo.voice.engines import DEFAULT_ENGINE, ENGINES, VoiceSettings

#: Longer than this is almost surely a typo (12 hours covers a night's sleep).
MAX_MINUTES = 720.0


@dataclass(frozen=True)
class Request:
    """Everything that decides what a session sounds like."""

    template: str
    variables: Mapping[str, str] = field(default_factory=dict)
    minutes: float | None = None
    """Length of the session; None for the template's own."""
    engine: str = DEFAULT_ENGINE
    """The speech engine: piper (neural, the default wherever it is installed), pyttsx3
    (light, always there: the default where Piper is not) or fake (tests)."""
    voice: VoiceSettings = VoiceSettings()
    plan: PlanSettings = PlanSettings()
    mix: MixSettings = MixSettings()
    export: ExportSettings = ExportSettings()
    template_dirs: tuple[str, ...] = ()
    pronunciations: tuple[str, ...] = ()
    """Pronunciation files applied before the user's own and the built-in one."""
    cache: bool = True
    """Keep and reuse spoken sentences in the synthesis cache."""
    cache_dir: str | None = None
    """The cache folder; None for $LETGO_CACHE_DIR or the user cache folder."""
    verify: bool = False
    """A sentence that fails the speech check twice (see `letgo.voice.verify`) stops the
    render with an error, instead of a warning: for series that must be right."""
    nearest: bool = False
    """A length outside what the template can hold becomes the nearest one it can hold (its
    shortest, to the tenth of a minute, or its longest) instead of an error: what `--minutes`
    means on `letgo series build`, where one length meets many templates (a quick draft)."""
    origins: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    """(setting, place) for each value a layer set, so a later error can say where it came
    from; not part of what the session sounds like."""

    @property
    def engine_chosen(self) -> bool:
        """Whether a layer chose the engine (else it is the built-in default)."""
        return any(name == "engine" for name, _ in self.origins)

    def settings(self) -> dict[str, Any]:
        """Every declared setting's value, by name."""
        return {s.name: getattr(self._holder(s), s.name) for s in SETTINGS}

    def _holder(self, setting: Setting):
        return self if setting.lands_in is Request else getattr(self, HOLDERS[setting.lands_in])


#: The Request field holding each settings dataclass.
HOLDERS = {
    VoiceSettings: "voice",
    PlanSettings: "plan",
    MixSettings: "mix",
    ExportSettings: "export",
}

Paths = tuple  # a setting of this kind is a list of file paths


@dataclass(frozen=True)
class Setting:
    """One setting: how it is named, typed, bounded and explained, and where it lands."""

    name: str
    kind: type
    """int, float, str, bool or Paths."""
    lands_in: type
    """The dataclass with a field `name` holding the default."""
    table: str
    """Its table in config.toml; the CLI groups options by it too."""
    help: str
    low: float | None = None
    high: float | None = None
    above: bool = False
    """`low` itself is not allowed (a length must be more than 0)."""
    choices: tuple[str, ...] = ()
    file: bool = False
    """The value may be a file's path: written relative in a file (config.toml, a plan), it is
    taken from that file's folder. Paths settings always are."""
    form: tuple[Callable[[str], bool], str, str] | None = None
    """For text: (whether a value is well formed, what it must be in words, an example), e.g.
    a bitrate."""
    follows_engine: bool = False
    """Belongs to the engine chosen in the same layer: a higher layer choosing another engine
    drops it (config.toml's Piper voice is no voice for --engine pyttsx3)."""

    @property
    def default(self) -> Any:
        return next(f.default for f in fields(self.lands_in) if f.name == self.name)

    @property
    def optional(self) -> bool:
        """None is allowed: it means 'not set' (the voice's own pitch, a random offset...)."""
        return self.default is None

    def check(self, value: Any) -> Any:
        """`value` as this setting holds it; a SettingError (place to be filled) if it is not
        one."""
        if value is None and self.optional:
            return None
        if self.kind is Paths:
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list | tuple) or not all(isinstance(p, str) for p in items):
                raise self.error(value, "must be a file path or a list of them")
            return tuple(items)
        if self.kind is bool:
            if not isinstance(value, bool):
                raise self.error(value, f"must be {KIND_NAMES[bool]}")
            return value
        if self.kind in (int, float):
            value = self._number(value)
        if not isinstance(value, self.kind) or isinstance(value, bool):
            raise self.error(value, f"must be {KIND_NAMES[self.kind]}")
        return self._within(value)

    def _within(self, value: Any) -> Any:
        """`value`, of this setting's kind, if it is one this setting takes."""
        if self.form and not self.form[0](value):
            raise self.error(value, f"must be {self.form[1]}")
        if self.choices and value not in self.choices:
            raise self.error(value, f"must be one of: {', '.join(self.choices)}")
        if self.low is not None and (value < self.low or (self.above and value == self.low)):
            raise self.error(value, self.range_text())
        if self.high is not None and value > self.high:
            raise self.error(value, self.range_text())
        return value

    def _number(self, value: Any) -> Any:
        """A number of any numeric type (numpy's, Decimal, Fraction) as this setting's int or
        float; NaN and infinities are refused (they pass every comparison with a range)."""
        if isinstance(value, bool) or not isinstance(value, numbers.Number | Decimal):
            return value  # refused by the caller as not a number
        if self.kind is int:
            if isinstance(value, numbers.Integral):
                return int(value)
            if isinstance(value, Decimal) and value.is_finite() and value == int(value):
                return int(value)
            return value  # 2.5 is not a whole number: refused by the caller
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            raise self.error(value, "must be a number") from None
        if not math.isfinite(number):
            raise self.error(value, "must be a number (not NaN or infinite)")
        return number

    def from_folder(self, value: Any, base: Path) -> Any:
        """`value` written in a file in `base`: relative paths are taken from there."""
        if self.kind is Paths:
            return tuple(str(base / Path(p).expanduser()) for p in value)
        if self.file and value is not None and (base / Path(value).expanduser()).is_file():
            return str(base / Path(value).expanduser())
        return value

    def parse(self, text: str) -> Any:
        """A value typed as text (a CSV cell): numbers are read as numbers."""
        if self.kind in (int, float):
            try:
                return self.kind(text)
            except ValueError:
                raise self.error(text, f"must be {KIND_NAMES[self.kind]}") from None
        if self.kind is bool:
            truth = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
            if text.strip().lower() not in truth:
                raise self.error(text, f"must be {KIND_NAMES[bool]}")
            return truth[text.strip().lower()]
        return text

    def range_text(self) -> str:
        """'must be from 60 to 400', 'must be more than 0 and at most 720', 'must be at least 0'."""
        if self.low is not None and self.high is not None and not self.above:
            return f"must be from {self.low:g} to {self.high:g}"
        low = (
            None
            if self.low is None
            else f"{'more than' if self.above else 'at least'} {self.low:g}"
        )
        high = None if self.high is None else f"at most {self.high:g}"
        return "must be " + " and ".join(part for part in (low, high) if part)

    def error(self, value: Any, problem: str) -> SettingError:
        return SettingError(self.name, value, problem)


#: A bitrate every lossy encoder letgo uses takes: 8k to 512k.
BITRATE = (
    lambda text: (bits := groups.bits_per_second(text)) is not None and 8000 <= bits <= 512_000,
    "a bitrate from 8k to 512k, such as 128k",
    "96k",
)
KIND_NAMES = {
    int: "a whole number",
    float: "a number",
    str: "text",
    bool: "true or false",
    Paths: "a list of file paths",
}


def _voice(name, kind, help, **limits) -> Setting:
    return Setting(name, kind, VoiceSettings, "voice", help, **limits)


def _pacing(name, kind, help, **limits) -> Setting:
    return Setting(name, kind, PlanSettings, "pacing", help, **limits)


def _sound(name, kind, help, **limits) -> Setting:
    return Setting(name, kind, MixSettings, "sound", help, **limits)


#: Every setting of a session, in the order `--help` lists them.
def _one_of(names: Iterable[str], last: str = "or") -> str:
    """'a, b or c'."""
    *rest, final = names
    return f"{', '.join(rest)} {last} {final}" if rest else final


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "minutes",
        float,
        Request,
        "pacing",
        "Length of the session; silences stretch or shrink to fit. Default: the "
        "template's own length.",
        low=0,
        above=True,
        high=MAX_MINUTES,
    ),
    Setting(
        "engine",
        str,
        Request,
        "voice",
        "Speech engine: piper (neural, from letgo[neural]; the default where installed) or "
        "pyttsx3 (light, always there).",
        choices=ENGINES,
    ),
    _voice(
        "voice",
        str,
        "Voice id or name (see 'letgo voices'); for piper also a path to a "
        ".onnx voice. Default: the engine's own.",
        follows_engine=True,
    ),
    _voice("rate", int, "pyttsx3 speaking rate.", low=60, high=400),
    _voice(
        "pitch",
        int,
        "pyttsx3 (eSpeak) pitch. Default: the voice's own.",
        low=0,
        high=100,
        follows_engine=True,
    ),
    _voice("length_scale", float, "piper pace: above 1 is slower.", low=0.3, high=3.0),
    _voice("noise_scale", float, "piper liveliness.", low=0.0, high=2.0),
    _voice("noise_w_scale", float, "piper rhythm variation.", low=0.0, high=2.0),
    Setting(
        "verify",
        bool,
        Request,
        "voice",
        "A sentence that fails the speech check twice is an error, not a warning.",
    ),
    Setting(
        "pronunciations",
        Paths,
        Request,
        "voice",
        "A pronunciation file (TOML, [plain] and [regex]); applied before your config "
        "folder's and the built-in one.",
    ),
    _pacing("sentence_gap", float, "Seconds of silence after a sentence.", low=0.0, high=30.0),
    _pacing("paragraph_gap", float, "Seconds of silence after a paragraph.", low=0.0, high=60.0),
    _pacing(
        "phrase_gap",
        float,
        "Shortest pause at a comma, semicolon, colon or dash inside "
        "a sentence, in seconds (0 keeps the engine's own).",
        low=0.0,
        high=5.0,
    ),
    _pacing(
        "hold_split",
        float,
        "Longest silence a hold() keeps, in seconds: stretched past "
        "it, the hold is split and its return cues are said between the parts.",
        low=30.0,
        high=3600.0,
    ),
    _sound(
        "background",
        str,
        "Background: pink, brown, rain, ocean, drone, binaural, none "
        "(see 'letgo backgrounds'), or the path of an audio file to loop.",
        file=True,
    ),
    _sound(
        "background_db",
        float,
        "Background loudness relative to the voice, in dB.",
        low=-60.0,
        high=0.0,
    ),
    _sound(
        "background_offset",
        float,
        "Seconds into a background file to start from. Default: random.",
        low=0.0,
    ),
    _sound(
        "beat",
        float,
        "Binaural beat frequency in Hz (e.g. 6 for theta, 10 for alpha).",
        low=0.0,
        above=True,
        high=40.0,
    ),
    _sound(
        "duck_db", float, "How far the background dips under speech, in dB.", low=0.0, high=40.0
    ),
    _sound(
        "duck_attack",
        float,
        "Seconds the background takes to dip before speech.",
        low=0.0,
        high=10.0,
    ),
    _sound(
        "duck_release",
        float,
        "Seconds the background takes to rise again after speech.",
        low=0.0,
        high=30.0,
    ),
    _sound(
        "loudness",
        float,
        "Loudness target (integrated LUFS), e.g. -23. Default: spoken "
        "word's standard, -19 for a mono file and -16 for stereo.",
        low=-40.0,
        high=-6.0,
    ),
    Setting(
        "format",
        str,
        ExportSettings,
        "file",
        f"File format: {_one_of(f.label for f in formats.FORMATS.values())}. "
        "Default: the output's extension, else mp3.",
        choices=formats.NAMES,
    ),
    Setting(
        "bitrate",
        str,
        ExportSettings,
        "file",
        f"Bitrate for {_one_of((f.label for f in formats.FORMATS.values() if f.lossy), 'and')}, "
        "e.g. 128k.",
        form=BITRATE,
    ),
    Setting(
        "captions",
        str,
        ExportSettings,
        "file",
        "Captions beside the file: none, sentence (a VTT and an SRT) or word (the VTT "
        "times every word). Default: none for render; a series always has them, by the word.",
        choices=groups.CAPTIONS,
    ),
)
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
TABLES: dict[str, tuple[str, ...]] = {}
for _s in SETTINGS:
    TABLES.setdefault(_s.table, ())
    TABLES[_s.table] += (_s.name,)


def find(name: str, place: str) -> Setting:
    """The setting called `name`; a SettingError at `place` listing them all otherwise."""
    if name in BY_NAME:
        return BY_NAME[name]
    import difflib

    close = difflib.get_close_matches(name, BY_NAME, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(BY_NAME)}"
    raise SettingError(name, None, f"no such setting; {hint}", place=place)


# --- layers ------------------------------------------------------------------------------------

Place = Callable[[str, Any], str]
"""(setting, value) -> where it was written, e.g. "config.toml: [voice] rate = 130"."""


@dataclass(frozen=True)
class Layer:
    """Checked values from one source, and where each was written."""

    values: Mapping[str, Any]
    places: Mapping[str, str]

    @classmethod
    def read(
        cls, given: Mapping[str, Any], place: Place, text: bool = False, base: Path | None = None
    ) -> Layer:
        """Check `given` (name -> value; None and, for `text`, '' mean 'not set here').
        `text` values are typed text (a CSV row) and are parsed first; relative paths are
        taken from the folder `base` (that of the file they were written in)."""
        values, places = {}, {}
        for name, value in given.items():
            if value is None or (text and value == ""):
                continue
            where = place(name, value)
            setting = find(name, where)
            try:
                values[name] = setting.check(setting.parse(value) if text else value)
                if base is not None:
                    values[name] = setting.from_folder(values[name], base)
            except SettingError as exc:
                raise exc.at(where) from None
            places[name] = where
        return cls(values, places)


def combine(layers: Iterable[Layer]) -> tuple[dict[str, Any], dict[str, str]]:
    """The layers applied lowest first: each value and where it came from."""
    values: dict[str, Any] = {}
    places: dict[str, str] = {}
    for layer in layers:
        engine = values.get("engine", BY_NAME["engine"].default)
        if layer.values.get("engine", engine) != engine:  # voice and pitch go with the old one
            for setting in SETTINGS:
                if setting.follows_engine and setting.name not in layer.values:
                    values.pop(setting.name, None)
                    places.pop(setting.name, None)
        values.update(layer.values)
        places.update(layer.places)
    return values, places


def build(
    template: str,
    layers: Iterable[Layer],
    variables: Mapping[str, str] | None = None,
    template_dirs: Iterable[str] = (),
    **extra,
) -> Request:
    """A Request from layered settings; `extra` sets Request fields that are not settings
    (cache, cache_dir)."""
    values, places = combine(layers)
    grouped: dict[type, dict[str, Any]] = {}
    for name, value in values.items():
        grouped.setdefault(BY_NAME[name].lands_in, {})[name] = value
    own = grouped.pop(Request, {})
    parts = {HOLDERS[kind]: kind(**given) for kind, given in grouped.items()}
    return Request(
        template=template,
        variables=dict(variables or {}),
        template_dirs=tuple(str(d) for d in template_dirs),
        **own,
        **parts,
        **extra,
        origins=tuple(places.items()),
    )


def keyword(name: str, value: Any) -> str:
    """Where a Python caller's keyword argument was written: `rate=130`."""
    return f"{name}={value!r}"


def make(
    template: str,
    settings: Mapping[str, Any],
    variables: Mapping[str, str] | None = None,
    template_dirs: Iterable[str] = (),
    place: Place = keyword,
    **extra,
) -> Request:
    """A Request for one session: config.toml's settings under `settings` (the flags, or the
    API's keyword arguments; None means not given), each checked where it was written."""
    from letgo.settings.config import settings_layer

    return build(
        template, [settings_layer(), Layer.read(settings, place)], variables, template_dirs, **extra
    )


@contextmanager
def located(request: Request) -> Iterator[None]:
    """A SettingError raised inside says where its setting's value came from."""
    try:
        yield
    except SettingError as exc:
        place = dict(request.origins).get(exc.setting)
        if place and not exc.placed:
            raise exc.at(place) from None
        raise
