"""The script markup: what a rendered template says, where it pauses and where a bell rings.

The format is line based and small enough to write by hand::

    ## Arrival                      a named section (it becomes a chapter)
    Let your eyes close.            spoken text; lines run on into one paragraph
                                    a blank line ends the paragraph (a longer gap)
    [pause 4s]                      a fixed silence (s, ms or a bare number of seconds)
    [pause 20s flex]                a flexible silence, stretched or shrunk to fit --minutes
    [pause 20s flex min=5s weight=2]   ... with its shortest length and its share of the stretch
    [hold 60s min=10s | Come back to your breath. | Notice, and return.]
                                    a flexible silence that, stretched past the plan's split
                                    limit, is cut into equal parts with the cues said between
    [bell]                          a bell strike
    <break time="3s"/>              SSML's break, a fixed silence; may sit inside a line
    <prosody rate="85%" volume="-3dB" pitch="-10%">...</prosody>
                                    whole sentences said slower, softer or lower; may span lines
    <repeat>I let you go.</repeat>  a phrase for the listener to repeat: its own sentence(s)

Tags may also sit inside a line of text. Parsing is pure: text in, `Script` out, and every
error names the line and column.

A template variable's value is words, never markup: `literal` swaps each character the markup
gives a meaning to (see `MARKUP`) for a stand-in from Unicode's private-use area, which no tag,
heading or break can match, and the parser turns the stand-ins back into the characters in the
text it speaks and the titles it shows.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Literal

from letgo.errors import TemplateError

#: A flexible pause with no ``min=`` may shrink to this share of its written length...
FLEX_MIN_SHARE = 0.3
#: ... but never below this many seconds (or its written length, if that is shorter).
FLEX_MIN_FLOOR = 1.0


CueKind = Literal["bell"]
"""The sounds a script may ask for besides speech."""


@dataclass(frozen=True)
class Prosody:
    """How a passage is voiced, relative to the session's voice."""

    rate: float = 1.0
    """Speed: 0.85 is 15% slower (pyttsx3's rate is multiplied, Piper's length scale divided)."""
    volume: float = 0.0
    """Gain in dB on the clip after its loudness is levelled: -3 is really 3 dB softer."""
    pitch: float = 0.0
    """Pitch change as a share of the voice's own: -0.1 is 10% lower (eSpeak only)."""

    @property
    def voice(self) -> tuple[float, float]:
        """What the engine must know (volume is the mixer's business)."""
        return (self.rate, self.pitch)


PLAIN = Prosody()
#: Bounds on prosody values, so a typo cannot make a passage inaudible or absurd.
RATE_RANGE = (0.5, 2.0)
VOLUME_RANGE = (-20.0, 6.0)
PITCH_RANGE = (-0.5, 0.5)


@dataclass(frozen=True)
class Speech:
    """One sentence to speak; `paragraph_end` asks the planner for the longer gap after it."""

    text: str
    line: int
    paragraph_end: bool = False
    prosody: Prosody = PLAIN
    repeat: bool = False
    """A phrase the listener is asked to say after the voice (marked <repeat>)."""


@dataclass(frozen=True)
class Pause:
    """Silence. A flexible pause runs `minimum + weight * stretch` seconds, where the planner
    picks one stretch for the whole script; at stretch 1 it is its written `seconds`."""

    seconds: float
    line: int
    flexible: bool = False
    minimum: float | None = None
    weight: float | None = None
    cues: tuple[Speech, ...] = ()
    """A hold's return cues: said in turn between equal parts when it grows past the limit."""

    def length(self, stretch: float) -> float:
        if not self.flexible:
            return self.seconds
        return self.min_length + self.stretch_weight * stretch

    @property
    def min_length(self) -> float:
        if not self.flexible:
            return self.seconds
        if self.minimum is not None:
            return self.minimum
        return min(self.seconds, max(FLEX_MIN_FLOOR, self.seconds * FLEX_MIN_SHARE))

    @property
    def stretch_weight(self) -> float:
        if not self.flexible:
            return 0.0
        if self.weight is not None:
            return self.weight
        return self.seconds - self.min_length


@dataclass(frozen=True)
class Cue:
    """A sound that is not speech; only ``bell`` for now."""

    kind: CueKind
    line: int


Item = Speech | Pause | Cue


@dataclass(frozen=True)
class Section:
    title: str | None
    items: tuple[Item, ...]
    line: int = 1


@dataclass(frozen=True)
class Script:
    sections: tuple[Section, ...] = field(default_factory=tuple)

    @property
    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]

    @property
    def sentences(self) -> list[Speech]:
        return [item for item in self.items if isinstance(item, Speech)]

    @property
    def spoken(self) -> list[Speech]:
        """Everything that may be said, in clip order: the sentences, then each hold's cues.

        Cues are spoken up front (there are few) so the planner can place them where needed."""
        return self.sentences + [
            cue for item in self.items if isinstance(item, Pause) for cue in item.cues
        ]


#: The characters that mean something in the markup: tags, SSML breaks, headings.
MARKUP = "[]<>#|"
#: Each markup character's stand-in inside a value, and the way back.
_STAND_IN = {ord(c): 0xE000 + ord(c) for c in MARKUP}
_RESTORE = {stand_in: chr(c) for c, stand_in in _STAND_IN.items()}
#: Unicode categories dropped from a value: controls, lone surrogates and private use (where
#: the stand-ins live).
_DROPPED = {"Cc", "Cs", "Co"}


class Markup(str):
    """A value that is script markup on purpose (the text of `letgo sample`): kept as it is,
    never tidied or marked. Values from the command line, plans and CSVs are plain str."""


def tidy(value: str) -> str:
    """A value as a person means it: one line (line and paragraph separators, tabs and other
    whitespace become single spaces), no control characters or lone surrogates, no surrounding
    spaces, and no trailing full stop (the template ends the sentence; an ellipsis stays)."""
    text = " ".join(str(value).split())
    text = "".join(c for c in text if unicodedata.category(c) not in _DROPPED).strip()
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1].rstrip()
    return text


def literal(value: str) -> str:
    """`value`, tidied, with its markup characters swapped for stand-ins: said as typed."""
    if isinstance(value, Markup):
        return str(value)
    return tidy(value).translate(_STAND_IN)


def restore(text: str) -> str:
    """Stand-ins back to the characters they stand for (for speech and titles)."""
    return text.translate(_RESTORE)


_TAG = re.compile(
    r"\[(?P<tag>[^\[\]]*)\]"
    r"|<(?P<close>/)?(?P<element>break|prosody|repeat)\b(?P<attrs>[^<>]*?)/?>",
    re.IGNORECASE,
)
_ATTR = re.compile(r"""\s*(?P<key>[A-Za-z_-]+)\s*=\s*(?P<q>["'])(?P<value>[^"']*)(?P=q)""")
_WHOLE = re.compile(r"[.!?…:][\"'”’)]*$")
_SENTENCE_END = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)]))\s+")
_DURATION = re.compile(r"^(?P<num>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>ms|s|sec|m|min)?$", re.IGNORECASE)
_UNITS = {None: 1.0, "s": 1.0, "sec": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0}
#: The longest single pause, in markup or a helper's argument: a longer one is almost surely a
#: typo (a bare 600 meaning 600 ms, say).
MAX_PAUSE = 3600.0


def parse_duration(text: str) -> float:
    """'4s', '500ms', '2.5', '1m' -> seconds; ValueError with a readable message otherwise."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a duration (write e.g. 4s, 500ms or 1.5)")
    seconds = float(match.group("num")) * _UNITS[(match.group("unit") or "").lower() or None]
    if seconds > MAX_PAUSE:
        raise ValueError(f"'{text}' is longer than an hour")
    return seconds


#: A full stop that does not end a sentence: a title before a name ("Dr. Lee") or a common
#: abbreviation ("e.g.", "i.e.", "approx.").
_NOT_AN_END = re.compile(
    r"(?:\b(?:Dr|Mr|Mrs|Ms|St|Prof)|\b[Ee]\.\s?[Gg]|\b[Ii]\.\s?[Ee]|\bcf|\bvs|"
    r"\bapprox)\.$"
)


#: The most characters one sentence may have: about 170 words, a minute or more of speech
#: without a full stop (the pacing lint already warns past 25 words).
MAX_SENTENCE = 1000


def split_sentences(text: str) -> list[str]:
    """Sentence-sized pieces: speech engines are most dependable on short jobs.

    A full stop after an abbreviation, or followed by a lower-case word ("at 6 a.m. and"),
    does not end the sentence."""
    pieces: list[str] = []
    for piece in (p.strip() for p in _SENTENCE_END.split(text)):
        if not piece:
            continue
        if pieces and (
            _NOT_AN_END.search(pieces[-1]) or (pieces[-1].endswith(".") and piece[0].islower())
        ):
            pieces[-1] = f"{pieces[-1]} {piece}"
        else:
            pieces.append(piece)
    return pieces


class _Parser:
    def __init__(self, source: str | None):
        self.source = source
        self.sections: list[Section] = []
        self.title: str | None = None
        self.title_line = 1
        self.items: list[Item] = []
        self.paragraph: list[tuple[str, int]] = []  # (text, line) pieces awaiting a pause or break
        self.prosody = PLAIN
        self.open: dict[str, int] = {}  # <prosody>/<repeat> element open -> the line it opened on

    def error(self, message: str, line: int, column: int = 1) -> TemplateError:
        return TemplateError(message, self.source, line, column)

    def check_length(self, sentence: str, line: int, column: int = 1) -> None:
        """A sentence a voice can be given at once: a runaway one (a missing full stop, a
        pasted file) would be spoken, and held in memory, as one clip of hours."""
        if len(sentence) > MAX_SENTENCE:
            raise self.error(
                f"a sentence of {len(sentence):,} characters ('{sentence[:30]}...'); a sentence "
                f"may have at most {MAX_SENTENCE:,}: end sentences with a full stop",
                line,
                column,
            )

    def flush_text(self, paragraph_end: bool) -> None:
        if not self.paragraph:
            return
        text = " ".join(piece for piece, _ in self.paragraph)
        starts, offset = [], 0  # (offset in text, line) of each piece
        for piece, piece_line in self.paragraph:
            starts.append((offset, piece_line))
            offset += len(piece) + 1
        self.paragraph = []
        sentences = split_sentences(text)
        position = 0
        for i, sentence in enumerate(sentences):
            last = i == len(sentences) - 1
            position = max(position, text.find(sentence, position))
            line = max(n for start, n in starts if start <= position)  # where it starts
            self.check_length(sentence, line)
            self.items.append(
                Speech(
                    restore(sentence),
                    line,
                    paragraph_end=paragraph_end and last,
                    prosody=self.prosody,
                    repeat="repeat" in self.open,
                )
            )

    def end_paragraph(self) -> None:
        self.flush_text(paragraph_end=True)
        for i in range(len(self.items) - 1, -1, -1):  # a blank line after a pause still counts
            item = self.items[i]
            if isinstance(item, Speech):
                if not item.paragraph_end:
                    self.items[i] = replace(item, paragraph_end=True)
                break
            if not isinstance(item, Pause):
                break

    def close_section(self) -> None:
        self.end_paragraph()
        if self.items or self.title is not None:
            self.sections.append(Section(self.title, tuple(self.items), self.title_line))
        self.items = []

    def tag(self, body: str, line: int, column: int) -> Item:
        head, *cues = body.split("|")
        words = head.split()
        if not words:
            raise self.error("empty tag []; write [pause 4s] or [bell]", line, column)
        name, args = words[0].lower(), words[1:]
        if name == "bell":
            if args or cues:
                raise self.error(
                    f"[bell] takes no arguments, got '{body[4:].strip()}'", line, column
                )
            return Cue("bell", line)
        if name not in ("pause", "hold"):
            raise self.error(
                f"unknown tag [{body}]; known tags: [pause ...], [hold ...], [bell]", line, column
            )
        if cues and name != "hold":
            raise self.error(f"[{body}]: only [hold ...] takes cues after '|'", line, column)
        if not args:
            raise self.error(f"[{name}] needs a length, e.g. [{name} 4s]", line, column)
        try:
            seconds = parse_duration(args[0])
            flexible, minimum, weight = name == "hold", None, None
            for arg in args[1:]:
                key, _, value = arg.partition("=")
                key = key.lower()
                if key == "flex" and not value:
                    flexible = True
                elif key == "min" and value:
                    minimum = parse_duration(value)
                elif key == "weight" and value:
                    weight = float(value)
                    if weight < 0:
                        raise ValueError("weight must not be negative")
                else:
                    raise ValueError(
                        f"unknown {name} option '{arg}' (known: "
                        f"{'flex, ' if name == 'pause' else ''}min=, weight=)"
                    )
        except ValueError as exc:
            raise self.error(f"[{body}]: {exc}", line, column) from None
        if (minimum is not None or weight is not None) and not flexible:
            raise self.error(f"[{body}]: min= and weight= need 'flex'", line, column)
        if minimum is not None and minimum > seconds:
            raise self.error(f"[{body}]: min= is longer than the pause itself", line, column)
        spoken = []
        for cue in cues:
            text = " ".join(cue.split())
            if not text:
                raise self.error(f"[{body}]: an empty cue between '|'s", line, column)
            self.check_length(text, line, column)
            spoken.append(Speech(restore(text), line, prosody=self.prosody))
        return Pause(seconds, line, flexible, minimum, weight, tuple(spoken))

    def element(self, name: str, closing: bool, attrs: str, line: int, column: int) -> None:
        """<prosody ...> / </prosody> and <repeat> / </repeat>: they wrap whole sentences."""
        tag = f"</{name}>" if closing else f"<{name}>"
        pending = " ".join(piece for piece, _ in self.paragraph)
        if pending and not _WHOLE.search(pending):
            where = "inside it" if closing else "before it"
            raise self.error(
                f"{tag} must wrap whole sentences: the text {where} ends "
                f"mid-sentence ('...{pending[-30:]}')",
                line,
                column,
            )
        self.flush_text(paragraph_end=False)
        if closing:
            if attrs.strip():
                raise self.error(f"{tag} takes no attributes", line, column)
            if name not in self.open:
                raise self.error(f"{tag} without an opening <{name}>", line, column)
            del self.open[name]
            if name == "prosody":
                self.prosody = PLAIN
            return
        if name in self.open:
            raise self.error(
                f"<{name}> inside another <{name}> (opened on line "
                f"{self.open[name]}); close the first one before",
                line,
                column,
            )
        if name == "prosody":
            self.prosody = self.prosody_of(attrs, line, column)
        elif attrs.strip():
            raise self.error(f"<{name}> takes no attributes", line, column)
        self.open[name] = line

    def prosody_of(self, attrs: str, line: int, column: int) -> Prosody:
        values: dict[str, str] = {}

        def take(match: re.Match[str]) -> str:
            values.setdefault(match["key"].lower(), match["value"])  # the first of a key wins
            return ""

        rest = _ATTR.sub(take, attrs)
        if rest.strip().strip("/"):
            raise self.error(
                f"<prosody>: cannot read '{rest.strip()}'; write e.g. "
                '<prosody rate="85%" volume="-3dB" pitch="-10%">',
                line,
                column,
            )
        unknown = set(values) - {"rate", "volume", "pitch"}
        if unknown:
            raise self.error(
                f"<prosody>: unknown attribute '{sorted(unknown)[0]}' (known: rate, volume, pitch)",
                line,
                column,
            )
        if not values:
            raise self.error(
                '<prosody> needs rate=, volume= or pitch= (e.g. rate="85%")', line, column
            )
        try:
            return Prosody(
                rate=_share(values.get("rate", "100%"), "rate", RATE_RANGE),
                volume=_decibels(values.get("volume", "0dB")),
                pitch=_share(values.get("pitch", "+0%"), "pitch", PITCH_RANGE),
            )
        except ValueError as exc:
            raise self.error(f"<prosody>: {exc}", line, column) from None

    def ssml_break(self, attrs: str, line: int, column: int) -> Pause:
        match = re.search(r"time\s*=\s*[\"']([^\"']+)[\"']", attrs)
        if not match:
            raise self.error('<break> needs time="..." (e.g. <break time="3s"/>)', line, column)
        try:
            return Pause(parse_duration(match.group(1)), line)
        except ValueError as exc:
            raise self.error(f"<break>: {exc}", line, column) from None

    def line(self, text: str, number: int) -> None:
        stripped = text.strip()
        if not stripped:
            self.end_paragraph()
            return
        if stripped.startswith("#"):
            heading = re.match(r"^##\s+(\S.*)$", stripped)
            if not heading:
                raise self.error("a section heading is '## Title'", number, text.index("#") + 1)
            self.close_section()
            self.title, self.title_line = restore(heading.group(1).strip()), number
            return
        position = 0
        for match in _TAG.finditer(text):
            self.add_text(text[position : match.start()], number, position)
            column = match.start() + 1
            element = (match.group("element") or "").lower()
            if element in ("prosody", "repeat"):
                self.element(
                    element, bool(match.group("close")), match.group("attrs"), number, column
                )
                position = match.end()
                continue
            if match.group("tag") is not None:
                item = self.tag(match.group("tag"), number, column)
            elif match.group("close"):
                raise self.error('</break> is not a tag; write <break time="2s"/>', number, column)
            else:
                item = self.ssml_break(match.group("attrs"), number, column)
            self.flush_text(paragraph_end=False)
            self.items.append(item)
            position = match.end()
        self.add_text(text[position:], number, position)

    def add_text(self, text: str, line: int, offset: int) -> None:
        for bad in ("[", "]", "<", ">"):
            if bad in text:
                column = offset + text.index(bad) + 1
                raise self.error(
                    f"stray '{bad}' in text; tags are [pause 4s], [hold 60s], [bell], "
                    '<break time="2s"/>, <prosody ...> or <repeat>',
                    line,
                    column,
                )
        if text.strip():
            self.paragraph.append((" ".join(text.split()), line))


def parse(text: str, source: str | None = None) -> Script:
    """Parse script markup into a `Script`; raises `TemplateError` with line and column."""
    parser = _Parser(source)
    for number, text_line in enumerate(text.splitlines(), start=1):
        parser.line(text_line, number)
    parser.close_section()
    for name, opened in parser.open.items():
        raise parser.error(f"<{name}> is never closed (add </{name}>)", opened)
    return Script(tuple(parser.sections))


def _share(text: str, what: str, bounds: tuple[float, float]) -> float:
    """A rate as a share of normal ('85%' or 0.85), a pitch as a change ('-10%', -0.1, '-2st')."""
    text = text.strip().lower()
    try:
        if text.endswith("%"):
            value = float(text[:-1]) / 100
        elif text.endswith("st") and what == "pitch":
            value = 2 ** (float(text[:-2]) / 12) - 1
        else:
            value = float(text)
    except ValueError:
        raise ValueError(
            f"{what}='{text}' is not a number (write e.g. {'85%' if what == 'rate' else '-10%'})"
        ) from None
    low, high = bounds
    if not low <= value <= high:
        sign = "+" if what == "pitch" else ""
        raise ValueError(f"{what}='{text}' is out of range ({low:{sign}.0%}..{high:{sign}.0%})")
    return value


def _decibels(text: str) -> float:
    raw = text.strip().lower().removesuffix("db")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"volume='{text}' is not a number of dB (write e.g. -3dB)") from None
    low, high = VOLUME_RANGE
    if not low <= value <= high:
        raise ValueError(f"volume='{text}' is out of range ({low:g}dB..{high:+g}dB)")
    return value
