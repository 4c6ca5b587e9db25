"""The coded-segments table: the contract between ``code`` and every later stage.

``qualcode code`` writes it; analysts review it in a spreadsheet; ``matrices``, ``report``,
``export-qdpx``, ``agreement``, ``train`` and ``codebook report`` read it back. This module is
the one place that knows its columns and the review rule: a filled ``review_codes`` cell
overrides ``codes``, an empty one keeps them, and a single ``-`` means "no code".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Sequence

from .cells import csv_text_of
from .errors import QualcodeError

SEGMENT_COLUMNS = ("segment_id", "document", "speaker", "speaker_role", "start", "end", "text")
CODES_COLUMN = "codes"
EVIDENCE_COLUMN = "evidence"
REVIEW_COLUMNS = ("review_codes", "comment")
RESERVED_COLUMNS = frozenset((*SEGMENT_COLUMNS, CODES_COLUMN, EVIDENCE_COLUMN, *REVIEW_COLUMNS, "id"))
NO_CODE = "-"
SEPARATOR = ";"
EVIDENCE_SEPARATOR = " | "  # between codes in the evidence column: "a: why | b: why"
CODED_SHEET = "coded_segments"
FIRST_DATA_ROW = 2  # spreadsheet row of the first record, below the header


def split_codes(cell: object) -> tuple[str, ...]:
    """``"a; b"`` -> ``("a", "b")``; empty, NaN and ``-`` give ``()``."""
    if cell is None or (isinstance(cell, float) and cell != cell):
        return ()
    text = str(cell).strip()
    if not text or text == NO_CODE:
        return ()
    return tuple(part.strip() for part in text.split(SEPARATOR) if part.strip())


def join_codes(codes: Iterable[str]) -> str:
    return SEPARATOR.join(codes)


def join_evidence(reasons: Iterable[tuple[str, str]]) -> str:
    """``[(code, why), ...]`` as the evidence cell ``"a: why | b: why"``."""
    return EVIDENCE_SEPARATOR.join(f"{code}: {why}" for code, why in reasons)


def split_evidence(cell: object, code_ids: Sequence[str]) -> dict[str, str]:
    """The evidence cell back as ``{code: why}``.

    Splits only where a known code id follows, so a matched phrase holding " | " stays whole.
    """
    if is_blank(cell):
        return {}
    ids = "|".join(map(re.escape, sorted(code_ids, key=len, reverse=True)))
    parts = re.split(rf"{re.escape(EVIDENCE_SEPARATOR)}(?=(?:{ids}): )", str(cell))
    return {code.strip(): why for code, _, why in (part.partition(": ") for part in parts)}


def is_blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, float) and cell != cell) or not str(cell).strip()


def read_table(path: Path, sheet: str | None = None):
    """Read a ``.csv`` or ``.xlsx`` table as strings (pandas DataFrame), keeping empty cells empty."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise QualcodeError("no such file", path)
    try:
        if path.suffix.lower() == ".csv":
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig").map(csv_text_of)
        elif path.suffix.lower() in (".xlsx", ".xlsm"):
            with pd.ExcelFile(path) as book:
                name = sheet if sheet in book.sheet_names else book.sheet_names[0]
                table = pd.read_excel(book, sheet_name=name, dtype=str, keep_default_na=False)
            check_formulas_have_values(path, name)
        else:
            raise QualcodeError(f"unsupported table type {path.suffix!r} (use .csv or .xlsx)", path)
    except QualcodeError:
        raise
    except UnicodeDecodeError:
        raise QualcodeError("unreadable encoding: save the table as UTF-8", path) from None
    except Exception as error:  # pandas raises many types for a damaged file
        raise QualcodeError(f"cannot read table ({type(error).__name__})", path) from None
    if table.empty and not len(table.columns):
        raise QualcodeError("empty table", path, 1)
    table.columns = [str(column).strip() for column in table.columns]
    return table


def check_formulas_have_values(path: Path, sheet: str) -> None:
    """Formula cells are read by the value Excel saved with them; a formula without one (a file
    written by a script, never opened in Excel) would read as empty and its row be skipped unseen."""
    from openpyxl import load_workbook

    formulas = load_workbook(path, read_only=True, data_only=False)[sheet]
    values = load_workbook(path, read_only=True, data_only=True)[sheet]
    for formula_row, value_row in zip(formulas.iter_rows(), values.iter_rows()):
        for formula, value in zip(formula_row, value_row):
            if formula.data_type == "f" and value.value is None:
                raise QualcodeError(f"sheet '{sheet}' cell {formula.coordinate} is a formula with no saved value: "
                                    "open and save the file in Excel, or paste the values", path, formula.row)


def read_coded(path: Path):
    """Read a coded-segments file written by ``qualcode code`` (possibly reviewed)."""
    table = read_table(path, CODED_SHEET)
    missing = [column for column in ("segment_id", "text", CODES_COLUMN) if column not in table.columns]
    if missing:
        raise QualcodeError(f"not a coded-segments file: missing column(s) {', '.join(missing)}", path, 1)
    return table


def final_codes(table, valid_ids: Sequence[str], path: Path | str) -> list[tuple[str, ...]]:
    """The codes that count for each row: reviewed where reviewed, automatic elsewhere.

    Unknown ids in either column stop the run, naming the spreadsheet row and the valid ids.
    """
    valid = set(valid_ids)
    has_review = "review_codes" in table.columns
    result = []
    for position, record in enumerate(table.to_dict("records")):
        review = record.get("review_codes") if has_review else None
        column = "review_codes" if has_review and not is_blank(review) else CODES_COLUMN
        codes = split_codes(record.get(column))
        unknown = [code for code in codes if code not in valid]
        if unknown:
            raise QualcodeError(
                f"unknown code id(s) {', '.join(map(repr, unknown))} in {column}; valid ids: {', '.join(valid_ids)}",
                path, position + FIRST_DATA_ROW)
        result.append(codes)
    return result


def is_reviewed(table) -> list[bool]:
    """Which rows an analyst reviewed (a filled ``review_codes`` cell)."""
    if "review_codes" not in table.columns:
        return [False] * len(table)
    return [not is_blank(cell) for cell in table["review_codes"]]
