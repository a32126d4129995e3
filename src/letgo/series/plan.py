"""Reading a series plan (TOML) into the episodes to build, checked before any work starts.

Any session setting (request.SETTINGS) can be set in [defaults], in a [[sessions]] entry and in
a listener CSV column; the layers are config.toml < [defaults] < session < listener row < the
command line's flags. Shared variables, and a listener's other CSV columns, go only to
templates that take them; a session's own variables must exist in its template. Every error
names the plan file (or CSV), the session (or row) and the field.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from letgo import session
from letgo.errors import LetgoError, PlanError, UsageError
from letgo.file import reading, tags
from letgo.file.formats import extension
from letgo.settings import config, request
from letgo.words import templates

PLAN_DIR = "series"
#: What a [[sessions]] entry and [defaults] may hold: every setting, and these.
SESSION_KEYS = {"template", "title", "description", "variables", *request.BY_NAME}
DEFAULT_KEYS = {"variables", *request.BY_NAME}
SERIES_KEYS = {"title", "author", "description", "year", "genre", "language", "templates", "link"}
#: CSV columns that are not template variables: every setting, and the listener's folder.
LISTENER_SETTINGS = {"folder", *request.BY_NAME}


@dataclass(frozen=True)
class SeriesInfo:
    """What the feed, the page and the tags say about the series as a whole."""

    title: str
    author: str = "letgo"
    description: str = ""
    year: str = ""
    genre: str = "Meditation"
    language: str = "en"
    link: str = ""


@dataclass(frozen=True)
class Episode:
    """One session to build: where it goes and everything that decides its sound and tags."""

    folder: str
    """Sub-folder of the output folder ('' for the series itself, a listener's otherwise)."""
    filename: str
    """File name of the audio, e.g. '01-day-1-meeting-the-pain.mp3' (or the format's
    extension)."""
    title: str
    description: str
    request: session.Request
    tag: tags.TagInfo
    """Tags without the cover, which is made from `cover` where the file is built (it is slow)."""
    cover: str = ""
    """Seed of the generated cover (the series title)."""

    @property
    def relpath(self) -> str:
        return f"{self.folder}/{self.filename}" if self.folder else self.filename


@dataclass(frozen=True)
class SeriesPlan:
    info: SeriesInfo
    source: str
    episodes: tuple[Episode, ...]

    def sets(self) -> dict[str, list[Episode]]:
        """Episodes grouped by folder: one set for a plain plan, one per listener otherwise."""
        grouped: dict[str, list[Episode]] = {}
        for episode in self.episodes:
            grouped.setdefault(episode.folder, []).append(episode)
        return grouped


def slug(text: str, fallback: str = "session") -> str:
    """A file or folder name from a title or a listener's name: its letters and digits, in
    any script (Саша stays саша), lower case, the rest as single hyphens; `fallback` when
    nothing is left (a name of emoji alone)."""
    kept = "".join(
        c if unicodedata.category(c)[0] in "LMN" else "-"
        for c in unicodedata.normalize("NFC", text).lower()
    )
    return re.sub(r"-+", "-", kept).strip("-")[:60].strip("-") or fallback


def one_line(value: str, where: str) -> str:
    """`value` if it is one line (a title, an author); PlanError naming `where` otherwise:
    a line break would add lines to the playlist and the tags."""
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value):
        raise PlanError(f"{where} must be one line (it holds a line break or a control character)")
    return value


def builtin_plans() -> dict[str, Path]:
    folder = templates.builtin_dir() / PLAN_DIR
    return {p.stem: p for p in sorted(folder.glob("*.toml"))} if folder.is_dir() else {}


@dataclass(frozen=True)
class PlanFile:
    """A plan found beside the templates: its name, title and size, and where it was found
    (for `letgo list` and `letgo show`). Not read through: a broken plan still lists."""

    name: str
    path: Path
    origin: str
    title: str
    description: str = ""
    sessions: int = 0
    outline: tuple[tuple[str, str], ...] = ()
    """Each session's title (its template's name where it has none) and template."""


def named_plan(name: str, template_dirs: tuple[str, ...] = ()) -> PlanFile | None:
    """The plan `letgo show NAME` means: one of `plan_files` by name, or a .toml file."""
    for plan in plan_files(template_dirs):
        if plan.name == name:
            return plan
    path = Path(name).expanduser()
    if path.suffix == ".toml" and path.is_file():
        return read_plan_file(path, "file")
    return None


def plan_files(template_dirs: tuple[str, ...] = ()) -> list[PlanFile]:
    """Every visible plan (`series/NAME.toml` in each template folder, yours first), by name."""
    seen: dict[str, PlanFile] = {}
    for folder, origin in templates.TemplateLibrary(template_dirs).dirs:
        for path in sorted((folder / PLAN_DIR).glob("*.toml")):
            if path.stem not in seen:
                seen[path.stem] = read_plan_file(path, origin)
    return sorted(seen.values(), key=lambda info: info.name)


def read_plan_file(path: Path, origin: str) -> PlanFile:
    plan = reading.read_toml(path, PlanError)
    head = plan.get("series") or {}
    sessions = plan.get("sessions") or []
    if not isinstance(head, dict) or not isinstance(sessions, list):
        raise PlanError(f"{path}: a series plan needs a [series] table and [[sessions]]")
    outline = tuple(
        (str(spec.get("title") or spec.get("template")), str(spec.get("template")))
        for spec in sessions
        if isinstance(spec, dict)
    )
    return PlanFile(
        path.stem,
        path,
        origin,
        str(head.get("title", path.stem)),
        str(head.get("description", "")),
        len(sessions),
        outline,
    )


def find(name_or_path: str | Path, template_dirs: tuple[str, ...] = ()) -> Path:
    """A plan file by path, or a plan by name from `series/NAME.toml` beside the templates
    (your template folders first, then the built-in ones; as `letgo list` shows them)."""
    path = Path(name_or_path).expanduser()
    if path.is_file() or (path.exists() and not path.is_dir()):  # a FIFO is refused on reading
        return path
    name = str(name_or_path)
    if "/" not in name:
        for folder, _ in templates.TemplateLibrary(template_dirs).dirs:
            candidate = folder / PLAN_DIR / f"{name}.toml"
            if candidate.is_file():
                return candidate
    known = ", ".join(builtin_plans()) or "none installed"
    raise UsageError(
        f"no plan file or series plan named '{name_or_path}' "
        f"(built-in plans: {known}; 'letgo list' shows yours too)"
    )


def load(
    name_or_path: str | Path,
    template_dirs: tuple[str, ...] = (),
    listeners: str | Path | None = None,
    overrides: request.Layer | None = None,
) -> SeriesPlan:
    """Read, check and expand a plan; raises PlanError naming the session and field.

    `overrides` (the flags, e.g. engine fake and 2 minutes for a quick draft of a whole
    series) win over the plan, the listener rows and config.toml. A length among them is
    one length for many templates, so each session takes the nearest length it can hold
    (`Request.nearest`): `--minutes 2` gives every session at its own shortest.
    """
    if overrides is None:
        overrides = request.Layer({}, {})
    path = find(name_or_path, template_dirs)
    where = str(path)
    data = reading.read_toml(path, PlanError)
    _only(data, {"series", "defaults", "sessions", "listeners"}, where, "the plan")
    series = _table(data, "series", where, "the plan")
    _only(series, SERIES_KEYS, where, "[series]")
    if not isinstance(series.get("title"), str) or not series["title"].strip():
        raise PlanError(f"{where}: [series]: 'title' is required (a non-empty string)")
    head = f"{where}: [series]"
    info = SeriesInfo(
        title=one_line(series["title"].strip(), f"{head}: 'title'"),
        author=one_line(_text(series, "author", where, "[series]", "letgo"), f"{head}: 'author'"),
        description=_text(series, "description", where, "[series]", ""),
        year=_year(series.get("year"), head),
        genre=one_line(_text(series, "genre", where, "[series]", "Meditation"), f"{head}: 'genre'"),
        language=one_line(
            _text(series, "language", where, "[series]", "en"), f"{head}: 'language'"
        ),
        link=one_line(_text(series, "link", where, "[series]", ""), f"{head}: 'link'"),
    )
    own_dirs = _template_folders(series.get("templates", []), path.parent, head)
    dirs = tuple(template_dirs) + tuple(str(d) for d in own_dirs)
    defaults = _table(data, "defaults", where, "the plan")
    _only(defaults, DEFAULT_KEYS, where, "[defaults]")
    sessions = data.get("sessions")
    if not isinstance(sessions, list) or not sessions:
        raise PlanError(f"{where}: the plan has no [[sessions]]; add at least one")
    source = _listeners_file(data, path, listeners)
    rows = _listener_rows(source)
    below = [
        config.settings_layer(),
        _layer(
            defaults, lambda name, value: f"{where}: [defaults] {name} = {value!r}", path.parent
        ),
    ]
    library = templates.TemplateLibrary(dirs)
    allowed = _Allowed(library, path.parent, own_dirs)
    found = [allowed.find(s, f"{where}: {_label(n, s)}") for n, s in enumerate(sessions, 1)]
    if rows[0] is not None:
        assert source is not None  # the rows come from it
        _check_columns(rows[0], found, source)
    cover = info.title
    episodes = []
    folders: dict[str, int] = {}  # a listener's folder -> its row
    for row_number, row in enumerate(rows, start=1):
        folder = ""
        row_layer = request.Layer({}, {})
        if row is not None:
            assert source is not None  # the rows come from it
            folder = slug(
                row.get("folder") or row.get("name") or "", fallback=f"listener-{row_number}"
            )
            if folder in folders:
                raise PlanError(
                    f"{source}: rows {folders[folder] + 1} and {row_number + 1} would both build "
                    f"into the folder '{folder}'; give one another name or a 'folder' column"
                )
            folders[folder] = row_number
            row_layer = _layer(
                {k: v for k, v in row.items() if k in request.BY_NAME},
                _cell_place(source, row_number),
                source.parent,
                text=True,
            )
        for number, spec in enumerate(sessions, start=1):
            label = _label(number, spec)
            if row is not None:
                label = f"listener {row_number} ('{folder}'), {label}"
            episodes.append(
                _episode(
                    spec,
                    found[number - 1],
                    number,
                    len(sessions),
                    defaults,
                    row,
                    folder,
                    info,
                    cover,
                    dirs,
                    path.parent,
                    f"{where}: {label}",
                    [*below, row_layer, overrides],
                    nearest="minutes" in overrides.values,
                )
            )
    names = [e.relpath for e in episodes]
    for name in names:
        if names.count(name) > 1:
            raise PlanError(
                f"{where}: two sessions would both write {name}; give them different titles"
            )
    return SeriesPlan(info, where, tuple(episodes))


# --- what a plan may reach: templates, folders, the listeners CSV -----------------------------


class _Allowed:
    """The templates a plan may use: built-in ones, the user's own (their template folders,
    --templates), and `.j2` files inside the plan's folder or its `templates` folders. A file
    found through the plan's folders must still be one there once its symlinks are followed:
    `evil.j2 -> /etc/shadow` is refused like `template = "/etc/shadow"`, before it is read."""

    REFUSED = (
        "a plan may use built-in templates, your own template folder's, and .j2 files inside "
        "the plan's folder or its 'templates' folders"
    )

    def __init__(self, library: templates.TemplateLibrary, base: Path, own: list[Path]):
        self.library, self.base = library, base
        plan_roots = {_real(base) or base, *own}
        self.trusted = {
            real
            for folder, _ in library.dirs
            if (real := _real(folder)) is not None and real not in own
        }
        self.roots = [*plan_roots, *self.trusted]

    def find(self, spec, label: str) -> templates.TemplateInfo:
        if not isinstance(spec, dict):
            raise PlanError(f"{label}: must be a table with at least 'template'")
        _only(spec, SESSION_KEYS, label, "")
        template = spec.get("template")
        if not isinstance(template, str) or not template.strip():
            raise PlanError(f"{label}: 'template' is required (a template name or .j2 path)")
        try:
            if "/" in template or "\\" in template or template.endswith(templates.SUFFIX):
                path = self.base / Path(template).expanduser()
                self._check(path, label, template)
                return self.library.find(str(_real(path)))
            located = self.library.locate(template)
            if located is None:
                return self.library.find(template, paths=False)  # not found: says so
            if (_real(located[0].parent) or located[0].parent) not in self.trusted:
                self._check(located[0], label, template)
            return templates.read_info(*located)
        except PlanError:
            raise
        except LetgoError as exc:
            raise PlanError(f"{label}: 'template': {exc}") from None

    def _check(self, path: Path, label: str, template: str) -> None:
        real = _real(path)
        if real is None or not real.name.endswith(templates.SUFFIX):
            ok = False
        else:
            ok = any(real.is_relative_to(root) for root in self.roots)
        if not ok:
            raise PlanError(f"{label}: template = {template!r}: {self.REFUSED}")


def _real(path: Path) -> Path | None:
    """`path` with every symlink followed (None for a loop of them)."""
    try:
        return path.expanduser().resolve()
    except (OSError, RuntimeError):
        return None


def _template_folders(value, base: Path, where: str) -> list[Path]:
    """The plan's `templates` folders (relative to its own folder)."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PlanError(
            f"{where}: 'templates' must be a list of folders, e.g. templates = [\"my-templates\"]"
        )
    return [_real(base / v) or base / v for v in value]


def _year(value, where: str) -> str:
    """[series] year: a whole number or text such as "2026" (today's year if not given)."""
    if value is None:
        return str(datetime.date.today().year)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10000:
        return str(value)
    if isinstance(value, str) and re.fullmatch(r"\d{1,4}", value.strip()):
        return value.strip()
    raise PlanError(f"{where}: 'year' must be a year such as 2026")


def _label(number: int, spec) -> str:
    """How an error names a session: its number, and its title where it has one."""
    label = f"session {number}"
    if isinstance(spec, dict) and isinstance(spec.get("title"), str):
        title = spec["title"]
        label += f" ('{title}')" if title.isprintable() else f" ({title!r})"
    return label


def _cell_place(source: Path, row_number: int) -> request.Place:
    """Where a value in a listeners CSV's row came from (its header is line 1)."""

    def place(name: str, value: object) -> str:
        return f"{source} row {row_number + 1}, column {name} = {value!r}"

    return place


def _layer(table: dict, place: request.Place, base: Path, text: bool = False) -> request.Layer:
    """The settings in a plan table or CSV row (its other keys are not settings)."""
    return request.Layer.read(
        {k: v for k, v in table.items() if k in request.BY_NAME}, place, text=text, base=base
    )


def _episode(
    spec: dict,
    found: templates.TemplateInfo,
    number: int,
    total: int,
    defaults: dict,
    row: dict | None,
    folder: str,
    info: SeriesInfo,
    cover: str,
    dirs: tuple[str, ...],
    base: Path,
    label: str,
    layers: list[request.Layer],
    nearest: bool = False,
) -> Episode:
    template = found.name if found.origin != "file" else str(found.path)
    own_layer = _layer(spec, lambda name, value: f"{label}: {name} = {value!r}", base)
    layers = [*layers[:2], own_layer, *layers[2:]]  # config, defaults, session, row, flags
    known = set(found.variable_names())
    shared = _variables(defaults.get("variables", {}), label, "[defaults.variables]")
    listener = {}  # a row's own values win over the session's, as its settings do
    if row is not None:  # an empty cell sets nothing, as for settings
        listener = {k: v for k, v in row.items() if k not in LISTENER_SETTINGS and v != ""}
    own = _variables(spec.get("variables", {}), label, "variables")
    for key in own:
        if key not in known:
            takes = ", ".join(sorted(known)) or "none"
            raise PlanError(
                f"{label}: 'variables.{key}': template '{found.name}' has no such "
                f"variable (it takes: {takes})"
            )
    given = {
        **{k: v for k, v in shared.items() if k in known},
        **own,
        **{k: v for k, v in listener.items() if k in known},
    }
    made = request.build(template, layers, given, dirs, nearest=nearest)
    try:
        templates.resolve_variables(found, given)
    except LetgoError as exc:
        raise PlanError(f"{label}: 'variables': {exc}") from None
    try:
        session.target_minutes(made, found)
    except LetgoError as exc:
        raise PlanError(f"{dict(made.origins).get('minutes', label)}: {exc}") from None
    title = spec.get("title") or found.title
    if not isinstance(title, str):
        raise PlanError(f"{label}: 'title' must be a string")
    one_line(title, f"{label}: 'title'" if spec.get("title") else f"{found.path}: 'title'")
    description = spec.get("description") or found.description
    if not isinstance(description, str):
        raise PlanError(f"{label}: 'description' must be a string")
    tag = tags.TagInfo(
        title=title,
        artist=info.author,
        album=info.title,
        track=number,
        tracks=total,
        year=info.year,
        genre=info.genre,
        comment=str(description),
    )
    return Episode(
        folder,
        f"{number:02d}-{slug(title)}{extension(made.export.format)}",
        title,
        str(description),
        made,
        tag,
        cover,
    )


def _check_columns(row: dict, found: list[templates.TemplateInfo], source: Path) -> None:
    """A CSV column that is neither a setting nor any session's variable is a typo. (The
    header is named only when it is a name: an error never echoes a file's content.)"""
    known = set(LISTENER_SETTINGS)
    for info in found:
        known.update(info.variable_names())
    for number, column in enumerate(row, start=1):
        if column not in known:
            named = f"'{column}'" if _NAME.fullmatch(column) else f"{number} (not a name)"
            raise PlanError(
                f"{source}: column {named} is neither a setting "
                f"({', '.join(sorted(LISTENER_SETTINGS))}) nor a variable of any "
                f"session's template ({', '.join(sorted(known - LISTENER_SETTINGS))})"
            )


#: A CSV header cell an error may repeat: a short name, not a line of some other file.
_NAME = re.compile(r"[\w .-]{1,40}")


def _variables(table, label: str, field: str) -> dict[str, str]:
    if not isinstance(table, dict):
        raise PlanError(f"{label}: '{field}' must be a table of name = \"value\"")
    for key, value in table.items():
        if isinstance(value, dict | list):
            raise PlanError(f"{label}: '{field}.{key}' must be a plain value")
    return {k: str(v) for k, v in table.items()}


def _table(data: dict, key: str, where: str, what: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise PlanError(f"{where}: '{key}' in {what} must be a table ([{key}])")
    return value


def _only(table: dict, allowed: set[str], where: str, what: str) -> None:
    for key in table:
        if key not in allowed:
            raise PlanError(
                f"{where}: {what + ': ' if what else ''}unknown field '{key}' "
                f"(known: {', '.join(sorted(allowed))})"
            )


def _text(table: dict, key: str, where: str, what: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise PlanError(f"{where}: {what}: '{key}' must be a string")
    return value


def _listeners_file(data: dict, path: Path, override: str | Path | None) -> Path | None:
    """The listeners CSV: --listeners, else the plan's [listeners] csv, else none."""
    table = _table(data, "listeners", str(path), "the plan")
    _only(table, {"csv"}, str(path), "[listeners]")
    if override:
        return Path(override)  # the user's own choice: any file
    if "csv" not in table:
        return None
    name = table["csv"]
    if not isinstance(name, str) or not name.strip():
        raise PlanError(f"{path}: [listeners]: 'csv' must be a file name such as \"people.csv\"")
    real = _real(path.parent / name)
    if (
        real is None
        or not real.name.lower().endswith(".csv")
        or not real.is_relative_to(_real(path.parent) or path.parent)
    ):
        raise PlanError(
            f"{path}: [listeners] csv = {name!r}: a plan's listeners CSV is a .csv file inside "
            "the plan's folder (or give --listeners FILE)"
        )
    return path.parent / name


def _listener_rows(source: Path | None) -> list[dict[str, str] | None]:
    """[None] for a plain plan; one dict of column -> value per listener otherwise."""
    if source is None:
        return [None]
    try:
        with io.StringIO(reading.read_text(source, "utf-8-sig"), newline="") as handle:
            reader = csv.DictReader(handle)
            rows: list[dict[str, str] | None] = []
            for row in reader:
                if None in row:  # DictReader files surplus cells under None
                    raise PlanError(
                        f"{source} line {reader.line_num}: {len(row) - 1 + len(row[None])} "
                        f"cells, but the header names {len(reader.fieldnames or ())} columns; "
                        'quote a value that holds a comma ("Smith, Alex")'
                    )
                rows.append({(k or "").strip(): (v or "").strip() for k, v in row.items()})
    except OSError as exc:
        raise PlanError(f"{source}: cannot read the listeners CSV: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise PlanError(
            f"{source}: the listeners CSV is not UTF-8 text; save it as UTF-8 "
            "(in a spreadsheet: CSV UTF-8)"
        ) from None
    except csv.Error as exc:
        raise PlanError(f"{source}: not a readable CSV: {exc}") from None
    if not rows:
        raise PlanError(f"{source}: the listeners CSV has a header but no rows")
    return rows


STARTER = """# A letgo series plan. Build it with:  letgo series build {name}
[series]
title = "{title}"
author = "letgo"
description = "A short course of guided meditations on letting go and being whole."
# year = 2026
# templates = ["./my-templates"]   # folders of your own templates, relative to this file

[defaults]            # any setting, by its name ('letgo render --help' lists them as options);
minutes = 10          # over your config.toml, under a session's own and the build's flags
# engine = "pyttsx3"  # default: piper where installed, else pyttsx3; "fake" for a quick draft
background = "pink"   # or "none"
{voice_line}
# rate = 150
# sentence_gap = 1.0
# loudness = -19      # the --lufs option

[defaults.variables]  # given to every template that takes them
name = ""

# One session per set of lines; runs in this order.
[[sessions]]
template = "whole"
title = "Day 1: Whole and complete"

[[sessions]]
template = "letting-go"
title = "Day 2: Letting go in love"
minutes = 12          # an override
[sessions.variables]
person = ""

# One set of sessions per listener: a CSV with a header such as  name,person,minutes
# (a column named like a setting sets it; any other is a template variable)
# [listeners]
# csv = "listeners.csv"
"""


def starter(title: str, name: str) -> str:
    return STARTER.format(title=title.replace('"', "'"), name=name, voice_line=_voice_line())


def _voice_line() -> str:
    """A commented voice setting naming a voice of the default engine installed here (its
    default one), so uncommenting it works; 'letgo voices' lists the others."""
    from letgo.voice.engines import DEFAULT_ENGINE, list_voices

    installed = [v for v in list_voices(DEFAULT_ENGINE) if v.installed]
    voice = next((v for v in installed if v.default), installed[0] if installed else None)
    if voice is None:
        return "# voice = \"...\"     # see 'letgo voices'"
    return f"# voice = \"{voice.id}\"   # {voice.name}; 'letgo voices' lists the others"
