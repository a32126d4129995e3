"""Commands about the meditations themselves: `list`, `show`, `new`, `check`, `backgrounds`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from letgo import timefmt
from letgo.cli.base import (
    SPEECH_TABLES,
    complete_template,
    fail_cleanly,
    make_request,
    no_cache_option,
    settings_options,
    template_options,
    templates_option,
)
from letgo.words import templates


@click.command(name="list")
@templates_option("Also list the templates in this folder (repeatable).")
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
    from letgo.series.plan import plan_files

    library = templates.TemplateLibrary(template_dirs)
    meditations = library.all()
    plans = plan_files(tuple(str(d) for d in template_dirs))
    # one name column for both lists, as wide as the longest name
    width = max([24] + [len(i.name) for i in meditations] + [len(p.name) for p in plans])
    click.echo("Meditations:")
    for info in meditations:
        length = f"{info.minutes:g} min" if info.minutes else ""
        click.echo(
            f"  {info.name:<{width}} {length:>7}  {info.title}: {info.description}  "
            f"({where(info.origin, info.path.parent)})"
        )
    if plans:
        click.echo("\nSeries:")
        for plan_info in plans:
            count = f"{plan_info.sessions} session{'' if plan_info.sessions == 1 else 's'}"
            click.echo(
                f"  {plan_info.name:<{width}} {count:>11}  "
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


@click.command()
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


@click.command()
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


@click.command()
@click.argument("files", nargs=-1, required=True, shell_complete=complete_template)
@templates_option("A folder of your own templates, to check one of them by name.")
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


@click.command()
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
