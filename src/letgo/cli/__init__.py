"""The `letgo` command line: parses options, calls the library, prints. Nothing else.

Only this package imports click. `base` holds what every command shares; each other module is a
family of commands, added to `main` here."""

from __future__ import annotations

import logging
import os

import click

from letgo import __version__
from letgo.cli import library, series, sessions, voices
from letgo.cli.base import LetgoGroup, flag

__all__ = ["flag", "main"]


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


for _command in (
    sessions.render,
    sessions.script,
    sessions.sample,
    library.list_templates,
    library.show,
    library.new,
    library.check,
    library.backgrounds,
    voices.voices,
    voices.cache,
    voices.doctor,
    series.series,
):
    main.add_command(_command)
