"""`letgo series`: a starter plan, a build, and a server for what was built."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from letgo.cli.base import (
    ALL_TABLES,
    DEFAULT_OUTPUT_DIR,
    complete_plan,
    fail_cleanly,
    flag_place,
    given,
    note_fallback,
    settings_options,
    templates_option,
)
from letgo.cli.progress import SeriesProgress
from letgo.settings import request


@click.group()
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
@click.argument("plan", shell_complete=complete_plan)
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
@templates_option("A folder of your own templates (repeatable).")
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
