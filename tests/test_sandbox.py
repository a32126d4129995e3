"""Templates run sandboxed: known server-side template injection payloads must fail cleanly."""

from __future__ import annotations

import pytest

from letgo.cli import main
from letgo.errors import TemplateError
from letgo.words import templates

HEADER = '{#\ntitle = "Probe"\ndescription = "x"\nminutes = 5\n#}\n'

PAYLOADS = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__.__globals__ }}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__ }}",
    "{{ pause.__globals__ }}",
    "{{ breath.__code__ }}",
    "{{ ''|attr('__class__') }}",
    "{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ '{0.__class__}'.format('') }}",
    "{{ range.__self__ }}",
    "{{ dict.__base__.__subclasses__() }}",
    "{% set x = [] %}{{ x.append(1) }}",
    "{% include '/etc/passwd' %}",
    "{% include '../../../../etc/passwd' %}",
    "{% import 'os' as os %}{{ os }}",
    "{% from 'os' import system %}",
    "{% extends '/etc/passwd' %}",
    "{{ 'x' * 100000000 }}",
    "{{ 99 ** 99999999 }}",
    "{{ range(10000000)|list }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_injection_payload_is_a_template_error(tmp_path, payload):
    path = tmp_path / "probe.j2"
    path.write_text(HEADER + payload + "\nHello.\n", encoding="utf-8")
    info = templates.read_info(path, "file")
    with pytest.raises(TemplateError) as caught:
        templates.render(info, {})
    assert str(path) in str(caught.value) and ":6" in str(caught.value)


def test_include_of_a_sibling_file_is_refused_too(tmp_path):
    (tmp_path / "secret.j2").write_text("a secret\n", encoding="utf-8")
    path = tmp_path / "probe.j2"
    path.write_text(HEADER + "{% include 'secret.j2' %}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="cannot include"):
        templates.render(templates.read_info(path, "file"), {})


def test_cli_reports_a_payload_in_one_line_without_traceback(runner, tmp_path):
    path = tmp_path / "probe.j2"
    path.write_text(HEADER + "{{ ''.__class__.__mro__ }}\nHello.\n", encoding="utf-8")
    result = runner.invoke(main, ["script", str(path), "--engine", "fake"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "unsafe" in result.output
    assert "Traceback" not in result.output


def test_a_variable_value_is_text_not_template_code(tmp_path):
    path = tmp_path / "echo.j2"
    path.write_text(
        HEADER.replace("#}", '[variables.name]\ndefault = ""\nhelp = "n"\n#}')
        + "Hello {{ name }}.\n",
        encoding="utf-8",
    )
    text = templates.render(templates.read_info(path, "file"), {"name": "{{ ''.__class__ }}"})
    assert "{{ ''.__class__ }}" in text  # passed through as words, never evaluated
