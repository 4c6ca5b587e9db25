"""The coded-segments table as the analyst's review spreadsheet (and a CSV twin).

One row per segment in the columns ``coded.py`` defines, a 0/1 column per code shaded in the
code's colour, the evidence, the three best-scoring codes (``suggested``), and two empty columns
for the analyst. A ``scores`` sheet holds every code's score for every segment, an ``evidence``
sheet every evidence item as data (segment, code, kind, matched text, score), and a ``codebook``
sheet keeps the definitions at hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..coded import (CODED_SHEET, CODES_COLUMN, EVIDENCE_COLUMN, EVIDENCE_SHEET, EVIDENCE_SHEET_COLUMNS,
                     REVIEW_COLUMNS, SEGMENT_COLUMNS, SUGGESTED_COLUMN, evidence_path, format_evidence,
                     format_suggested, join_codes)
from ..domain import Codebook, Coding
from ..fsutil import csv_text, write_files
from .xlsx import new_workbook, write_table, xlsx_bytes

CSV_NAME, XLSX_NAME = "coded_segments.csv", "coded_segments.xlsx"
TEXT_WIDTH, EVIDENCE_WIDTH = 80, 50
INPUT_SUFFIX = " (input)"


def header(codebook: Codebook, attributes: Sequence[str]) -> list[str]:
    return [*SEGMENT_COLUMNS, CODES_COLUMN, *codebook.ids, EVIDENCE_COLUMN, SUGGESTED_COLUMN, *REVIEW_COLUMNS,
            *attributes]


def attribute_names(coded: Sequence[Coding]) -> list[str]:
    """Extra table columns (site, participant…) in first-seen order."""
    names: dict[str, None] = {}
    for item in coded:
        names.update(dict.fromkeys(item.segment.attributes))
    return list(names)


def attribute_columns(names: Sequence[str], codebook: Codebook) -> list[str]:
    """The header of each attribute column: its own name, unless an output column already has it.

    A table with its own ``comment``, ``start`` or ``codes`` column (or a coded file fed back in)
    would otherwise give two columns of one name, and readers pick either one.
    """
    taken = set(header(codebook, ()))
    columns = []
    for name in names:
        column = name
        while column in taken:
            column += INPUT_SUFFIX
        taken.add(column)
        columns.append(column)
    return columns


def rows(coded: Sequence[Coding], codebook: Codebook, attributes: Sequence[str]) -> list[list[object]]:
    table = []
    for item in coded:
        s = item.segment
        table.append([s.segment_id, s.document, s.speaker, s.speaker_role, s.start, s.end, s.text,
                      join_codes(item.codes), *(int(code in item.codes) for code in codebook.ids),
                      format_evidence(item.evidence), format_suggested(item.suggested), "", "",
                      *(s.attributes.get(name, "") for name in attributes)])
    return table


def evidence_rows(coded: Sequence[Coding]) -> list[list[object]]:
    """One row per evidence item: what ``qualcode codebook report`` reads back as data."""
    return [[item.segment.segment_id, e.code, e.kind, e.text, e.score] for item in coded for e in item.evidence]


def write_coded(coded: Sequence[Coding], codebook: Codebook, out: Path) -> Path:
    """Write ``OUT/coded_segments.csv`` (with its evidence items in ``coded_segments_evidence.csv``)
    and ``OUT/coded_segments.xlsx``; returns the workbook path.

    Both are built and written aside first, then renamed into place back to back, so a crash while
    coding or writing leaves the old pair (see :func:`~qualcode.fsutil.atomic_paths`).
    """
    attributes = attribute_names(coded)
    columns = header(codebook, attribute_columns(attributes, codebook))
    body = rows(coded, codebook, attributes)
    book = xlsx_bytes(workbook(coded, codebook, columns, body))
    evidence = csv_text(EVIDENCE_SHEET_COLUMNS, evidence_rows(coded))
    write_files({Path(out) / CSV_NAME: csv_text(columns, body).encode("utf-8"), Path(out) / XLSX_NAME: book,
                 evidence_path(Path(out) / CSV_NAME): evidence.encode("utf-8")}, lock=Path(out))
    return Path(out) / XLSX_NAME


def workbook(coded: Sequence[Coding], codebook: Codebook, columns: list[str], body: list[list[object]]):
    from openpyxl.styles import Alignment, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = new_workbook(CODED_SHEET)
    sheet = book.active
    position = {name: index for index, name in enumerate(columns, start=1)}
    write_table(sheet, columns, body, fixed_widths={
        position["text"]: TEXT_WIDTH, position[EVIDENCE_COLUMN]: EVIDENCE_WIDTH,
        **{position[code]: max(6, len(code) * 0.9) for code in codebook.ids}})
    wrap = Alignment(wrap_text=True, vertical="top")
    for column in ("text", EVIDENCE_COLUMN, "comment"):
        for cell in sheet[get_column_letter(position[column])][1:]:
            cell.alignment = wrap
    for code in codebook.codes:
        fill = PatternFill("solid", start_color=code.color.lstrip("#"), end_color=code.color.lstrip("#"))
        for cell in sheet[get_column_letter(position[code.id])]:
            cell.fill = fill
    review = get_column_letter(position["review_codes"])
    hint = DataValidation(allow_blank=True, showInputMessage=True, promptTitle="review_codes",
                          prompt=_prompt(codebook))
    hint.add(f"{review}2:{review}{max(2, len(body) + 1)}")
    sheet.add_data_validation(hint)

    write_table(book.create_sheet("scores"), ["segment_id", *codebook.ids],
                ([item.segment.segment_id, *(item.scores[code] for code in codebook.ids)] for item in coded))
    write_table(book.create_sheet(EVIDENCE_SHEET), list(EVIDENCE_SHEET_COLUMNS), evidence_rows(coded))
    codebook_sheet(book.create_sheet("codebook"), codebook)
    return book


def _prompt(codebook: Codebook) -> str:
    """Excel caps an input message at 255 characters: ids first, then the rules."""
    text = "Valid ids, ';'-separated, or '-' for none: " + ", ".join(codebook.ids)
    return text if len(text) <= 255 else text[:252] + "..."


def codebook_sheet(sheet, codebook: Codebook) -> None:
    from openpyxl.styles import Alignment

    write_table(sheet, ["id", "name", "parent", "definition", "include", "exclude", "keywords", "examples"],
                ([c.id, c.name, c.parent or "", c.definition, "\n".join(c.include), "; ".join(c.exclude),
                  "; ".join(c.keywords), "\n".join(c.examples)] for c in codebook.codes),
                fixed_widths={4: 60, 5: 50, 7: 40, 8: 60})
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
