"""Labelled segments: the reviewed codes a learned coder is trained and evaluated on.

A labelled table is a reviewed coded-segments file (the truth is :func:`qualcode.coded.final_codes`:
``review_codes`` where an analyst filled it, ``codes`` elsewhere) or any ``.csv``/``.xlsx`` table
with ``text`` and ``codes`` columns. Rows become :class:`~qualcode.domain.Segment` objects so the
rule layer sees them exactly as ``qualcode code`` does, question context included.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..coded import CODED_SHEET, CODES_COLUMN, FIRST_DATA_ROW, final_codes, is_blank, is_reviewed, read_table
from ..domain import INTERVIEWER, PARTICIPANT, UNKNOWN_SPEAKER, Codebook, Segment
from ..errors import QualcodeError

ID_COLUMNS = ("segment_id", "id")


@dataclass(frozen=True)
class Labelled:
    """Segments and their human codes as a (segments × codebook codes) boolean matrix."""

    segments: tuple[Segment, ...]
    labels: np.ndarray
    code_ids: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.segments)

    def subset(self, rows: Sequence[int]) -> "Labelled":
        return Labelled(tuple(self.segments[row] for row in rows), self.labels[rows], self.code_ids)


def label_matrix(codes: Sequence[Sequence[str]], code_ids: Sequence[str]) -> np.ndarray:
    """``[("a",), ("a", "b")]`` -> one boolean column per code id, in codebook order."""
    matrix = np.array([[code in row for code in code_ids] for row in codes], dtype=bool)
    return matrix.reshape(len(codes), len(code_ids))  # also for no rows


def read_labelled(path: Path, codebook: Codebook) -> Labelled:
    """Read a labelled table; interviewer rows without codes are left out.

    ``qualcode code`` leaves interviewer turns uncoded by default, so an empty interviewer row
    says nothing about which codes are absent; learning from it would teach "never code this".
    Once an analyst has reviewed some rows, only those count: an unreviewed row's codes are the
    rules' own guesses, and scoring the rules against themselves would flatter them.
    """
    table = read_table(path, CODED_SHEET)
    missing = [column for column in ("text", CODES_COLUMN) if column not in table.columns]
    if missing:
        raise QualcodeError(f"not a labelled table: missing column(s) {', '.join(missing)} "
                            "(use a reviewed coded-segments file, or a table with text and codes)", path, 1)
    codes = final_codes(table, codebook.ids, path)
    records = table.to_dict("records")
    id_column = next((column for column in ID_COLUMNS if column in table.columns), None)
    segments = _segments(records, id_column, Path(path))
    reviewed = is_reviewed(table)
    labelled = reviewed if any(reviewed) else [True] * len(reviewed)
    keep = [row for row, segment in enumerate(segments)
            if labelled[row] and segment.text and (segment.speaker_role == PARTICIPANT or codes[row])]
    if not keep:
        raise QualcodeError("the table has no labelled participant text", path, FIRST_DATA_ROW)
    return Labelled(tuple(segments[row] for row in keep), label_matrix([codes[row] for row in keep], codebook.ids),
                    codebook.ids)


def _segments(records: list[dict], id_column: str | None, path: Path) -> list[Segment]:
    """One segment per row, with unique ids (the rule layer caches parses by id); a participant
    row's context is the last interviewer row before it in its document, as in ``segment.py``."""
    segments, seen, questions = [], {}, {}
    for position, record in enumerate(records):
        row = position + FIRST_DATA_ROW
        segment_id = str(record[id_column]).strip() if id_column else ""
        segment_id = segment_id or f"row {row}"
        if segment_id in seen:
            raise QualcodeError(f"duplicate {id_column} {segment_id!r} (first on row {seen[segment_id]})", path, row)
        seen[segment_id] = row
        document = _text(record, "document") or path.stem
        role = INTERVIEWER if _text(record, "speaker_role") == INTERVIEWER else PARTICIPANT
        text = _text(record, "text")
        context = ""
        if role == INTERVIEWER:
            questions[document] = text
        else:
            context = questions.get(document, "")
        segments.append(Segment(segment_id=segment_id, document=document,
                                speaker=_text(record, "speaker") or UNKNOWN_SPEAKER, speaker_role=role,
                                text=text, start=0, end=len(text), context=context))
    return segments


def _text(record: dict, column: str) -> str:
    value = record.get(column)
    return "" if is_blank(value) else str(value).strip()
