"""Cell values exactly as qualcode writes them into every CSV and spreadsheet: the one place.

A text cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which
some spreadsheet programs skip before reading the rest) is run as a formula when a CSV is opened
in Excel or LibreOffice: a transcript segment reading ``=HYPERLINK("http://…","click")`` would
become a live link, and worse formulas can reach other files. OWASP's advice for CSV injection is
followed: such a cell is written with a leading single quote, which every spreadsheet program reads
as "this is text". In an ``.xlsx`` the cell is stored as a string (never a formula) and flagged
with Excel's own quote prefix, so the text shows unchanged and stays text when someone edits it.

Numbers stay numbers (a negative count is not a formula), so analysts can sort and sum them.
"""

from __future__ import annotations

import math

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def starts_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_START)


def csv_value(value: object) -> object:
    """A value for a CSV cell: formula-like text gets OWASP's leading quote, the rest is unchanged."""
    value = plain_value(value)
    if isinstance(value, str) and starts_like_formula(value):
        return "'" + value
    return value


def csv_text_of(cell: str) -> str:
    """Undo :func:`csv_value` when qualcode reads a CSV it may have written: ``'=x`` is ``=x``."""
    return cell[1:] if cell.startswith("'") and starts_like_formula(cell[1:]) else cell


def plain_value(value: object) -> object:
    """numpy numbers as Python numbers (openpyxl and csv know those); NaN (an undefined statistic,
    such as kappa with no variation) as an empty cell, so a numeric column still sorts as numbers."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def xlsx_value(value: object) -> object:
    """A value for an xlsx cell: Python numbers, and text without the control characters Excel refuses."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = plain_value(value)
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def settle_cell(cell, number_format: str | None = None):
    """Make a written cell safe and typed: text is a string (never a formula), with Excel's quote
    prefix where it looks like one; numbers get ``number_format`` when given."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if starts_like_formula(cell.value):
            cell.quotePrefix = True
    elif number_format is not None and isinstance(cell.value, (int, float)):
        cell.number_format = number_format
    return cell


def put_cell(sheet, row: int, column: int, value: object, number_format: str | None = None):
    """Write one xlsx cell at a position (see :func:`settle_cell`)."""
    return settle_cell(sheet.cell(row=row, column=column, value=xlsx_value(value)), number_format)
