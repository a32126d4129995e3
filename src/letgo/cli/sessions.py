"""Commands that make a session: `render` writes it, `script` shows it with its timings,
`sample` speaks a few sentences in a voice."""

from __future__ import annotations

from pathlib import Path

import click

from letgo import session, timefmt
from letgo.cli.base import (
    ALL_TABLES,
    DEFAULT_OUTPUT_DIR,
    SPEECH_TABLES,
    fail_cleanly,
    flag_place,
    make_request,
    no_cache_option,
    note_fallback,
    settings_options,
    template_options,
)
from letgo.cli.progress import ProgressDisplay
from letgo.errors import SettingError


@click.command()
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


@click.command()
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


@click.command()
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
