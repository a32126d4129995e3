"""Finding meditation templates and rendering them, safely, into script markup.

A template is a Jinja file (``*.j2``) whose first block is a Jinja comment holding TOML::

    {#
    title = "Letting go in love"
    description = "One line on what this meditation is for."
    minutes = 12          # the default length
    max_minutes = 40      # the longest length the silences still carry well
    [variables.name]
    default = ""
    help = "Your first name, said once or twice; leave empty for none."
    #}

The first comment is the header only when it reads as one: some line in it starts with one of
the header keys and '=' (``title =``, ``minutes =``...) or with ``[variables.``. Any other
comment (``{# my morning practice #}``) is just a comment, and a template without a header is
fine: its variables are the names it uses (found by Jinja's own analysis), each empty unless
given.

Rendering happens in Jinja's sandbox: a template can use its variables, `minutes` (the
length of the session being made) and the helpers below, and nothing else of Python. A variable's
value is tidied and marked as words (`script.literal`), so whatever it holds is said as typed and
never read as markup.
"""

from __future__ import annotations

import difflib
import os
import re
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SecurityError

from letgo.errors import LetgoError, TemplateError, TemplateNotFound, VariableError
from letgo.file import reading
from letgo.words import script, speakable
from letgo.words.person import Person
from letgo.words.sandbox import LetgoSandbox, WorkLimit

SUFFIX = ".j2"
ENV_VAR = "LETGO_TEMPLATES"
_HEADER = re.compile(r"\A\s*\{#(?P<body>.*?)#\}", re.DOTALL)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: The keys a header may set; a first comment with a line `KEY =` for one of them is a header.
HEADER_KEYS = ("title", "description", "minutes", "max_minutes", "sleep", "variables")
_HEADER_LINE = re.compile(
    rf"^\s*(?:(?:{'|'.join(HEADER_KEYS)})\s*=|\[\s*variables\s*[.\]])", re.MULTILINE
)
#: The longest value a variable takes, in characters: a name or an intention, not a text.
MAX_VALUE = 500
#: Names every template sees and a header cannot declare as variables.
RESERVED = ("minutes",)


@dataclass(frozen=True)
class Variable:
    name: str
    default: str = ""
    help: str = ""
    required: bool = False
    kind: str = "text"
    """"text" (said as typed) or "person" (read as a person: `letgo.words.person.Person`)."""
    fallback: str = ""
    """For a person: what the template says when the value is empty ("this person" if none)."""


#: The kinds of variable a header may declare; a variable named `person` is a person unless
#: its header says otherwise.
KINDS = ("text", "person")


def _kind(name: str, spec: Mapping) -> str:
    return str(spec.get("kind", "person" if name == "person" else "text"))


@dataclass(frozen=True)
class TemplateInfo:
    """What a template says about itself, and where it was found."""

    name: str
    path: Path
    origin: str
    title: str
    description: str = ""
    minutes: float | None = None
    max_minutes: float | None = None
    variables: tuple[Variable, ...] = field(default_factory=tuple)
    sleep: bool = False
    header: bool = True
    """False for a template without a TOML header (its variables come from its own text)."""

    def variable_names(self) -> list[str]:
        return [v.name for v in self.variables]


def builtin_dir() -> Path:
    """The shipped templates: inside the installed package, or the checkout's top level."""
    packaged = Path(str(resources.files("letgo"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "templates"


def user_dirs(extra: Iterable[Path | str] = ()) -> list[tuple[Path, str]]:
    """User template folders, most important first: --templates, $LETGO_TEMPLATES, config."""
    found: list[tuple[Path, str]] = [(Path(p).expanduser(), "--templates") for p in extra]
    for part in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if part:
            found.append((Path(part).expanduser(), f"${ENV_VAR}"))
    found.append((user_template_dir(), "user"))
    return found


def user_template_dir() -> Path:
    """The user's own template folder in their config folder (where `letgo new` writes)."""
    import platformdirs

    return platformdirs.user_config_path("letgo") / "templates"


def header_text(text: str) -> str | None:
    """The TOML inside the template's first comment, if that comment is a header."""
    match = _HEADER.match(text)
    if match and _HEADER_LINE.search(match.group("body")):
        return match.group("body")
    return None


def header_data(text: str, source: str | None = None) -> dict:
    """The template's header as a dict ({} for none); a TemplateError when it is not TOML."""
    header = header_text(text)
    if header is None:
        return {}
    return reading.parse_toml(header, lambda exc: TemplateError(f"bad TOML header: {exc}", source))


def read_info(path: Path, origin: str) -> TemplateInfo:
    text = _read(path)
    header = header_text(text)
    meta_ = header_data(text, str(path))
    if header is not None:
        variables = []
        for name, spec in (meta_.get("variables") or {}).items():
            if not _NAME.match(name) or not isinstance(spec, dict):
                raise TemplateError(f"bad variable entry [variables.{name}]", str(path))
            if name in RESERVED:
                raise TemplateError(
                    f"[variables.{name}]: '{name}' is given to every template "
                    "(the session's length); choose another name",
                    str(path),
                )
            kind = _kind(name, spec)
            if kind not in KINDS:
                raise TemplateError(
                    f"[variables.{name}] kind = {kind!r}: a kind is one of {', '.join(KINDS)}",
                    str(path),
                )
            variables.append(
                Variable(
                    name,
                    str(spec.get("default", "")),
                    str(spec.get("help", "")),
                    bool(spec.get("required", False)),
                    kind,
                    str(spec.get("fallback", "")),
                )
            )
    else:
        variables = [
            Variable(name, kind=_kind(name, {})) for name in used_variables(text, str(path))
        ]
    name = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
    return TemplateInfo(
        name=name,
        path=path,
        origin=origin,
        title=str(meta_.get("title", name.replace("-", " ").capitalize())),
        description=str(meta_.get("description", "")),
        minutes=_number(meta_.get("minutes"), "minutes", path),
        max_minutes=_number(meta_.get("max_minutes"), "max_minutes", path),
        variables=tuple(variables),
        sleep=bool(meta_.get("sleep", False)),
        header=header is not None,
    )


def used_variables(text: str, source: str | None = None) -> list[str]:
    """The names a template reads but never sets, in order of first use: its variables when
    it has no header. Jinja's own analysis (`jinja2.meta`), less the helpers."""
    env = make_environment()
    try:  # the analysis compiles the template, which finds more mistakes (unknown filters)
        tree = env.parse(keep_text_line_breaks(text))
        free = meta.find_undeclared_variables(tree) - set(env.globals) - set(RESERVED)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"syntax error: {exc.message}", source, exc.lineno) from None
    ordered = [n.name for n in tree.find_all(nodes.Name) if n.name in free]
    return [name for name in dict.fromkeys(ordered) if _NAME.match(name)]


def _number(value, key: str, path: Path) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise TemplateError(f"'{key}' must be a positive number of minutes", str(path))
    return float(value)


def _read(path: Path) -> str:
    try:
        return reading.read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateNotFound(f"cannot read template {path}: {exc}") from None


class TemplateLibrary:
    """Built-in and user templates; a user template with a built-in's name wins."""

    def __init__(self, extra_dirs: Sequence[Path | str] = ()):
        self.dirs = user_dirs(extra_dirs) + [(builtin_dir(), "built-in")]

    def all(self) -> list[TemplateInfo]:
        """Every visible template, by name; shadowed ones are left out."""
        seen: dict[str, TemplateInfo] = {}
        for folder, origin in self.dirs:
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob(f"*{SUFFIX}")):
                name = path.name[: -len(SUFFIX)]
                if name not in seen:
                    try:
                        seen[name] = read_info(path, origin)
                    except LetgoError as exc:  # one broken file must not hide the others
                        seen[name] = TemplateInfo(
                            name, path, origin, title=name, description=f"cannot be read: {exc}"
                        )
        return sorted(seen.values(), key=lambda info: info.name)

    def locate(self, name: str) -> tuple[Path, str] | None:
        """Where the template called `name` is (its file and the folder's origin), or None."""
        if "/" in name:
            return None
        for folder, origin in self.dirs:
            candidate = folder / f"{name}{SUFFIX}"
            if candidate.is_file():
                return candidate, origin
        return None

    def find(self, name_or_path: str, paths: bool = True) -> TemplateInfo:
        """A template by built-in/user name, or (unless `paths` is False) a path to a
        template file."""
        located = self.locate(name_or_path)
        if located is not None:
            return read_info(*located)
        path = Path(name_or_path).expanduser()
        if paths and path.is_file():
            return read_info(path, "file")
        if paths and path.exists() and not path.is_dir():  # a FIFO or a device: never read
            return read_info(path, "file")
        names = [info.name for info in self.all()]
        close = _closest(name_or_path, names)
        hint = f"did you mean {', '.join(close)}?" if close else "run 'letgo list' to see them"
        what = "template or file" if paths else "template"
        raise TemplateNotFound(f"no {what} named '{name_or_path}'; {hint}")


# --- helpers a template can call; each returns script markup -------------------------------


def _seconds(value, what: str = "a pause", allow_zero: bool = False) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} needs a number of seconds, got {value!r}") from None
    if not (number > 0 or (allow_zero and number == 0)) or number > script.MAX_PAUSE:
        raise ValueError(
            f"{what} must be between 0 and {script.MAX_PAUSE:g} seconds, got {value!r}"
        )
    return f"{number:g}s"


def pause(seconds, flex: bool = False, min=None, weight=None) -> str:  # noqa: A002
    """A silence; ``flex=True`` lets it stretch or shrink to fit the length asked for."""
    parts = ["pause", _seconds(seconds)]
    if flex or min is not None or weight is not None:
        parts.append("flex")
    if min is not None:
        parts.append(f"min={_seconds(min, 'pause(min=...)', allow_zero=True)}")
        if float(min) > float(seconds):
            raise ValueError(f"pause({seconds}, min={min}): min is longer than the pause")
    if weight is not None:
        try:
            parts.append(f"weight={float(weight):g}")
        except (TypeError, ValueError):
            raise ValueError(f"pause(weight=...) needs a number, got {weight!r}") from None
        if float(weight) < 0:
            raise ValueError(f"pause(weight={weight}): weight must not be negative")
    return f"[{' '.join(parts)}]"


_pause = pause  # for helpers whose own argument is named `pause`


def hold(seconds, min=None, weight=None, cues=()) -> str:  # noqa: A002
    """A flexible silence that keeps guiding: stretched past the plan's split limit (100 s by
    default) it is cut into equal parts with `cues` said in turn between them; shorter, it is
    a plain flexible pause and no cue is said."""
    mark = pause(seconds, flex=True, min=min, weight=weight)[len("[pause") : -1]
    if isinstance(cues, str):
        cues = [cues]
    said = []
    for cue in cues:
        text = " ".join(str(cue).split())
        bad = next((c for c in "[]|<>" if c in text), None)
        if not text or bad:
            raise ValueError(
                f"hold(cues=...): each cue is a sentence with no '[', ']', '|', "
                f"'<' or '>'; got {str(cue)!r}"
            )
        said.append(text)
    return f"[hold{mark}{''.join(f' | {c}' for c in said)}]"


def _percent(value, what: str) -> str:
    try:
        return f"{float(value) * 100:+g}%" if what == "pitch" else f"{float(value) * 100:g}%"
    except (TypeError, ValueError):
        raise ValueError(f"prosody({what}=...) needs a number, got {value!r}") from None


def prosody(rate=None, volume=None, pitch=None, caller=None) -> str:
    """`{% call prosody(rate=0.85, volume=-3) %}Whole sentences.{% endcall %}`: the passage
    slower (rate 0.85 = 85%), softer (volume in dB) or lower (pitch -0.1 = 10% lower)."""
    if caller is None:
        raise ValueError("prosody() wraps text: {% call prosody(rate=0.85) %}...{% endcall %}")
    attrs = []
    if rate is not None:
        attrs.append(f'rate="{_percent(rate, "rate")}"')
    if volume is not None:
        try:
            attrs.append(f'volume="{float(volume):+g}dB"')
        except (TypeError, ValueError):
            raise ValueError(f"prosody(volume=...) needs a number of dB, got {volume!r}") from None
    if pitch is not None:
        attrs.append(f'pitch="{_percent(pitch, "pitch")}"')
    if not attrs:
        raise ValueError("prosody() needs rate=, volume= or pitch=")
    return f"<prosody {' '.join(attrs)}>{caller()}</prosody>"


def repeat(text=None, pause=None, min=3, caller=None) -> str:  # noqa: A002
    """A phrase for the listener to say after the voice: its own sentence, and with `pause=N`
    a flexible pause after it that never drops below `min` seconds (3 by default)."""
    said = caller() if caller is not None else text
    if said is None or not str(said).strip():
        raise ValueError(
            'repeat() needs the phrase: repeat("I let you go.") or '
            "{% call repeat() %}...{% endcall %}"
        )
    mark = f"<repeat>{str(said).strip()}</repeat>"
    if pause is not None:
        mark += " " + _pause(pause, flex=True, min=min)
    return mark


def bell() -> str:
    return "[bell]"


def section(title: str) -> str:
    title = " ".join(str(title).split())
    if not title:
        raise ValueError("section() needs a title")
    return f"## {title}"


#: Named sets of breath cues, one (in, hold, out) per round; later rounds reuse the last.
#: Each first hold cue leaves the hold optional: not every body can hold a breath today. Every
#: cue is five words or fewer, so sets can be shared without the library repeating itself.
BREATH_CUES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "gentle": (
        ("Breathe in slowly.", "Hold, only if it's comfortable.", "And let it go."),
        ("Again, in.", "Resting.", "And out."),
        ("One more, in.", "Rest at the top.", "And all the way out."),
    ),
    "wave": (
        ("In, like a slow wave.", "Rest there, if that's easy.", "And let it roll out."),
        ("In, with the wave.", "Resting.", "And back out."),
        ("Rising.", "Still.", "Falling."),
    ),
    "sigh": (
        ("Take a full breath in.", "Hold it, if you like.", "Now sigh it out."),
        ("In, a little deeper.", "A short hold.", "And sigh it out."),
        ("Once more, in.", "Hold.", "Let it all fall away."),
    ),
    "ground": (
        ("Breathe in, feeling the ground.", "Hold, if it's easy.", "Out, into the ground."),
        ("In.", "Steady.", "And out."),
        ("In again.", "Resting.", "Slowly out."),
    ),
    "nose": (
        ("In through the nose.", "Hold softly, or none at all.", "Out through the mouth."),
        ("Nose, in.", "Hold.", "Mouth, out, slowly."),
        ("And in.", "Rest.", "And out."),
    ),
    "night": (
        ("Breathe in, slow and easy.", "Rest there, if that's comfortable.", "Out, long and slow."),
        ("In.", "Resting.", "And out, slower still."),
        ("In.", "Rest.", "And let it go."),
    ),
    "count": (
        ("In, two, three, four.", "Hold, if you like.", "Out, slowly, all the way."),
        ("In, counting to four.", "Hold.", "Out, counting to six."),
        ("And again, in.", "Wait.", "And out, unhurried."),
    ),
    "belly": (
        ("Breathe into your belly.", "Hold, only if it's easy.", "Let the belly soften."),
        ("Belly rising.", "Resting there.", "Belly falling."),
        ("Rising again.", "Still.", "And softening."),
    ),
    "cool": (
        ("Cool air in.", "Hold, if that suits you.", "Warm air out."),
        ("Cool, coming in.", "A moment.", "Warm, going out."),
        ("In.", "Hold.", "Out."),
    ),
    "shoulders": (
        (
            "Breathe in, shoulders lifting.",
            "Hold there, if comfortable.",
            "Let them drop, breathing out.",
        ),
        ("In, and lift.", "Hold.", "And drop."),
        ("Once more, in.", "Rest.", "And let them fall."),
    ),
    "still": (
        ("Let a breath come in.", "Rest, only if easy.", "Let it leave."),
        ("Another, in.", "Stillness.", "And out again."),
        ("In.", "Quiet.", "Out."),
    ),
    "warm": (
        ("A warm breath in.", "Keep it, if you like.", "And give it back."),
        ("Warmth, coming in.", "Resting.", "And going out."),
        ("In, warm.", "Held.", "Out, soft."),
    ),
}


def breath(
    times: int = 3, inhale: float = 4, hold: float = 0, exhale: float = 6, cues: str = "gentle"
) -> str:
    """Guided breaths: a spoken cue for each phase, then silence as long as the phase.

    `cues` names one of `BREATH_CUES`, so scripts need not all breathe in the same words."""
    if not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= 20:
        raise ValueError(f"breath(times=...) must be a whole number from 1 to 20, got {times!r}")
    if not isinstance(cues, str) or cues not in BREATH_CUES:
        raise ValueError(f"breath(cues={cues!r}) is not a cue set; known: {', '.join(BREATH_CUES)}")
    inhale_mark = _seconds(inhale, "breath(inhale=...)")
    exhale_mark = _seconds(exhale, "breath(exhale=...)")
    hold_mark = _seconds(hold, "breath(hold=...)", allow_zero=True)
    rounds = BREATH_CUES[cues]
    lines = []
    for round_ in range(times):
        breathe_in, hold_word, breathe_out = rounds[min(round_, len(rounds) - 1)]
        lines.append(f"{breathe_in} [pause {inhale_mark}]")
        if float(hold):
            lines.append(f"{hold_word} [pause {hold_mark}]")
        lines.append(f"{breathe_out} [pause {exhale_mark}]")
    return "\n".join(lines)


def capfirst(value) -> str:
    """A name as people write it: the first letter upper-case, the rest as typed (McKenzie)."""
    text = str(value)
    return text[:1].upper() + text[1:]


def digits(value) -> str:
    """A value whose numbers are read digit by digit, as a phone number is: `{{ helpline|digits }}`
    says "116 123" as "one one six, one two three" (and shows it as typed)."""
    return speakable.mark_digits(str(value))


def sentence(value) -> str:
    """A value said as a whole sentence: its full stop put back (values lose one trailing full
    stop when tidied), unless it already ends in '?', '!', '…' or '...'."""
    text = str(value)
    return text if not text or text.endswith(("?", "!", "…", ".", ":")) else text + "."


HELPERS = {
    "pause": pause,
    "hold": hold,
    "bell": bell,
    "section": section,
    "breath": breath,
    "prosody": prosody,
    "repeat": repeat,
}
#: Jinja's own globals a template may keep; cycler, joiner and lipsum are left out.
SAFE_GLOBALS = ("range", "dict", "namespace")
#: The longest rendered script, in characters (a night's sleep session is a few thousand).
MAX_SCRIPT = 1_000_000


def undefined_hint(name: str, declared: Iterable[str] = ()) -> str:
    """What to do about a name a template uses but nothing defines: a helper or variable it
    is probably a typo of (`pase` -> pause()), else how to declare it."""
    helper = difflib.get_close_matches(name, HELPERS, n=1, cutoff=0.6)
    if helper:
        return f"did you mean {helper[0]}()?"
    variable = difflib.get_close_matches(name, list(declared), n=1, cutoff=0.75)
    if variable:
        return f"did you mean '{variable[0]}'?"
    if not _NAME.match(name):
        return "define it under [variables] in the header"
    return f"declare it with [variables.{name}] in the header"


def make_environment() -> LetgoSandbox:
    """A fresh sandboxed environment per run (no shared, mutable Jinja state); templates
    cannot load files."""
    env = LetgoSandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals = {name: env.globals[name] for name in SAFE_GLOBALS}
    env.globals.update(HELPERS)
    env.filters["capfirst"] = capfirst
    env.filters["digits"] = digits
    env.filters["sentence"] = sentence
    env.install_filters()
    return env


def resolve_variables(info: TemplateInfo, given: Mapping[str, str]) -> dict[str, str]:
    """Defaults overlaid with the user's values, each tidied (`script.tidy`); unknown names,
    missing required ones and values over `MAX_VALUE` characters are errors."""
    known = info.variable_names()
    for key in given:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else f"it takes: {', '.join(known)}"
                if known
                else "it takes none"
            )
            raise VariableError(f"template '{info.name}' has no variable '{key}'; {hint}")
    values = {v.name: script.tidy(v.default) for v in info.variables}
    values.update(
        {k: v if isinstance(v, script.Markup) else script.tidy(v) for k, v in given.items()}
    )
    for key, value in values.items():
        if len(value) > MAX_VALUE and not isinstance(value, script.Markup):
            raise VariableError(
                f"the value of '{key}' is {len(value):,} characters long; a value "
                f"is a name or a sentence, at most {MAX_VALUE} characters"
            )
    missing = [v.name for v in info.variables if v.required and not values[v.name]]
    if missing:
        raise VariableError(
            f"template '{info.name}' needs {', '.join(missing)}; give it with -v {missing[0]}=..."
        )
    return values


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """['name=Sam', 'person=Alex'] -> dict, with a clear error for anything else."""
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not _NAME.match(key.strip()):
            raise VariableError(f"'{pair}' is not NAME=VALUE (e.g. -v name=Sam)")
        values[key.strip()] = value
    return values


_TAG_ONLY = re.compile(r"^\s*(\{%(?:(?!%\}).)*%\}\s*)+$")


def keep_text_line_breaks(source: str) -> str:
    """A line holding only a {% %} tag vanishes (trim_blocks), but a line of text that ends in
    a tag keeps its line break: 'Welcome.{% endif %}' must not run into the next sentence."""
    lines = source.split("\n")
    for i, line in enumerate(lines):
        if (
            line.rstrip().endswith("%}")
            and not line.rstrip().endswith("+%}")
            and not _TAG_ONLY.match(line)
        ):
            stripped = line.rstrip()
            lines[i] = stripped[:-2] + "+%}" + line[len(stripped) :]
    return "\n".join(lines)


def render(
    info: TemplateInfo,
    variables: Mapping[str, str],
    helpers: Mapping[str, object] | None = None,
    undefined: type[jinja2.Undefined] = jinja2.StrictUndefined,
    minutes: float | None = None,
) -> str:
    """Render a template to script markup, turning every Jinja failure into TemplateError.

    The template sees `minutes`: the length asked for, else its own default (0 when it has
    none). `helpers` replaces some of the helpers (the linter wraps them to learn their lines),
    and `undefined` the strict handling of unknown names (the linter has reported them already)."""
    values: dict[str, object] = {
        k: script.literal(v) for k, v in resolve_variables(info, variables).items()
    }
    for variable in info.variables:
        if variable.kind == "person":
            values[variable.name] = Person.typed(
                str(values[variable.name]), variable.fallback or None
            )
    values["minutes"] = session_minutes(info, minutes)
    source = str(info.path)
    env = make_environment()
    env.undefined = undefined
    env.globals.update(helpers or {})
    try:  # the TOML header is a Jinja comment, so the whole file renders and lines match
        template = env.from_string(keep_text_line_breaks(_read(info.path)))
        return "".join(_limited(template.generate(**values)))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(exc.message or "syntax error", source, exc.lineno) from None
    except WorkLimit as exc:
        raise TemplateError(str(exc), source, _template_line(exc)) from None
    except MemoryError:
        raise TemplateError(
            "the template ran out of memory; look for a loop or a string that grows", source
        ) from None
    except SecurityError as exc:
        raise TemplateError(
            f"not allowed in a template: {exc}", source, _template_line(exc)
        ) from None
    except jinja2.UndefinedError as exc:
        named = re.match(r"'([^']+)' is undefined$", exc.message or "")
        hint = (
            undefined_hint(named[1], info.variable_names())
            if named
            else "define it under [variables] in the header"
        )
        raise TemplateError(f"{exc.message}; {hint}", source, _template_line(exc)) from None
    except jinja2.TemplateError as exc:
        raise TemplateError(str(exc), source, _template_line(exc)) from None
    except ValueError as exc:  # the helpers' own argument checks
        raise TemplateError(str(exc), source, _template_line(exc)) from None
    except (TypeError, ArithmeticError, AttributeError, LookupError, RuntimeError) as exc:
        raise TemplateError(f"{type(exc).__name__}: {exc}", source, _template_line(exc)) from None


def _limited(chunks):
    """The rendered chunks, stopping once the script is over `MAX_SCRIPT` characters."""
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_SCRIPT:
            raise WorkLimit(
                f"the rendered script is over {MAX_SCRIPT:,} characters; "
                "look for a loop that says too much"
            )
        yield chunk


def session_minutes(info: TemplateInfo, minutes: float | None) -> float:
    """What a template sees as `minutes`: the length asked for, else its default, else 0."""
    if minutes is not None:
        return float(minutes)
    return info.minutes or 0.0


def _template_line(exc: BaseException) -> int | None:
    """The template line a runtime error came from (Jinja maps frames back to the template)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == "<template>" and frame.lineno:
            return frame.lineno
    return None


def _closest(typed: str, names: list[str]) -> list[str]:
    """The names a typo most likely meant: up to three, none much further off than the best.

    A name that holds what was typed ("morning" in "morning-check-in") counts as close.
    """

    def score(name: str) -> float:
        ratio = difflib.SequenceMatcher(None, typed, name).ratio()
        return max(ratio, 0.9) if len(typed) >= 3 and typed in name else ratio

    scored = sorted(((score(name), name) for name in names), reverse=True)
    best = scored[0][0] if scored else 0.0
    return [name for score, name in scored[:3] if score >= max(0.5, best - 0.1)]
