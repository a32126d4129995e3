"""Text as it should be read aloud: pronunciations, abbreviations, times and numbers in words.

Engines read "10:30", "e.g." and "4" in their own ways (eSpeak says "e g", some voices say
"ten colon thirty"), so every sentence is normalised the same way before any engine sees it.
The rules come from pronunciation files (TOML, plain and regex replacements): the user's own
first, so they win, then the built-in `pronunciations.toml`; numbers are read last (English).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import regex

from letgo.errors import UsageError
from letgo.file.reading import read_toml
from letgo.settings.config import config_dir

Replacement = str | Callable[[re.Match], str]


#: The longest one pronunciation rule may take over one sentence, in seconds: a pattern that
#: backtracks without end (`(a+)+$`) is stopped and named instead of hanging the run.
RULE_SECONDS = 2.0
#: How far the rules from files may grow a sentence: to this many times its length, or by
#: `GROWTH_ROOM` characters, whichever is more (`(?s)(.+)` -> `\1\1` four times over is 16 times).
GROWTH = 8
GROWTH_ROOM = 2000


def regex_sub(pattern: Any, replace: Callable[[Any], str], text: str) -> str:
    """`pattern.sub` with the time limit (a `regex` pattern; `re` has no limit to give)."""
    return pattern.sub(replace, text, timeout=RULE_SECONDS)


class _TooLong(Exception):
    """A rule's replacements passed the sentence's size budget."""


@dataclass(frozen=True)
class Rule:
    pattern: Any
    """A compiled `regex` pattern (one from a file, run on a budget) or an `re` one (built in)."""
    replacement: Replacement
    source: str = ""
    """The file the rule came from; empty for the built-in number rules."""
    name: str = ""
    """The rule as its file writes it: `[regex] '(?i)qi'`."""

    def apply(self, text: str, budget: int) -> str:
        """`text` with the rule applied; a rule from a file is run with a time limit, and
        its output may be at most `budget` characters."""
        if not self.source:
            return self.pattern.sub(self.replacement, text)
        made = len(text)
        replacement = self.replacement

        def replace(match) -> str:
            nonlocal made
            out = replacement(match) if callable(replacement) else match.expand(replacement)
            made += len(out) - (match.end() - match.start())
            if made > budget:
                raise _TooLong
            return out

        try:
            return regex_sub(self.pattern, replace, text)
        except TimeoutError:
            raise UsageError(
                f"{self.source}: {self.name} takes over {RULE_SECONDS:g} s on a sentence of "
                f"{len(text):,} characters; simplify the pattern (nested repeats such as "
                "'(a+)+' backtrack without end)"
            ) from None
        except (IndexError, regex.error) as exc:  # a group the pattern does not have
            raise UsageError(
                f"{self.source}: {self.name}: its replacement '{replacement}': {exc}"
            ) from None
        except _TooLong:
            raise UsageError(
                f"{self.source}: {self.name} grows a sentence of {len(text):,} characters "
                f"past {budget:,}; a rule should not multiply the text it matches"
            ) from None


def builtin_file() -> Path:
    return Path(str(files("letgo").joinpath("pronunciations.toml")))


def user_file() -> Path:
    """The user's own pronunciation file, used when it exists."""
    return config_dir() / "pronunciations.toml"


def _plain_pattern(text: str) -> regex.Pattern:
    """`text` as a whole word: no word character may touch a word-character edge."""
    before = r"(?<!\w)" if re.match(r"\w", text) else ""
    after = r"(?!\w)" if re.search(r"\w$", text) else ""
    return regex.compile(before + regex.escape(text) + after)


def read_rules(path: Path) -> list[Rule]:
    """The [plain] and [regex] rules of one pronunciation file, in that order."""
    data = read_toml(path)
    unknown = set(data) - {"plain", "regex"}
    if unknown:
        raise UsageError(
            f"{path}: unknown table [{sorted(unknown)[0]}]; a pronunciation file "
            "has [plain] and [regex]"
        )
    rules = []
    for table in ("plain", "regex"):
        for key, value in data.get(table, {}).items():
            if not isinstance(value, str) or not key:
                raise UsageError(f"{path}: [{table}] '{key}' must map to a string")
            name = f"[{table}] '{key}'"
            if table == "plain":
                pattern = _plain_pattern(key)
                rules.append(Rule(pattern, value.replace("\\", "\\\\"), str(path), name))
                continue
            try:
                compiled = regex.compile(key)
            except (regex.error, OverflowError, RecursionError, ValueError) as exc:
                raise UsageError(f"{path}: {name} is not a valid regex: {exc}") from None
            rules.append(Rule(compiled, value, str(path), name))
    return rules


# --- numbers ---------------------------------------------------------------------------------


def _words(number: str, to: str = "cardinal") -> str:
    from num2words import num2words  # 20 ms to import: only for a text with numbers in it

    # num2words writes "one thousand, five hundred"; a voice would pause at that comma
    return num2words(int(number.replace(",", "")), to=to).replace(",", "")


def _time(match: re.Match) -> str:
    parts = match.groupdict()
    hour, minute, meridiem = parts["h"], parts.get("m"), parts.get("ap")
    spoken = _words(hour)
    if minute:
        if minute == "00":
            spoken += "" if meridiem else " o'clock"
        elif minute.startswith("0"):
            spoken += " oh " + _words(minute)
        else:
            spoken += " " + _words(minute)
    if meridiem:
        spoken += f" {meridiem.upper()} M"
    return spoken


def _number(match: re.Match) -> str:
    whole, fraction = match.group("whole"), match.group("fraction")
    if fraction is None and len(whole) == 4 and 1100 <= int(whole) <= 2099:
        # "1990" and "1500" read as people say them: "nineteen ninety", "fifteen hundred"
        return _words(whole, "year")
    spoken = _words(whole)
    if fraction is not None:
        spoken += " point " + " ".join(_words(d) for d in fraction)
    return spoken


def _plural(word: str, count: str) -> str:
    return word if count.replace(",", "") == "1" else word + "s"


#: Units a script may abbreviate after a number, and how each is said.
_UNITS = {
    "min": "minute",
    "mins": "minute",
    "minute": "minute",
    "minutes": "minute",
    "sec": "second",
    "secs": "second",
    "second": "second",
    "seconds": "second",
    "hr": "hour",
    "hrs": "hour",
    "hour": "hour",
    "hours": "hour",
}
#: Each currency's unit and hundredth, singular and plural.
_CURRENCIES = {
    "$": (("dollar", "dollars"), ("cent", "cents")),
    "£": (("pound", "pounds"), ("penny", "pence")),
    "€": (("euro", "euros"), ("cent", "cents")),
}


def _unit(match: re.Match) -> str:
    """ "1 min", "10 mins": the number in words, the unit in full and agreeing with it."""
    count, unit = match.group(1), _UNITS[match.group(2).lower()]
    return f"{_words(count)} {_plural(unit, count)}"


def _money(match: re.Match) -> str:
    """ "$5", "£2.50": five dollars, two pounds and fifty pence."""
    (one, many), (small, smalls) = _CURRENCIES[match.group("sign")]
    whole, fraction = match.group("whole"), match.group("fraction")
    spoken = f"{_words(whole)} {one if whole == '1' else many}"
    hundredths = int((fraction or "0").ljust(2, "0")[:2])
    if hundredths:
        spoken += f" and {_words(str(hundredths))} {small if hundredths == 1 else smalls}"
    return spoken


def _fraction(match: re.Match) -> str:
    """ "1/2", "3/4": a half, three quarters; anything larger is left to the number rule."""
    top, bottom = int(match.group(1)), int(match.group(2))
    name = {2: "half", 4: "quarter"}.get(bottom) or _words(str(bottom), to="ordinal")
    if top > 1:
        name = "halves" if bottom == 2 else name + "s"
    return f"{_words(match.group(1))} {name}"


def _decade(match: re.Match) -> str:
    """ "the 1960s", "your 30s": nineteen sixties, thirties."""
    number = match.group(1)
    spoken = _words(number, "year" if len(number) == 4 and number[0] in "12" else "cardinal")
    return spoken[:-1] + "ies" if spoken.endswith("y") else spoken + "s"


#: The full stop of "a.m." inside a sentence (one ending the sentence is kept).
_AP_DOT = r"(?:\.(?=\s+[a-z]))?"
_NUMBER = r"(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d+))?"
#: Joins the digits of a number to be read one by one (a helpline: "116 123" is "one one six,
#: one two three"); invisible in captions. Templates mark a value with the `digits` filter.
DIGIT_JOINER = "\u2060"


def _digit_by_digit(match: re.Match) -> str:
    groups = re.split(r"[\s\-–.]+", match.group().replace(DIGIT_JOINER, ""))
    return ", ".join(" ".join(_words(d) for d in group) for group in groups if group)


def mark_digits(text: str) -> str:
    """`text` with each run of digits (and the spaces or dashes inside a number such as
    "0800 123 456") marked to be read digit by digit."""
    return re.sub(r"\d+", lambda m: DIGIT_JOINER.join(m.group()) + DIGIT_JOINER, text)


NUMBER_RULES: tuple[Rule, ...] = (
    # a number marked digit by digit: a helpline, read as people read a phone number
    Rule(
        re.compile(rf"\+?\d{DIGIT_JOINER}(?:(?:[\s\-–.]*\d)?{DIGIT_JOINER})*"),
        _digit_by_digit,
    ),
    # 10:30, 7:05 pm, 6 a.m.
    Rule(
        re.compile(
            r"\b(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?:\s*(?P<ap>[AaPp])\.?[Mm]\b" + _AP_DOT + ")?"
        ),
        _time,
    ),
    Rule(re.compile(r"\b(?P<h>1[0-2]|0?\d)\s*(?P<ap>[AaPp])\.?[Mm]\b" + _AP_DOT), _time),
    # 4-7-8 breathing: the counts one by one
    Rule(
        re.compile(r"\b\d+(?:-\d+){2,}\b"),
        lambda m: " ".join(_words(n) for n in m.group().split("-")),
    ),
    # 5–10 or 3-5: "five to ten"
    Rule(
        re.compile(r"\b(\d+)\s?[-–—]\s?(\d+)\b"),
        lambda m: f"{_words(m.group(1))} to {_words(m.group(2))}",
    ),
    Rule(re.compile(r"(?P<sign>[$£€])" + _NUMBER + r"\b"), _money),
    Rule(re.compile(r"\b" + _NUMBER + r"\s?%"), lambda m: _number(m) + " percent"),
    Rule(re.compile(r"\b([1-9])/([2-9]|10)\b(?![/\d])"), _fraction),
    Rule(re.compile(r"\b(\d+)\s?(" + "|".join(_UNITS) + r")\b", re.IGNORECASE), _unit),
    Rule(re.compile(r"\b(\d+)(?:st|nd|rd|th)\b"), lambda m: _words(m.group(1), "ordinal")),
    Rule(re.compile(r"\b(\d*0)'?s\b"), _decade),
    Rule(re.compile(r"\b(\d+)x\b"), lambda m: _words(m.group(1)) + " times"),
    Rule(re.compile(r"#(\d+)\b"), lambda m: "number " + _words(m.group(1))),
    Rule(re.compile(r"(?<![\w.])" + _NUMBER + r"(?![\w]|\.\d)"), _number),
)


class Normalizer:
    """Applies pronunciation rules, then reads numbers and times in words."""

    def __init__(self, rules: Sequence[Rule] = ()):
        self.rules = tuple(rules) + NUMBER_RULES

    def __call__(self, text: str) -> str:
        budget = max(GROWTH * len(text), len(text) + GROWTH_ROOM)
        for rule in self.rules:
            text = rule.apply(text, budget)
        return " ".join(text.split())


def rule_files(extra_files: Sequence[Path | str] = (), user: bool = True) -> list[Path]:
    """The files whose rules apply, in order: `extra_files`, the user's file if there is one,
    then the built-in file."""
    found = [Path(path).expanduser() for path in extra_files]
    if user and user_file().is_file():
        found.append(user_file())
    return [*found, builtin_file()]


def load(extra_files: Sequence[Path | str] = (), user: bool = True) -> Normalizer:
    """Rules from `extra_files` (in order), the user's file, then the built-in file."""
    return Normalizer([rule for path in rule_files(extra_files, user) for rule in read_rules(path)])
