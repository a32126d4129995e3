"""Rendering a template, safely, into script markup; and the words stage's template API.

Rendering happens in Jinja's sandbox (`helpers.make_environment`): a template can use its
variables, `minutes` (the length of the session being made) and the helpers, and nothing else
of Python. A variable's value is tidied and marked as words (`script.literal`), so whatever it
holds is said as typed and never read as markup.

The template's header and `TemplateInfo` live in `header`, finding templates in `library`,
the helpers and the environment in `helpers`; their names are imported here too, so
`templates.TemplateLibrary`, `templates.render` and the rest are one import away.
"""

from __future__ import annotations

import difflib
import functools
import re
import traceback
from collections.abc import Iterable, Mapping
from types import CodeType

import jinja2
from jinja2.sandbox import SecurityError

from letgo.errors import TemplateError, VariableError
from letgo.words import script
from letgo.words.header import (
    HEADER_KEYS,
    KINDS,
    NAME,
    RESERVED,
    SUFFIX,
    TemplateInfo,
    Variable,
    header_data,
    header_text,
    read_info,
    read_source,
    used_variables,
)
from letgo.words.helpers import (
    BREATH_CUES,
    HELPERS,
    SAFE_GLOBALS,
    bell,
    breath,
    capfirst,
    digits,
    hold,
    keep_text_line_breaks,
    make_environment,
    pause,
    prosody,
    repeat,
    section,
    sentence,
    syntax_problem,
)
from letgo.words.library import (
    ENV_VAR,
    TemplateLibrary,
    builtin_dir,
    user_dirs,
    user_template_dir,
)
from letgo.words.person import Person
from letgo.words.sandbox import WorkLimit

__all__ = [
    "BREATH_CUES",
    "ENV_VAR",
    "HEADER_KEYS",
    "HELPERS",
    "KINDS",
    "MAX_SCRIPT",
    "MAX_VALUE",
    "NAME",
    "RESERVED",
    "SAFE_GLOBALS",
    "SUFFIX",
    "TemplateInfo",
    "TemplateLibrary",
    "Variable",
    "bell",
    "breath",
    "builtin_dir",
    "capfirst",
    "digits",
    "header_data",
    "header_text",
    "hold",
    "keep_text_line_breaks",
    "make_environment",
    "parse_assignments",
    "pause",
    "prosody",
    "read_info",
    "render",
    "repeat",
    "resolve_variables",
    "section",
    "sentence",
    "session_minutes",
    "syntax_problem",
    "undefined_hint",
    "used_variables",
    "user_dirs",
    "user_template_dir",
]

#: The longest value a variable takes, in characters: a name or an intention, not a text.
MAX_VALUE = 500
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
    if not NAME.match(name):
        return "define it under [variables] in the header"
    return f"declare it with [variables.{name}] in the header"


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
        if not sep or not NAME.match(key.strip()):
            raise VariableError(f"'{pair}' is not NAME=VALUE (e.g. -v name=Sam)")
        values[key.strip()] = value
    return values


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
        code = _compiled(keep_text_line_breaks(read_source(info.path)))
        template = env.template_class.from_code(env, code, env.make_globals(None))
        return "".join(_limited(template.generate(**values)))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(syntax_problem(exc), source, exc.lineno) from None
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
        line = _template_line(exc)
        called = _called_variable(info, line) if isinstance(exc, TypeError) else None
        if called is not None:  # `paus(3)` in a template whose names are all its variables
            hint = undefined_hint(called)
            if not hint.startswith("did you mean"):
                hint = f"the helpers are {', '.join(f'{name}()' for name in HELPERS)}"
            message = f"'{called}' is a variable, not a helper; {hint}"
            raise TemplateError(message, source, line) from None
        raise TemplateError(f"{type(exc).__name__}: {exc}", source, line) from None


def _called_variable(info: TemplateInfo, line: int | None) -> str | None:
    """A variable of `info` called like a helper on `line`, if there is one."""
    from jinja2 import nodes

    tree = make_environment().parse(keep_text_line_breaks(read_source(info.path)))
    variables = set(info.variable_names())
    return next(
        (
            call.node.name
            for call in tree.find_all(nodes.Call)
            if isinstance(call.node, nodes.Name)
            and call.node.name in variables
            and line in (None, call.lineno)
        ),
        None,
    )


@functools.lru_cache(maxsize=64)
def _compiled(source: str) -> CodeType:
    """A template's code, compiled once per text (the environment's settings are always
    the same): finding a session's shortest length renders one text at many lengths."""
    return make_environment().compile(source)


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
