"""Commands about the voices and what they keep: `voices` (and `voices download`), `cache`,
`doctor`."""

from __future__ import annotations

import sys

import click

from letgo.cli.base import (
    fail_cleanly,
)
from letgo.cli.progress import ProgressDisplay
from letgo.errors import LetgoError
from letgo.settings import config
from letgo.voice import align
from letgo.voice.cache import ClipCache
from letgo.voice.engines import (
    ENGINES,
    LISTED,
    default_reason,
    list_voices,
    speaks,
)
from letgo.words import templates


@click.group(invoke_without_command=True)
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


@click.group(invoke_without_command=True)
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


@click.command()
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
    if align.installed():
        click.echo("ok      speech check: pocketsphinx hears each English sentence as it is spoken")
    else:
        click.echo(
            "note    speech check without a recogniser (another sentence's audio could pass): "
            "pip install 'letgo[align]'"
        )
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
