"""No CSV or xlsx cell qualcode writes can run as a formula (CSV injection, OWASP).

A survey table whose answers start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
goes through every writer: pseudonymise (with ``--keep-format`` copies), code, matrices,
agreement and the codebook report. Every CSV cell is read back raw, and every xlsx cell of every
sheet is checked for its type.
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from conftest import DEFAULT_CODEBOOK
from qualcode.cells import FORMULA_START, csv_text_of, csv_value
from qualcode.codebook import load_codebook
from qualcode.code import run_code
from qualcode.coded import read_coded
from qualcode.config import Settings
from qualcode.export.matrices import run_matrices
from qualcode.fsutil import csv_text
from qualcode.pseudonymise import run_pseudonymise
from qualcode.refine import run_codebook_report
from qualcode.reliability import run_agreement

HOSTILE = [
    '=HYPERLINK("http://example.org/x","click here to share information")',
    "-1+2 is what the partnership scored on data sharing",
    "@SUM(A1) we never share information with the police",
    "\tinformation sharing works when the manager trusts you",
    "+ we rely on one person for everything in this partnership",
    "\r=cmd|' /C calc'!A0 and then we shared data",
]
SETTINGS = Settings(workers=1, quiet=True)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    """Every writer run once on the hostile table; returns the folder holding all outputs."""
    root = tmp_path_factory.mktemp("formulas")
    source, out, secure = root / "source", root / "out", root / "secure"
    source.mkdir()
    rows = [[f"r{index}", f"P{index % 2 + 1}", text, "=1+1" if index == 0 else "team"]
            for index, text in enumerate(HOSTILE)]
    # the input itself is written raw: an attacker's file, not one of qualcode's
    with open(source / "survey.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["id", "speaker", "text", "group"], *rows])
    (source / "participants.csv").write_text("name,aliases\nLisa Hammond,Lisa\n", encoding="utf-8")
    run_pseudonymise(source, out / "pseudonymised", None, secure / "key.json", SETTINGS, keep_format=True)
    run_code(out / "pseudonymised", DEFAULT_CODEBOOK, out, None, None, False, SETTINGS)
    coded = out / "coded_segments.xlsx"
    codebook = load_codebook(DEFAULT_CODEBOOK)
    run_matrices(coded, out / "matrices_out", codebook)
    run_agreement(out / "coded_segments.csv", coded, out_dir=out / "agreement", codes_column_b="codes")
    run_codebook_report(coded, codebook, out / "review")
    return out


def test_every_csv_cell_is_neutralised(outputs):
    tables = sorted(outputs.rglob("*.csv"))
    assert {path.name for path in tables} >= {"coded_segments.csv", "summary.csv", "quotes.csv", "survey.csv"}
    for path in tables:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            for row in csv.reader(handle):
                for cell in row:
                    assert not cell.startswith(FORMULA_START), (path.name, cell)


def test_no_xlsx_cell_is_a_formula(outputs):
    books = sorted(outputs.rglob("*.xlsx"))
    assert {path.name for path in books} >= {"coded_segments.xlsx", "matrices.xlsx", "agreement.xlsx",
                                             "codebook_report.xlsx"}
    seen_hostile = 0
    for path in books:
        for sheet in openpyxl.load_workbook(path).worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (path.name, sheet.title, cell.coordinate, cell.value)
                    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
                        assert cell.quotePrefix, (path.name, sheet.title, cell.coordinate)
                        seen_hostile += 1
    assert seen_hostile >= len(HOSTILE)  # the texts are there, as text


def test_coded_text_reads_back_as_written(outputs):
    """The leading quote is CSV's protection, not part of the text: qualcode's readers drop it."""
    texts = set(read_coded(outputs / "coded_segments.csv")["text"])
    assert any(text.startswith('=HYPERLINK(') for text in texts)
    assert texts == set(read_coded(outputs / "coded_segments.xlsx")["text"])


@pytest.mark.parametrize("value, written", [
    ("=1+1", "'=1+1"), ("-x", "'-x"), ("+x", "'+x"), ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("plain", "plain"), ("a=b", "a=b"), (-3, -3), (0.5, 0.5), ("", ""),
])
def test_csv_value(value, written):
    assert csv_value(value) == written
    if isinstance(value, str):
        assert csv_text_of(written) == value


def test_numbers_stay_numbers_in_csv():
    assert csv_text(["n", "score"], [[-1, -0.25]]) == "n,score\n-1,-0.25\n"
