"""A person as a listener types them, said back in the guide's second person.

A listener names someone the way they think of them: a name ("alex", "Mary-Jane"), a relation
("my mother", "my ex"), a group ("Mum and Dad", "my parents") or a pronoun ("her"). The guide
speaks to the listener, so "my mother" becomes "your mother"; a name keeps (or gains) its
capital; a relation stays lower case; a group takes a plural verb ("Mum and Dad are").

`Person` is that reading. It is a `str` (its text is the person as said mid-sentence, so
``{{ person }}``, ``~`` and the helpers work as with any value), and it carries the other forms
a sentence may need::

    {{ person }}                   your mother / Alex / Mum and Dad / her
    {{ person|capfirst }}          Your mother  (at a sentence's start)
    {{ person.subject }}           she (typed "her"); otherwise as {{ person }}
    {{ person.possessive }}        your mother's / Alex's / your parents' / her
    {{ person.verb("comes", "come") }}, {{ person.is_ }}, {{ person.has }}, {{ person.was }}
    {{ person.they }} {{ person.they.verb("is", "are") }}   she is / they are
    {{ person.them }}, {{ person.their }}                   her, her / them, their

An empty value reads as the template's fallback (the variable's ``fallback`` in the header,
"this person" when none is given), and is false in ``{% if person %}``.

The text is built from the value after `script.literal` has made it safe (markup characters
swapped for stand-ins), so nothing typed can become a pause or a bell.
"""

from __future__ import annotations

import re

#: What a person reads as when nothing is typed and the template names no fallback.
NEUTRAL = "this person"

_TO_YOUR = {"my": "your", "our": "your", "your": "your"}
_DETERMINERS = {
    "my",
    "our",
    "your",
    "the",
    "a",
    "an",
    "his",
    "her",
    "their",
    "this",
    "that",
}
#: Kin words people also use as names ("Mum said..."): bare, they are capitalised.
_ADDRESS = {
    "mum",
    "mom",
    "mam",
    "mummy",
    "mommy",
    "mama",
    "mamma",
    "ma",
    "mother",
    "dad",
    "daddy",
    "papa",
    "pa",
    "father",
    "grandma",
    "grandmother",
    "granny",
    "gran",
    "nan",
    "nana",
    "nanna",
    "grandpa",
    "grandfather",
    "grandad",
    "granddad",
    "gramps",
    "auntie",
    "aunty",
}
#: Relation words that are never names: bare, they become "your ...".
_RELATIONS = {
    "ex",
    "ex-wife",
    "ex-husband",
    "ex-partner",
    "ex-boyfriend",
    "ex-girlfriend",
    "partner",
    "husband",
    "wife",
    "boyfriend",
    "girlfriend",
    "fiance",
    "fiancé",
    "fiancee",
    "fiancée",
    "spouse",
    "friend",
    "best",
    "boss",
    "colleague",
    "son",
    "daughter",
    "brother",
    "sister",
    "sibling",
    "child",
    "baby",
    "aunt",
    "uncle",
    "cousin",
    "niece",
    "nephew",
    "stepmother",
    "stepmum",
    "stepmom",
    "stepfather",
    "stepdad",
    "parent",
    "parents",
    "children",
    "kids",
    "family",
    "folks",
    "siblings",
    "brothers",
    "sisters",
    "grandparents",
    "in-laws",
    "twins",
    "friends",
    "teacher",
    "therapist",
    "mentor",
    "flatmate",
    "roommate",
    "housemate",
    "neighbour",
    "neighbor",
    "old",
    "first",
    "late",
    "dear",
    "former",
    "little",
    "big",
    "older",
    "younger",
    "step",
    "ex's",
    "love",
}
_PLURAL_NOUNS = {
    "parents",
    "children",
    "kids",
    "folks",
    "siblings",
    "brothers",
    "sisters",
    "grandparents",
    "in-laws",
    "twins",
    "friends",
    "exes",
    "people",
    "boys",
    "girls",
    "guys",
    "daughters",
    "sons",
    "cousins",
    "colleagues",
}
_SHE = {
    "mum",
    "mom",
    "mam",
    "mummy",
    "mommy",
    "mama",
    "mamma",
    "ma",
    "mother",
    "grandma",
    "grandmother",
    "granny",
    "gran",
    "nan",
    "nana",
    "nanna",
    "auntie",
    "aunty",
    "aunt",
    "wife",
    "ex-wife",
    "girlfriend",
    "ex-girlfriend",
    "fiancee",
    "fiancée",
    "sister",
    "daughter",
    "niece",
    "stepmother",
    "stepmum",
    "stepmom",
}
_HE = {
    "dad",
    "daddy",
    "papa",
    "pa",
    "father",
    "grandpa",
    "grandfather",
    "grandad",
    "granddad",
    "gramps",
    "uncle",
    "husband",
    "ex-husband",
    "boyfriend",
    "ex-boyfriend",
    "fiance",
    "fiancé",
    "brother",
    "son",
    "nephew",
    "stepfather",
    "stepdad",
}
#: Pronouns typed for the person: (subject, object, possessive, plural verb).
_PRONOUNS = {
    "she": ("she", "her", "her", False),
    "her": ("she", "her", "her", False),
    "he": ("he", "him", "his", False),
    "him": ("he", "him", "his", False),
    "they": ("they", "them", "their", True),
    "them": ("they", "them", "their", True),
}
#: Name particles that stay lower case inside a name ("Ludwig van Beethoven").
_PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "del", "la", "le", "du", "bin", "al"}
_JOINERS = {"and", "&", "or", "+"}
#: Words that make a value no one at all: the listener themself, or the guide.
_SELF = {"i", "me", "myself", "we", "us", "ourselves", "you", "yourself", "yourselves", "mine"}
_WORD = re.compile(r"[^\W\d_]", re.UNICODE)


class Person(str):
    """See the module docstring. Build one with `Person.typed` (a listener's value) or
    `Person.written` (a template's own words, such as its fallback)."""

    subject: str
    possessive: str
    plural: bool
    typed_text: str
    _pronoun: tuple[str, str, str, bool]

    def __new__(
        cls,
        said: str,
        *,
        subject: str | None = None,
        possessive: str | None = None,
        plural: bool = False,
        pronoun: tuple[str, str, str, bool] = ("they", "them", "their", True),
        typed: str = "",
    ) -> Person:
        self = super().__new__(cls, said)
        self.subject = subject if subject is not None else said
        self.possessive = possessive if possessive is not None else _possessive(said, plural)
        self.plural = plural
        self.typed_text = typed
        self._pronoun = pronoun
        return self

    # --- making one --------------------------------------------------------------------------

    @classmethod
    def typed(cls, value: str, fallback: str | None = None) -> Person:
        """A listener's value, already made safe (`script.literal`); empty reads as `fallback`."""
        text = " ".join(str(value).split())
        if not text:
            return cls.written(fallback or NEUTRAL, given=False)
        lower = text.lower()
        if lower in _PRONOUNS:
            subject, obj, possessive, plural = _PRONOUNS[lower]
            return cls(
                obj,
                subject=subject,
                possessive=possessive,
                plural=plural,
                pronoun=_PRONOUNS[lower],
                typed=text,
            )
        parts, joins = _split_group(text)
        said = [_said(parts[0])]
        for part in parts[1:]:  # "my mum and dad": dad shares the "your"
            shared = said[-1].split()[0] in _DETERMINERS and _is_kin(part)
            said.append(
                " ".join(_relation_word(w) for w in part.split()) if shared else _said(part)
            )
        plural = len(parts) > 1 or _is_plural(said[0])
        joined = said[0] + "".join(j + p for j, p in zip(joins, said[1:], strict=True))
        return cls(joined, plural=plural, pronoun=_pronoun_for(said, plural), typed=text)

    @classmethod
    def written(cls, text: str, given: bool = False) -> Person:
        """The template's own words for a person ("the one you've lost"): said as written."""
        text = " ".join(str(text).split()) or NEUTRAL
        lower = text.lower()
        if lower in _PRONOUNS:
            subject, obj, possessive, plural = _PRONOUNS[lower]
            return cls(
                obj,
                subject=subject,
                possessive=possessive,
                plural=plural,
                pronoun=_PRONOUNS[lower],
                typed=text if given else "",
            )
        plural = _is_plural(text)
        return cls(text, plural=plural, typed=text if given else "")

    # --- what a template uses ----------------------------------------------------------------

    def __bool__(self) -> bool:
        """True when the listener named someone (a fallback is false, as an empty value is)."""
        return bool(self.typed_text)

    def verb(self, singular: str, plural: str) -> str:
        """The verb form that agrees: ``person.verb("comes", "come")``."""
        return plural if self.plural else singular

    @property
    def is_(self) -> str:
        return self.verb("is", "are")

    @property
    def has(self) -> str:
        return self.verb("has", "have")

    @property
    def was(self) -> str:
        return self.verb("was", "were")

    @property
    def they(self) -> Person:
        """The pronoun that stands for this person, as a subject ("she", "they")."""
        subject, obj, possessive, plural = self._pronoun
        return Person(subject, possessive=possessive, plural=plural, pronoun=self._pronoun)

    @property
    def them(self) -> str:
        return self._pronoun[1]

    @property
    def their(self) -> str:
        return self._pronoun[2]

    def problem(self) -> str | None:
        """Why this value cannot be read as a person at all; None when it reads."""
        text = self.typed_text
        if not text:
            return None
        if not _WORD.search(text):
            return "has no letters, so it cannot be said as a person"
        words = [w.strip(",").lower() for w in text.split()]
        if any(w in _SELF for w in words):
            return "speaks of you, not of another person (try their name, or 'my mother')"
        if re.search(r"[.!?;:]\s", text) or text.rstrip()[-1:] in "!?;:":
            return "reads as a sentence, not a person (try their name, or 'my ex')"
        if len(words) > 6:
            return "is long for a person (try their name, or 'my parents')"
        return None


# --- reading a typed value -------------------------------------------------------------------


def _split_group(text: str) -> tuple[list[str], list[str]]:
    """'Mum and Dad' -> (['Mum', 'Dad'], [' and ']): the people, and what joins them as typed."""
    pieces = re.split(r"(\s*,\s*(?:and\s+)?|\s+(?:and|&|\+)\s+)", text, flags=re.IGNORECASE)
    parts, joins = pieces[0::2], pieces[1::2]
    if any(not p.strip() for p in parts):
        return [text], []
    return parts, [j if j.strip() != "," else ", " for j in joins]


def _said(part: str) -> str:
    """One person (no 'and' inside), as the guide says it."""
    words = part.split()
    first = words[0].lower()
    if first in _DETERMINERS and len(words) > 1:
        head = _TO_YOUR.get(first, first)
        return " ".join([head, *(_relation_word(w) for w in words[1:])])
    if first in _RELATIONS and first not in _ADDRESS:
        return " ".join(["your", *(_relation_word(w) for w in words)])
    typed_case = part != part.lower()
    return " ".join(_name_word(w, i, typed_case) for i, w in enumerate(words))


def _is_kin(part: str) -> bool:
    words = part.lower().split()
    return all(w in _RELATIONS or w in _ADDRESS or w in _PLURAL_NOUNS for w in words)


def _relation_word(word: str) -> str:
    """A word after 'your': a relation lower case, a name inside it ('your friend Jo') kept."""
    lower = word.lower()
    if lower in _RELATIONS or lower in _ADDRESS or lower in _PLURAL_NOUNS:
        return lower
    return word


def _name_word(word: str, index: int, typed_case: bool) -> str:
    """A word of a name. Typed all in lower case, each part is capitalised ('mary-jane',
    "o'brien"), particles inside a name aside ('van'); otherwise only the name's first letter
    is, and the rest stays as typed ('McKenzie', 'Sam [the great]')."""
    if typed_case:
        return word[:1].upper() + word[1:] if index == 0 else word
    if index and word.lower() in _PARTICLES:
        return word
    pieces = re.split(r"(-)", word)
    out = []
    for piece in pieces:
        if len(piece) > 2 and piece[1] == "'" and piece[0].isalpha():
            piece = piece[0].upper() + "'" + piece[2].upper() + piece[3:]
        out.append(piece[:1].upper() + piece[1:])
    return "".join(out)


def _is_plural(said: str) -> bool:
    words = said.lower().split()
    if not words:
        return False
    if len(words) == 1 and words[0] in _PRONOUNS:
        return _PRONOUNS[words[0]][3]
    if any(w in _JOINERS for w in words[1:-1]):
        return True
    last = words[-1]
    if last in _PLURAL_NOUNS:
        return True
    return (
        words[0] in _DETERMINERS
        and len(words) > 1
        and last.endswith("s")
        and not last.endswith(("ss", "us", "is", "'s", "’s"))
        and last not in _RELATIONS
    )


def _pronoun_for(said: list[str], plural: bool) -> tuple[str, str, str, bool]:
    if plural:
        return _PRONOUNS["they"]
    words = said[0].lower().split()
    head = next((w for w in reversed(words) if w in _SHE or w in _HE), None)
    if head in _SHE and (words[0] == "your" or len(words) == 1):
        return _PRONOUNS["she"]
    if head in _HE and (words[0] == "your" or len(words) == 1):
        return _PRONOUNS["he"]
    return _PRONOUNS["they"]


def _possessive(said: str, plural: bool) -> str:
    """'Alex' -> "Alex's", 'James' -> "James's", 'your parents' -> "your parents'"."""
    lower = said.lower()
    if lower in _PRONOUNS:
        return _PRONOUNS[lower][2]
    if plural and lower.endswith("s") and not lower.endswith("ss"):
        return said + "'"
    return said + "'s"
