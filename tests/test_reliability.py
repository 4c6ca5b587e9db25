"""Agreement between two coders: figures checked against sklearn and krippendorff, ids, I/O, CLI."""

from __future__ import annotations

import csv
import math
import random
import zipfile
from pathlib import Path

import krippendorff
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sklearn.metrics import cohen_kappa_score

from qualcode.cli import main
from qualcode.errors import QualcodeError
from qualcode.fsutil import ZIP_DATE_TIME
from qualcode.reliability import (agreement, cohen_kappa, compare, format_report, load_coder_table, nominal_alpha,
                                  run_agreement, write_agreement_xlsx)

CI_CLAIMS = "ci_claims_two_coders"
CODER_FILES = {"annotator_1": "annotator_1.csv", "annotator_2": "annotator_2.csv", "gold": "gold.json"}


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def alpha(a, b) -> float:
    """The reference: krippendorff.alpha on integer-coded nominal values."""
    index = {value: position for position, value in enumerate(sorted(set(a) | set(b)))}
    return krippendorff.alpha(reliability_data=[[index[v] for v in a], [index[v] for v in b]],
                              level_of_measurement="nominal")


def presence(labels, code) -> list[int]:
    return [int(code in codes) for codes in labels]


# --- the pure core -----------------------------------------------------------------------------

def test_identical_coders_agree_perfectly():
    labels = [("a",), ("b", "c"), (), ("a", "c")]
    report = agreement(labels, labels, ["a", "b", "c"])
    for code in report.per_code:
        assert (code.measures.percent, code.measures.kappa, code.measures.alpha) == (1.0, 1.0, 1.0)
        assert code.disagreements == ()
    assert (report.pooled.percent, report.pooled.kappa, report.pooled.alpha) == (1.0, 1.0, 1.0)
    assert report.macro.kappa == 1.0
    assert report.single_label is None  # some items have no code, one has two


def test_random_multilabel_matches_sklearn_and_krippendorff():
    rng = random.Random(7)
    codes = ["a", "b", "c", "d"]
    labels_a = [tuple(c for c in codes if rng.random() < 0.4) for _ in range(60)]
    labels_b = [tuple(c for c in codes if rng.random() < (0.8 if c in a else 0.2)) for a in labels_a]
    report = agreement(labels_a, labels_b, codes)
    for code in report.per_code:
        a, b = presence(labels_a, code.code), presence(labels_b, code.code)
        assert code.measures.kappa == pytest.approx(cohen_kappa_score(a, b))
        assert code.measures.alpha == pytest.approx(alpha(a, b))
        assert code.counts.total == len(labels_a) == report.n_items
        assert len(code.disagreements) == code.counts.a_only + code.counts.b_only
    pooled_a = [v for code in codes for v in presence(labels_a, code)]
    pooled_b = [v for code in codes for v in presence(labels_b, code)]
    assert report.pooled.kappa == pytest.approx(cohen_kappa_score(pooled_a, pooled_b))
    assert report.pooled.alpha == pytest.approx(alpha(pooled_a, pooled_b))
    assert report.pooled_counts.total == len(codes) * len(labels_a)
    assert report.macro.kappa == pytest.approx(sum(c.measures.kappa for c in report.per_code) / len(codes))


def test_constant_identical_code_has_kappa_one_and_alpha_undefined():
    report = agreement([("a",), ("a", "b")], [("a",), ("a",)], ["a", "b", "unused"])
    always, _, unused = report.per_code
    assert always.measures.kappa == 1.0 and math.isnan(always.measures.alpha)
    assert unused.measures.kappa == 1.0 and unused.counts.neither == 2
    assert report.macro.alpha == pytest.approx(report.per_code[1].measures.alpha)  # undefined ones left out


def test_no_items_is_undefined_not_an_error():
    report = agreement([], [], ["a"])
    assert math.isnan(report.per_code[0].measures.kappa) and math.isnan(report.pooled.percent)


def test_single_label_block_is_the_multiclass_kappa():
    labels_a = [("x",), ("y",), ("z",), ("x",), ("y",)]
    labels_b = [("x",), ("y",), ("x",), ("x",), ("z",)]
    single = agreement(labels_a, labels_b, ["x", "y", "z"]).single_label
    flat_a, flat_b = [c for (c,) in labels_a], [c for (c,) in labels_b]
    assert single.percent == pytest.approx(3 / 5)
    assert single.kappa == pytest.approx(cohen_kappa_score(flat_a, flat_b))
    assert single.alpha == pytest.approx(alpha(flat_a, flat_b))


def test_codes_outside_code_ids_are_refused():
    with pytest.raises(ValueError, match="missing from code_ids: b"):
        agreement([("a",)], [("b",)], ["a"])


# --- reading, matching, units -------------------------------------------------------------------

CODED_HEADER = ["segment_id", "document", "text", "codes", "review_codes"]


def test_missing_and_duplicate_ids_are_reported(tmp_path):
    a = write_csv(tmp_path / "a.csv", ["id", "code"], [["s1", "x"], ["s2", "x"], ["s2", "y"], ["s3", "y"], ["s5", "x"]])
    b = write_csv(tmp_path / "b.csv", ["id", "code"], [["s1", "x"], ["s2", "x"], ["s4", "y"], ["s5", "y"], ["s5", "y"]])
    comparison = compare(load_coder_table(a), load_coder_table(b))
    assert [item.id for item in comparison.items] == ["s1"]
    issues = {entry.id: entry.issue for entry in comparison.unmatched}
    assert issues == {"s2": "duplicated in A", "s3": "only in A", "s5": "duplicated in B", "s4": "only in B"}
    text = format_report(comparison)
    assert "only in B: 1 id(s): s4" in text and "duplicated in A: 1 id(s): s2" in text


def test_same_file_compares_automatic_codes_with_review(tmp_path):
    coded = write_csv(tmp_path / "coded.csv", CODED_HEADER, [
        ["s1", "d1", "one", "x", ""],          # not reviewed: left out, it would agree by construction
        ["s2", "d1", "two", "x;y", "x"],       # reviewer removed y
        ["s3", "d2", "three", "", "z"],        # reviewer added z
        ["s4", "d2", "four", "y", "-"],        # reviewer: no code
    ])
    comparison, written = run_agreement(coded, coded, out_dir=tmp_path / "out")
    assert comparison.name_a == "coded.csv [codes]"
    assert comparison.name_b == "coded.csv [review_codes else codes]"
    by_id = {item.id: (item.codes_a, item.codes_b) for item in comparison.items}
    assert by_id == {"s2": (("x", "y"), ("x",)), "s3": ((), ("z",)), "s4": (("y",), ())}
    y = next(code for code in comparison.report.per_code if code.code == "y")
    assert (y.counts.a_only, y.counts.b_only, y.counts.both) == (2, 0, 0)
    assert written == tmp_path / "out" / "agreement.xlsx" and written.exists()


def test_same_file_without_review_column_is_refused(tmp_path):
    coded = write_csv(tmp_path / "coded.csv", ["segment_id", "text", "codes"], [["s1", "t", "x"]])
    with pytest.raises(QualcodeError, match="add a review_codes column"):
        run_agreement(coded, coded, out_dir=tmp_path)


def test_document_unit_counts_a_code_once_per_document(tmp_path):
    rows_a = [["s1", "d1", "", "x", ""], ["s2", "d1", "", "y", ""], ["s3", "d2", "", "", ""]]
    rows_b = [["s1", "d1", "", "", ""], ["s2", "d1", "", "x", ""], ["s3", "d2", "", "y", ""]]
    a = load_coder_table(write_csv(tmp_path / "a.csv", CODED_HEADER, rows_a))
    b = load_coder_table(write_csv(tmp_path / "b.csv", CODED_HEADER, rows_b))
    documents = compare(a, b, unit="document")
    assert [(i.id, i.codes_a, i.codes_b) for i in documents.items] == [("d1", ("x", "y"), ("x",)), ("d2", (), ("y",))]
    x = documents.report.per_code[0]
    assert x.code == "x" and x.measures.percent == 1.0
    assert compare(a, b).report.per_code[0].measures.percent < 1.0  # per segment they differ


def test_document_unit_needs_a_document_column(tmp_path):
    a = load_coder_table(write_csv(tmp_path / "a.csv", ["id", "code"], [["s1", "x"]]))
    with pytest.raises(QualcodeError, match="needs a 'document' column"):
        compare(a, a, unit="document")


def test_annotation_sheet_header_is_found_below_title_rows(tmp_path):
    sheet = write_csv(tmp_path / "sheet.csv", ["Title", "", "", ""], [
        ["Instructions: one code per row", "", "", ""],
        ["#", "Item ID", "Item Text", "Your Code"],
        ["▸  Theme: first", "", "", ""],
        ["1", "i1", "some text", "x"],
        ["", "", "", ""],
        ["2", "i2", "more", "y"],
    ])
    table = load_coder_table(sheet)
    assert table.name == "sheet.csv [Your Code]"
    rows = [(row.id, row.codes, row.text) for row in table.rows]
    assert rows == [("i1", ("x",), "some text"), ("i2", ("y",), "more")]


def test_xlsx_coded_file_reads_like_csv(tmp_path):
    import pandas as pd

    rows = [["s1", "d1", "one", "x", ""], ["s2", "d1", "two", "x;y", "y"]]
    csv_table = load_coder_table(write_csv(tmp_path / "coded.csv", CODED_HEADER, rows))
    xlsx = tmp_path / "coded.xlsx"
    pd.DataFrame(rows, columns=CODED_HEADER).to_excel(xlsx, sheet_name="coded_segments", index=False)
    assert load_coder_table(xlsx).rows == csv_table.rows
    assert csv_table.rows[1].codes == ("y",)


def test_coded_row_without_id_names_its_line(tmp_path):
    sheet = write_csv(tmp_path / "sheet.csv", ["Title", ""], [["Claim ID", "Code"], ["c1", "x"], ["", "y"]])
    with pytest.raises(QualcodeError, match="no 'Claim ID'") as error:
        load_coder_table(sheet)
    assert error.value.line == 4


def test_unknown_codes_column_is_a_clear_error(tmp_path):
    table = write_csv(tmp_path / "t.csv", ["id", "label", "category"], [["s1", "x", "y"]])
    with pytest.raises(QualcodeError, match="cannot tell the codes column"):
        load_coder_table(table)
    assert load_coder_table(table, codes_column="label").rows[0].codes == ("x",)


# --- output --------------------------------------------------------------------------------------

def small_comparison(tmp_path):
    a = write_csv(tmp_path / "a.csv", CODED_HEADER, [["s1", "d1", "t", "x", ""], ["s2", "d1", "=1+1", "x;y", ""],
                                                     ["s9", "d2", "t", "y", ""]])
    b = write_csv(tmp_path / "b.csv", CODED_HEADER, [["s1", "d1", "t", "x", ""], ["s2", "d1", "=1+1", "x", ""]])
    return compare(load_coder_table(a), load_coder_table(b))


def test_workbook_has_three_sheets_with_frozen_headers(tmp_path):
    path = write_agreement_xlsx(small_comparison(tmp_path), tmp_path / "out" / "agreement.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["summary", "disagreements", "unmatched"]
    assert all(sheet.freeze_panes == "A2" for sheet in book)
    summary = [row for row in book["summary"].iter_rows(values_only=True)]
    assert summary[0] == ("code", "n", "both", "A only", "B only", "neither", "agreement", "kappa", "alpha")
    assert summary[1][:6] == ("x", 2, 2, 0, 0, 0) and summary[1][8] is None  # undefined: an empty cell, so the column sorts
    assert summary[3][0] == "overall (pooled)"
    disagreements = list(book["disagreements"].iter_rows(values_only=True))
    assert disagreements == [("code", "id", "document", "text", "A codes", "B codes"),
                             ("y", "s2", "d1", "=1+1", "x;y", "x")]
    assert list(book["unmatched"].iter_rows(values_only=True))[1] == ("s9", 1, 0, "only in A")
    assert book["disagreements"].column_dimensions["A"].width >= len("code")


def test_workbook_bytes_are_deterministic_and_text_is_never_a_formula(tmp_path):
    comparison = small_comparison(tmp_path)
    first = write_agreement_xlsx(comparison, tmp_path / "one.xlsx").read_bytes()
    second = write_agreement_xlsx(comparison, tmp_path / "two.xlsx").read_bytes()
    assert first == second
    with zipfile.ZipFile(tmp_path / "one.xlsx") as archive:
        assert {info.date_time for info in archive.infolist()} == {ZIP_DATE_TIME}
        assert b"2000-01-01T00:00:00Z" in archive.read("docProps/core.xml")
    text_cell = load_workbook(tmp_path / "one.xlsx")["disagreements"]["D2"]
    assert (text_cell.value, text_cell.data_type) == ("=1+1", "s")


def test_cli_writes_report_and_workbook(tmp_path):
    a = write_csv(tmp_path / "a.csv", ["id", "code"], [["s1", "x"], ["s2", "y"], ["s3", "x"]])
    b = write_csv(tmp_path / "b.csv", ["id", "code"], [["s1", "x"], ["s2", "x"], ["s4", "x"]])
    result = CliRunner().invoke(main, ["agreement", str(a), str(b), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "single label (the label itself)" in result.stdout
    assert "only in A: 1 id(s): s3" in result.stdout
    assert (tmp_path / "out" / "agreement.xlsx").exists()


def test_cli_error_is_one_line(tmp_path):
    a = write_csv(tmp_path / "a.csv", ["id", "code"], [["s1", "x"]])
    result = CliRunner().invoke(main, ["agreement", str(a), str(a), "--unit", "document", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("qualcode: error: ")


# --- the real two-coder data set -------------------------------------------------------------------

@pytest.fixture(scope="module")
def ci_coders(datasets):
    folder = datasets / CI_CLAIMS
    return {name: load_coder_table(folder / file) for name, file in CODER_FILES.items()}


@pytest.mark.parametrize("name_a, name_b", [("annotator_1", "annotator_2"), ("annotator_1", "gold"),
                                            ("annotator_2", "gold")])
def test_ci_claims_agreement_matches_reference_libraries(ci_coders, name_a, name_b, capsys):
    a, b = ci_coders[name_a], ci_coders[name_b]
    comparison = compare(a, b)
    report = comparison.report
    assert comparison.unmatched == ()
    assert report.n_items == len(a.rows) == len(b.rows) == 113
    labels_b = {row.id: row.codes for row in b.rows}
    flat_a = [row.codes[0] for row in a.rows]
    flat_b = [labels_b[row.id][0] for row in a.rows]  # aligned independently of the library
    assert report.single_label.kappa == pytest.approx(cohen_kappa_score(flat_a, flat_b))
    assert report.single_label.alpha == pytest.approx(alpha(flat_a, flat_b))
    assert report.single_label.percent == pytest.approx(sum(x == y for x, y in zip(flat_a, flat_b)) / 113)
    for code in report.per_code:
        present_a = [int(label == code.code) for label in flat_a]
        present_b = [int(label == code.code) for label in flat_b]
        assert code.measures.kappa == pytest.approx(cohen_kappa_score(present_a, present_b))
        assert code.measures.alpha == pytest.approx(alpha(present_a, present_b))
        assert code.counts.total == 113
    assert report.pooled_counts.total == 113 * len(report.per_code)
    assert report.pooled_counts.both == sum(x == y for x, y in zip(flat_a, flat_b))
    with capsys.disabled():
        print(f"\n{name_a} vs {name_b}: single-label kappa {report.single_label.kappa:.3f}, "
              f"alpha {report.single_label.alpha:.3f}, agreement {report.single_label.percent:.1%}; "
              f"pooled kappa {report.pooled.kappa:.3f}, macro kappa {report.macro.kappa:.3f} "
              f"over {len(report.per_code)} codes")


def test_ci_claims_sheet_is_parsed_as_it_is(ci_coders):
    sheet = ci_coders["annotator_1"]
    assert sheet.name == "annotator_1.csv [Your Code]"
    assert sheet.rows[0].id == "C986" and sheet.rows[0].text == "SHORTEN THE BUILD TIME"
    assert not any(row.id.startswith("▸") for row in sheet.rows)
    assert ci_coders["gold"].name == "gold.json [labels.code]"


def test_ci_claims_missing_id_is_reported(ci_coders, datasets, tmp_path):
    source = (datasets / CI_CLAIMS / "annotator_2.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    dropped = next(line for line in source if line.split(",")[1:2] == ["C986"])
    trimmed = tmp_path / "annotator_2.csv"
    trimmed.write_text("".join(line for line in source if line is not dropped), encoding="utf-8")
    comparison = compare(ci_coders["annotator_1"], load_coder_table(trimmed))
    assert [(entry.id, entry.issue) for entry in comparison.unmatched] == [("C986", "only in A")]
    assert comparison.report.n_items == 112


# --- published worked examples: the numbers, not the plumbing ----------------------------------

def test_cohen_kappa_on_a_textbook_2x2_table():
    """The worked example of Wikipedia's "Cohen's kappa" article (50 grant proposals, two readers):
    both yes 20, A yes / B no 5, A no / B yes 10, both no 15. By hand: p_o = 35/50 = 0.70;
    p_yes = 25/50 * 30/50 = 0.30, p_no = 25/50 * 20/50 = 0.20, p_e = 0.50; kappa = 0.20/0.50 = 0.40."""
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.40)
    report = agreement([[x] for x in a], [[x] for x in b], ["no", "yes"])
    assert report.single_label.percent == pytest.approx(0.70) and report.single_label.kappa == pytest.approx(0.40)


def test_alpha_on_krippendorffs_binary_example():
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section A: two observers,
    ten units, binary data, no missing values; alpha = 0.095."""
    observer_a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    observer_b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert nominal_alpha(observer_a, observer_b) == pytest.approx(0.095, abs=5e-4)


def test_alpha_on_krippendorffs_example_with_missing_values():
    """Krippendorff (2011), section C: four observers, twelve units, nominal values 1-5 with missing
    values (None); the paper's nominal alpha is 0.743."""
    observers = [[1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
                 [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
                 [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
                 [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]]
    assert nominal_alpha(*observers) == pytest.approx(0.743, abs=5e-4)
