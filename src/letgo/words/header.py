"""A template's header: the TOML in its first comment, read into a `TemplateInfo`.

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
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from jinja2 import meta, nodes

from letgo.errors import TemplateError, TemplateNotFound
from letgo.file import reading
from letgo.words.helpers import keep_text_line_breaks, make_environment, syntax_problem

SUFFIX = ".j2"
_HEADER = re.compile(r"\A\s*\{#(?P<body>.*?)#\}", re.DOTALL)
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""What a variable may be called."""
#: The keys a header may set; a first comment with a line `KEY =` for one of them is a header.
HEADER_KEYS = ("title", "description", "minutes", "max_minutes", "sleep", "variables")
_HEADER_LINE = re.compile(
    rf"^\s*(?:(?:{'|'.join(HEADER_KEYS)})\s*=|\[\s*variables\s*[.\]])", re.MULTILINE
)
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
    text = read_source(path)
    header = header_text(text)
    meta_ = header_data(text, str(path))
    if header is not None:
        variables = []
        for name, spec in (meta_.get("variables") or {}).items():
            if not NAME.match(name) or not isinstance(spec, dict):
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
        raise TemplateError(syntax_problem(exc), source, exc.lineno) from None
    ordered = [n.name for n in tree.find_all(nodes.Name) if n.name in free]
    return [name for name in dict.fromkeys(ordered) if NAME.match(name)]


def _number(value, key: str, path: Path) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise TemplateError(f"'{key}' must be a positive number of minutes", str(path))
    return float(value)


def read_source(path: Path) -> str:
    """The template file's text; TemplateNotFound when it cannot be read."""
    try:
        return reading.read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateNotFound(f"cannot read template {path}: {exc}") from None
