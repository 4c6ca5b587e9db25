"""Code matrices: how often each code occurs per case, document, case attribute and with other codes.

:func:`build_matrices` is pure: from the coded table and each row's final codes it builds every
table as a pandas DataFrame. :func:`write_matrices` is the one writer: the same tables go to an
Excel workbook for people and to CSVs for scripts. The HTML report reuses these DataFrames, so
each number is computed in exactly one place: :func:`membership` decides which codes a segment
counts for and :func:`count_by` counts.

Only case segments count: participant turns with a known speaker. Interviewer turns are prompts,
not data, and counting them would inflate whichever themes the interview guide asked about.
Cases are pseudonyms from the coded table; attributes come from ``cases.csv`` through
:func:`qualcode.cases.read_case_attributes`, which never reads identifying columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..cases import read_case_attributes
from ..coded import final_codes, read_coded
from ..domain import PARTICIPANT, UNKNOWN_SPEAKER, Codebook
from ..errors import QualcodeError
from ..cells import put_cell
from ..fsutil import csv_text, write_files
from .xlsx import fit_widths, xlsx_bytes

WORKBOOK_NAME = "matrices.xlsx"
CSV_FOLDER = "matrices"
REQUIRED_COLUMNS = ("document", "speaker", "speaker_role")
QUOTE_COLUMNS = ("case", "code", "segment_id", "document", "text")
NOT_RECORDED = "(not recorded)"
EXCEL_CELL_LIMIT = 32_767  # characters, counted by Excel in UTF-16 code units
QUOTE_SEPARATOR = "\n\n"

# Layout of the workbook, for people reading it.
HEAT_LOW, HEAT_HIGH = "FFFFFF", "F8696B"
CODE_LABEL_COLUMNS = ("id", "code")  # columns whose cells name a code and get its colour
MIN_WIDTH, MAX_WIDTH = 6, 40
FRAMEWORK_WIDTH = 60
QUOTE_TEXT_WIDTH = 80
COOCCURRENCE_TITLE = "Segments coded with both codes (diagonal: the code's own count)"
JACCARD_TITLE = "Jaccard index (both / either)"


@dataclass(frozen=True)
class Matrices:
    """Every table ``qualcode matrices`` writes, plus the number of case segments counted."""

    summary: pd.DataFrame
    code_by_case: pd.DataFrame
    code_by_document: pd.DataFrame
    code_by_attribute: Mapping[str, pd.DataFrame]
    cooccurrence: pd.DataFrame
    jaccard: pd.DataFrame
    framework: pd.DataFrame
    quotes: pd.DataFrame
    segments: int


# --- building the tables (pure) --------------------------------------------------------------


def natural_key(label: object) -> tuple:
    """Sort key putting ``P2`` before ``P10`` and ``T9`` before ``T10``, as a person reads them."""
    text = str(label)
    parts = re.split(r"(\d+)", text)
    return tuple(int(part) if index % 2 else part.casefold() for index, part in enumerate(parts)), text


def rollup(codebook: Codebook) -> dict[str, frozenset[str]]:
    """Each code id -> the codes a segment coded with it counts for: itself and every ancestor.

    Counting through this map is what makes a parent's column mean "coded with the parent or any
    of its sub-codes", once per segment however many sub-codes the segment carries.
    """
    return {code.id: frozenset({code.id, *(other for other in codebook.ids if code.id in codebook.descendants(other))})
            for code in codebook.codes}


def membership(codes_per_row: Sequence[Sequence[str]], codebook: Codebook) -> pd.DataFrame:
    """Rows x code ids, True where the row counts for the code after roll-up."""
    counts_for = rollup(codebook)
    rows = [set().union(*(counts_for[code_id] for code_id in codes)) for codes in codes_per_row]
    return pd.DataFrame([[code_id in row for code_id in codebook.ids] for row in rows],
                        columns=list(codebook.ids), dtype=bool)


def case_rows(table: pd.DataFrame) -> pd.Series:
    """Which rows are a case speaking: participant turns with a known speaker (as in REFI-QDA exports)."""
    return (table["speaker_role"].str.strip() == PARTICIPANT) & (table["speaker"].str.strip() != UNKNOWN_SPEAKER)


def count_by(members: pd.DataFrame, keys: pd.Series, name: str) -> pd.DataFrame:
    """The one counting rule: segments per group (rows, naturally sorted) and code (columns)."""
    counts = members.groupby(keys.rename(name), sort=False).sum().astype(int)
    counts.columns.name = None
    return counts.reindex(sorted(counts.index, key=natural_key))


def attribute_names(case_attributes: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Attribute columns in the order ``cases.csv`` gives them."""
    return list(dict.fromkeys(name for attributes in case_attributes.values() for name in attributes))


def attribute_value(case_attributes: Mapping[str, Mapping[str, str]], case: str, name: str) -> str:
    """A case's attribute, joined on the pseudonym with or without its [brackets]."""
    return case_attributes.get(case.strip("[]"), {}).get(name) or NOT_RECORDED


def attribute_table(members: pd.DataFrame, cases: pd.Series, case_attributes: Mapping[str, Mapping[str, str]],
                    name: str) -> pd.DataFrame:
    """Segments per value of one case attribute and code; cases without the value are counted too."""
    values = cases.map({case: attribute_value(case_attributes, case, name) for case in cases.unique()})
    return count_by(members, values, name)


def summary_table(codebook: Codebook, members: pd.DataFrame, by_case: pd.DataFrame,
                  by_document: pd.DataFrame) -> pd.DataFrame:
    """Per code: where it occurs, as segments, cases and documents, and the share of all cases."""
    cases = (by_case > 0).sum()
    share = (100 * cases / max(len(by_case), 1)).round(1)
    return pd.DataFrame({
        "id": list(codebook.ids),
        "name": [code.name for code in codebook.codes],
        "parent": [code.parent or "" for code in codebook.codes],
        "segments": members.sum().astype(int).to_numpy(),
        "cases": cases.to_numpy(),
        "documents": (by_document > 0).sum().to_numpy(),
        "% of cases": share.to_numpy(),
    })


def cooccurrence_table(members: pd.DataFrame) -> pd.DataFrame:
    """Codes x codes: segments coded with both; the diagonal is each code's own count."""
    counts = members.astype(int)
    both = counts.T.dot(counts)
    both.index.name = "code"
    return both


def jaccard_table(cooccurrence: pd.DataFrame) -> pd.DataFrame:
    """Codes x codes: both / either, so frequent codes do not look related just by being frequent."""
    both = cooccurrence.to_numpy(dtype=float)
    own = np.diag(both)
    either = own[:, None] + own[None, :] - both
    index = np.divide(both, either, out=np.zeros_like(both), where=either > 0).round(3)
    return pd.DataFrame(index, index=cooccurrence.index, columns=cooccurrence.columns)


def quotes_table(labels: pd.DataFrame, members: pd.DataFrame, cases: Sequence[str]) -> pd.DataFrame:
    """One row per case, code and segment (in table order): every quote the framework cells hold."""
    records = []
    for case in cases:
        said = labels[labels["case"] == case]
        for code_id in members.columns:
            coded = said[members.loc[said.index, code_id].to_numpy()]
            records += [(case, code_id, *values) for values in
                        coded[["segment_id", "document", "text"]].itertuples(index=False, name=None)]
    return pd.DataFrame(records, columns=list(QUOTE_COLUMNS))


def excel_length(text: str) -> int:
    """Length as Excel counts it (UTF-16 code units), so an emoji takes two of the 32,767."""
    return len(text.encode("utf-16-le")) // 2


def truncation_note(left_out: int) -> str:
    return f"[… truncated: {left_out} more quote{'' if left_out == 1 else 's'} — see the quotes sheet]"


def framework_cell(quotes: Sequence[str], limit: int = EXCEL_CELL_LIMIT) -> str:
    """Quotes separated by blank lines; when they do not fit one Excel cell, as many whole
    quotes as fit followed by a note saying how many more the quotes sheet holds."""
    full = QUOTE_SEPARATOR.join(quotes)
    if excel_length(full) <= limit:
        return full
    used = kept = 0
    for quote in quotes:
        needed = excel_length(quote) + len(QUOTE_SEPARATOR)
        if used + needed + excel_length(truncation_note(len(quotes) - kept - 1)) > limit:
            break
        used, kept = used + needed, kept + 1
    return QUOTE_SEPARATOR.join([*quotes[:kept], truncation_note(len(quotes) - kept)])


def quote_text(segment_id: str, text: str) -> str:
    """A quote as a framework cell shows it, traceable to its segment: ``[T01:12] "..."``."""
    return f'[{segment_id}] "{text}"'


def framework_table(quotes: pd.DataFrame, cases: Sequence[str], code_ids: Sequence[str]) -> pd.DataFrame:
    """The Framework Method matrix: cases x themes, each cell that case's quotes for that theme."""
    frame = pd.DataFrame("", index=pd.Index(list(cases), name="case"), columns=list(code_ids), dtype=object)
    for (case, code_id), group in quotes.groupby(["case", "code"], sort=False):
        frame.at[case, code_id] = framework_cell([quote_text(*pair) for pair in zip(group["segment_id"], group["text"])])
    return frame


def build_matrices(table: pd.DataFrame, codes_per_row: Sequence[Sequence[str]], codebook: Codebook,
                   case_attributes: Mapping[str, Mapping[str, str]] | None = None) -> Matrices:
    """Every matrix from the coded table and each row's final codes (see :func:`qualcode.coded.final_codes`)."""
    table = table.reset_index(drop=True)
    keep = case_rows(table).to_numpy()
    labels = pd.DataFrame({
        "case": table["speaker"].str.strip(), "document": table["document"].str.strip(),
        "segment_id": table["segment_id"], "text": table["text"],
    })[keep]
    members = membership(codes_per_row, codebook)[keep]
    by_case = count_by(members, labels["case"], "case")
    by_document = count_by(members, labels["document"], "document")
    attributes = case_attributes or {}
    by_attribute = {name: attribute_table(members, labels["case"], attributes, name) for name in attribute_names(attributes)}
    cooccurrence = cooccurrence_table(members)
    quotes = quotes_table(labels, members, list(by_case.index))
    return Matrices(
        summary=summary_table(codebook, members, by_case, by_document),
        code_by_case=by_case,
        code_by_document=by_document,
        code_by_attribute=by_attribute,
        cooccurrence=cooccurrence,
        jaccard=jaccard_table(cooccurrence),
        framework=framework_table(quotes, list(by_case.index), codebook.ids),
        quotes=quotes,
        segments=len(members),
    )


def load_matrices(coded_path: Path, codebook: Codebook, cases_path: Path | None = None) -> Matrices:
    """Read a (reviewed) coded-segments file and optional case attributes, and build the matrices."""
    coded_path = Path(coded_path)
    table = read_coded(coded_path)
    missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
    if missing:
        raise QualcodeError(f"cannot count cases without the column(s) {', '.join(missing)}", coded_path, 1)
    codes = final_codes(table, codebook.ids, coded_path)
    if not case_rows(table).any():
        raise QualcodeError(f"no {PARTICIPANT!r} rows with a known speaker: nothing to count", coded_path)
    attributes = read_case_attributes(Path(cases_path)) if cases_path is not None else {}
    return build_matrices(table, codes, codebook, attributes)


# --- writing ---------------------------------------------------------------------------------


def flat(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its row labels as the first column(s), as both the sheet and the CSV show it."""
    return frame.reset_index() if any(frame.index.names) else frame


def csv_tables(matrices: Matrices, codebook: Codebook) -> dict[str, pd.DataFrame]:
    """File stem -> table; stacked sheets become one CSV per block type, with the block as a column."""
    if matrices.code_by_attribute:
        by_attribute = pd.concat({name: block.rename_axis("value") for name, block in matrices.code_by_attribute.items()},
                                 names=["attribute"])
    else:
        by_attribute = pd.DataFrame(columns=["attribute", "value", *codebook.ids])
    return {
        "summary": matrices.summary, "code_by_case": matrices.code_by_case,
        "code_by_document": matrices.code_by_document, "code_by_attribute": by_attribute,
        "cooccurrence": matrices.cooccurrence, "jaccard": matrices.jaccard,
        "framework": matrices.framework, "quotes": matrices.quotes,
    }


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark, so Excel shows accented pseudonyms and quotes correctly."""
    table = flat(frame)
    return ("\ufeff" + csv_text(list(table.columns), table.itertuples(index=False, name=None))).encode("utf-8")


def workbook_bytes(matrices: Matrices, codebook: Codebook) -> bytes:
    """The workbook as bytes; the same matrices always give the same bytes."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    colours = {code.id: code.color.lstrip("#").upper() for code in codebook.codes}
    _summary_sheet(workbook.create_sheet("summary"), matrices.summary, colours)
    _matrix_sheet(workbook.create_sheet("code_by_case"), matrices.code_by_case, colours)
    _matrix_sheet(workbook.create_sheet("code_by_document"), matrices.code_by_document, colours)
    _attribute_sheet(workbook.create_sheet("code_by_attribute"), matrices.code_by_attribute, colours)
    _cooccurrence_sheet(workbook.create_sheet("cooccurrence"), matrices.cooccurrence, matrices.jaccard, colours)
    _framework_sheet(workbook.create_sheet("framework"), matrices.framework, colours)
    _quotes_sheet(workbook.create_sheet("quotes"), matrices.quotes, colours)
    return xlsx_bytes(workbook)


def write_matrices(matrices: Matrices, codebook: Codebook, out_dir: Path) -> Path:
    """Write ``matrices.xlsx`` and ``matrices/<table>.csv`` into ``out_dir`` as one set (all or none,
    see :func:`~qualcode.fsutil.write_files`); return the workbook path."""
    out_dir = Path(out_dir)
    workbook_path = out_dir / WORKBOOK_NAME
    tables = {out_dir / CSV_FOLDER / f"{stem}.csv": csv_bytes(frame)
              for stem, frame in csv_tables(matrices, codebook).items()}
    write_files({workbook_path: workbook_bytes(matrices, codebook), **tables}, lock=out_dir)
    return workbook_path


def run_matrices(coded_path: Path, out_dir: Path, codebook: Codebook, cases_path: Path | None = None) -> Path:
    """``qualcode matrices``: read, build and write; return the workbook path."""
    return write_matrices(load_matrices(coded_path, codebook, cases_path), codebook, out_dir)


# --- workbook layout -------------------------------------------------------------------------


def _shade(cell, colour: str | None) -> None:
    """Fill a code's cell with its codebook colour, with black or white text, whichever reads."""
    from openpyxl.styles import Font, PatternFill

    if colour is None:
        return
    red, green, blue = (int(colour[index:index + 2], 16) for index in (0, 2, 4))
    dark = 0.299 * red + 0.587 * green + 0.114 * blue < 128
    cell.fill = PatternFill("solid", fgColor=colour)
    cell.font = Font(bold=cell.font.bold, color="FFFFFF" if dark else "000000")


def _write_block(sheet, frame: pd.DataFrame, top: int, colours: Mapping[str, str], *,
                 heat_by_column: bool = False, number_format: str | None = None) -> int:
    """Write a table (bold header, code cells shaded, numbers heat-mapped) from row ``top``.

    Returns the first free row below it. The heat map spans all numeric cells at once, so a
    matrix reads as one picture, or each numeric column alone when their scales differ.
    """
    from openpyxl.formatting.rule import ColorScaleRule
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    table = flat(frame)
    for column, name in enumerate(table.columns, 1):
        cell = put_cell(sheet, top, column, name)
        cell.font = Font(bold=True)
        _shade(cell, colours.get(name))
    code_columns = {position for position, name in enumerate(table.columns, 1) if name in CODE_LABEL_COLUMNS}
    for row, record in enumerate(table.itertuples(index=False, name=None), top + 1):
        for column, value in enumerate(record, 1):
            cell = put_cell(sheet, row, column, value)
            if column in code_columns:
                _shade(cell, colours.get(value))
            elif number_format and isinstance(cell.value, float):
                cell.number_format = number_format
    bottom = top + len(table)
    numeric = [position for position, name in enumerate(table.columns, 1)
               if pd.api.types.is_numeric_dtype(table[name])]
    if numeric and bottom > top:
        spans = [(column, column) for column in numeric] if heat_by_column else [(numeric[0], numeric[-1])]
        for first, last in spans:
            sheet.conditional_formatting.add(
                f"{get_column_letter(first)}{top + 1}:{get_column_letter(last)}{bottom}",
                ColorScaleRule(start_type="num", start_value=0, start_color=HEAT_LOW,
                               end_type="max", end_color=HEAT_HIGH))
    return bottom + 1


def _write_title(sheet, row: int, title: str) -> None:
    from openpyxl.styles import Font

    put_cell(sheet, row, 1, title).font = Font(bold=True, size=12)


def _wrap_text(sheet, wide_from: int, width: int) -> None:
    """Wrapped, top-aligned cells, and wide columns from ``wide_from`` on, for reading quotes."""
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for column in range(wide_from, sheet.max_column + 1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def _summary_sheet(sheet, summary: pd.DataFrame, colours: Mapping[str, str]) -> None:
    _write_block(sheet, summary, 1, colours, heat_by_column=True, number_format="0.0")
    fit_widths(sheet, MAX_WIDTH, minimum=MIN_WIDTH)
    sheet.freeze_panes = "B2"


def _matrix_sheet(sheet, matrix: pd.DataFrame, colours: Mapping[str, str]) -> None:
    _write_block(sheet, matrix, 1, colours)
    fit_widths(sheet, MAX_WIDTH, minimum=MIN_WIDTH)
    sheet.freeze_panes = "B2"


def _attribute_sheet(sheet, blocks: Mapping[str, pd.DataFrame], colours: Mapping[str, str]) -> None:
    """One titled block per attribute, stacked; only the label column is frozen, as headers repeat."""
    if not blocks:
        _write_title(sheet, 1, "No case attributes: pass --cases outputs/pseudonymised/cases.csv")
        return
    row, title_rows = 1, []
    for name, block in blocks.items():
        _write_title(sheet, row, name)
        title_rows.append(row)
        row = _write_block(sheet, block, row + 1, colours) + 1
    fit_widths(sheet, MAX_WIDTH, minimum=MIN_WIDTH, skip_rows=title_rows)
    sheet.freeze_panes = "B1"


def _cooccurrence_sheet(sheet, cooccurrence: pd.DataFrame, jaccard: pd.DataFrame, colours: Mapping[str, str]) -> None:
    _write_title(sheet, 1, COOCCURRENCE_TITLE)
    jaccard_row = _write_block(sheet, cooccurrence, 2, colours) + 1
    _write_title(sheet, jaccard_row, JACCARD_TITLE)
    _write_block(sheet, jaccard, jaccard_row + 1, colours, number_format="0.000")
    fit_widths(sheet, MAX_WIDTH, minimum=MIN_WIDTH, skip_rows=(1, jaccard_row))
    sheet.freeze_panes = "B3"


def _framework_sheet(sheet, framework: pd.DataFrame, colours: Mapping[str, str]) -> None:
    _write_block(sheet, framework, 1, colours)
    fit_widths(sheet, MAX_WIDTH, minimum=MIN_WIDTH)
    _wrap_text(sheet, 2, FRAMEWORK_WIDTH)
    sheet.freeze_panes = "B2"


def _quotes_sheet(sheet, quotes: pd.DataFrame, colours: Mapping[str, str]) -> None:
    _write_block(sheet, quotes, 1, colours)
    fit_widths(sheet, MAX_WIDTH, minimum=MIN_WIDTH)
    _wrap_text(sheet, QUOTE_COLUMNS.index("text") + 1, QUOTE_TEXT_WIDTH)
    sheet.freeze_panes = "A2"
