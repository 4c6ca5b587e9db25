"""Two coders' files, read and matched by id: what :mod:`.statistics` compares.

A coder's file is a qualcode coded-segments table, a reviewed one, or an annotation sheet from
another tool (a few header rows, an id column, a codes column, found by their headers).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..coded import (CODED_SHEET, CODES_COLUMN, RESERVED_COLUMNS, final_codes, is_blank, is_reviewed,
                     join_codes, read_table, split_codes)
from ..errors import QualcodeError
from .statistics import AgreementReport, agreement

UNITS = ("segment", "document")
ID_COLUMNS = ("segment_id", "id")
DOCUMENT_COLUMN = "document"
REVIEW_COLUMN = "review_codes"


# --- reading one coder -----------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """One coded record: its id, codes and the context shown beside a disagreement."""

    id: str
    codes: tuple[str, ...]
    document: str
    text: str


@dataclass(frozen=True)
class CoderTable:
    """One coder's records; ``name`` says which file and column the codes came from."""

    path: Path
    name: str
    rows: tuple[Row, ...]
    has_documents: bool


def plays_role(name: str, words: Sequence[str]) -> bool:
    """A header's role is its last word: ``Claim ID`` is an id, ``Your Code`` a code, ``labels.code`` too."""
    name_words = re.findall(r"[0-9a-z]+", str(name).lower())
    return bool(name_words) and name_words[-1] in words


def find_column(names: Sequence[str], exact: Sequence[str], words: Sequence[str]) -> str | None:
    """The first of ``exact`` present, else the first name playing the role ``words`` name."""
    present = next((name for name in exact if name in names), None)
    return present or next((name for name in names if plays_role(name, words)), None)


def find_id_column(names: Sequence[str]) -> str | None:
    return find_column(names, ID_COLUMNS, ("id",))


def cell_text(value: object) -> str:
    """A JSON value as a table cell; a list of codes becomes the usual ``a;b``."""
    if isinstance(value, list):
        return join_codes(str(item) for item in value)
    return "" if is_blank(value) else str(value)


def read_grid(path: Path) -> list[list[str]]:
    """All rows of a table as strings, the first one included, for header detection.

    ``.json`` holds a list of records, nested fields flattened as ``labels.code``.
    """
    import pandas as pd

    if path.suffix.lower() != ".json":
        table = read_table(path, CODED_SHEET)
        return [list(table.columns), *table.values.tolist()]
    if not path.exists():
        raise QualcodeError("no such file", path)
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise QualcodeError("not a UTF-8 JSON file", path) from None
    if not isinstance(records, list) or not records or not all(isinstance(record, dict) for record in records):
        raise QualcodeError("expected a JSON list of records", path)
    frame = pd.json_normalize(records)
    return [list(frame.columns), *([cell_text(value) for value in row] for row in frame.values.tolist())]


def read_records(path: Path):
    """The table below its header row: the first row with an id column (``segment_id``, ``id``, ``... ID``).

    Annotation sheets put a title and instructions above the header; those rows are skipped.
    Returns the DataFrame and the spreadsheet line of its first record (None for JSON).
    """
    import pandas as pd

    grid = read_grid(path)
    header_index = next((index for index, row in enumerate(grid)
                         if find_id_column([str(cell).strip() for cell in row])), None)
    if header_index is None:
        raise QualcodeError("no id column: expected a header with segment_id, id or a column ending in 'ID'", path)
    header = [str(cell).strip() or f"Unnamed: {position}" for position, cell in enumerate(grid[header_index])]
    first_line = None if path.suffix.lower() == ".json" else header_index + 2
    return pd.DataFrame(grid[header_index + 1:], columns=header, dtype=str), first_line


def effective_codes(table, path: Path) -> list[tuple[str, ...]]:
    """Reviewed codes where reviewed, automatic elsewhere: the rule of :func:`qualcode.coded.final_codes`.

    Agreement needs no codebook, so every code the table uses counts as valid.
    """
    used = sorted({code for column in (CODES_COLUMN, REVIEW_COLUMN) if column in table.columns
                   for cell in table[column] for code in split_codes(cell)})
    return final_codes(table, used, path)


def codes_source(table, requested: str | None, path: Path, line: int | None) -> tuple[str, list[tuple[str, ...]]]:
    """Which column holds the codes, as a label for reports, and the codes of every row.

    An explicit column is read as it stands. Otherwise ``codes`` (with ``review_codes``
    overriding it where filled), else the one column whose name ends in "code(s)": ``code``,
    ``Your Code``, ``labels.code``.
    """
    columns = list(table.columns)
    if requested is not None:
        if requested not in columns:
            raise QualcodeError(f"no column {requested!r}; columns: {', '.join(columns)}", path, line)
        return requested, [split_codes(cell) for cell in table[requested]]
    if CODES_COLUMN in columns:
        label = f"{REVIEW_COLUMN} else {CODES_COLUMN}" if REVIEW_COLUMN in columns else CODES_COLUMN
        return label, effective_codes(table, path)
    named = [column for column in columns if column not in RESERVED_COLUMNS and plays_role(column, ("code", "codes"))]
    if len(named) != 1:
        found = f" (candidates: {', '.join(named)})" if named else ""
        raise QualcodeError(f"cannot tell the codes column{found}: name it codes or code, "
                            "or pass --codes-column-a/-b", path, line)
    return named[0], [split_codes(cell) for cell in table[named[0]]]


def load_coder_table(path: Path, codes_column: str | None = None) -> CoderTable:
    """Read one coder: a coded-segments file, an annotation sheet or JSON records.

    Rows without an id and without codes (section headings such as ``▸ Theme: ...``, spacer
    rows) are skipped; a row with codes but no id stops the run, since it cannot be matched.
    """
    path = Path(path)
    table, first_line = read_records(path)
    header_line = None if first_line is None else first_line - 1
    id_column = find_id_column(list(table.columns))
    label, codes = codes_source(table, codes_column, path, header_line)
    text_column = find_column(list(table.columns), ("text",), ("text",))
    has_documents = DOCUMENT_COLUMN in table.columns
    rows = []
    for position, (record, row_codes) in enumerate(zip(table.to_dict("records"), codes)):
        identifier = str(record[id_column]).strip()
        if not identifier:
            if row_codes:
                raise QualcodeError(f"a coded row has no {id_column!r}", path,
                                    None if first_line is None else first_line + position)
            continue
        rows.append(Row(identifier, row_codes, cell_text(record.get(DOCUMENT_COLUMN)).strip(),
                        cell_text(record.get(text_column)) if text_column else ""))
    if not rows:
        raise QualcodeError("no coded rows", path)
    return CoderTable(path, f"{path.name} [{label}]", tuple(rows), has_documents)


# --- matching two coders ---------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    """One compared unit (segment or document) with both coders' codes."""

    id: str
    document: str
    text: str
    codes_a: tuple[str, ...]
    codes_b: tuple[str, ...]


@dataclass(frozen=True)
class Unmatched:
    """An id left out of the comparison: in one file only, or on several rows of a file."""

    id: str
    rows_a: int
    rows_b: int

    @property
    def issue(self) -> str:
        if not self.rows_a:
            return "only in B"
        if not self.rows_b:
            return "only in A"
        return "duplicated in " + " and ".join(side for side, rows in (("A", self.rows_a), ("B", self.rows_b))
                                               if rows > 1)


@dataclass(frozen=True)
class Comparison:
    """Everything a report needs: who was compared, on what, and the figures."""

    name_a: str
    name_b: str
    unit: str
    items: tuple[Item, ...]
    unmatched: tuple[Unmatched, ...]
    report: AgreementReport


def match_rows(a: CoderTable, b: CoderTable) -> tuple[tuple[Item, ...], tuple[Unmatched, ...]]:
    """Pair rows by id, in A's order; ids not present exactly once in both files are set aside."""
    count_a = Counter(row.id for row in a.rows)
    count_b = Counter(row.id for row in b.rows)
    rows_b = {row.id: row for row in b.rows}
    items = tuple(
        Item(row.id, row.document or rows_b[row.id].document, row.text or rows_b[row.id].text,
             row.codes, rows_b[row.id].codes)
        for row in a.rows if count_a[row.id] == 1 and count_b[row.id] == 1)
    every_id = dict.fromkeys([*count_a, *count_b])
    unmatched = tuple(Unmatched(identifier, count_a[identifier], count_b[identifier])
                      for identifier in every_id if (count_a[identifier], count_b[identifier]) != (1, 1))
    return items, unmatched


def by_document(items: Sequence[Item], path: Path) -> tuple[Item, ...]:
    """One item per document: a code is present when any of its segments has it."""
    documents: dict[str, tuple[set[str], set[str]]] = {}
    for item in items:
        if not item.document:
            raise QualcodeError(f"segment {item.id!r} has an empty {DOCUMENT_COLUMN!r} cell", path)
        codes_a, codes_b = documents.setdefault(item.document, (set(), set()))
        codes_a.update(item.codes_a)
        codes_b.update(item.codes_b)
    return tuple(Item(document, "", "", tuple(sorted(codes_a)), tuple(sorted(codes_b)))
                 for document, (codes_a, codes_b) in documents.items())


def compare(a: CoderTable, b: CoderTable, unit: str = "segment",
            code_ids: Sequence[str] | None = None) -> Comparison:
    """Match two coders by id and score them per segment or per document.

    ``code_ids`` (e.g. a codebook's, so unused codes show too) defaults to every code used.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")
    if unit == "document" and not (a.has_documents or b.has_documents):
        raise QualcodeError(f"--unit document needs a {DOCUMENT_COLUMN!r} column", a.path)
    items, unmatched = match_rows(a, b)
    if not items:
        raise QualcodeError(f"no id is present once in both {a.path.name} and {b.path.name}", b.path)
    if unit == "document":
        items = by_document(items, a.path)
    if code_ids is None:
        code_ids = sorted({code for item in items for code in (*item.codes_a, *item.codes_b)})
    report = agreement([item.codes_a for item in items], [item.codes_b for item in items], code_ids)
    return Comparison(a.name, b.name, unit, items, unmatched, report)


def only_reviewed(coder: CoderTable, path: Path) -> CoderTable:
    """``coder`` restricted to the rows whose ``review_codes`` cell is filled."""
    table = read_table(path, CODED_SHEET)
    id_column = find_id_column(list(table.columns))
    reviewed = {str(row_id).strip() for row_id, done in zip(table[id_column], is_reviewed(table)) if done}
    if not reviewed:
        raise QualcodeError(f"no row has {REVIEW_COLUMN} filled: nothing was reviewed yet", path)
    return dataclasses.replace(coder, rows=tuple(row for row in coder.rows if row.id in reviewed))
