"""The `letgo` command line: parses options, calls the library, prints. Nothing else."""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import click

from . import __version__, session, templates
from .engines import ENGINES, VoiceSettings, make_engine
from .errors import LetgoError
from .plan import format_minutes
from .settings import ExportSettings, MixSettings

DEFAULT_OUTPUT_DIR = Path("audio_out")


def fail_cleanly(command):
    """Library errors become one line on stderr and an exit code; never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except LetgoError as exc:
            click.echo(f"letgo: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("letgo: interrupted; no partial file was left behind", err=True)
            sys.exit(130)

    return wrapper


def clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"


class Progress:
    """A bar per stage on a terminal; a few plain lines otherwise; nothing with --quiet."""

    LABELS = {"speech": "Speaking", "mix": "Mixing  "}

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.bar = None
        self.stage = None
        self.last_percent = -1

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.last_percent = -1
            if self.tty:
                self.bar = click.progressbar(length=total, label=self.LABELS.get(stage, stage),
                                             file=sys.stderr)
                self.bar.__enter__()
        if self.bar is not None:
            self.bar.update(done - self.bar.pos)
            return
        percent = 100 * done // max(total, 1)
        if percent // 25 != self.last_percent // 25 or done == total:
            self.last_percent = percent
            click.echo(f"{self.LABELS.get(stage, stage).strip()}: {percent}%", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


# --- shared options --------------------------------------------------------------------------

def session_options(command):
    """Options that decide what a session sounds like (render and script)."""
    options = [
        click.argument("template"),
        click.option("-m", "--minutes", type=float, default=None,
                     help="Length of the session; silences stretch or shrink to fit. "
                          "Default: the template's own length."),
        click.option("-v", "--var", "variables", multiple=True, metavar="NAME=VALUE",
                     help="Set a template variable, e.g. -v name=Sam (repeatable)."),
        click.option("--engine", type=click.Choice(ENGINES), default="pyttsx3",
                     show_default=True, help="Speech engine."),
        click.option("--voice", default=None, help="Voice id (see 'letgo voices')."),
        click.option("--rate", type=click.IntRange(60, 400), default=VoiceSettings.rate,
                     show_default=True, help="Speaking rate in words per minute."),
        click.option("--templates", "template_dirs", multiple=True,
                     type=click.Path(file_okay=False, path_type=Path),
                     help="A folder of your own templates (repeatable); they win over built-ins."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def build_request(template, minutes, variables, engine, voice, rate, template_dirs,
                  background: str = MixSettings.background) -> session.Request:
    return session.Request(
        template=template,
        variables=templates.parse_assignments(variables),
        minutes=minutes,
        engine=engine,
        voice=VoiceSettings(voice=voice, rate=rate),
        mix=MixSettings(background=background),
        template_dirs=tuple(str(d) for d in template_dirs),
    )


def sound_options(command):
    """Options that decide how a session sounds and is encoded (render)."""
    from .export import CODECS

    options = [
        click.option("--background", default=MixSettings.background, show_default=True,
                     help="Background: pink, brown, rain, ocean, drone, binaural, none (see "
                          "'letgo backgrounds'), or the path of an audio file to loop."),
        click.option("--background-db", type=float, default=MixSettings.background_db,
                     show_default=True, help="Background loudness relative to the voice, in dB."),
        click.option("--background-offset", type=click.FloatRange(min=0), default=None,
                     help="Seconds into a background file to start from. Default: random."),
        click.option("--beat", type=float, default=MixSettings.beat, show_default=True,
                     help="Binaural beat frequency in Hz (e.g. 6 for theta, 10 for alpha)."),
        click.option("--duck-db", type=click.FloatRange(0, 40), default=MixSettings.duck_db,
                     show_default=True, help="How far the background dips under speech, in dB."),
        click.option("--duck-attack", type=click.FloatRange(0, 10),
                     default=MixSettings.duck_attack, show_default=True,
                     help="Seconds the background takes to dip before speech."),
        click.option("--duck-release", type=click.FloatRange(0, 30),
                     default=MixSettings.duck_release, show_default=True,
                     help="Seconds the background takes to rise again after speech."),
        click.option("--lufs", type=click.FloatRange(-40, -6), default=MixSettings.loudness,
                     show_default=True,
                     help="Loudness target (integrated LUFS), e.g. -16, -19, -23."),
        click.option("--format", "audio_format", type=click.Choice(list(CODECS)), default=None,
                     help="File format. Default: from the output's extension, else mp3."),
        click.option("--bitrate", default=ExportSettings.bitrate, show_default=True,
                     help="Bitrate for mp3, ogg (Opus) and m4a (AAC)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def sound_settings(background, background_db, background_offset, beat, duck_db, duck_attack,
                   duck_release, lufs, audio_format, bitrate) -> tuple[MixSettings, ExportSettings]:
    mix = MixSettings(background=background, background_db=background_db,
                      background_offset=background_offset, beat=beat, duck_db=duck_db,
                      duck_attack=duck_attack, duck_release=duck_release, loudness=lufs)
    return mix, ExportSettings(format=audio_format, bitrate=bitrate)


# --- commands --------------------------------------------------------------------------------

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


@main.command()
@session_options
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Where to write the file. Default: audio_out/TEMPLATE.mp3 (or the --format's "
                   "extension)")
@sound_options
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@fail_cleanly
def render(template, minutes, variables, engine, voice, rate, template_dirs, output, background,
           background_db, background_offset, beat, duck_db, duck_attack, duck_release, lufs,
           audio_format, bitrate, quiet):
    """Render a meditation to an audio file (MP3 unless asked otherwise).

    TEMPLATE is a built-in name (see 'letgo list') or a path to a template file.

    \b
    Examples:
      letgo render letting-go
      letgo render letting-go --minutes 10 -v name=Sam -o ~/sam.mp3
      letgo render ./my-meditation.j2 --background none
      letgo render letting-go --background rain --background-db -18 --duck-db 8
      letgo render letting-go --background binaural --beat 6 -o theta.flac
      letgo render letting-go --background ~/waves.wav --background-offset 30 --lufs -19
      letgo render letting-go --format ogg
    """
    from dataclasses import replace

    from .export import choose_format, extension

    audio_format = choose_format(output, audio_format)
    mix_settings, export_settings = sound_settings(
        background, background_db, background_offset, beat, duck_db, duck_attack, duck_release,
        lufs, audio_format, bitrate)
    request = build_request(template, minutes, variables, engine, voice, rate, template_dirs,
                            background)
    request = replace(request, mix=mix_settings, export=export_settings)
    if output is None:
        name = Path(template).name.removesuffix(".j2")
        output = DEFAULT_OUTPUT_DIR / f"{name}{extension(audio_format)}"
    progress = Progress(quiet)
    try:
        result = session.render(request, output, progress=progress)
    finally:
        progress.close()
    if not quiet:
        click.echo(f"Wrote {result.path} ({format_minutes(result.duration)}, "
                   f"rendered in {result.seconds_taken:.1f} s)")


@main.command()
@session_options
@fail_cleanly
def script(template, minutes, variables, engine, voice, rate, template_dirs):
    """Show the rendered script with its planned timings; no audio is written.

    \b
    Example:
      letgo script letting-go --minutes 10
    """
    request = build_request(template, minutes, variables, engine, voice, rate, template_dirs)
    prepared = session.prepare(request)
    timeline = prepared.timeline
    click.echo(f"{prepared.info.title}: {format_minutes(timeline.duration)} "
               f"(flexible pauses at {timeline.stretch:.2f}x their written length)")
    rows = [(e.start, e) for e in timeline.events] + [(s.start, s) for s in timeline.silences]
    chapters = list(timeline.chapters)
    for start, item in sorted(rows, key=lambda row: row[0]):
        while chapters and chapters[0].start <= start:
            chapter = chapters[0]
            click.echo(f"\n## {chapter.title}  [{clock(chapter.start)}]  "
                       f"({clock(chapter.end - chapter.start)} long)")
            chapters.pop(0)
        if getattr(item, "kind", None) == "speech":
            click.echo(f"  {clock(start):>8}  {item.text}")
        elif getattr(item, "kind", None):
            click.echo(f"  {clock(start):>8}  [{item.kind}]")
        else:
            kind = "flexible pause" if item.flexible else "pause"
            click.echo(f"  {clock(start):>8}  [{kind} {item.duration:.1f} s]")
    click.echo(f"\nTotal: {clock(timeline.duration)} ({timeline.duration:.1f} s)")


@main.command(name="list")
@click.option("--templates", "template_dirs", multiple=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Also list the templates in this folder (repeatable).")
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
        click.echo(f"  {info.name:<24} {length:>7}  {info.title}: {info.description}  "
                   f"({where(info.origin, info.path.parent)})")
    plans = library.series()
    if plans:
        click.echo("\nSeries:")
        for plan_info in plans:
            count = f"{plan_info.sessions} session{'' if plan_info.sessions == 1 else 's'}"
            click.echo(f"  {plan_info.name:<24} {count:>11}  "
                       f"{plan_info.title}: {plan_info.description}  "
                       f"({where(plan_info.origin, plan_info.path.parent.parent)})")


def where(origin: str, folder: Path) -> str:
    return "built-in" if origin == "built-in" else f"{origin}: {folder}"


@main.command()
@session_options
@fail_cleanly
def show(template, minutes, variables, engine, voice, rate, template_dirs):
    """Describe a template: what it is for, its variables, its length range and sections.

    The shortest length depends on the voice, so the script is spoken (not saved) with
    the engine asked for.

    \b
    Examples:
      letgo show letting-go
      letgo show sleep-release --engine fake
    """
    from .overview import overview

    request = build_request(template, minutes, variables, engine, voice, rate, template_dirs)
    view = overview(request)
    info = view.info
    click.echo(f"{info.title}  ({info.name}, {where(info.origin, info.path.parent)})")
    if info.description:
        click.echo(info.description)
    click.echo(f"File: {info.path}")
    longest = f"{view.longest / 60:g} min" if view.longest else "no limit"
    click.echo(f"\nLength (with {request.engine}): shortest {format_minutes(view.shortest)}, "
               f"default {format_minutes(view.default)}, longest {longest}")
    if info.sleep:
        click.echo("A sleep session: the added length goes into the closing silence.")
    click.echo("\nVariables:" if info.variables else "\nVariables: none")
    for var in info.variables:
        default = f'"{var.default}"' if var.default else "empty"
        click.echo(f"  {var.name:<12} default {default}. {var.help}")
    at = f"{minutes:g} minutes" if minutes else "the default length"
    click.echo(f"\nSections (at {at}):")
    for title, seconds in view.sections:
        click.echo(f"  {clock(seconds):>8}  {title}")


@main.command()
@click.argument("name")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write it here instead of your user template folder.")
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
    from .scaffold import create

    path = create(name, folder)
    click.echo(f"Wrote {path}")
    click.echo(f"Edit it, then: letgo check {path} && letgo script {path} --engine fake")


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--templates", "template_dirs", multiple=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="A folder of your own templates, to check one of them by name.")
@fail_cleanly
def check(files, template_dirs):
    """Check templates for mistakes: syntax, variables, markup and pauses.

    FILES are template files or template names. Each problem is printed as FILE:LINE:
    message; the exit code is 1 when anything is wrong.

    \b
    Examples:
      letgo check ./my-meditation.j2
      letgo check letting-go whole
    """
    from .lint import check as lint

    library = templates.TemplateLibrary(template_dirs)
    problems = 0
    for name in files:
        path = Path(name) if Path(name).is_file() else library.find(name).path
        found = lint(path)
        problems += len(found)
        for problem in found:
            click.echo(str(problem))
    if problems:
        click.echo(f"{problems} problem(s) found", err=True)
        sys.exit(1)
    click.echo(f"ok: {len(files)} template(s) checked")


@main.command()
@click.option("--engine", type=click.Choice(ENGINES), default="pyttsx3", show_default=True)
@fail_cleanly
def voices(engine):
    """List the voices an engine offers.

    \b
    Example:
      letgo voices
    """
    speaker = make_engine(engine)
    try:
        for voice in speaker.voices():
            click.echo(f"{voice.id:<28} {voice.language:<10} {voice.name}")
    finally:
        speaker.close()


@main.command()
def backgrounds():
    """List the built-in backgrounds (any audio file can be a background too).

    \b
    Examples:
      letgo backgrounds
      letgo render letting-go --background ocean
      letgo render letting-go --background ~/my-rain.flac
    """
    from .backgrounds import BUILT_IN

    for info in BUILT_IN.values():
        click.echo(f"{info.name:<10} {info.description}")
    click.echo(f"{'FILE':<10} any audio file ffmpeg reads, looped with a crossfade "
               "(--background-offset picks the start)")


@main.command()
def doctor():
    """Check what letgo needs: ffmpeg, the speech engine and its voices.

    \b
    Example:
      letgo doctor
    """
    from . import ffmpeg

    problems = 0
    try:
        path, origin = ffmpeg.find()
        click.echo(f"ok      ffmpeg: {path} (from {origin})")
    except LetgoError as exc:
        problems += 1
        click.echo(f"MISSING ffmpeg: {exc}")
    speaker = make_engine("pyttsx3")
    try:
        info = speaker.describe()
        click.echo(f"ok      pyttsx3 {info['version']}: {info['library']}")
        click.echo(f"ok      voices: {len(speaker.voices())} (see 'letgo voices')")
    except LetgoError as exc:
        problems += 1
        click.echo(f"MISSING speech: {exc}")
    finally:
        speaker.close()
    click.echo(f"ok      built-in templates: {templates.builtin_dir()}")
    sys.exit(1 if problems else 0)
