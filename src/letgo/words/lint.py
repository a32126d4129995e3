"""`letgo check`: find what is wrong with a template before anyone renders it.

Checks the TOML header, Jinja syntax, variables used but not declared (and declared but never
used), a variable that would be spoken bare when empty, helper calls, script markup in every
branch the variables can reach, and pauses out of sensible bounds. It reports every problem in
one run, not only the first: helpers called wrongly are noted and rendering goes on, and a bad
line of markup is noted and parsing goes on without it. Every problem carries the template's
file and line, so an editor can jump to it.
"""

from __future__ import annotations

import inspect
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import jinja2
from jinja2 import meta, nodes

from letgo import timefmt
from letgo.errors import FitError, LetgoError, TemplateError
from letgo.file import reading
from letgo.sound import timeline as plan
from letgo.words import pacing, script, templates
from letgo.words.person import Person

log = logging.getLogger(__name__)

#: A fixed pause longer than this cannot shrink for --minutes: it should be flexible.
MAX_FIXED_PAUSE = 120.0
#: A pause shorter than this is lost between two sentences.
MIN_PAUSE = 0.3
#: A single flexible pause written longer than this leaves too little room for the rest.
MAX_FLEX_PAUSE = 1800.0
#: The value every variable takes in the second, "filled in" rendering.
SAMPLE_VALUE = "Sam"
_BLOCKS = {"if", "for", "macro", "call", "filter", "block", "raw", "with", "autoescape"}
#: Markup errors reported from one rendering before giving up on the rest.
MAX_MARKUP_ERRORS = 50


@dataclass(frozen=True)
class Problem:
    """One finding; `line` is None when it concerns the whole template."""

    path: str
    line: int | None
    message: str
    warning: bool = False
    """A warning reads well enough to render but is probably not what was meant."""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {'warning: ' if self.warning else ''}{self.message}"


def check(path: Path | str, values: dict[str, str] | None = None) -> list[Problem]:
    """Every problem found in the template at `path`, in line order (empty when it is fine).

    `values` are variable values someone means to use (`letgo check -v person=...`): each is
    judged for how it will read, and the template is checked with them filled in."""
    path = Path(path)
    try:
        text = reading.read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(str(path), None, f"cannot read: {exc}")]
    found = _Checker(path, text, values or {})
    found.run()
    problems = set(found.problems)
    filled = _Checker.context({"_": SAMPLE_VALUE})
    problems = {
        p
        for p in problems  # said once when it is wrong with the defaults too
        if not (
            p.message.endswith(filled)
            and Problem(p.path, p.line, p.message[: -len(filled)], p.warning) in problems
        )
    }
    return sorted(problems, key=lambda p: (p.line or 0, p.message))


class _Checker:
    """One pass over one template, collecting problems rather than stopping at the first."""

    def __init__(self, path: Path, text: str, values: dict[str, str] | None = None):
        self.path, self.text = path, text
        self.values = values or {}
        self.lines = text.splitlines()
        self.problems: list[Problem] = []
        self.helper_lines: dict[str, int] = {}  # markup a helper returned -> its template line
        self.undefined: set[str] = set()  # names reported as not defined

    def add(self, line: int | None, message: str, warning: bool = False) -> None:
        self.problems.append(Problem(str(self.path), line, message, warning))

    def run(self) -> None:
        try:
            info = templates.read_info(self.path, "file")
        except LetgoError as exc:
            self.add(getattr(exc, "line", None) or 1, _bare(exc))
            return
        self.header(info)
        try:
            tree = templates.make_environment().parse(templates.keep_text_line_breaks(self.text))
            used = meta.find_undeclared_variables(tree)  # compiles: finds unknown filters too
        except jinja2.TemplateSyntaxError as exc:
            opened = self.unclosed_block() if "end of template" in (exc.message or "") else None
            if opened:
                self.add(
                    opened[1],
                    f"syntax error: this {{% {opened[0]} %}} is never closed "
                    f"(add {{% end{opened[0]} %}})",
                )
            else:
                self.add(exc.lineno, templates.syntax_problem(exc))
            return
        self.undefined = self.names(info, tree, used)
        self.bare(info, tree)
        self.given(info, tree)
        defaults = {v.name: v.default for v in info.variables}
        filled = {v.name: SAMPLE_VALUE for v in info.variables}
        if any(v.required and not v.default for v in info.variables):
            defaults = filled  # a required variable has no default to render with
        if self.values:
            defaults = {**defaults, **{k: v for k, v in self.values.items() if k in defaults}}
        for values in (defaults, filled) if filled != defaults else (defaults,):
            parsed = self.render(info, values)
            if parsed is not None:
                self.pauses(parsed, values)
                self.pacing(parsed)
                if values is defaults:
                    self.fits(info, parsed)
        longest = info.max_minutes or info.minutes
        if longest:  # the text may grow with minutes: check it, and its silences, at the top
            parsed = self.render(info, defaults, longest)
            if parsed is not None:
                self.pacing(parsed)
                self.silences(info, parsed, longest)

    def given(self, info: templates.TemplateInfo, tree: nodes.Template) -> None:
        """Warn about values (from -v) that will not read well where the template says them."""
        capitalised = {
            f.node.name
            for f in tree.find_all(nodes.Filter)
            if f.name == "capfirst" and isinstance(f.node, nodes.Name)
        }
        known = {v.name: v for v in info.variables}
        for name, value in self.values.items():
            if name not in known:
                self.add(None, f"-v {name}=...: the template has no variable '{name}'")
                continue
            if known[name].kind == "person":  # read as a person: warn only where none reads
                problem = Person.typed(script.literal(value)).problem()
                if problem:
                    self.add(
                        self.line_of(rf"^\s*\[variables\.{name}\]"),
                        f"{name}='{value}' {problem}",
                        warning=True,
                    )
                continue
            for message in pacing.value_findings(
                name, known[name].help, value, name in capitalised
            ):
                self.add(self.line_of(rf"^\s*\[variables\.{name}\]"), message, warning=True)

    def pacing(self, parsed: script.Script) -> None:
        """Long sentences, phrases to repeat with no beat after, reflective pauses with no
        floor (see `pacing`), located in the template."""
        for finding in pacing.script_findings(parsed):
            self.add(self.locate(self.rendered[finding.line - 1]), finding.message, warning=True)

    def fits(self, info: templates.TemplateInfo, parsed: script.Script) -> None:
        """The default length must fit a real voice: the fake voice is quicker than any."""
        if not info.minutes:
            return
        need = plan.shortest_seconds(parsed, pacing.paced_clips(parsed))
        if need > info.minutes * 60:
            self.add(
                self.line_of(r"^\s*minutes\s*="),
                f"at a real voice's pace ({pacing.REAL_WPM:g} words a minute) the script "
                f"needs {timefmt.length(need)}, more than its default of "
                f"{info.minutes:g} min; raise minutes or trim the text or the pauses' "
                "min=",
                warning=True,
            )

    def silences(self, info: templates.TemplateInfo, parsed: script.Script, minutes: float) -> None:
        """The longest stretch without a spoken line at the template's longest length, with
        the fake voice's clip lengths (quicker than a real voice: the silences are if
        anything shorter in a real session)."""
        try:
            timeline = plan.plan(parsed, pacing.reference_clips(parsed), minutes * 60)
        except FitError:
            self.add(
                self.line_of(r"^\s*(max_)?minutes\s*="),
                f"the script does not fit in {minutes:g} min even with a quick voice; "
                "raise the length or shorten the script",
            )
            return
        for finding in pacing.timeline_findings(timeline, info.sleep):
            line = self.locate(self.rendered[finding.line - 1]) if finding.line else None
            self.add(line, finding.message, warning=True)

    def unclosed_block(self) -> tuple[str, int] | None:
        """The innermost {% if/for/macro/... %} left open: Jinja only sees the file end."""
        stack: list[tuple[str, int]] = []
        expect_name = False
        try:
            for line, kind, value in templates.make_environment().lex(self.text):
                if kind == "block_begin":
                    expect_name = True
                elif kind == "name" and expect_name:
                    expect_name = False
                    if value in _BLOCKS:
                        stack.append((value, line))
                    elif value.startswith("end") and stack and stack[-1][0] == value[3:]:
                        stack.pop()
                elif kind != "whitespace":
                    expect_name = False
        except jinja2.TemplateSyntaxError:
            return None
        return stack[-1] if stack else None

    def header(self, info: templates.TemplateInfo) -> None:
        if not info.header:
            return  # no header is fine: the variables are the names the template uses
        meta_ = templates.header_data(self.text)
        for key in sorted(set(meta_) - set(templates.HEADER_KEYS)):
            self.add(self.line_of(rf"^\s*{re.escape(key)}\s*="), f"unknown header key '{key}'")
        for key in ("title", "minutes"):
            if key not in meta_:
                self.add(1, f"the header has no '{key}'")
        if "description" not in meta_:  # optional, as templates/README.md says
            self.add(
                1,
                "the header has no 'description' (letgo list, letgo show and the file's "
                "comment tag use it)",
                warning=True,
            )
        if info.minutes and info.max_minutes and info.minutes > info.max_minutes:
            self.add(
                self.line_of(r"^\s*max_minutes\s*="),
                f"max_minutes ({info.max_minutes:g}) is less than minutes ({info.minutes:g})",
            )
        for var in info.variables:
            if not var.help:
                self.add(
                    self.line_of(rf"^\s*\[variables\.{var.name}\]"),
                    f"variable '{var.name}' has no help text",
                )

    def names(self, info: templates.TemplateInfo, tree: nodes.Template, used: set[str]) -> set[str]:
        """Report undefined and unused variables; returns the undefined ones."""
        declared = set(info.variable_names())
        known = set(templates.make_environment().globals) | set(templates.RESERVED)
        undefined = used - declared - known
        for name in sorted(undefined):
            line = next(
                (n.lineno for n in tree.find_all(nodes.Name) if n.name == name and n.ctx == "load"),
                None,
            )
            self.add(line, f"'{name}' is not defined; {templates.undefined_hint(name, declared)}")
        for name in sorted(declared - used):
            self.add(
                self.line_of(rf"^\s*\[variables\.{name}\]"),
                f"variable '{name}' is declared but never used",
            )
        return undefined

    def bare(self, info: templates.TemplateInfo, tree: nodes.Template) -> None:
        """Warn where a variable that is empty unless given is printed with no {% if %}
        around it: left out, it would leave a gap ('Welcome back, .')."""
        empty = {
            v.name
            for v in info.variables
            if not v.default and not v.required and v.kind != "person"  # a person has a fallback
        }
        for line, name in _bare_uses(tree, empty):
            self.add(
                line,
                f"'{name}' is empty unless given, and here it would be spoken bare; "
                f"put it inside {{% if {name} %}}...{{% endif %}}",
                warning=True,
            )

    def render(
        self, info: templates.TemplateInfo, values: dict[str, str], minutes: float | None = None
    ) -> script.Script | None:
        try:
            text = templates.render(
                info,
                values,
                self.recording_helpers(),
                undefined=jinja2.ChainableUndefined,
                minutes=minutes,
            )
        except TemplateError as exc:
            named = re.match(r"'([^']+)' is undefined", _bare(exc))
            if not (named and named[1] in self.undefined):  # said once already, by names()
                self.add(exc.line, _bare(exc))
            return None
        rendered = text.splitlines()
        self.rendered = list(rendered)
        dropped = False
        for _ in range(MAX_MARKUP_ERRORS):
            try:
                parsed = script.parse("\n".join(rendered), str(self.path))
                break
            except TemplateError as exc:  # note it, drop the line, and look for the next
                dropped = True
                if not exc.line or exc.line > len(rendered):
                    self.add(None, f"bad markup: {_bare(exc)}{self.context(values)}")
                    return None
                self.add(
                    self.locate(rendered[exc.line - 1]),
                    f"bad markup: {_bare(exc)}{self.context(values)}",
                )
                rendered[exc.line - 1] = ""
        if dropped:
            return None  # the pauses of a script with lines dropped would mislead
        if not parsed.sentences:
            self.add(None, f"the template says nothing{self.context(values)}")
        return parsed

    def pauses(self, parsed: script.Script, values: dict[str, str]) -> None:
        flexible = False
        for item in parsed.items:
            if not isinstance(item, script.Pause):
                continue
            flexible |= item.flexible
            line = self.locate(self.rendered[item.line - 1])
            if item.seconds < MIN_PAUSE:
                self.add(
                    line,
                    f"a pause of {item.seconds:g} s is too short to be heard "
                    f"(at least {MIN_PAUSE:g} s)",
                )
            if not item.flexible and item.seconds > MAX_FIXED_PAUSE:
                self.add(
                    line,
                    f"a fixed pause of {item.seconds:g} s cannot shrink to fit "
                    f"--minutes; make it flexible (flex=True) or at most "
                    f"{MAX_FIXED_PAUSE:g} s",
                )
            if item.flexible and item.seconds > MAX_FLEX_PAUSE:
                self.add(
                    line,
                    f"a pause of {item.seconds:g} s is over {MAX_FLEX_PAUSE:g} s; "
                    "give it a weight instead and let --minutes stretch it",
                )
        if not flexible:
            self.add(
                None,
                "no flexible pauses: --minutes cannot change the length; "
                "use pause(N, flex=True) for the longer silences",
            )

    def recording_helpers(self) -> dict[str, object]:
        """The helpers, wrapped to remember which template line produced which markup, and to
        note a helper called wrongly (and carry on) instead of stopping at the first."""

        def wrap(name, helper):
            signature = inspect.signature(helper)

            def recorded(*args, **kwargs):
                line = _calling_template_line()
                try:
                    signature.bind(*args, **kwargs)
                    markup = helper(*args, **kwargs)
                except TypeError as exc:
                    self.add(
                        line, f"{name}(): {_call_problem(exc)}; it takes {name}{_shown(signature)}"
                    )
                    return ""
                except ValueError as exc:
                    self.add(line, str(exc))
                    return ""
                if line:
                    for piece in str(markup).splitlines():
                        self.helper_lines.setdefault(piece.strip(), line)
                return markup

            return recorded

        return {name: wrap(name, helper) for name, helper in templates.HELPERS.items()}

    def locate(self, rendered_line: str) -> int | None:
        """The template line a line of rendered script most likely came from."""
        wanted = rendered_line.strip()
        if not wanted:
            return None
        for markup, helper_line in self.helper_lines.items():
            if markup and markup in wanted:
                return helper_line
        for number, text in enumerate(self.lines, start=1):
            if wanted in text:
                return number
        for tag in re.findall(r"\[[^\]]*\]|<[^>]*>", wanted):
            for number, text in enumerate(self.lines, start=1):
                if tag in text:
                    return number
        return None

    def line_of(self, pattern: str) -> int | None:
        regex = re.compile(pattern)
        return next((n for n, line in enumerate(self.lines, start=1) if regex.search(line)), None)

    @staticmethod
    def context(values: dict[str, str]) -> str:
        if values and all(v == SAMPLE_VALUE for v in values.values()):
            return " (with every variable filled in)"
        return ""


def _calling_template_line() -> int | None:
    """The template line of the innermost Jinja frame calling us (Jinja maps its own lines)."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        template = frame.f_globals.get("__jinja_template__")
        if template is not None:
            return template.get_corresponding_lineno(frame.f_lineno)
        frame = frame.f_back
    return None


def _call_problem(exc: TypeError) -> str:
    """ "recorded() got an unexpected keyword argument 'flx'" -> "unexpected argument 'flx'"."""
    text = str(exc)
    match = re.search(r"unexpected keyword argument '(\w+)'", text)
    if match:
        return f"unknown argument '{match.group(1)}'"
    return re.sub(r"^\w+\(\) ", "", text)


def _shown(signature: inspect.Signature) -> str:
    return (
        "("
        + ", ".join(
            str(p.replace(annotation=inspect.Parameter.empty))
            for p in signature.parameters.values()
        )
        + ")"
    )


#: Expressions that choose between a variable and something else: inside one, an empty value
#: is the template's own decision.
_GUARDS = (nodes.If, nodes.CondExpr, nodes.Or, nodes.And, nodes.Not, nodes.Test)


def _bare_uses(tree: nodes.Node, names: set[str]) -> list[tuple[int, str]]:
    """(line, name) for each of `names` printed outside any {% if %} or test that mentions it."""
    found: list[tuple[int, str]] = []

    def mentioned(node: nodes.Node) -> set[str]:
        found_names = {n.name for n in node.find_all(nodes.Name)}
        if isinstance(node, nodes.Name):
            found_names.add(node.name)
        return found_names & names

    def visit(node: nodes.Node, guarded: frozenset[str], printing: bool) -> None:
        if isinstance(node, nodes.If | nodes.CondExpr):
            guarded = guarded | mentioned(node.test)
        elif isinstance(node, _GUARDS) or (
            isinstance(node, nodes.Filter) and node.name == "default"
        ):
            guarded = guarded | mentioned(node)
        elif isinstance(node, nodes.Call):
            printing = False  # a helper's argument is the helper's business
        if isinstance(node, nodes.Output):
            printing = True
        if (
            printing
            and isinstance(node, nodes.Name)
            and node.ctx == "load"
            and node.name in names
            and node.name not in guarded
        ):
            found.append((node.lineno, node.name))
        for child in node.iter_child_nodes():
            visit(child, guarded, printing)

    visit(tree, frozenset(), False)
    return found


def _bare(exc: TemplateError | LetgoError) -> str:
    """The message without the 'file:line:' prefix (the Problem carries those)."""
    text = str(exc)
    source = getattr(exc, "source", None)
    if source and text.startswith(source):
        text = re.sub(r"^:(\d+:)*\s*", "", text[len(source) :])
    return text
