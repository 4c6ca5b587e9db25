"""``qualcode report``: one self-contained, deterministic HTML page built from the matrices."""

from __future__ import annotations

import html
import re

import pytest
from click.testing import CliRunner
from test_matrices import (CASES, CODE_IDS, CODEBOOK, DOCUMENTS, case_rows, expected_count, expected_quotes,
                           fake_codebook_module, write_coded, ROWS)

from qualcode.cli import main
from qualcode.export.report import EXAMPLE_QUOTES, run_report

__all__ = ["fake_codebook_module"]  # a fixture, used by name below


@pytest.fixture(params=["csv", "xlsx"])
def report(request, tmp_path) -> str:
    coded = write_coded(ROWS, tmp_path / f"coded.{request.param}")
    path = run_report(coded, tmp_path / "out", CODEBOOK)
    assert path == tmp_path / "out" / "report.html"
    return path.read_text(encoding="utf-8")


def code_section(report: str, code_id: str) -> str:
    return re.search(rf'<section class="code" id="code-{code_id}">(.*?)</section>', report, re.DOTALL).group(1)


def test_report_is_self_contained(report):
    assert "http" not in report
    assert not re.search(r"<(link|script|iframe|img)\b", report)
    assert "@import" not in report and not re.search(r"url\((?!#)", report)  # only in-page references
    assert report.count("<svg") == 3 and report.count("</svg>") == 3  # frequencies, code x case, co-occurrence


def test_header_names_the_codebook_and_counts(report):
    assert "<h1>Test partnerships — coding report</h1>" in report and "Codebook version 2.1" in report
    assert f"{len(DOCUMENTS)} documents · {len(case_rows())} participant segments · {len(CASES)} cases" in report


def test_each_code_has_its_definition_counts_and_examples(report):
    for code in CODEBOOK.codes:
        section = code_section(report, code.id)
        assert html.escape(code.definition) in section
        cases = sum(1 for case in CASES if expected_count(code.id, speaker=case))
        assert f"{expected_count(code.id)} segments · {cases} of {len(CASES)} cases" in section
        quoted = re.findall(r"<footer>([^<]*)</footer>", section)
        expected = [(row["speaker"], row["segment_id"]) for case in CASES for row in expected_quotes(case, code.id)]
        assert len(quoted) == min(EXAMPLE_QUOTES, len(expected))
        assert {tuple(footer.split(", ")) for footer in quoted} <= set(expected)


def test_examples_come_from_different_cases_first(report):
    # barriers: Maya has three segments, P03 and Sam one each; the examples show all three people.
    footers = re.findall(r"<footer>([^,]*),", code_section(report, "barriers"))
    assert footers == ["Maya", "P03", "Sam"]


def test_quotes_and_definitions_are_escaped(report):
    assert "We are stretched &amp; the money is gone." in report
    assert "Money &lt;or its absence&gt;." in report and "Too much work &amp; too little time." in report
    assert "<or its absence>" not in report


def test_two_runs_are_byte_identical(tmp_path):
    coded = write_coded(ROWS, tmp_path / "coded.csv")
    first = run_report(coded, tmp_path / "one", CODEBOOK).read_bytes()
    second = run_report(coded, tmp_path / "two", CODEBOOK).read_bytes()
    assert first == second


def test_cli_report(fake_codebook_module, tmp_path):
    coded = write_coded(ROWS, tmp_path / "coded.xlsx")
    result = CliRunner().invoke(main, ["report", str(coded), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert all(f"<code>{code_id}</code>" in (tmp_path / "out" / "report.html").read_text() for code_id in CODE_IDS)
