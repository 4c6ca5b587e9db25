"""Spreadsheet helpers shared by every workbook qualcode writes.

Workbooks are for people (bold frozen headers, fitted widths) and for version control (the same
input gives the same bytes), and cell text is always text: a quote starting with "=" must never
become a formula.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Iterable, Sequence
from zipfile import ZIP_DEFLATED, ZipFile

from ..fsutil import deterministic_zip, write_bytes

FIXED_TIME = datetime(2000, 1, 1)  # workbook metadata and zip entries: same input, same bytes
MAX_COLUMN_WIDTH = 70
CREATOR = "qualcode"


def new_workbook(first_sheet: str):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = first_sheet
    return book


def cell_value(value: object) -> object:
    """Strip characters Excel refuses; everything else is kept as it is."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def append_row(sheet, values: Iterable[object]) -> None:
    """Append one row; strings are stored as text, never as formulas."""
    sheet.append([cell_value(value) for value in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def style_header(sheet, row: int = 1) -> None:
    from openpyxl.styles import Font

    for cell in sheet[row]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = sheet.cell(row=row + 1, column=1).coordinate


def fit_widths(sheet, maximum: int = MAX_COLUMN_WIDTH, fixed: dict[int, float] | None = None) -> None:
    """Column widths that fit the longest line in each column, capped; ``fixed`` overrides by index."""
    from openpyxl.utils import get_column_letter

    for index, column in enumerate(sheet.iter_cols(values_only=True), start=1):
        longest = max((len(line) for value in column if value is not None for line in str(value).split("\n")),
                      default=0)
        width = (fixed or {}).get(index, min(longest + 2, maximum))
        sheet.column_dimensions[get_column_letter(index)].width = width


def write_table(sheet, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A plain readable table: bold frozen header, auto-filter, fitted widths."""
    append_row(sheet, header)
    for row in rows:
        append_row(sheet, row)
    style_header(sheet)
    sheet.auto_filter.ref = sheet.dimensions
    fit_widths(sheet)


def xlsx_bytes(book) -> bytes:
    """Save a workbook with fixed timestamps and creator, so the same input gives the same bytes.

    openpyxl's own ``save`` stamps the current time into the metadata and every zip entry.
    """
    from openpyxl.writer.excel import ExcelWriter

    book.properties.created = book.properties.modified = FIXED_TIME
    book.properties.creator = book.properties.lastModifiedBy = CREATOR
    raw = io.BytesIO()
    ExcelWriter(book, ZipFile(raw, "w", ZIP_DEFLATED)).save()
    with ZipFile(raw) as archive:  # openpyxl stamps each entry with the clock: re-zip with fixed dates
        return deterministic_zip([(entry.filename, archive.read(entry)) for entry in archive.infolist()])


def save_workbook(book, path: Path) -> Path:
    write_bytes(Path(path), xlsx_bytes(book))
    return Path(path)
