"""The coded-segments table: the contract between ``code`` and every later stage.

``qualcode code`` writes it; analysts review it in a spreadsheet; ``matrices``, ``report``,
``export-qdpx``, ``agreement``, ``train`` and ``codebook report`` read it back. This module is
the one place that knows its columns and the review rule: a filled ``review_codes`` cell
overrides ``codes``, an empty one keeps them, and a single ``-`` means "no code".

The ``evidence`` cell is for people. The evidence as data (one row per reason: segment, code,
kind, matched text, score) is the workbook's ``evidence`` sheet and the CSV's
``NAME_evidence.csv`` twin, read back with :func:`read_evidence`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from .cells import csv_text_of
from .domain import Evidence
from .errors import QualcodeError

SEGMENT_COLUMNS = ("segment_id", "document", "speaker", "speaker_role", "start", "end", "text")
CODES_COLUMN = "codes"
EVIDENCE_COLUMN = "evidence"
SUGGESTED_COLUMN = "suggested"  # the three best-scoring codes with their scores, for uncoded rows too
REVIEW_COLUMNS = ("review_codes", "comment")
RESERVED_COLUMNS = frozenset((*SEGMENT_COLUMNS, CODES_COLUMN, EVIDENCE_COLUMN, SUGGESTED_COLUMN, *REVIEW_COLUMNS,
                              "id"))
EVIDENCE_SHEET = "evidence"  # one row per evidence item: segment_id, code, kind, text, score
EVIDENCE_SHEET_COLUMNS = ("segment_id", "code", "kind", "text", "score")
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


def format_suggested(suggested: Sequence[tuple[str, float]]) -> str:
    """``[("a", 0.62), ("b", 0.41)]`` as ``"a 0.62; b 0.41"``."""
    return "; ".join(f"{code} {score:.2f}" for code, score in suggested)


QUESTION_KIND = "question "  # an evidence kind read from the interviewer's question
_KIND_LABELS = {"keyword": "keywords", "pattern": "patterns matched"}


def format_evidence(evidence: Sequence[Evidence]) -> str:
    """Evidence items as the readable cell ``"a: keywords 'x', 'y'; similarity 0.20 | b: model 0.61"``.

    The cell is for people; programs read the items themselves (:func:`read_evidence`).
    """
    by_code: dict[str, list[Evidence]] = {}
    for item in evidence:
        by_code.setdefault(item.code, []).append(item)

    def why(items: list[Evidence]) -> str:
        prefix = "from the question: " if items[0].kind.startswith(QUESTION_KIND) else ""
        parts = []
        for kind, label in _KIND_LABELS.items():
            terms = [f"'{item.text}'" for item in items if item.kind.removeprefix(QUESTION_KIND) == kind]
            if terms:
                parts.append(f"{label} {', '.join(terms)}")
        parts += [f"{item.kind.removeprefix(QUESTION_KIND)} {item.score:.2f}" for item in items
                  if item.kind.removeprefix(QUESTION_KIND) not in _KIND_LABELS]
        return prefix + "; ".join(parts)

    return join_evidence((code, why(items)) for code, items in by_code.items())


def evidence_path(path: Path) -> Path:
    """Where the CSV twin of a coded file keeps its evidence items: ``NAME_evidence.csv``."""
    return Path(path).with_name(f"{Path(path).stem}_{EVIDENCE_SHEET}.csv")


def read_evidence(path: Path) -> dict[str, tuple[Evidence, ...]]:
    """A coded file's evidence items by segment id, read as data: the workbook's ``evidence``
    sheet, or the CSV's ``_evidence.csv`` twin. A file without them (coded by hand, or by an older
    qualcode) has none."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        if not evidence_path(path).exists():
            return {}
        table = read_table(evidence_path(path))
    else:
        import pandas as pd

        with pd.ExcelFile(path) as book:
            if EVIDENCE_SHEET not in book.sheet_names:
                return {}
        table = read_table(path, EVIDENCE_SHEET)
    if list(table.columns)[:len(EVIDENCE_SHEET_COLUMNS)] != list(EVIDENCE_SHEET_COLUMNS):
        raise QualcodeError(f"the {EVIDENCE_SHEET} sheet needs the columns {', '.join(EVIDENCE_SHEET_COLUMNS)}",
                            path, 1)
    found: dict[str, list[Evidence]] = {}
    for row, record in enumerate(table.to_dict("records"), start=FIRST_DATA_ROW):
        try:
            score = float(record["score"] or 0)
        except ValueError:
            raise QualcodeError(f"the {EVIDENCE_SHEET} sheet's score is not a number", path, row) from None
        item = Evidence(record["code"], record["kind"], record["text"], score)
        found.setdefault(record["segment_id"], []).append(item)
    return {segment_id: tuple(items) for segment_id, items in found.items()}


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
