"""What every command shares: one-line errors and signals, options made from the settings,
completion of names, the request built from what was typed."""

from __future__ import annotations

import functools
import io
import os
import signal
import sys
from pathlib import Path

import click

from letgo import session
from letgo.errors import LetgoError
from letgo.settings import request
from letgo.voice.engines import (
    DEFAULT_ENGINE,
    fallback_note,
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


def complete_template(ctx, param, incomplete):
    from letgo.cli import completion

    return _with_files(
        completion.templates(incomplete, ctx.params.get("template_dirs") or ()), incomplete
    )


def complete_plan(ctx, param, incomplete):
    from letgo.cli import completion

    return _with_files(
        completion.plans(incomplete, ctx.params.get("template_dirs") or ()), incomplete
    )


def complete_background(ctx, param, incomplete):
    from letgo.cli import completion

    return _with_files(completion.backgrounds(incomplete), incomplete)


def complete_voice(ctx, param, incomplete):
    from letgo.cli import completion

    return completion.voices(incomplete, ctx.params.get("engine"))


#: Settings whose values the shell can complete beyond file names.
COMPLETE = {"background": complete_background, "voice": complete_voice}


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
        click.argument("template", shell_complete=complete_template),
        click.option(
            "-v",
            "--var",
            "variables",
            multiple=True,
            metavar="NAME=VALUE",
            help="Set a template variable, e.g. -v name=Sam (repeatable).",
        ),
        templates_option("A folder of your own templates (repeatable); they win over built-ins."),
    ]
    return _apply(options, command)


def templates_option(help: str):
    """--templates FOLDER (repeatable): where to find the user's own templates."""
    return click.option(
        "--templates",
        "template_dirs",
        multiple=True,
        type=click.Path(file_okay=False, path_type=Path),
        help=help,
    )


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
