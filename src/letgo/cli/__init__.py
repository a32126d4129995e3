"""The `letgo` command line: parses options, calls the library, prints. Nothing else."""

from __future__ import annotations

import functools
import io
import logging
import os
import signal
import sys
from pathlib import Path

import click

from letgo import __version__, session, timefmt
from letgo.cli.progress import ProgressDisplay, SeriesProgress
from letgo.errors import LetgoError, SettingError
from letgo.settings import config, request
from letgo.voice.cache import ClipCache
from letgo.voice.engines import (
    DEFAULT_ENGINE,
    ENGINES,
    LISTED,
    default_reason,
    fallback_note,
    list_voices,
    speaks,
)
from letgo.words import templates

DEFAULT_OUTPUT_DIR = Path("audio_out")


class LetgoGroup(click.Group):
    """The top-level group: Click's own usage errors (a bad number, an unknown choice, a
    missing argument) read like letgo's: one line, `letgo: error: ...`, exit 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # 'letgo' alone: the help
            exc.show()
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            message = " ".join(exc.format_message().split()).rstrip(".")
            context = getattr(exc, "ctx", None)
            if isinstance(exc, click.UsageError) and context is not None:
                message += f" (see '{context.command_path} --help')"
            click.echo(f"letgo: error: {message}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("letgo: interrupted", err=True)
            sys.exit(130)
        sys.exit(result if isinstance(result, int) else 0)


class Stopped(KeyboardInterrupt):
    """SIGTERM, raised wherever the program is, so it unwinds and cleans up as Ctrl-C does."""


def _stop(signum, frame):
    raise Stopped()


def fail_cleanly(command):
    """Library errors become one line on stderr and an exit code; never a traceback. SIGTERM
    stops a command as Ctrl-C does (exit 143, no partial file); when the reader of its output
    goes away (`| head`), it stops quietly (exit 141, as after SIGPIPE)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        previous = _on_sigterm(_stop)
        try:
            return command(*args, **kwargs)
        except LetgoError as exc:
            _say(f"letgo: error: {exc}")
            sys.exit(exc.exit_code)
        except BrokenPipeError:
            _silence()
            sys.exit(141)
        except Stopped:
            _say("letgo: stopped (SIGTERM); no partial file was left behind")
            sys.exit(143)
        except KeyboardInterrupt:
            _say("letgo: interrupted; no partial file was left behind")
            sys.exit(130)
        finally:
            _on_sigterm(previous)

    return wrapper


def _on_sigterm(handler):
    """Install `handler` for SIGTERM, returning the one before (None where signals cannot be
    set: outside the main thread, or with nothing to put back)."""
    if handler is None:
        return None
    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return None


def _say(line: str) -> None:
    """One line on stderr, unless stderr has gone (then there is no one to tell)."""
    try:
        click.echo(line, err=True)
    except OSError:
        _silence()


def _silence() -> None:
    """Point stdout and stderr at nothing, so exiting does not fail flushing into a closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            pass  # not a real file (a test's capture): nothing to flush into a pipe
    os.close(devnull)


# --- shared options --------------------------------------------------------------------------


def _apply(options, command):
    """Decorate `command` with `options`, listed in the order --help shows them."""
    for option in reversed(options):
        command = option(command)
    return command


#: How a setting is spelled on the command line when not --its-name-with-dashes.
FLAGS = {"minutes": ("-m", "--minutes"), "noise_w_scale": ("--noise-w",), "loudness": ("--lufs",)}


def flag(name: str) -> str:
    """The command-line spelling of setting `name`: the one place a setting meets its flag."""
    return FLAGS.get(name, (f"--{name.replace('_', '-')}",))[-1]


def flag_place(name: str, value) -> str:
    """Where a flag's value was written, for errors: `--rate 5000`."""
    shown = " ".join(map(str, value)) if isinstance(value, tuple) else value
    return f"{flag(name)} {shown}"


def _click_type(setting: request.Setting):
    if setting.choices:
        return click.Choice(setting.choices)
    if setting.kind is request.Paths:
        return click.Path(dir_okay=False, path_type=str)
    return setting.kind  # ranges are checked with the other layers', in one way


def _with_files(names: list[str], incomplete: str) -> list:
    """`names`, and the shell's own file names when none match (a template, plan or
    background can be a file's path). The file item goes first: bash's script drops the
    names before it."""
    from click.shell_completion import CompletionItem

    return [CompletionItem(incomplete, type="file")] + [CompletionItem(n) for n in names]


def _complete_template(ctx, param, incomplete):
    from letgo.cli import completion

    return _with_files(
        completion.templates(incomplete, ctx.params.get("template_dirs") or ()), incomplete
    )


def _complete_plan(ctx, param, incomplete):
    from letgo.cli import completion

    return _with_files(
        completion.plans(incomplete, ctx.params.get("template_dirs") or ()), incomplete
    )


def _complete_background(ctx, param, incomplete):
    from letgo.cli import completion

    return _with_files(completion.backgrounds(incomplete), incomplete)


def _complete_voice(ctx, param, incomplete):
    from letgo.cli import completion

    return completion.voices(incomplete, ctx.params.get("engine"))


#: Settings whose values the shell can complete beyond file names.
COMPLETE = {"background": _complete_background, "voice": _complete_voice}


def setting_option(setting: request.Setting):
    """The option for a declared setting; not given, it is None and lower layers decide."""
    shown = setting.help
    if setting.default not in (None, ()) and "Default:" not in shown:
        shown += f" Default: {setting.default}."
    if setting.low is not None or setting.high is not None:
        shown += f" ({setting.range_text().removeprefix('must be ')})"
    if setting.kind is request.Paths:
        shown = shown.rstrip(".") + " (repeatable)."
    if setting.kind is bool:  # --verify / --no-verify; neither given: lower layers decide
        on = flag(setting.name)
        return click.option(f"{on}/--no-{on[2:]}", setting.name, default=None, help=shown)
    return click.option(
        *FLAGS.get(setting.name, (flag(setting.name),)),
        setting.name,
        type=_click_type(setting),
        default=None,
        multiple=setting.kind is request.Paths,
        help=shown,
        shell_complete=COMPLETE.get(setting.name),
    )


def settings_options(*tables: str, leave_out: tuple[str, ...] = ()):
    """The options of every setting in `tables` (config.toml's tables), in declared order."""

    def decorate(command):
        chosen = [s for s in request.SETTINGS if s.table in tables and s.name not in leave_out]
        return _apply([setting_option(s) for s in chosen], command)

    return decorate


ALL_TABLES = tuple(request.TABLES)
SPEECH_TABLES = ("pacing", "voice")


def template_options(command):
    """The template and its variables, and where to find templates."""
    options = [
        click.argument("template", shell_complete=_complete_template),
        click.option(
            "-v",
            "--var",
            "variables",
            multiple=True,
            metavar="NAME=VALUE",
            help="Set a template variable, e.g. -v name=Sam (repeatable).",
        ),
        click.option(
            "--templates",
            "template_dirs",
            multiple=True,
            type=click.Path(file_okay=False, path_type=Path),
            help="A folder of your own templates (repeatable); they win over built-ins.",
        ),
    ]
    return _apply(options, command)


no_cache_option = click.option(
    "--no-cache",
    is_flag=True,
    default=False,
    help="Speak every sentence afresh; neither read nor write the cache.",
)


def given(settings: dict) -> dict:
    """The setting options as given: a repeatable option left out is None, like the others."""
    return {k: (v or None) if isinstance(v, tuple) else v for k, v in settings.items()}


def make_request(
    template: str, settings: dict, variables=(), template_dirs=(), no_cache: bool = False
) -> session.Request:
    """The session the flags ask for, over config.toml's settings."""
    return request.make(
        template,
        given(settings),
        templates.parse_assignments(variables),
        [str(d) for d in template_dirs],
        place=flag_place,
        cache=not no_cache,
    )


def note_fallback(chosen: bool, quiet: bool) -> None:
    """Where no engine was chosen and Piper is not installed, say once, in a line, how to get
    the natural voice (the session speaks with pyttsx3)."""
    if not chosen and not quiet and DEFAULT_ENGINE != "piper":
        click.echo(fallback_note(), err=True)


# --- commands --------------------------------------------------------------------------------


@click.group(cls=LetgoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="letgo")
@click.option("--verbose", is_flag=True, help="Log what happens, step by step.")
def main(verbose: bool) -> None:
    """Offline voice-guided meditations on letting go and being whole.

    \b
    Examples:
      letgo list
      letgo render letting-go
      letgo render letting-go --minutes 10 -v name=Sam -o ~/sam.mp3
      letgo script letting-go --minutes 10
    """
    _fill_closed_streams()
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _fill_closed_streams() -> None:
    """Started with stdin, stdout or stderr closed (`2>&-`), put /dev/null there: otherwise
    the next file opened takes that number, and what is written to 'stderr' (by letgo or by
    the encoder it starts) lands in that file."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)  # the lowest free number: this one


@main.command()
@template_options
@settings_options(*ALL_TABLES)
@no_cache_option
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the file. Default: audio_out/TEMPLATE.mp3 (or the --format's extension)",
)
@click.option(
    "--force", is_flag=True, help="Render even when OUTPUT already holds this very session."
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@fail_cleanly
def render(template, variables, template_dirs, no_cache, output, force, quiet, **settings):
    """Render a meditation to an audio file (MP3 unless asked otherwise).

    TEMPLATE is a built-in name (see 'letgo list') or a path to a template file. Defaults
    for every option from --minutes to --bitrate can be kept in config.toml in the user
    config folder ('letgo doctor' shows where).

    \b
    Examples:
      letgo render letting-go
      letgo render letting-go --minutes 10 -v name=Sam -o ~/sam.mp3
      letgo render ./my-meditation.j2 --background none
      letgo render letting-go --background rain --background-db -18 --duck-db 8
      letgo render letting-go --background binaural --beat 6 -o theta.flac
      letgo render letting-go --background ~/waves.wav --background-offset 30 --lufs -19
      letgo render letting-go --format ogg
      letgo render letting-go --engine piper --length-scale 1.5
    """
    from letgo.file.formats import choose, extension

    if output is not None:  # the output's extension, or --format: checked against each other
        try:
            settings["format"] = choose(output, settings["format"])
        except SettingError as exc:
            raise exc.at(flag_place(exc.setting, exc.value)) from None
    made = make_request(template, settings, variables, template_dirs, no_cache)
    if output is None:
        name = Path(template).name.removesuffix(".j2")
        output = DEFAULT_OUTPUT_DIR / f"{name}{extension(made.export.format)}"
    note_fallback(made.engine_chosen, quiet)
    progress = ProgressDisplay(quiet)
    try:
        result = session.render(made, output, progress=progress, reuse=not force)
    finally:
        progress.close()
    if quiet:
        return
    if result.reused:
        click.echo(
            f"{result.path} is up to date ({timefmt.length(result.duration)}, checked in "
            f"{result.seconds_taken:.1f} s); --force renders it again"
        )
    else:
        click.echo(
            f"Wrote {result.path} ({timefmt.length(result.duration)}, "
            f"rendered in {result.seconds_taken:.1f} s)"
        )


@main.command()
@template_options
@settings_options(*SPEECH_TABLES)
@no_cache_option
@click.option(
    "--spoken",
    is_flag=True,
    help="Show each sentence as the voice reads it (numbers, abbreviations and "
    "pronunciations applied).",
)
@fail_cleanly
def script(template, variables, template_dirs, no_cache, spoken, **settings):
    """Show the rendered script with its planned timings; no audio is written.

    \b
    Examples:
      letgo script letting-go --minutes 10
      letgo script letting-go --spoken --pronunciations my-words.toml
    """
    prepared = session.prepare(make_request(template, settings, variables, template_dirs, no_cache))
    click.echo(prepared.listing(spoken))


@main.command(name="list")
@click.option(
    "--templates",
    "template_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Also list the templates in this folder (repeatable).",
)
@fail_cleanly
def list_templates(template_dirs):
    """List the meditation templates and series plans, with where each comes from.

    A template of yours with a built-in's name wins over the built-in. Your own templates
    come from --templates, $LETGO_TEMPLATES, then your config folder.

    \b
    Example:
      letgo list
      letgo list --templates ~/meditations
    """
    library = templates.TemplateLibrary(template_dirs)
    click.echo("Meditations:")
    for info in library.all():
        length = f"{info.minutes:g} min" if info.minutes else ""
        click.echo(
            f"  {info.name:<24} {length:>7}  {info.title}: {info.description}  "
            f"({where(info.origin, info.path.parent)})"
        )
    from letgo.series.plan import plan_files

    plans = plan_files(tuple(str(d) for d in template_dirs))
    if plans:
        click.echo("\nSeries:")
        for plan_info in plans:
            count = f"{plan_info.sessions} session{'' if plan_info.sessions == 1 else 's'}"
            click.echo(
                f"  {plan_info.name:<24} {count:>11}  "
                f"{plan_info.title}: {plan_info.description}  "
                f"({where(plan_info.origin, plan_info.path.parent.parent)})"
            )


def where(origin: str, folder: Path) -> str:
    return "built-in" if origin == "built-in" else f"{origin}: {folder}"


def show_plan(plan) -> None:
    """`letgo show` of a series plan: what it holds and where it is."""
    click.echo(
        f"{plan.title}  ({plan.name}, a series plan, {where(plan.origin, plan.path.parent)})"
    )
    if plan.description:
        click.echo(plan.description)
    click.echo(f"File: {plan.path}")
    click.echo(f"\nSessions ({len(plan.outline)}):")
    for number, (title, template) in enumerate(plan.outline, start=1):
        click.echo(f"  {number:>2}. {title}  (template {template})")
    click.echo(
        f"\nBuild it with: letgo series build {plan.name if plan.origin != 'file' else plan.path}"
    )


@main.command()
@template_options
@settings_options(*SPEECH_TABLES)
@no_cache_option
@fail_cleanly
def show(template, variables, template_dirs, no_cache, **settings):
    """Describe a template: what it is for, its variables, its length range and sections.

    The shortest length depends on the voice, so the script is spoken (not saved) with
    the engine asked for. A series plan's name (or .toml file) shows the plan: its
    sessions, their templates and where its file is.

    \b
    Examples:
      letgo show letting-go
      letgo show sleep-release --engine fake
      letgo show seven-days-of-release
    """
    from letgo.errors import TemplateNotFound
    from letgo.overview import overview
    from letgo.series.plan import named_plan

    dirs = tuple(str(d) for d in template_dirs)
    if template.endswith(".toml") and (plan := named_plan(template, dirs)) is not None:
        show_plan(plan)
        return
    made = make_request(template, settings, variables, template_dirs, no_cache)
    try:
        view = overview(made)
    except TemplateNotFound:  # a series plan's name (or file), then?
        plan = named_plan(template, dirs)
        if plan is None:
            raise
        show_plan(plan)
        return
    info = view.info
    click.echo(f"{info.title}  ({info.name}, {where(info.origin, info.path.parent)})")
    if info.description:
        click.echo(info.description)
    click.echo(f"File: {info.path}")
    longest = f"{view.longest / 60:g} min" if view.longest else "no limit"
    click.echo(
        f"\nLength (with {made.engine}): shortest {timefmt.length(view.shortest)}, "
        f"default {timefmt.length(view.default)}, longest {longest}"
    )
    if info.sleep:
        click.echo("A sleep session: the added length goes into the closing silence.")
    click.echo("\nVariables:" if info.variables else "\nVariables: none")
    if info.variables and not info.header:
        click.echo("  (no header: these are the names the template uses; set them with -v)")
    for var in info.variables:
        default = f'"{var.default}"' if var.default else "empty"
        click.echo(f"  {var.name:<12} default {default}. {var.help}".rstrip())
    at = f"{made.minutes:g} minutes" if made.minutes else "the default length"
    click.echo(f"\nSections and how long each lasts (at {at}):")
    for title, seconds in view.sections:
        click.echo(f"  {timefmt.clock(seconds):>8} long  {title}")


@main.command()
@click.argument("name")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write it here instead of your user template folder.",
)
@fail_cleanly
def new(name, folder):
    """Start a new meditation: write a commented starter template NAME.j2.

    It goes in your user template folder (or --dir), where 'letgo list' finds it. An
    existing file is never overwritten.

    \b
    Examples:
      letgo new morning-ease
      letgo new morning-ease --dir ./my-templates
    """
    from letgo.words.scaffold import create

    path = create(name, folder)
    click.echo(f"Wrote {path}")
    click.echo(f"Edit it, then: letgo check {path} && letgo script {path} --engine fake")


@main.command()
@click.argument("files", nargs=-1, required=True, shell_complete=_complete_template)
@click.option(
    "--templates",
    "template_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder of your own templates, to check one of them by name.",
)
@click.option(
    "-v",
    "--var",
    "variables",
    multiple=True,
    metavar="NAME=VALUE",
    help="A value you mean to use, checked for how it will read (repeatable).",
)
@fail_cleanly
def check(files, template_dirs, variables):
    """Check templates for mistakes: syntax, variables, markup, pauses and pacing.

    FILES are template files or template names. Every problem found is printed, each as
    FILE:LINE: message; the exit code is 1 when anything is wrong (warnings alone pass).
    Pacing warnings: a stretch of over 3 minutes without a spoken line at the template's
    longest length, sentences over 25 words, a phrase to repeat with no pause after it, a
    reflective pause with no min=.

    \b
    Examples:
      letgo check ./my-meditation.j2
      letgo check letting-go whole
      letgo check letting-go -v person=Alex
    """
    from letgo.words.lint import check as lint

    library = templates.TemplateLibrary(template_dirs)
    values = templates.parse_assignments(variables)
    problems = warnings = 0
    for name in files:
        path = Path(name) if Path(name).is_file() else library.find(name).path
        found = lint(path, values)
        warnings += sum(p.warning for p in found)
        problems += sum(not p.warning for p in found)
        for problem in found:
            click.echo(str(problem))
    if problems:
        click.echo(f"{problems} problem(s) and {warnings} warning(s) found", err=True)
        sys.exit(1)
    click.echo(
        f"ok: {len(files)} template(s) checked{f', {warnings} warning(s)' if warnings else ''}"
    )


@main.group(invoke_without_command=True)
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default=None,
    help="Only this engine's voices. Default: every engine.",
)
@click.option(
    "--language",
    metavar="CODE",
    default=None,
    help="Only voices for this language: 'en' matches en-gb and en_US.",
)
@click.option(
    "--available",
    is_flag=True,
    help="Also list the Piper voices you can download (fetches their catalogue once, then "
    "keeps it).",
)
@click.option(
    "--refresh", is_flag=True, help="With --available: fetch the catalogue again, however new."
)
@click.pass_context
@fail_cleanly
def voices(ctx, engine, language, available, refresh):
    """List every engine's voices, with language, licence and whether each is installed.

    Use a voice with --engine and --voice on render or script; the voice marked
    (default) is used when --voice is not given. --available adds the Piper voices you can
    download (with 'letgo voices download NAME'): their language, speaker, quality, size and
    licence, so you can pick one you may use for what you make.

    \b
    Examples:
      letgo voices
      letgo voices --engine pyttsx3 --language en
      letgo voices --available --language en
      letgo voices download en_GB-alba-medium
      letgo render letting-go --engine piper --voice joe
    """
    if ctx.invoked_subcommand is not None:
        return
    from letgo.voice import download
    from letgo.voice.engines.piper import voices_dir

    rows = [
        v
        for name in ((engine,) if engine else LISTED)
        for v in list_voices(name)
        if language is None or speaks(v, language)
    ]
    if not rows:
        click.echo(f"No voice for language '{language}'; 'letgo voices' lists them all.")
    else:
        _table(
            ("ENGINE", "VOICE", "LANGUAGE", "STATE", "LICENCE", "NAME"),
            [
                (
                    v.engine,
                    v.id,
                    v.language or "-",
                    "installed" if v.installed else "missing",
                    v.licence or "-",
                    v.name + (" (default)" if v.default else ""),
                )
                for v in rows
            ],
        )
    if engine not in (None, "piper"):
        return
    found = download.catalogue(refresh) if available else download.cached()
    if found is None:
        click.echo(
            "\nMore Piper voices: 'letgo voices --available' lists those you can download "
            f"(it fetches their catalogue from {download.source()})."
        )
        return
    offered = list(download.rows(found, language, voices_dir()))
    click.echo(
        f"\nPiper voices to download ('letgo voices download NAME'), from the catalogue "
        f"fetched {found.age()} ago from {found.source}:"
    )
    _table(
        ("NAME", "LANGUAGE", "SPEAKER", "GENDER", "QUALITY", "SIZE", "STATE", "LICENCE"),
        [
            (
                o.key,
                o.language or "-",
                o.speaker + (f" ({o.speakers} speakers)" if o.speakers > 1 else ""),
                o.gender or "-",
                o.quality or "-",
                f"{o.size / 1e6:.0f} MB",
                "installed" if there else "-",
                o.licence,
            )
            for o, there in offered
        ],
    )


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Columns padded to their widest cell; the last one left as it is."""
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        click.echo("  ".join(cells) + "  " + row[-1])


@voices.command(name="download")
@click.argument("name")
@click.option("--force", is_flag=True, help="Download it again even if it is installed.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@fail_cleanly
def voices_download(name, force, quiet):
    """Download a Piper voice into your voices folder, to use by name with --voice.

    NAME is a voice from 'letgo voices --available', e.g. en_GB-alba-medium (or just the
    speaker, e.g. alba, where there is one voice of that name). Each file is checked against
    the catalogue's size and MD5 and kept only when the whole voice has arrived. Nothing is
    ever downloaded at render time; LETGO_VOICES_URL points to another source (a mirror).

    \b
    Examples:
      letgo voices download en_GB-alba-medium
      letgo render letting-go --voice en_GB-alba-medium
    """
    from letgo.voice import download
    from letgo.voice.engines.piper import voices_dir

    folder = voices_dir()
    progress = ProgressDisplay(quiet)
    try:
        offered, fetched = download.download(name, folder, progress, force=force)
    finally:
        progress.close()
    if quiet:
        return
    if fetched:
        click.echo(
            f"Downloaded {offered.key} ({offered.size / 1e6:.0f} MB) into {folder}; use it "
            f"with --voice {offered.key}. Licence: {offered.licence}"
        )
    else:
        click.echo(
            f"{offered.key} is already in {folder} (--force downloads it again); use it with "
            f"--voice {offered.key}"
        )


@main.command()
@click.argument("text", required=False)
@settings_options(*SPEECH_TABLES, leave_out=("minutes",))  # the voice and pacing options
@no_cache_option
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write it. Default: audio_out/sample-ENGINE-VOICE.mp3",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@fail_cleanly
def sample(text, no_cache, output, quiet, **settings):
    """Write a few sentences in a voice, to choose one by ear.

    Samples are levelled like sessions, so two of them differ only in the voice. TEXT is
    what to say (default: a few lines of a meditation); the voice and pacing options are
    those of render.

    \b
    Examples:
      letgo sample --engine piper
      letgo sample --engine pyttsx3 --voice gmw/en-us --rate 140
      letgo sample "Breathe in for 4 counts." --engine piper --length-scale 1.4 -o slow.wav
    """
    from letgo import sample as voice_sample
    from letgo.file.formats import choose, extension

    settings["format"] = choose(output, None) if output else None
    request = make_request("sample", settings, no_cache=no_cache)
    note_fallback(request.engine_chosen, quiet)
    if output is None:
        output = DEFAULT_OUTPUT_DIR / voice_sample.output_name(
            request.engine, request.voice.voice, extension(request.export.format)
        )
    progress = ProgressDisplay(quiet)
    try:
        result = voice_sample.render(
            request, output, voice_sample.TEXT if text is None else text, progress
        )
    finally:
        progress.close()
    if not quiet:
        click.echo(
            f"Wrote {result.path} ({result.duration:.1f} s of {request.engine}"
            f"{' ' + request.voice.voice if request.voice.voice else ', its default voice'})"
        )


@main.group(invoke_without_command=True)
@click.pass_context
@fail_cleanly
def cache(ctx):
    """Show the synthesis cache: where it is, its entries, its size and its limit.

    Spoken sentences are kept there and shared by every session, so a re-render speaks only
    what changed. Beyond its limit ([cache] max_mb in config.toml, 1000 MB by default) the
    sentences unused for longest are removed. Set LETGO_CACHE_DIR to put it elsewhere.

    \b
    Examples:
      letgo cache
      letgo cache prune --max-mb 200
      letgo cache clear
    """
    if ctx.invoked_subcommand is None:
        store = ClipCache()
        stats = store.stats()
        click.echo(
            f"{stats.folder}: {stats.entries} entries, {stats.bytes / 1e6:.1f} MB "
            f"(limit {store.max_bytes / 1e6:g} MB)"
        )


@cache.command(name="prune")
@click.option(
    "--max-mb",
    type=click.FloatRange(0),
    default=None,
    help="Keep at most this many MB. Default: the cache's limit.",
)
@fail_cleanly
def cache_prune(max_mb):
    """Remove the sentences unused for longest until the cache fits its limit.

    Renders do this by themselves when they add to the cache; use it to make room now.

    \b
    Examples:
      letgo cache prune
      letgo cache prune --max-mb 200
    """
    store = ClipCache()
    removed = store.prune(None if max_mb is None else int(max_mb * 1e6))
    left = store.stats()
    click.echo(
        f"Removed {removed.entries} entries ({removed.bytes / 1e6:.1f} MB); "
        f"{left.entries} entries, {left.bytes / 1e6:.1f} MB left in {store.folder}"
    )


@cache.command(name="clear")
@fail_cleanly
def cache_clear():
    """Empty the synthesis cache.

    \b
    Example:
      letgo cache clear
    """
    store = ClipCache()
    removed = store.clear()
    click.echo(f"Removed {removed} entries from {store.folder}")


@main.command()
def backgrounds():
    """List the built-in backgrounds (any audio file can be a background too).

    \b
    Examples:
      letgo backgrounds
      letgo render letting-go --background ocean
      letgo render letting-go --background ~/my-rain.flac
    """
    from letgo.sound.backgrounds import BUILT_IN

    for info in BUILT_IN.values():
        click.echo(f"{info.name:<10} {info.description}")
    click.echo(
        f"{'FILE':<10} any audio file ffmpeg reads, looped with a crossfade "
        "(--background-offset picks the start)"
    )


@main.command()
def doctor():
    """Check what letgo needs: ffmpeg, the speech engine and its voices.

    \b
    Example:
      letgo doctor
    """
    from letgo.file import ffmpeg
    from letgo.voice.engines.pyttsx3 import Pyttsx3Engine

    problems = 0
    try:
        path, origin = ffmpeg.find()
        click.echo(f"ok      ffmpeg: {path} (from {origin})")
    except LetgoError as exc:
        problems += 1
        click.echo(f"MISSING ffmpeg: {exc}")
    click.echo(f"ok      default engine: {default_reason()}")
    speaker = Pyttsx3Engine()
    try:
        info = speaker.describe()
        click.echo(f"ok      pyttsx3 {info['version']}: {info['library']}")
        click.echo(f"ok      voices: {len(speaker.voices())} (see 'letgo voices')")
    except LetgoError as exc:
        problems += 1
        click.echo(f"MISSING speech: {exc}")
    finally:
        speaker.close()
    piper_voices = list_voices("piper")
    if piper_voices[0].installed:
        click.echo(
            f"ok      piper: {len(piper_voices)} voice(s) (see 'letgo voices --engine piper')"
        )
    else:
        click.echo("note    piper (neural voice) not installed: pip install 'letgo[neural]'")
    store = ClipCache()
    stats = store.stats()
    click.echo(
        f"ok      speech cache: {stats.folder} ({stats.entries} entries, "
        f"{stats.bytes / 1e6:.1f} of {store.max_bytes / 1e6:g} MB)"
    )
    click.echo(
        f"ok      config file: {config.config_file()}"
        f"{'' if config.config_file().is_file() else ' (none; defaults in use)'}"
    )
    click.echo(f"ok      built-in templates: {templates.builtin_dir()}")
    sys.exit(1 if problems else 0)


# --- series ----------------------------------------------------------------------------------


@main.group()
def series():
    """Build a course of sessions (or one set per listener) and listen anywhere.

    \b
    Examples:
      letgo series new my-course.toml
      letgo series build my-course.toml -o audio_out/my-course
      letgo series serve audio_out/my-course
    """


@series.command(name="new")
@click.argument(
    "path", type=click.Path(dir_okay=False, path_type=Path), default=Path("series.toml")
)
@click.option(
    "--title",
    default="My letting-go course",
    show_default=True,
    help="The series title written into the plan.",
)
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@fail_cleanly
def series_new(path, title, force):
    """Write a starter plan to PATH (default series.toml), ready to edit and build.

    \b
    Example:
      letgo series new my-course.toml --title "A week of ease"
    """
    from letgo.errors import UsageError
    from letgo.file.atomic import write
    from letgo.series import plan as series_plan

    if path.exists() and not force:
        raise UsageError(f"{path} already exists; use --force to overwrite it")
    write(path, series_plan.starter(title, str(path)).encode("utf-8"))
    click.echo(f"Wrote {path}; edit it, then: letgo series build {path}")


@series.command(name="build")
@click.argument("plan", shell_complete=_complete_plan)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to build into. Default: audio_out/PLAN-NAME",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, None),
    default=None,
    help="Sessions built at once, each in its own process. Default: number of cores.",
)
@click.option("--force", is_flag=True, help="Rebuild every session, even unchanged ones.")
@click.option(
    "--base-url",
    default=None,
    metavar="URL",
    help="Where the folder will be served, for the podcast feed's links, "
    "e.g. https://example.org/course/",
)
@click.option(
    "--listeners",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="CSV of listeners (name,person,minutes,...): one set each.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Send sessions to a Dask cluster, e.g. tcp://10.0.0.5:8786 "
    "(needs letgo[cluster]; -o must be reachable by every worker).",
)
@click.option(
    "--templates",
    "template_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder of your own templates (repeatable).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@settings_options(*ALL_TABLES)
@fail_cleanly
def series_build(
    plan,
    output,
    jobs,
    force,
    base_url,
    listeners,
    scheduler,
    template_dirs,
    quiet,
    as_json,
    **settings,
):
    """Build every session of PLAN into a folder, with playlist, podcast feed and player page.

    PLAN is a plan file (see 'letgo series new') or a built-in plan's name. Sessions whose
    inputs have not changed are skipped; an interrupted build is finished by the next run.
    The setting options (--minutes to --bitrate) apply to every session, over what the plan,
    the listeners CSV and config.toml say. --minutes N makes each session as near N minutes
    as it can be: at its own shortest (or longest) length when N is outside its range, so
    '--engine fake --minutes 1' is a quick draft of the whole series.

    \b
    Examples:
      letgo series build seven-days-of-release
      letgo series build my-course.toml -o ~/course --jobs 2
      letgo series build my-course.toml --listeners people.csv --json
      letgo series build seven-days-of-release --engine fake --minutes 2
      letgo series build my-course.toml --scheduler tcp://10.0.0.5:8786 -o /shared/course
    """
    from letgo.series import build as series_build_module
    from letgo.series import plan as series_plan

    loaded = series_plan.load(
        plan,
        tuple(str(d) for d in template_dirs),
        listeners,
        request.Layer.read(given(settings), flag_place),
    )
    if output is None:
        output = DEFAULT_OUTPUT_DIR / series_plan.slug(Path(plan).stem)
    note_fallback(all(e.request.engine_chosen for e in loaded.episodes), quiet or as_json)
    progress = SeriesProgress(quiet or as_json)
    try:
        summary = series_build_module.build(
            loaded,
            output,
            jobs=jobs,
            force=force,
            base_url=base_url,
            scheduler=scheduler,
            on_update=progress,
        )
    finally:
        progress.close()
    if as_json:
        import json

        click.echo(json.dumps(summary.as_dict(), indent=2))
    elif not quiet:
        page = summary.folder / "index.html"
        ready = page.is_file() and (summary.count("built") or summary.count("skipped"))
        click.echo(
            f"{summary.folder}: {summary.count('built')} built, "
            f"{summary.count('skipped')} unchanged, {summary.count('failed')} failed "
            f"in {summary.seconds:.1f} s" + (f"; open {page}" if ready else "")
        )
    for failure in summary.failed:
        click.echo(f"letgo: error: {failure.title} ({failure.relpath}): {failure.error}", err=True)
    sys.exit(0 if summary.ok else 1)


@series.command(name="serve")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--host",
    default="0.0.0.0",
    show_default=True,
    help="Address to listen on; 127.0.0.1 keeps it to this machine.",
)
@fail_cleanly
def series_serve(folder, port, host):
    """Serve a built series over HTTP (with seeking) and print its podcast feed URLs.

    Only the series' own files are served (audio, transcripts, feed, page, playlist, covers);
    no folder listings. By default every network interface listens, so a phone on the same
    network can subscribe; --host 127.0.0.1 keeps it to this computer.

    \b
    Examples:
      letgo series serve audio_out/seven-days-of-release --port 8000
      letgo series serve audio_out/seven-days-of-release --host 127.0.0.1
    """
    from letgo.series import serve

    server = serve.make_server(folder, host, port)
    everywhere = host in ("0.0.0.0", "", "::")
    shown = serve.local_address() if everywhere else host
    shown = f"[{shown}]" if ":" in shown else shown  # an IPv6 address, as URLs write it
    root = f"http://{shown}:{server.server_address[1]}/"
    subfolders = serve.sets(folder)
    index = "" if "" in subfolders else " (a page leading to each listener's)"
    click.echo(f"Serving the built series in {folder} at {root}{index}")
    for subfolder in subfolders:
        named = f"{subfolder.rstrip('/')}: " if subfolder else ""
        click.echo(f"  {named}player page: {root}{subfolder}index.html")
        click.echo(f"  {named}podcast feed: {root}{subfolder}feed.xml")
    if everywhere:
        click.echo(
            "Listening on every network interface: anyone on this network can reach it "
            "(--host 127.0.0.1 keeps it to this computer)."
        )
    click.echo("Press Ctrl-C to stop.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.")
    finally:
        server.server_close()
