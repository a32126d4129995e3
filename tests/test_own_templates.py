"""A user's own meditation, as written: templates without a header, variables said as typed,
and `letgo check` reporting every problem at once; all through the CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from letgo.cli import main

SERIES_DATA = Path(__file__).parent / "series_data"
HEADERLESS = (
    "{# my morning practice #}\n"
    "Welcome back{% if name %}, {{ name }}{% endif %}.\n"
    "{{ pause(3, flex=True) }}\n"
    "Breathe.\n"
)
HEADER = (
    '{#\ntitle = "Mine"\ndescription = "For the tests."\nminutes = 1\n'
    '[variables.name]\ndefault = ""\nhelp = "A name."\n#}\n'
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def spoken(output: str) -> list[str]:
    """The sentences `letgo script` lists (its timed lines that are not pauses or cues)."""
    return [m.group(1) for m in re.finditer(r"^\s+\d+:\d\d\.\d  (?!\[)(.*)$", output, re.M)]


def script(runner, template, *args):
    result = runner.invoke(main, ["script", str(template), "--engine", "fake", *args])
    assert result.exit_code == 0, result.output
    return result.output


# --- templates without a header ------------------------------------------------------------


def test_a_leading_plain_comment_is_a_comment_and_the_variables_are_found(runner, tmp_path):
    path = write(tmp_path, "morning.j2", HEADERLESS)
    assert spoken(script(runner, path)) == ["Welcome back.", "Breathe."]
    assert spoken(script(runner, path, "-v", "name=Robin")) == ["Welcome back, Robin.", "Breathe."]
    wrong = runner.invoke(main, ["script", str(path), "--engine", "fake", "-v", "nmae=Robin"])
    assert wrong.exit_code == 2
    assert wrong.output == (
        "letgo: error: template 'morning' has no variable 'nmae'; did you mean 'name'?\n"
    )


def test_a_comment_with_header_keys_is_the_header(runner, tmp_path):
    bad = write(tmp_path, "bad.j2", "{#\ntitle = Morning\n#}\nHello.\n")
    result = runner.invoke(main, ["script", str(bad), "--engine", "fake"])
    assert result.exit_code == 2 and "bad TOML header" in result.output
    prose = write(
        tmp_path,
        "prose.j2",
        "{#\nThe title = what I call it, in my words.\n#}\nHello.\n{{ pause(2, flex=True) }}\n",
    )
    assert spoken(script(runner, prose)) == ["Hello."]


def test_show_lists_a_headerless_templates_variables(runner, tmp_path):
    path = write(tmp_path, "morning.j2", HEADERLESS.replace("Breathe.", "{{ closing }}"))
    result = runner.invoke(main, ["show", str(path), "--engine", "fake"])
    assert result.exit_code == 0, result.output
    assert "no header: these are the names the template uses" in result.output
    assert re.search(r"^  name +default empty\.$", result.output, re.M), result.output
    assert re.search(r"^  closing +default empty\.", result.output, re.M), result.output


def test_check_passes_a_headerless_template_and_warns_of_a_bare_empty_variable(runner, tmp_path):
    good = write(tmp_path, "morning.j2", HEADERLESS)
    result = runner.invoke(main, ["check", str(good)])
    assert result.exit_code == 0 and "ok: 1 template(s) checked" in result.output, result.output
    bare = write(
        tmp_path,
        "bare.j2",
        "Welcome back, {{ name }}.\n"
        "{% if other %}Hi {{ other }}.{% endif %}\n"
        "{{ pause(3, flex=True) }}\n",
    )
    result = runner.invoke(main, ["check", str(bare)])
    assert result.exit_code == 0, result.output
    assert f"{bare}:1: warning: 'name' is empty unless given" in result.output
    assert "'other'" not in result.output


def test_check_reports_every_problem_in_one_run(runner, tmp_path):
    path = write(
        tmp_path,
        "mine.j2",
        HEADER + "Hello {{ nmae }}.\n"
        "{{ pause(4, flx=True) }}\n"
        "{{ pause('4x') }}\n"
        "[pasue 3s]\n"
        "{{ pause(9, flex=True) }}\n"
        "[bel]\n"
        "{% if name %}Hi, {{ name }}.{% endif %}\n",
    )
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}:9: 'nmae' is not defined; did you mean 'name'?",
        f"{path}:10: pause(): unknown argument 'flx'; it takes "
        "pause(seconds, flex=False, min=None, weight=None)",
        f"{path}:11: a pause needs a number of seconds, got '4x'",
        f"{path}:12: bad markup: unknown tag [pasue 3s]; "
        "known tags: [pause ...], [hold ...], [bell]",
        f"{path}:14: bad markup: unknown tag [bel]; known tags: [pause ...], [hold ...], [bell]",
    ], result.output
    assert "5 problem(s) and 0 warning(s) found" in result.output


# --- a value is words, never markup --------------------------------------------------------

MARKUP_VALUE = (
    'Alex [pause 60s] [bell] <break time="600s"/>\n## A new chapter\u2028B\u2029C\x07\x1b'
)


def test_markup_separators_and_controls_in_a_value_are_said_as_typed(runner, tmp_path):
    path = write(
        tmp_path,
        "mine.j2",
        HEADER + "{{ section('One') }}\n{{ name }}\n{{ pause(3, flex=True) }}\n",
    )
    out = script(runner, path, "-v", f"name={MARKUP_VALUE}")
    assert spoken(out) == ['Alex [pause 60s] [bell] <break time="600s"/> ## A new chapter B C']
    assert re.findall(r"^## (\S+)", out, re.M) == ["One"]  # no chapter from the value
    assert re.findall(r"^\s+\S+  \[(.*)\]$", out, re.M) == ["flexible pause 44.2 s"]


def test_an_ordinary_name_with_brackets_is_fine_in_a_builtin(runner):
    out = script(runner, "letting-go", "-v", "person=Sam [the great]", "--minutes", "8")
    assert any("Sam [the great]" in line for line in spoken(out))
    out = script(runner, "letting-go", "-v", "person=a<b", "--minutes", "8")
    assert any("A<b" in line for line in spoken(out))  # a name is said with a capital


def test_values_are_tidied(runner, tmp_path):
    path = write(tmp_path, "mine.j2", "Today: {{ intention }}.\n{{ pause(3, flex=True) }}\n")
    assert spoken(script(runner, path, "-v", "intention=  I can trust myself.  ")) == [
        "Today: I can trust myself."
    ]
    assert spoken(script(runner, path, "-v", "intention=wait for it...")) == [
        "Today: wait for it...."
    ]


def test_an_over_long_value_is_a_usage_error_before_anything_is_spoken(runner, tmp_path):
    out = tmp_path / "never.mp3"
    result = runner.invoke(
        main,
        [
            "render",
            "letting-go",
            "--engine",
            "fake",
            "-o",
            str(out),
            "-v",
            "person=" + "x" * 100_000,
        ],
    )
    assert result.exit_code == 2
    assert result.output == (
        "letgo: error: the value of 'person' is 100,000 characters long; "
        "a value is a name or a sentence, at most 500 characters\n"
    )
    assert not out.exists()


def test_bytes_that_are_not_utf8_in_a_value_or_a_name_are_one_clear_line(tmp_path):
    path = write(tmp_path, "mine.j2", HEADER + "Hello {{ name }}.\n{{ pause(3, flex=True) }}\n")
    letgo = [str(Path(sys.executable).parent / "letgo")]
    result = subprocess.run(
        [*letgo, "script", str(path).encode(), b"--engine", b"fake", b"-v", b"name=Ro\xffbin"],
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr
    assert b"Hello Robin." in result.stdout
    result = subprocess.run(
        [*letgo, "script", b"caf\xe9", b"--engine", b"fake"], capture_output=True
    )
    assert result.returncode == 2
    assert result.stderr.count(b"\n") == 1 and result.stderr.startswith(b"letgo: error: ")


@pytest.mark.e2e
def test_plan_variables_and_listener_cells_are_said_as_typed_and_captioned_escaped(
    runner, tmp_path
):
    shutil.copytree(SERIES_DATA, tmp_path / "plan")
    plan = tmp_path / "plan" / "course.toml"
    head = plan.read_text().split("[[sessions]]")[0].replace('name = "Sam"', 'name = "Tom & Jerry"')
    plan.write_text(
        head + '[[sessions]]\ntemplate = "tiny"\ntitle = "Rest & <b>be</b>"\n'
        '[sessions.variables]\nperson = "Tom & a<b> [bell]\\n## Extra </script>"\n'
        '\n[listeners]\ncsv = "people.csv"\n'
    )
    (plan.parent / "people.csv").write_text('name,minutes\n"Mia [pause 60s]",1\n')
    result = runner.invoke(
        main,
        [
            "series",
            "build",
            str(plan),
            "-o",
            str(tmp_path / "out"),
            "--json",
            "--jobs",
            "1",
            "--base-url",
            "https://e.org/c/",
        ],
    )
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "mia-pause-60s"
    vtt = (folder / "01-rest-b-be-b.vtt").read_text()
    vtt = re.sub(r"<\d\d:\d\d:\d\d\.\d\d\d>", "", vtt)  # the words' own timestamps
    assert "Welcome, Mia [pause 60s]." in vtt
    # a name is said with a capital, and every markup character as typed
    assert "Let Tom &amp; A&lt;b&gt; [bell] ## Extra &lt;/script&gt; go, gently." in vtt
    session = json.loads(result.stdout)["sessions"][0]
    assert session["duration"] == 60
    page = (folder / "index.html").read_text()
    assert "Rest &amp; &lt;b&gt;be&lt;/b&gt;" in page and "<b>be</b>" not in page
    assert page.count("</script>") == 1  # the page's own; the words cannot close it
    import feedparser

    feed = feedparser.parse((folder / "feed.xml").read_bytes())
    assert not feed.bozo and feed.entries[0].title == "Rest & <b>be</b>"


# --- a template's own work is bounded ------------------------------------------------------

RUNAWAY = {
    "nested loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
    "{% endfor %}",
    "loops of text": "{% for i in range(100000) %}{% for j in range(1000) %}x{% endfor %}"
    "{% endfor %}",
    "center": '{{ "x"|center(1000000000) }}',
    "format filter": '{{ "%999999999d"|format(1) }}',
    "format width from an argument": '{{ "%*d"|format(999999999, 1) }}',
    "str.format": '{{ "{:>{}}".format(1, 999999999) }}',
    "doubling with ~": '{% set ns = namespace(s="xx") %}{% for i in range(64) %}'
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "doubling in a set block": '{% set ns = namespace(s="xx") %}{% for i in range(64) %}'
    "{% set ns.s %}{{ ns.s }}{{ ns.s }}{% endset %}{% endfor %}",
    "** chain": "{{ ((10**100)**100)**100 }}",
    "squaring": "{% set ns = namespace(x=3) %}{% for i in range(64) %}"
    "{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x }}",
    "replace": '{{ ("x" * 1000)|replace("x", "x" * 1000)|replace("x", "x" * 1000) }}',
    "join": '{{ (range(100000)|list)|join("x" * 10000) }}',
    "nested lists": '{% set a = ["x"*900000] %}{% set b = [a,a,a,a,a,a,a,a,a,a] %}'
    "{% set c = [b,b,b,b,b,b,b,b,b,b] %}{{ c }}",
    "macro recursion": "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}"
    "{% endmacro %}{{ f(40) }}",
    "comparisons": '{% set s = "x" * 900000 %}{% for i in range(100000) %}'
    '{% if s == s ~ "" %}{% endif %}{% endfor %}',
    "recursive loop": "{% for i in range(100) recursive %}{% if loop.depth < 6 %}"
    "{{ loop(range(100)) }}{% endif %}{% endfor %}",
    "indent": '{{ ("x\\n"*400000)|indent(1000) }}',
    "batch": "{{ [1]|batch(1000000000, 0)|list }}",
    "translate": '{{ ("x"*900000).translate({120: "y"*1000}) }}',
    "filter block": "{% filter center(1000000000) %}x{% endfilter %}",
    "a long script": "{% for i in range(100000) %}Some words here that repeat.{% endfor %}",
}
#: The bound: a few hundred MB of address space (a normal run needs under 200 MB) and CPU time
#: that a stuck template would use up in no time.
LIMIT_MB, LIMIT_CPU_SECONDS = 400, 30


def bounded_run(*args: str) -> subprocess.CompletedProcess:
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT_MB << 20, LIMIT_MB << 20))
        resource.setrlimit(resource.RLIMIT_CPU, (LIMIT_CPU_SECONDS, LIMIT_CPU_SECONDS))

    letgo = str(Path(sys.executable).parent / "letgo")
    return subprocess.run([letgo, *args], capture_output=True, text=True, preexec_fn=limit)


@pytest.fixture(scope="module")
def runaways(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("runaway")
    return {
        name: write(folder, f"{i:02d}.j2", f"Hello.\n{body}\n{{{{ pause(3, flex=True) }}}}\n")
        for i, (name, body) in enumerate(RUNAWAY.items())
    }


@pytest.mark.parametrize(
    "name",
    [
        "nested loops",
        "center",
        "format filter",
        "doubling with ~",
        "** chain",
        "nested lists",
        "macro recursion",
        "a long script",
    ],
)
def test_a_runaway_template_stops_with_one_line_within_bounds(runaways, name):
    path = runaways[name]
    result = bounded_run("script", str(path), "--engine", "fake")
    assert result.returncode == 2, (name, result.returncode, result.stderr[-500:])
    assert result.stderr.count("\n") == 1, result.stderr[-500:]
    assert re.match(
        rf"letgo: error: {re.escape(str(path))}(:2)?: (the template does too much "
        r"work|the rendered script is over|.* would (be|have) )",
        result.stderr,
    )


@pytest.mark.parametrize("name", ["loops of text", "doubling in a set block", "squaring"])
def test_render_stops_a_runaway_within_bounds_and_writes_nothing(runaways, name, tmp_path):
    out = tmp_path / "never.mp3"
    result = bounded_run("render", str(runaways[name]), "--engine", "fake", "-o", str(out))
    assert result.returncode == 2, (name, result.returncode, result.stderr[-500:])
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("letgo: error: ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.e2e
def test_check_stops_every_runaway_within_bounds(runaways):
    result = bounded_run("check", *map(str, runaways.values()))
    assert result.returncode == 1, result.stderr[-500:]
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    for path in runaways.values():
        assert any(re.match(rf"{re.escape(str(path))}(:2)?: ", line) for line in lines), (
            path,
            lines,
        )


CUE_TEXTS = """
(async () => {
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  const audio = document.querySelector("audio");
  for (let i = 0; i < 150 && !audio.dataset.captions; i++) await wait(100);
  const live = Array.from(audio.textTracks).find((t) => t.mode !== "disabled" && t.cues
                                                 && t.cues.length);
  return Array.from(live.cues).map((cue) => cue.getCueAsHTML().textContent);
})()
"""


@pytest.mark.e2e
@pytest.mark.parametrize("where", ["served", "disk"])
def test_the_player_page_shows_a_value_as_typed(tmp_path, where):
    """In Chromium, the captions (the .vtt served, or the page's own copy from disk) read
    'Tom & Jerry <3' as typed: escaped in the file, shown as text."""
    import threading

    from click.testing import CliRunner

    from letgo.series import serve
    from series_browser import Browser, find_chromium

    executable = find_chromium()
    if executable is None:
        pytest.fail("chromium is not installed (scripts/test.sh installs it with apt-get)")
    shutil.copytree(SERIES_DATA, tmp_path / "plan")
    plan = tmp_path / "plan" / "course.toml"
    head = (
        plan.read_text().split("[[sessions]]")[0].replace('name = "Sam"', 'name = "Tom & Jerry <3"')
    )
    plan.write_text(head + '[[sessions]]\ntemplate = "tiny"\ntitle = "Rest"\n')
    out = tmp_path / "out"
    built = CliRunner().invoke(main, ["series", "build", str(plan), "-o", str(out), "-q"])
    assert built.exit_code == 0, built.output
    httpd = serve.make_server(out, "127.0.0.1", 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    browser = Browser(executable)
    try:
        url = (
            f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
            if where == "served"
            else (out / "index.html").as_uri()
        )
        texts = browser.evaluate(url, CUE_TEXTS)
    finally:
        browser.close()
        httpd.shutdown()
        httpd.server_close()
    assert texts[0] == "Welcome, Tom & Jerry <3."
