"""Jinja's immutable sandbox with no file access and a bounded amount of work per rendering.

Jinja's sandbox keeps a template away from Python; it does not stop a template from running
for an hour or building a gigabyte string (a loop in a loop, ``center(10**9)``, a string
doubled in a loop, ``**`` chains). Here every rendering gets a `Budget`:

* steps: each turn of a ``{% for %}`` loop, each call and each filter costs one;
* work: each character (or item) a call, filter or operator builds, each value printed, the
  text a loop repeats, and each string a comparison reads costs its length;
* size: no one string, list or number may exceed `MAX_SIZE` characters or items
  (`MAX_INT_BITS` bits), checked before the operation where it could grow without bound.

The parsed template is rewritten (`LetgoSandbox._parse`) so that loops, ``~``, comparisons,
literals and ``{% set %}`` blocks report to the budget; operators, calls and filters are
intercepted where Jinja offers the hooks. Over any limit, `WorkLimit` stops the rendering.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import jinja2
from jinja2 import nodes
from jinja2.runtime import LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

#: Loop turns, calls and filters in one rendering.
MAX_STEPS = 500_000
#: What a macro call or a recursive loop's next level costs, in steps (it is that much slower).
HEAVY_CALL = 25
#: Characters (or items) built, printed, repeated by loops or compared in one rendering.
MAX_WORK = 20_000_000
#: The largest single string or list a template may build, in characters or items.
MAX_SIZE = 1_000_000
#: The largest whole number a template may build, in bits (about 30,000 digits).
MAX_INT_BITS = 100_000
#: Filters named here are letgo's own bookkeeping, added by the rewrite.
_TURNS, _BUILT, _READ = "letgo_turns", "letgo_built", "letgo_read"


class WorkLimit(SecurityError):
    """A template that does, or would build, too much; the message says which limit."""


class _NoFiles(jinja2.BaseLoader):
    """Refuses every {% include %}, {% import %} and {% extends %}: a template is one file."""

    def get_source(self, environment, template):
        raise jinja2.TemplateNotFound(
            template, f"templates cannot include, import or extend other files ('{template}')"
        )


class Budget:
    """What one rendering may still do; see the module's docstring."""

    def __init__(self) -> None:
        self.steps = 0
        self.work = 0
        self._weights: dict[int, tuple[object, int]] = {}  # containers measured, kept alive

    def step(self, count: int = 1) -> None:
        self.steps += count
        if self.steps > MAX_STEPS:
            raise WorkLimit(
                f"the template does too much work (over {MAX_STEPS:,} loop turns "
                "and calls); look for a loop that runs too long"
            )

    def spend(self, amount: int) -> None:
        self.work += amount
        if self.work > MAX_WORK:
            raise WorkLimit(
                f"the template does too much work (over {MAX_WORK:,} characters "
                "built or read); look for a loop or a string that grows"
            )

    def allow(self, size: int, what: str = "a value") -> None:
        """Refuse, before it is built, `what` of `size` characters or items."""
        if size > MAX_SIZE:
            raise WorkLimit(
                f"{what} would be {size:,} characters or items long; a template "
                f"may build at most {MAX_SIZE:,}"
            )

    def weight(self, value: object) -> int:
        """Characters and items in `value`, counting what its containers hold."""
        if isinstance(value, str | bytes | bytearray):
            return len(value)
        if isinstance(value, bool) or value is None or isinstance(value, float):
            return 1
        if isinstance(value, int):
            return value.bit_length() // 8 + 1
        if isinstance(value, list | tuple | dict | set | frozenset):
            known = self._weights.get(id(value))
            if known is not None and known[0] is value:
                return known[1]
            items = list(value.items()) if isinstance(value, dict) else value
            total = len(items) + sum(self.weight(item) for item in items)
            self._weights[id(value)] = (value, total)
            return total
        return 1

    def built(self, value: object, what: str = "a value"):
        """Check and pay for a value just built; returns it."""
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value.bit_length() > MAX_INT_BITS
        ):
            raise WorkLimit(f"a number would have over {MAX_INT_BITS:,} bits")
        size = self.weight(value)
        self.allow(size, what)
        self.spend(size)
        return value

    def read(self, value: object):
        """Pay for reading `value` (a comparison scans it); returns it."""
        self.spend(self.weight(value))
        return value

    def turns(self, iterable: Iterable, repeated: int = 0):
        """Iterate, paying a step and the loop body's own text for every turn."""
        for item in iterable:
            self.step()
            if repeated:
                self.spend(repeated)
            yield item


# --- sizes of results, estimated before they are built -------------------------------------

_DIGITS = re.compile(r"\d+")


def _format_size(budget: Budget, pattern: str, args: Iterable, kwargs: dict) -> int:
    """An upper bound on a '%'- or str.format-style result: the pattern, the values, and
    every width written in the pattern or taken from an argument ('%*d', '{:{}}')."""
    values = list(args) + list(kwargs.values())
    if len(values) == 1 and isinstance(values[0], dict | tuple):
        values = list(values[0].values()) if isinstance(values[0], dict) else list(values[0])
    widths = sum(int(n) for n in _DIGITS.findall(pattern) if len(n) < 12) + (
        10**12 if any(len(n) >= 12 for n in _DIGITS.findall(pattern)) else 0
    )
    taken = [abs(v) for v in values if isinstance(v, int) and not isinstance(v, bool)]
    return len(pattern) + 6 * sum(budget.weight(v) for v in values) + widths + sum(taken)


def _replace_size(text, old, new, count=-1) -> int:
    if not isinstance(text, str | bytes) or not isinstance(new, str | bytes):
        return 0
    times = (len(text) + 1) if not old else text.count(old)
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    return len(text) + times * max(0, len(new) - len(old or ""))


def _join_size(budget: Budget, separator, items: list) -> int:
    return sum(6 * budget.weight(i) for i in items) + len(separator) * max(0, len(items) - 1)


def _width(value) -> int:
    return abs(value) if isinstance(value, int) and not isinstance(value, bool) else 0


def _method_size(budget: Budget, method, args, kwargs) -> int:
    """Estimated size of a str or bytes method's result, for the methods that can grow."""
    text, name = method.__self__, method.__name__
    first = args[0] if args else None
    if name in ("center", "ljust", "rjust", "zfill"):
        return max(len(text), _width(first))
    if name == "expandtabs":
        return len(text) * max(1, _width(first if args else kwargs.get("tabsize", 8)))
    if name == "replace" and len(args) >= 2:
        return _replace_size(text, *args[:3])
    if name in ("format", "format_map"):
        return _format_size(budget, text, args, kwargs)
    if name == "translate" and isinstance(first, dict):
        longest = max((len(v) for v in first.values() if isinstance(v, str | bytes)), default=1)
        return len(text) * max(1, longest)
    return 0


def _filter_size(budget: Budget, name: str, value, args, kwargs) -> int:
    """Estimated size of a filter's result, for the filters that can grow past their input."""
    first = args[0] if args else None
    if name == "center":
        return max(
            len(str(value)) if isinstance(value, str) else 0,
            _width(first if args else kwargs.get("width", 80)),
        )
    if name == "indent":
        width = first if args else kwargs.get("width", 4)
        pad = len(width) if isinstance(width, str) else _width(width)
        text = value if isinstance(value, str) else ""
        return len(text) + (text.count("\n") + 1) * pad
    if name == "format" and isinstance(value, str):
        return _format_size(budget, value, args, kwargs)
    if name == "replace" and len(args) >= 2:
        return _replace_size(value, *args[:3])
    if name in ("batch", "slice"):
        return _width(first if args else kwargs.get("linecount", kwargs.get("slices", 0)))
    if name == "wordwrap" and isinstance(value, str):
        wrap = kwargs.get("wrapstring") or (args[2] if len(args) > 2 else "\n") or "\n"
        width = max(1, _width(first if args else kwargs.get("width", 79)))
        return len(value) + (len(value) // width + 1) * len(str(wrap))
    if name == "tojson":
        indent = kwargs.get("indent") or first
        return budget.weight(value) * (8 + _width(indent))
    return 0


class LetgoSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with no file access and a `Budget` for each rendering.

    Make a new one for each rendering: the budget belongs to the environment."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self, **options):
        super().__init__(loader=_NoFiles(), finalize=self._printed, **options)
        self.budget = Budget()

    def install_filters(self) -> None:
        """Wrap every filter with the budget's checks, and add letgo's bookkeeping filters.
        Call once the filters are final (the helpers and filters letgo adds included)."""
        budget = self.budget
        wrapped = {
            name: _checked_filter(budget, name, f)
            for name, f in self.filters.items()
            if not name.startswith("letgo_")
        }
        self.filters.update(wrapped)
        self.filters[_TURNS] = budget.turns
        self.filters[_BUILT] = budget.built
        self.filters[_READ] = budget.read

    def _printed(self, value):
        budget = self.budget
        size = budget.weight(value) * (1 if isinstance(value, str) else 6)
        budget.allow(size, "a printed value")
        budget.spend(size)
        return value

    def call_binop(self, context, operator, left, right):
        budget = self.budget
        budget.step()
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (left, right))
        if operator == "**" and ints and right > 0:
            if left.bit_length() * right > MAX_INT_BITS:
                raise WorkLimit(f"a number would have over {MAX_INT_BITS:,} bits")
        elif operator == "*" and ints:
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise WorkLimit(f"a number would have over {MAX_INT_BITS:,} bits")
        elif operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | bytes | list | tuple) and isinstance(count, int):
                    budget.allow(len(seq) * max(count, 0), "a repeated string or list")
        elif (
            operator == "+"
            and isinstance(left, str | bytes | list | tuple)
            and type(left) is type(right)
        ):
            budget.allow(len(left) + len(right), "a joined string or list")
        elif operator == "%" and isinstance(left, str):
            budget.allow(_format_size(budget, left, [right], {}), "a formatted string")
        budget.spend(budget.weight(left) + budget.weight(right))
        return budget.built(super().call_binop(context, operator, left, right))

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's own signature)
        budget = __self.budget
        budget.step()
        if isinstance(__obj, Macro | LoopContext):
            budget.step(HEAVY_CALL)
        method = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        owner = getattr(method, "__self__", None)
        if isinstance(owner, str | bytes | bytearray) and callable(method):
            if method.__name__ == "join" and args:
                items = list(args[0])
                budget.allow(_join_size(budget, owner, items), "a joined string")
                args = (items, *args[1:])
            else:
                budget.allow(_method_size(budget, method, args, kwargs), "a string")
            budget.spend(len(owner))
        return budget.built(super().call(__context, __obj, *args, **kwargs))

    def getitem(self, obj, argument):
        return self.budget.built(super().getitem(obj, argument))

    def _parse(self, source, name, filename):
        """The template as parsed, rewritten so that it reports its work to the budget."""
        tree = super()._parse(source, name, filename)
        _Rewrite().visit(tree)
        tree.set_environment(self)
        return tree


def _checked_filter(budget: Budget, name: str, function):
    """`function`, paying a step and its input, refusing a result that would be too large."""

    @functools.wraps(function)
    def checked(*args, **kwargs):
        budget.step()
        plain = [
            a
            for a in args
            if not isinstance(
                a, jinja2.runtime.Context | jinja2.Environment | jinja2.nodes.EvalContext
            )
        ]
        if plain:
            value, rest = plain[0], plain[1:]
            if name == "join":
                items = list(value) if not isinstance(value, str) else [value]
                separator = rest[0] if rest else kwargs.get("d", "")
                budget.allow(_join_size(budget, str(separator), items), "a joined string")
            else:
                budget.allow(_filter_size(budget, name, value, rest, kwargs), f"'{name}'")
            budget.spend(budget.weight(value))
        return budget.built(function(*args, **kwargs), f"the result of '{name}'")

    return checked


class _Rewrite:
    """Routes a parsed template's loops, '~', comparisons, literals and {% set %} blocks
    through the budget's filters; operators, calls and filters have Jinja's own hooks."""

    def visit(self, node: nodes.Node) -> None:
        for field in node.fields:
            value = getattr(node, field, None)
            if isinstance(value, nodes.Node):
                self.visit(value)
                setattr(node, field, self.wrap(value, node, field))
            elif isinstance(value, list):
                for i, child in enumerate(value):
                    if isinstance(child, nodes.Node):
                        self.visit(child)
                        value[i] = self.wrap(child, node, field)
        if isinstance(node, nodes.For):
            repeated = sum(len(d.data) for n in node.body for d in n.find_all(nodes.TemplateData))
            node.iter = _filter(node.iter, _TURNS, [nodes.Const(repeated)])
        elif isinstance(node, nodes.AssignBlock):
            node.filter = (
                _filter(node.filter, _BUILT)
                if node.filter is not None
                else nodes.Filter(None, _BUILT, [], [], None, None, lineno=node.lineno)
            )
        elif (
            isinstance(node, nodes.Call)
            and isinstance(node.node, nodes.Name)
            and node.node.name == "loop"
            and node.args
        ):  # a recursive loop's next level
            node.args[0] = _filter(node.args[0], _TURNS)

    @staticmethod
    def wrap(child: nodes.Node, parent: nodes.Node, field: str) -> nodes.Node:
        if (
            isinstance(child, nodes.Concat)
            or (isinstance(child, nodes.List | nodes.Dict) and child.items)
            or (isinstance(child, nodes.Tuple) and child.ctx == "load" and child.items)
        ):
            return _filter(child, _BUILT)
        if isinstance(parent, nodes.Compare | nodes.Operand) and field == "expr":
            return _filter(child, _READ)
        return child


def _filter(node: nodes.Node, name: str, args: list | None = None) -> nodes.Filter:
    return nodes.Filter(node, name, args or [], [], None, None, lineno=node.lineno)
