"""Every `letgo ...` line in a code block of README.md and templates/README.md runs, and exits 0.

A line runs as written, in a scratch folder with its own home, with two changes where the
point of the line is not the voice: `--engine fake` is added when no engine is named, and a
render with no length of its own is made short (its shortest with its voice, as the error
for too short a length gives it); a series build gets `--minutes 2`, its quick draft. Lines
that name a real engine or voice are end-to-end tests, and so are those that download a voice
or list the voices to download: they reach a stand-in for Piper's voice source on 127.0.0.1
(tests/voice_source.py), never the network. `letgo series serve` runs until it has
said where it serves (on a free local port) and is then stopped. Nothing reaches the network;
only a line needing a cluster (`--scheduler`) would be skipped. The files the lines name are
made first: the README's own example template as ./my-meditation.j2, a sound as ~/waves.wav,
and, standing in for a downloaded Piper voice at ~/voices/en_GB-alba-medium.onnx, the
installed joe voice's files under that name.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import voice_source
from conftest import needs_piper
from letgo.cli import main
from letgo.file import ffmpeg
from letgo.voice import download
from letgo.voice.engines import piper

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "templates" / "README.md"]
LETGO = str(Path(sys.executable).parent / "letgo")
#: Commands that take --engine, and those whose length can be chosen.
TAKES_ENGINE = {"render", "script", "show", "sample", "build"}


def example_lines() -> list[tuple[str, int, str]]:
    """(file, line number, command) for every `letgo` line in a code block."""
    found = []
    for doc in DOCS:
        fenced = False
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip().startswith("```"):
                fenced = not fenced
                continue
            if (fenced or line.startswith("    ")) and re.match(r"\s*letgo(\s|$)", line):
                for command in line.strip().split(" / "):  # "letgo --version / letgo ..."
                    found.append((doc.relative_to(ROOT).as_posix(), number, command))
    return found


EXAMPLES = example_lines()
#: One worker runs the lines (scripts/test.sh: --dist loadgroup), so they share one user's
#: speech cache as the README's reader would: a line finds what an earlier one spoke.
pytestmark = pytest.mark.xdist_group("readme")


def arguments(command: str) -> list[str]:
    args = shlex.split(command, comments=True)[1:]
    return args


def real_voice(args: list[str]) -> bool:
    return any(a in ("--voice",) for a in args) or any(
        args[i] == "--engine" and args[i + 1] != "fake" for i in range(len(args) - 1)
    )


def adjusted(args: list[str]) -> list[str]:
    """The line's arguments with a fake engine and a short length where the voice is not
    the point (a render with no length of its own: its shortest, with whichever voice)."""
    command = args[1] if args[:1] == ["series"] else args[0] if args else ""
    args = list(args)
    if command in TAKES_ENGINE and "--engine" not in args:
        args += ["--engine", "fake"]
    lengths = [i for i, a in enumerate(args) if a in ("-m", "--minutes")]
    if command == "render" and not real_voice(args):
        for i in reversed(lengths):
            del args[i : i + 2]
        args += ["--minutes", SHORTEST]
    elif command == "render" and not lengths:
        args += ["--minutes", SHORTEST]
    elif command == "build":
        args += ["--minutes", "2"]  # the quick draft: each session at its shortest
    return args


#: Stands for the shortest length the line's template fits in with the line's voice.
SHORTEST = "SHORTEST"


def shortest_minutes(args: list[str], runner) -> str:
    """The README's promise: asking for less than the speech needs gives an error with the
    shortest length that works. Ask the line itself (nothing is written), and take that."""
    asked = runner.invoke(main, [a if a != SHORTEST else "0.1" for a in args])
    assert asked.exit_code == 2, asked.output
    return re.search(r"ask for ([\d.]+) minutes or more", asked.output).group(1)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A scratch folder with the files the examples name (see the module docstring)."""
    root = tmp_path_factory.mktemp("readme")
    home = root / "home"
    (home / "voices").mkdir(parents=True)
    blocks = re.findall(r"\n((?:    .*\n|\n)+)", (ROOT / "README.md").read_text(encoding="utf-8"))
    template = next(b for b in blocks if b.lstrip().startswith("{#"))
    (root / "my-meditation.j2").write_text(
        re.sub(r"(?m)^    ", "", template).strip() + "\n", encoding="utf-8"
    )
    guide = (ROOT / "templates" / "README.md").read_text(encoding="utf-8")
    headerless = re.search(r"```\n(\{# my morning practice #\}\n.*?)```", guide, re.S)
    (root / "morning.j2").write_text(headerless.group(1), encoding="utf-8")
    binary, _ = ffmpeg.find()
    subprocess.run(
        [
            binary,
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "anoisesrc=d=45:c=brown:a=0.2",
            str(home / "waves.wav"),
        ],
        check=True,
    )
    from letgo.voice.engines import piper

    joe = piper.resolve_voice_or_none("joe")
    if joe is not None:
        shutil.copy(joe.model, home / "voices" / "en_GB-alba-medium.onnx")
        shutil.copy(joe.config, home / "voices" / "en_GB-alba-medium.onnx.json")
    return root


@pytest.fixture
def inside(workspace, monkeypatch) -> Iterator[Path]:
    """In the workspace, with its home, config and speech cache shared by every line (as one
    user's would be: a line after another finds what the first one spoke in the cache), and
    Piper's voice source stood in for on 127.0.0.1 (tests/voice_source.py)."""
    monkeypatch.chdir(workspace)
    home = workspace / "home"
    monkeypatch.setenv("HOME", str(home))
    for name, folder in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_DATA_HOME", ".local/share"),
    ):
        monkeypatch.setenv(name, str(home / folder))
    if piper.resolve_voice_or_none("joe") is None:
        yield workspace
        return
    with voice_source.serving() as source:  # `letgo voices download` and the catalogue
        monkeypatch.setenv(download.SOURCE_VARIABLE, source.url)
        yield workspace


def prepare(args: list[str], runner) -> None:
    """Make what a line builds on when it is run alone: a new template, a plan, a built
    series, a downloaded voice; and clear what a line makes anew (`letgo new` never
    overwrites)."""
    if "--voice" in args and args[args.index("--voice") + 1] in voice_source.VOICES:
        name = args[args.index("--voice") + 1]
        got = runner.invoke(main, ["voices", "download", name, "-q"])
        assert got.exit_code == 0, got.output
    if args[:1] == ["new"] and "--dir" in args:
        Path(args[args.index("--dir") + 1], f"{args[1]}.j2").unlink(missing_ok=True)
    if args[:1] == ["new"] and "--dir" not in args:
        from letgo.words import templates

        (templates.user_template_dir() / f"{args[1]}.j2").unlink(missing_ok=True)
    for arg in args:
        if arg.startswith("my-templates/") and not Path(arg).exists():
            assert (
                runner.invoke(main, ["new", Path(arg).stem, "--dir", "my-templates"]).exit_code == 0
            )
    if (
        args[:2] == ["series", "build"]
        and args[2] == "my-course.toml"
        and not Path("my-course.toml").exists()
    ):
        assert runner.invoke(main, ["series", "new", "my-course.toml"]).exit_code == 0
    if args[:2] == ["series", "serve"] and not Path(args[2]).is_dir():
        prepare(["series", "build", "my-course.toml"], runner)
        built = runner.invoke(
            main,
            [
                "series",
                "build",
                "my-course.toml",
                "-o",
                args[2],
                "--engine",
                "fake",
                "--minutes",
                "2",
            ],
        )
        assert built.exit_code == 0, built.output


def run(args: list[str], runner):
    if args[:2] == ["series", "serve"]:  # serves until stopped: wait for its address
        with subprocess.Popen(
            [LETGO, *args, "--port", "0", "--host", "127.0.0.1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as server:
            first = server.stdout.readline()
            server.terminate()
            assert first.startswith("Serving "), (first, server.stderr.read())
        return
    if "COMMAND" in args:
        for name in sorted(main.commands):
            run([name if a == "COMMAND" else a for a in args], runner)
        return
    result = runner.invoke(main, args, prog_name="letgo")
    assert result.exit_code == 0, (args, result.output)


def marks(args: list[str]):
    if "--scheduler" in args:
        return [pytest.mark.skip(reason="needs a Dask cluster")]
    if args[:2] == ["voices", "download"] or "--available" in args:  # joe's files served
        return [pytest.mark.e2e, needs_piper]
    return [pytest.mark.e2e] if real_voice(args) else []


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            adjusted(arguments(command)),
            id=f"{doc}:{number}: {command}",
            marks=marks(arguments(command)),
        )
        for doc, number, command in EXAMPLES
    ],
)
@pytest.mark.e2e
def test_the_example_runs(inside, runner, args, monkeypatch):
    if args[:2] == ["cache", "clear"]:  # its own cache, so later lines find what was spoken
        monkeypatch.setenv("LETGO_CACHE_DIR", str(inside / "cache-to-clear"))
    prepare(args, runner)
    if SHORTEST in args:
        shortest = shortest_minutes(args, runner)
        args = [shortest if a == SHORTEST else a for a in args]
    run(args, runner)


def test_the_examples_are_found():
    commands = [command for _, _, command in EXAMPLES]
    assert len(commands) > 30
    assert "letgo series build seven-days-of-release      # a built-in plan, by name" in commands
    assert any(doc == "templates/README.md" for doc, _, _ in EXAMPLES)
