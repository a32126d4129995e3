"""The command line's progress displays: bars on a terminal, a few plain lines otherwise.

Part of the CLI (it uses click); the library reports progress through callbacks, and these
turn the reports into what a person watching a terminal sees.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import click

from letgo import timefmt

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar


class ProgressDisplay:
    """A bar per stage on a terminal; a few plain lines otherwise; nothing with --quiet."""

    LABELS = {"speech": "Speaking", "mix": "Mixing  ", "download": "Downloading"}

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.tty = sys.stderr is not None and sys.stderr.isatty()
        self.bar: ProgressBar[int] | None = None
        self.stage: str | None = None
        self.last_percent = -1

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.last_percent = -1
            if self.tty:
                self.bar = click.progressbar(
                    length=total, label=self.LABELS.get(stage, stage), file=sys.stderr
                )
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


class SeriesProgress:
    """Per-session bars and an overall line with time left on a terminal; plain lines otherwise."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.tty = sys.stderr is not None and sys.stderr.isatty()
        self.active: dict[str, tuple[str, float]] = {}
        self.drawn = 0
        self.last_draw = 0.0
        self.last = None

    def __call__(self, update) -> None:
        if self.quiet:
            return
        self.last = update
        line = None
        name = f"{update.listener}: {update.title}" if update.listener else update.title
        if update.kind == "skipped":
            line = f"  skipped  {name} (unchanged)"
        elif update.kind in ("built", "failed"):
            self.active.pop(update.relpath, None)
            word = "built  " if update.kind == "built" else "FAILED "
            line = (
                f"  {word}  {name}: {update.message}  "
                f"[{update.finished}/{update.to_build}, {self.overall(update)}]"
            )
        else:
            self.active[update.relpath] = (name, update.fraction)
            if not self.tty:
                if update.kind == "start":
                    line = f"  started  {name}"
                else:
                    return
        if not self.tty:
            if line:
                click.echo(line, err=True)
            return
        now = time.monotonic()
        if line is None and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        self.erase()
        if line:
            click.echo(line, err=True)
        self.draw(update)

    @staticmethod
    def overall(update) -> str:
        left = (
            ""
            if update.remaining is None
            else f", about {timefmt.clock_whole(update.remaining)} left"
        )
        return f"{update.overall:.0%} overall{left}"

    def draw(self, update) -> None:
        lines = []
        for title, fraction in self.active.values():
            filled = round(fraction * 24)
            lines.append(
                f"  {title[:36]:<36} [{'#' * filled}{'-' * (24 - filled)}] {fraction:4.0%}"
            )
        if update.to_build:
            lines.append(f"  {update.finished}/{update.to_build} sessions, {self.overall(update)}")
        for text in lines:
            click.echo(text, err=True)
        self.drawn = len(lines)

    def erase(self) -> None:
        if self.drawn:
            click.echo(f"\x1b[{self.drawn}F\x1b[J", err=True, nl=False)
            self.drawn = 0

    def close(self) -> None:
        if self.tty and not self.quiet:
            self.erase()
