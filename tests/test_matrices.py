"""``qualcode matrices``: every count checked against counts taken straight from the rows.

The expected numbers come from simple loops over ``ROWS`` below, written independently of the
pandas code under test, so a shared mistake cannot make both sides agree.
"""

from __future__ import annotations

import csv
import io
import sys
import types
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from qualcode.cli import main
from qualcode.domain import Code, Codebook
from qualcode.errors import QualcodeError
from qualcode.export.matrices import (EXCEL_CELL_LIMIT, excel_length, framework_cell, run_matrices,
                                      truncation_note)

CODEBOOK = Codebook(
    name="Test partnerships", version="2.1", description="", unit="turn",
    codes=(
        Code("barriers", "Barriers", "Anything that hinders joint working.", color="#F8BBD0"),
        Code("workload", "Workload", "Too much work & too little time.", parent="barriers", color="#332288"),
        Code("funding", "Funding", "Money <or its absence>.", parent="barriers", color="#BCAAA4"),
        Code("support", "Support", "Help from other agencies.", color="#A5D6A7"),
    ),
)
PARENT = {"workload": "barriers", "funding": "barriers"}
CODE_IDS = ("barriers", "workload", "funding", "support")
CASES = ("Maya", "P03", "Sam")
DOCUMENTS = ("T01", "T02", "T03")
ATTRIBUTES = {"Maya": {"role_descriptor": "IDVA", "organisation_type": "charity"},
              "P03": {"role_descriptor": "police officer", "organisation_type": "police"}}
REAL_NAME = "Jennifer Realname"

# segment_id, document, speaker, automatic codes, review_codes, text
_ROWS = [
    ("T01:1", "T01", "Interviewer", "workload", "", "How is the workload?"),
    ("T01:2", "T01", "Maya", "workload;funding", "", "We are stretched & the money is gone."),
    ("T01:3", "T01", "Maya", "support", "-", "The weather was nice."),
    ("T01:4", "T01", "Maya", "", "barriers", "It just never works <between us>."),
    ("T02:1", "T02", "Interviewer", "support", "", "Who supports you?"),
    ("T02:2", "T02", "P03", "funding", "support;funding", "Their grant helped us."),
    ("T02:3", "T02", "P03", "support", "", "The IDVA service backs us up."),
    ("T02:4", "T02", "P03", "workload", "", "=SUM(caseload) is too high."),
    ("T03:1", "T03", "Interviewer", "", "", "Tell me about your team."),
    ("T03:2", "T03", "Sam", "barriers;workload", "", "Barriers, mostly the workload."),
    ("T03:3", "T03", "Maya", "support;funding", "", "Funded support from the council."),
    ("T03:4", "T03", "Sam", "", "", "Nothing else to add."),
]


def coded_row(segment_id, document, speaker, codes, review, text) -> dict:
    """A row as ``qualcode code`` writes it, with the 0/1 columns of the automatic codes."""
    automatic = set(codes.split(";")) - {""}
    return {"segment_id": segment_id, "document": document, "speaker": speaker,
            "speaker_role": "interviewer" if speaker == "Interviewer" else "participant",
            "start": "0", "end": str(len(text)), "text": text, "codes": codes,
            **{code_id: int(code_id in automatic) for code_id in CODE_IDS},
            "evidence": "", "review_codes": review, "comment": ""}


ROWS = [coded_row(*row) for row in _ROWS]


# --- the expected numbers, straight from the rows --------------------------------------------


def counted_codes(row: dict) -> set[str]:
    """Final codes (review wins, '-' is none) plus the parent of each."""
    cell = row["review_codes"] if row["review_codes"].strip() else row["codes"]
    codes = set() if cell.strip() == "-" else {part for part in cell.split(";") if part}
    return codes | {PARENT[code] for code in codes if code in PARENT}


def case_rows() -> list[dict]:
    return [row for row in ROWS if row["speaker_role"] == "participant"]


def expected_count(code: str, **where) -> int:
    return sum(1 for row in case_rows()
               if code in counted_codes(row) and all(row[key] == value for key, value in where.items()))


def expected_both(first: str, second: str) -> int:
    return sum(1 for row in case_rows() if {first, second} <= counted_codes(row))


def expected_attribute_count(attribute: str, value: str, code: str) -> int:
    return sum(1 for row in case_rows() if code in counted_codes(row)
               and ATTRIBUTES.get(row["speaker"], {}).get(attribute, "(not recorded)") == value)


def expected_quotes(case: str, code: str) -> list[dict]:
    return [row for row in case_rows() if row["speaker"] == case and code in counted_codes(row)]


# --- files and reading back ------------------------------------------------------------------


def write_coded(rows: list[dict], path: Path) -> Path:
    """The rows as CSV, or as the reviewed workbook (text cells stay text, as in ``qualcode code``'s)."""
    if path.suffix == ".csv":
        pd.DataFrame(rows).to_csv(path, index=False)
        return path
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "coded_segments"
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    book.save(path)
    return path


def write_cases(path: Path) -> Path:
    """A register-like cases file: the identifying name column must never reach an output."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["pseudonym", "name", "role_descriptor", "organisation_type"])
        writer.writerow(["Maya", REAL_NAME, "IDVA", "charity"])
        writer.writerow(["[P03]", "Someone Else", "police officer", "police"])
        writer.writerow(["P09", "Not Interviewed", "nurse", "NHS"])
    return path


def read_block(sheet, header_row: int) -> dict:
    """{row label: {column header: value}} for the table whose header is on ``header_row``."""
    header = [cell.value for cell in sheet[header_row]]
    block = {}
    for values in sheet.iter_rows(min_row=header_row + 1, values_only=True):
        if values[0] is None:
            break
        block[values[0]] = dict(zip(header[1:], values[1:]))
    return block


@pytest.fixture(params=["csv", "xlsx"])
def coded_path(request, tmp_path) -> Path:
    return write_coded(ROWS, tmp_path / f"coded_segments.{request.param}")


@pytest.fixture
def workbook(coded_path, tmp_path):
    path = run_matrices(coded_path, tmp_path / "out", CODEBOOK, write_cases(tmp_path / "cases.csv"))
    assert path == tmp_path / "out" / "matrices.xlsx"
    return openpyxl.load_workbook(path)


# --- counts ----------------------------------------------------------------------------------


def test_sheets(workbook):
    assert workbook.sheetnames == ["summary", "code_by_case", "code_by_document", "code_by_attribute",
                                   "cooccurrence", "framework", "quotes"]


def test_summary_matches_rows(workbook):
    summary = read_block(workbook["summary"], 1)
    assert list(summary) == list(CODE_IDS)
    for code in CODEBOOK.codes:
        cases = [case for case in CASES if expected_count(code.id, speaker=case)]
        documents = [document for document in DOCUMENTS if expected_count(code.id, document=document)]
        assert summary[code.id] == {
            "name": code.name, "parent": code.parent, "segments": expected_count(code.id),
            "cases": len(cases), "documents": len(documents),
            "% of cases": round(100 * len(cases) / len(CASES), 1)}


def test_code_by_case_matches_rows(workbook):
    assert read_block(workbook["code_by_case"], 1) == {
        case: {code: expected_count(code, speaker=case) for code in CODE_IDS} for case in CASES}


def test_code_by_document_matches_rows(workbook):
    assert read_block(workbook["code_by_document"], 1) == {
        document: {code: expected_count(code, document=document) for code in CODE_IDS} for document in DOCUMENTS}


def test_code_by_attribute_has_a_titled_block_per_attribute(workbook):
    sheet = workbook["code_by_attribute"]
    assert sheet["A1"].value == "role_descriptor"
    assert sheet["A2"].value == "role_descriptor"
    roles = read_block(sheet, 2)
    next_title = 2 + len(roles) + 2
    assert sheet.cell(next_title, 1).value == "organisation_type"
    organisations = read_block(sheet, next_title + 1)
    for attribute, block in (("role_descriptor", roles), ("organisation_type", organisations)):
        values = {ATTRIBUTES.get(case, {}).get(attribute, "(not recorded)") for case in CASES}
        assert block == {value: {code: expected_attribute_count(attribute, value, code) for code in CODE_IDS}
                         for value in values}
        assert "nurse" not in block and "NHS" not in block  # P09 has no segments


def test_cooccurrence_and_jaccard_match_rows(workbook):
    sheet = workbook["cooccurrence"]
    both = read_block(sheet, 2)
    assert both == {first: {second: expected_both(first, second) for second in CODE_IDS} for first in CODE_IDS}
    for code in CODE_IDS:
        assert both[code][code] == expected_count(code)
    jaccard_header = 2 + len(CODE_IDS) + 3
    assert sheet.cell(jaccard_header - 1, 1).value.startswith("Jaccard")
    jaccard = read_block(sheet, jaccard_header)
    for first in CODE_IDS:
        for second in CODE_IDS:
            either = expected_count(first) + expected_count(second) - expected_both(first, second)
            assert jaccard[first][second] == (round(expected_both(first, second) / either, 3) if either else 0)


def test_framework_cells_hold_each_cases_quotes(workbook):
    framework = read_block(workbook["framework"], 1)
    assert list(framework) == list(CASES)
    for case in CASES:
        for code in CODE_IDS:
            quotes = [f'[{row["segment_id"]}] "{row["text"]}"' for row in expected_quotes(case, code)]
            assert (framework[case][code] or "") == "\n\n".join(quotes)


def test_quotes_sheet_lists_every_case_code_and_segment(workbook):
    rows = list(workbook["quotes"].iter_rows(values_only=True))
    assert rows[0] == ("case", "code", "segment_id", "document", "text")
    expected = {(case, code, row["segment_id"], row["document"], row["text"])
                for case in CASES for code in CODE_IDS for row in expected_quotes(case, code)}
    assert sorted(rows[1:]) == sorted(expected)


def test_csvs_hold_the_same_tables(coded_path, tmp_path):
    out = tmp_path / "out"
    run_matrices(coded_path, out, CODEBOOK, write_cases(tmp_path / "cases.csv"))
    folder = out / "matrices"
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        f"{stem}.csv" for stem in ("summary", "code_by_case", "code_by_document", "code_by_attribute",
                                   "cooccurrence", "jaccard", "framework", "quotes"))
    assert (folder / "code_by_case.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    by_case = pd.read_csv(folder / "code_by_case.csv", encoding="utf-8-sig", index_col="case")
    assert by_case.to_dict("index") == {
        case: {code: expected_count(code, speaker=case) for code in CODE_IDS} for case in CASES}
    by_attribute = pd.read_csv(folder / "code_by_attribute.csv", encoding="utf-8-sig")
    assert list(by_attribute.columns) == ["attribute", "value", *CODE_IDS]
    for record in by_attribute.to_dict("records"):
        for code in CODE_IDS:
            assert record[code] == expected_attribute_count(record["attribute"], record["value"], code)


# --- the review rule, roll-up and cases ------------------------------------------------------


def test_reviewed_codes_override_automatic_ones(workbook):
    quotes = {(case, code, segment) for case, code, segment, *_ in workbook["quotes"].iter_rows(min_row=2, values_only=True)}
    assert not any(segment == "T01:3" for *_, segment in quotes)  # '-' removed 'support'
    assert ("Maya", "barriers", "T01:4") in quotes  # review added a code the machine missed
    assert ("P03", "support", "T02:2") in quotes and ("P03", "funding", "T02:2") in quotes


def test_parent_counts_each_segment_once_whatever_its_sub_codes(workbook):
    by_case = read_block(workbook["code_by_case"], 1)
    # Maya: T01:2 (workload + funding), T01:4 (barriers), T03:3 (funding) -> 3, not 4.
    assert by_case["Maya"]["barriers"] == 3
    # Sam: T03:2 is coded with the parent and a child -> 1, not 2.
    assert by_case["Sam"]["barriers"] == 1


def test_interviewer_turns_are_not_counted(workbook):
    assert "Interviewer" not in read_block(workbook["code_by_case"], 1)
    segments = {row[2] for row in workbook["quotes"].iter_rows(min_row=2, values_only=True)}
    assert not segments & {"T01:1", "T02:1", "T03:1"}


def test_unknown_review_id_stops_the_run_with_the_row_number(tmp_path):
    rows = [dict(row) for row in ROWS]
    rows[5]["review_codes"] = "support;fundng"
    path = write_coded(rows, tmp_path / "coded.csv")
    with pytest.raises(QualcodeError) as caught:
        run_matrices(path, tmp_path / "out", CODEBOOK)
    assert caught.value.line == 7  # header is row 1, so ROWS[5] is spreadsheet row 7
    assert caught.value.path == str(path)
    assert "'fundng'" in caught.value.problem
    assert not (tmp_path / "out").exists()


def test_no_identifying_case_column_reaches_any_output(coded_path, tmp_path):
    out = tmp_path / "out"
    run_matrices(coded_path, out, CODEBOOK, write_cases(tmp_path / "cases.csv"))
    with zipfile.ZipFile(out / "matrices.xlsx") as archive:
        texts = [archive.read(name).decode("utf-8") for name in archive.namelist()]
    texts += [path.read_text(encoding="utf-8-sig") for path in (out / "matrices").iterdir()]
    for text in texts:
        assert "Realname" not in text and "Someone Else" not in text


def test_without_cases_the_attribute_sheet_says_how_to_add_them(coded_path, tmp_path):
    workbook = openpyxl.load_workbook(run_matrices(coded_path, tmp_path / "out", CODEBOOK))
    assert "--cases" in workbook["code_by_attribute"]["A1"].value
    by_attribute = pd.read_csv(tmp_path / "out" / "matrices" / "code_by_attribute.csv", encoding="utf-8-sig")
    assert list(by_attribute.columns) == ["attribute", "value", *CODE_IDS] and by_attribute.empty


# --- Excel's cell limit ----------------------------------------------------------------------


def test_an_overlong_framework_cell_is_cut_with_a_note_and_the_quotes_sheet_keeps_all(tmp_path):
    long_text = "We kept referring and nothing happened. " * 25  # 1,000 characters
    rows = [coded_row(f"T01:{index}", "T01", "Maya", "support", "", f"{index} {long_text}") for index in range(1, 41)]
    workbook = openpyxl.load_workbook(run_matrices(write_coded(rows, tmp_path / "coded.csv"), tmp_path / "out", CODEBOOK))
    cell = workbook["framework"]["E2"]
    assert workbook["framework"]["E1"].value == "support"
    assert excel_length(cell.value) <= EXCEL_CELL_LIMIT
    shown = cell.value.count('"\n\n[T01:') + 1
    assert cell.value.endswith(truncation_note(40 - shown))
    assert cell.value.startswith(f'[T01:1] "1 {long_text}"')
    quotes = [row for row in workbook["quotes"].iter_rows(min_row=2, values_only=True) if row[1] == "support"]
    assert [row[2] for row in quotes] == [f"T01:{index}" for index in range(1, 41)]


def test_framework_cell_measures_like_excel_and_keeps_whole_quotes():
    quotes = ["[a] \"" + "😀" * 10 + "\"", "[b] \"" + "y" * 200 + "\"", "[c] \"x\""]
    assert excel_length(quotes[0]) == len(quotes[0]) + 10  # each emoji is two UTF-16 units
    limit = excel_length(quotes[0]) + 2 + len(truncation_note(2))
    assert framework_cell(quotes, limit) == f"{quotes[0]}\n\n{truncation_note(2)}"
    assert framework_cell(quotes, limit - 1) == truncation_note(3)
    assert framework_cell(quotes, 10_000) == "\n\n".join(quotes)
    assert truncation_note(1) == "[… truncated: 1 more quote — see the quotes sheet]"


# --- for people: layout, and identical bytes -------------------------------------------------


def test_workbook_is_laid_out_for_reading(workbook):
    code_by_case = workbook["code_by_case"]
    assert code_by_case.freeze_panes == "B2"
    assert code_by_case["B1"].fill.fgColor.rgb.endswith("F8BBD0")
    assert code_by_case["C1"].font.color.rgb.endswith("FFFFFF")  # white on the dark workload colour
    for name in ("summary", "code_by_case", "code_by_document", "code_by_attribute", "cooccurrence"):
        rules = [rule for ranges in workbook[name].conditional_formatting for rule in ranges.rules]
        assert rules and all(rule.type == "colorScale" for rule in rules), name
    framework = workbook["framework"]
    assert framework.column_dimensions["B"].width >= 50
    assert framework["B2"].alignment.wrap_text and framework["B2"].alignment.vertical == "top"
    assert workbook.properties.creator == "qualcode"


def test_a_quote_starting_with_equals_stays_text(workbook):
    texts = [row[4] for row in workbook["quotes"].iter_rows(min_row=2, values_only=True)]
    assert "=SUM(caseload) is too high." in texts


def test_two_writes_are_byte_identical(coded_path, tmp_path):
    cases = write_cases(tmp_path / "cases.csv")
    first = run_matrices(coded_path, tmp_path / "one", CODEBOOK, cases)
    second = run_matrices(coded_path, tmp_path / "two", CODEBOOK, cases)
    assert first.read_bytes() == second.read_bytes()
    for path in (tmp_path / "one" / "matrices").iterdir():
        assert path.read_bytes() == (tmp_path / "two" / "matrices" / path.name).read_bytes()
    with zipfile.ZipFile(io.BytesIO(first.read_bytes())) as archive:  # no clock time anywhere
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert b"2000-01-01T00:00:00Z" in archive.read("docProps/core.xml")


# --- command line ----------------------------------------------------------------------------


@pytest.fixture
def fake_codebook_module(monkeypatch):
    """``qualcode.codebook`` stand-in, so the CLI tests need no YAML file."""
    module = types.ModuleType("qualcode.codebook")
    module.load_codebook = lambda path: CODEBOOK
    monkeypatch.setitem(sys.modules, "qualcode.codebook", module)


def test_cli_matrices(fake_codebook_module, tmp_path):
    coded = write_coded(ROWS, tmp_path / "coded.xlsx")
    result = CliRunner().invoke(main, ["matrices", str(coded), "--out", str(tmp_path / "out"),
                                       "--cases", str(write_cases(tmp_path / "cases.csv"))])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "matrices.xlsx").exists()
    assert (tmp_path / "out" / "matrices" / "framework.csv").exists()


def test_cli_reports_an_unknown_code_in_one_line(fake_codebook_module, tmp_path):
    rows = [dict(row) for row in ROWS]
    rows[1]["codes"] = "nope"
    coded = write_coded(rows, tmp_path / "coded.csv")
    result = CliRunner().invoke(main, ["matrices", str(coded), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert f"{coded}:3: unknown code id(s) 'nope'" in result.output
