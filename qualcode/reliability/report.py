"""The agreement report: the console table and ``agreement.xlsx``, and ``qualcode agreement`` end to end."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from ..coded import CODES_COLUMN, NO_CODE, join_codes
from ..errors import QualcodeError
from ..export.xlsx import new_workbook, save_workbook, write_table
from .coders import REVIEW_COLUMN, Comparison, Item, Unmatched, compare, load_coder_table, only_reviewed
from .statistics import AgreementReport

WORKBOOK_NAME = "agreement.xlsx"
MAX_LISTED_IDS = 10


# --- reporting -------------------------------------------------------------------------------

SUMMARY_COLUMNS = (("code", "text"), ("n", "count"), ("both", "count"), ("A only", "count"),
                   ("B only", "count"), ("neither", "count"), ("agreement", "percent"),
                   ("kappa", "ratio"), ("alpha", "ratio"))
UNMATCHED_COLUMNS = (("id", "text"), ("rows in A", "count"), ("rows in B", "count"), ("issue", "text"))
NUMBER_FORMATS = {"count": "0", "percent": "0.0%", "ratio": "0.000", "text": "@"}


def summary_rows(report: AgreementReport) -> list[tuple]:
    """The rows of the summary table, shared by the console and the workbook."""
    def row(label, n, counts, figures):
        count_cells = (None,) * 4 if counts is None else (counts.both, counts.a_only, counts.b_only, counts.neither)
        return (label, n, *count_cells, figures.percent, figures.kappa, figures.alpha)

    rows = [row(code.code, code.counts.total, code.counts, code.measures) for code in report.per_code]
    rows.append(row("overall (pooled)", report.pooled_counts.total, report.pooled_counts, report.pooled))
    rows.append(row("overall (macro mean)", None, None, report.macro))
    if report.single_label is not None:
        rows.append(row("single label (the label itself)", report.n_items, None, report.single_label))
    return rows


def disagreement_columns(items: Sequence[Item]) -> tuple[tuple[str, str], ...]:
    """Document and text columns appear only when the inputs had them."""
    optional = (("document", any(item.document for item in items)), ("text", any(item.text for item in items)))
    return (("code", "text"), ("id", "text"), *((name, "text") for name, shown in optional if shown),
            ("A codes", "text"), ("B codes", "text"))


def disagreement_rows(comparison: Comparison) -> list[tuple]:
    """Per code, every item the coders disagree on, with its context and both coders' codes."""
    shown = [name for name, _ in disagreement_columns(comparison.items)]
    rows = []
    for code in comparison.report.per_code:
        for position in code.disagreements:
            item = comparison.items[position]
            values = {"code": code.code, "id": item.id, "document": item.document, "text": item.text,
                      "A codes": join_codes(item.codes_a) or NO_CODE, "B codes": join_codes(item.codes_b) or NO_CODE}
            rows.append(tuple(values[name] for name in shown))
    return rows


def unmatched_rows(unmatched: Sequence[Unmatched]) -> list[tuple]:
    return [(entry.id, entry.rows_a, entry.rows_b, entry.issue) for entry in unmatched]


def format_cell(value: object, kind: str) -> str:
    """Console text for one cell: percentages, three-decimal ratios, ``n/a`` for undefined."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if kind == "percent":
        return f"{value:.1%}"
    if kind == "ratio":
        return f"{value:.3f}"
    return str(value)


def render_table(columns: Sequence[tuple[str, str]], rows: Sequence[tuple]) -> list[str]:
    """Plain-text table: text columns left-aligned, numbers right-aligned."""
    cells = [[name for name, _ in columns]] + [[format_cell(value, kind) for value, (_, kind) in zip(row, columns)]
                                               for row in rows]
    widths = [max(len(line[index]) for line in cells) for index in range(len(columns))]

    def line(values):
        return "  ".join(value.ljust(width) if kind == "text" else value.rjust(width)
                         for value, width, (_, kind) in zip(values, widths, columns)).rstrip()

    return [line(cells[0]), "  ".join("-" * width for width in widths), *(line(values) for values in cells[1:])]


def unmatched_lines(unmatched: Sequence[Unmatched]) -> list[str]:
    """One line per kind of problem, listing the first few ids."""
    by_issue: dict[str, list[str]] = {}
    for entry in unmatched:
        by_issue.setdefault(entry.issue, []).append(entry.id)
    lines = []
    for issue, ids in by_issue.items():
        more = f", ... ({len(ids) - MAX_LISTED_IDS} more)" if len(ids) > MAX_LISTED_IDS else ""
        lines.append(f"  left out, {issue}: {len(ids)} id(s): {', '.join(ids[:MAX_LISTED_IDS])}{more}")
    return lines


def format_report(comparison: Comparison) -> str:
    """The console report: who was compared, what was left out, and the summary table."""
    report = comparison.report
    lines = [f"Agreement per {comparison.unit}",
             f"  A = {comparison.name_a}",
             f"  B = {comparison.name_b}",
             f"  {report.n_items} {comparison.unit}(s) compared, {len(comparison.unmatched)} id(s) left out",
             *unmatched_lines(comparison.unmatched),
             "",
             *render_table(SUMMARY_COLUMNS, summary_rows(report))]
    return "\n".join(lines)


def fill_sheet(sheet, columns: Sequence[tuple[str, str]], rows: Sequence[tuple], notes: Sequence[str] = ()) -> None:
    """A typed table through the one sheet writer; an undefined statistic is an empty cell."""
    write_table(sheet, [name for name, _ in columns], rows, [NUMBER_FORMATS[kind] for _, kind in columns], notes)


def write_agreement_xlsx(comparison: Comparison, path: Path) -> Path:
    """Write ``summary``, ``disagreements`` and ``unmatched`` sheets, atomically."""
    book = new_workbook("summary")
    fill_sheet(book.active, SUMMARY_COLUMNS, summary_rows(comparison.report),
               notes=(f"A = {comparison.name_a}", f"B = {comparison.name_b}", f"unit = {comparison.unit}",
                      "an empty kappa or alpha cell = undefined (no variation, or no items)"))
    fill_sheet(book.create_sheet("disagreements"), disagreement_columns(comparison.items),
               disagreement_rows(comparison))
    fill_sheet(book.create_sheet("unmatched"), UNMATCHED_COLUMNS, unmatched_rows(comparison.unmatched))
    return save_workbook(book, path)


def run_agreement(path_a: Path, path_b: Path, unit: str = "segment", out_dir: Path = Path("outputs"),
                  codes_column_a: str | None = None, codes_column_b: str | None = None) -> tuple[Comparison, Path]:
    """The ``qualcode agreement`` command: load, compare, write ``OUT/agreement.xlsx``.

    The same file given twice compares the automatic ``codes`` (A) with the reviewed codes (B),
    on the rows an analyst reviewed: an unreviewed row agrees by construction and would inflate
    every figure.
    """
    same_file = Path(path_a).resolve() == Path(path_b).resolve()
    if same_file and codes_column_a is None:
        codes_column_a = CODES_COLUMN
    coder_a = load_coder_table(path_a, codes_column_a)
    coder_b = load_coder_table(path_b, codes_column_b)
    if same_file and coder_a.name == coder_b.name:
        raise QualcodeError(f"both coders read {coder_a.name}: add a {REVIEW_COLUMN} column or pass "
                            "--codes-column-b", path_b)
    if same_file:
        coder_a, coder_b = (only_reviewed(coder, path_a) for coder in (coder_a, coder_b))
    comparison = compare(coder_a, coder_b, unit)
    return comparison, write_agreement_xlsx(comparison, Path(out_dir) / WORKBOOK_NAME)
