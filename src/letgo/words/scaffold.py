"""`letgo new`: a commented starter template, written where letgo will find it.

The file is written with `atomic.write(exclusive=True)`, so an existing template is never
overwritten and a half-written one never appears.
"""

from __future__ import annotations

import re
from pathlib import Path

from letgo.errors import OutputError, UsageError
from letgo.file import atomic
from letgo.words import templates

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

STARTER = """{{#
# The header is TOML inside a Jinja comment. `letgo show {name}` reads it;
# `letgo check {filename}` tells you what is wrong, line by line.
title = "{title}"
description = "One line: what this meditation is for."
minutes = 8          # the default length
max_minutes = 25     # the longest length whose silences still feel right

[variables.name]
default = ""
help = "The listener's first name; leave empty to say no name."
#}}
{{# Lines of text are spoken. A blank line ends a paragraph (a slightly longer gap). #}}
{{# pause(4) is a fixed silence; pause(20, flex=True) stretches or shrinks for --minutes; #}}
{{# pause(20, min=5, weight=30) sets its shortest length and its share of any stretch; #}}
{{# hold(...) is a long flexible silence, split by its cues when it grows past 100 s. #}}
{{{{ bell() }}}}
{{{{ section("Arrival") }}}}
{{% if name %}}Welcome, {{{{ name }}}}.{{% else %}}Welcome.{{% endif %}}
Find a way to sit that you can stay in for a while.
Let your hands rest.
{{{{ pause(3) }}}}
{{{{ breath(times=3, inhale=4, hold=2, exhale=6) }}}}
{{{{ pause(10, flex=True, min=8) }}}}

{{{{ section("The heart of it") }}}}
Write the body of your meditation here.
Keep the sentences short, and give each one room.
{{{{ pause(20, min=5, weight=2) }}}}
Now rest here, with nothing to do.
{{{{ hold(60, min=10, weight=30, cues=["Back to your breath.", "Rest a little longer."]) }}}}

{{{{ section("Return") }}}}
Feel the ground under you again.
When you are ready, open your eyes.
{{{{ pause(3) }}}}
{{{{ bell() }}}}
"""


def starter(name: str) -> str:
    """The starter template's text for `name` (it passes `letgo check` as written)."""
    title = name.replace("-", " ").capitalize()
    return STARTER.format(name=name, filename=f"{name}{templates.SUFFIX}", title=title)


def create(name: str, folder: Path | None = None) -> Path:
    """Write a starter template NAME.j2 in `folder` (default: the user template folder)."""
    name = name.removesuffix(templates.SUFFIX)
    if not _NAME.match(name):
        raise UsageError(
            f"'{name}' is not a template name: use lowercase letters, digits and "
            "hyphens, e.g. morning-ease"
        )
    folder = Path(folder).expanduser() if folder else templates.user_template_dir()
    target = folder / f"{name}{templates.SUFFIX}"
    if target.exists():
        raise OutputError(f"{target} already exists; pick another name or edit that file")
    try:
        atomic.write(target, starter(name).encode("utf-8"), exclusive=True)
    except FileExistsError:
        raise OutputError(f"{target} already exists; pick another name or edit that file") from None
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target
