"""The helpers a template can call, its filters, and the sandboxed Jinja environment it runs in.

Each helper returns script markup (`pause(4)` -> ``[pause 4s]``); their arguments are checked
here, so a template's mistake is named at its line. The environment is made fresh per run
(no shared, mutable Jinja state) and lets a template use its variables, `minutes` and these
helpers, and nothing else of Python.
"""

from __future__ import annotations

import difflib
import re

import jinja2

from letgo.words import script, speakable
from letgo.words.sandbox import LetgoSandbox


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


def syntax_problem(exc: jinja2.TemplateSyntaxError) -> str:
    """What Jinja found wrong, said for the template's writer: an unknown filter is named
    with the filters close to it, not called a syntax error."""
    message = exc.message or "the template cannot be read"
    unknown = re.match(r"No filter named '([^']+)'", message)
    if not unknown:
        return f"syntax error: {message}"
    filters = sorted(make_environment().filters)
    close = difflib.get_close_matches(unknown[1], filters, n=1)
    hint = f"did you mean {close[0]}?" if close else f"the filters are {', '.join(filters)}"
    return f"there is no filter named '{unknown[1]}'; {hint}"
