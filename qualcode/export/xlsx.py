"""Spreadsheet helpers shared by every workbook qualcode writes.

Workbooks are for people (bold frozen headers, fitted widths) and for version control (the same
input gives the same bytes), and cell text is always text: a quote starting with "=" must never
become a formula.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Collection, Iterable, Mapping, Sequence
from zipfile import ZIP_DEFLATED, ZipFile

from ..cells import settle_cell, xlsx_value
from ..fsutil import deterministic_zip, write_bytes

FIXED_TIME = datetime(2000, 1, 1)  # workbook metadata and zip entries: same input, same bytes
MAX_COLUMN_WIDTH = 70
CREATOR = "qualcode"


def new_workbook(first_sheet: str):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = first_sheet
    return book


def append_row(sheet, values: Iterable[object], number_formats: Sequence[str | None] = ()) -> None:
    """Append one row through :func:`~qualcode.cells.put_cell`: text stays text, numbers numbers."""
    sheet.append([xlsx_value(value) for value in values])
    formats = list(number_formats)
    for index, cell in enumerate(sheet[sheet.max_row]):
        settle_cell(cell, formats[index] if index < len(formats) else None)


def style_header(sheet, row: int = 1) -> None:
    from openpyxl.styles import Font

    for cell in sheet[row]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = sheet.cell(row=row + 1, column=1).coordinate


def fit_widths(sheet, maximum: int = MAX_COLUMN_WIDTH, fixed: Mapping[int, float] | None = None, minimum: int = 0,
               skip_rows: Collection[int] = ()) -> None:
    """Column widths that fit the longest line in each column (as shown: numbers by their format),
    within bounds; ``fixed`` overrides by column index; ``skip_rows`` (titles) may overflow."""
    from openpyxl.utils import get_column_letter

    for index, cells in enumerate(sheet.iter_cols(), start=1):
        longest = max((len(line) for cell in cells if cell.value is not None and cell.row not in skip_rows
                       for line in shown_text(cell).split("\n")), default=0)
        width = (fixed or {}).get(index, min(max(longest + 2, minimum), maximum))
        sheet.column_dimensions[get_column_letter(index)].width = width


def shown_text(cell) -> str:
    """Roughly what a cell shows: a float with a fixed number of decimals by its format, else its text."""
    if isinstance(cell.value, float) and cell.number_format not in ("General", None):
        decimals = cell.number_format.split(".")[1].rstrip("%") if "." in cell.number_format else ""
        return f"{cell.value:.{len(decimals)}f}" + ("%" if cell.number_format.endswith("%") else "")
    return str(cell.value)


def write_table(sheet, header: Sequence[str], rows: Iterable[Sequence[object]],
                number_formats: Sequence[str | None] = (), notes: Sequence[str] = (),
                fixed_widths: Mapping[int, float] | None = None) -> None:
    """The one way qualcode writes a table sheet: bold frozen header, auto-filter, typed formula-safe
    cells (numbers in ``number_formats`` by column), fitted widths, then any ``notes`` below."""
    append_row(sheet, header)
    for row in rows:
        append_row(sheet, row, number_formats)
    style_header(sheet)
    sheet.auto_filter.ref = sheet.dimensions
    if notes:
        append_row(sheet, [])
        for note in notes:
            append_row(sheet, [note])
    fit_widths(sheet, fixed=fixed_widths, skip_rows=range(sheet.max_row - len(notes), sheet.max_row + 1) if notes else ())


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
