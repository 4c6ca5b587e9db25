"""Agreement between two coders: percent agreement, Cohen's kappa and Krippendorff's alpha.

A team checks a codebook by having two people (or the model and a reviewer) code the same
segments and measuring how often they agree beyond chance. The core, :func:`agreement`, is a
pure function over two lists of label sets; everything touching files lives at the edges:
:func:`load_coder_table` reads one coder, :func:`compare` matches two coders by id,
:func:`format_report` renders the console table and :func:`write_agreement_xlsx` the workbook
the team discusses disagreements in.

Conventions, chosen so numbers match the reference libraries a reviewer would check them with:

* Multi-label codes are scored per code as binary presence; "pooled" scores all (item, code)
  decisions together, "macro mean" averages the per-code values that are defined.
* Kappa is ``sklearn.metrics.cohen_kappa_score``, except that two coders who give every item
  the same single value get 1.0 (sklearn calls that 0/0 undefined; for a code both coders
  applied everywhere, or nowhere, perfect agreement is the honest reading).
* Alpha is ``krippendorff.alpha(..., level_of_measurement="nominal")``; it is NaN ("n/a")
  when there is no variation at all, where that package refuses to compute it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Hashable, Sequence

from .coded import (CODED_SHEET, CODES_COLUMN, NO_CODE, RESERVED_COLUMNS, final_codes, is_blank, is_reviewed,
                    join_codes, read_table, split_codes)
from .errors import QualcodeError
from .export.xlsx import new_workbook, save_workbook, write_table

NAN = float("nan")
UNITS = ("segment", "document")
ID_COLUMNS = ("segment_id", "id")
DOCUMENT_COLUMN = "document"
REVIEW_COLUMN = "review_codes"
WORKBOOK_NAME = "agreement.xlsx"
MAX_LISTED_IDS = 10


# --- the pure core ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Counts:
    """How two coders' binary decisions fall: both present, one only, or neither."""

    both: int
    a_only: int
    b_only: int
    neither: int

    @property
    def total(self) -> int:
        return self.both + self.a_only + self.b_only + self.neither

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.both + other.both, self.a_only + other.a_only,
                      self.b_only + other.b_only, self.neither + other.neither)

    @classmethod
    def of(cls, present_a: Sequence[bool], present_b: Sequence[bool]) -> Counts:
        pairs = Counter(zip(present_a, present_b))
        return cls(pairs[True, True], pairs[True, False], pairs[False, True], pairs[False, False])


@dataclass(frozen=True)
class Measures:
    """The three agreement figures for one comparison; ``percent`` is a fraction (0..1)."""

    percent: float
    kappa: float
    alpha: float


@dataclass(frozen=True)
class CodeAgreement:
    """One code scored as binary presence; ``disagreements`` are item positions."""

    code: str
    counts: Counts
    measures: Measures
    disagreements: tuple[int, ...]


@dataclass(frozen=True)
class AgreementReport:
    """Per-code, pooled and macro figures; ``single_label`` only when every item has one code."""

    n_items: int
    per_code: tuple[CodeAgreement, ...]
    pooled_counts: Counts
    pooled: Measures
    macro: Measures
    single_label: Measures | None


def cohen_kappa(values_a: Sequence[Hashable], values_b: Sequence[Hashable]) -> float:
    """sklearn's Cohen's kappa, with 1.0 when both coders give one identical value throughout.

    That is the only case besides no items where sklearn's kappa is undefined (expected
    agreement 1), so every other value is sklearn's own.
    """
    from sklearn.metrics import cohen_kappa_score

    if not len(values_a):
        return NAN
    if len(set(values_a) | set(values_b)) == 1:
        return 1.0
    return float(cohen_kappa_score(list(values_a), list(values_b)))


def nominal_alpha(values_a: Sequence[Hashable], values_b: Sequence[Hashable]) -> float:
    """``krippendorff.alpha`` (nominal) for two coders; NaN where there is no variation."""
    import krippendorff

    values = sorted(set(values_a) | set(values_b))
    if len(values) < 2:
        return NAN
    index = {value: position for position, value in enumerate(values)}
    data = [[index[value] for value in values_a], [index[value] for value in values_b]]
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def measures(values_a: Sequence[Hashable], values_b: Sequence[Hashable]) -> Measures:
    """Percent agreement, kappa and alpha for two aligned sequences of nominal values."""
    matches = [a == b for a, b in zip(values_a, values_b, strict=True)]
    percent = sum(matches) / len(matches) if matches else NAN
    return Measures(percent, cohen_kappa(values_a, values_b), nominal_alpha(values_a, values_b))


def mean_defined(values: Sequence[float]) -> float:
    """The mean of the values that are not NaN; NaN when none is."""
    defined = [value for value in values if not math.isnan(value)]
    return sum(defined) / len(defined) if defined else NAN


def is_single_label(labels: Sequence[Sequence[str]]) -> bool:
    return bool(labels) and all(len(codes) == 1 for codes in labels)


def agreement(labels_a: Sequence[Sequence[str]], labels_b: Sequence[Sequence[str]],
              code_ids: Sequence[str]) -> AgreementReport:
    """Score two coders' aligned label sets (item ``i`` of A is item ``i`` of B) per code in ``code_ids``.

    A code outside ``code_ids`` is a caller error (it would silently drop out of the figures).
    """
    if len(labels_a) != len(labels_b):
        raise ValueError(f"coders must label the same items: {len(labels_a)} != {len(labels_b)}")
    unknown = sorted({code for codes in (*labels_a, *labels_b) for code in codes} - set(code_ids))
    if unknown:
        raise ValueError(f"codes missing from code_ids: {', '.join(unknown)}")
    sets_a, sets_b = [set(codes) for codes in labels_a], [set(codes) for codes in labels_b]
    presence = {code: ([code in codes for codes in sets_a], [code in codes for codes in sets_b])
                for code in code_ids}
    per_code = tuple(
        CodeAgreement(code, Counts.of(a, b), measures(a, b),
                      tuple(position for position, pair in enumerate(zip(a, b)) if pair[0] != pair[1]))
        for code, (a, b) in presence.items())
    pooled_a = [value for a, _ in presence.values() for value in a]
    pooled_b = [value for _, b in presence.values() for value in b]
    macro = Measures(*(mean_defined([getattr(code.measures, name) for code in per_code])
                       for name in ("percent", "kappa", "alpha")))
    single = None
    if is_single_label(labels_a) and is_single_label(labels_b):
        single = measures([codes[0] for codes in labels_a], [codes[0] for codes in labels_b])
    return AgreementReport(len(labels_a), per_code, sum((code.counts for code in per_code), Counts(0, 0, 0, 0)),
                           measures(pooled_a, pooled_b), macro, single)


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


def only_reviewed(coder: CoderTable, path: Path) -> CoderTable:
    """``coder`` restricted to the rows whose ``review_codes`` cell is filled."""
    table = read_table(path, CODED_SHEET)
    id_column = find_id_column(list(table.columns))
    reviewed = {str(row_id).strip() for row_id, done in zip(table[id_column], is_reviewed(table)) if done}
    if not reviewed:
        raise QualcodeError(f"no row has {REVIEW_COLUMN} filled: nothing was reviewed yet", path)
    return dataclasses.replace(coder, rows=tuple(row for row in coder.rows if row.id in reviewed))
