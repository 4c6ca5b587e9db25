"""Tables of open-ended answers (``.csv``/``.xlsx``) read as transcripts: one turn per row.

A ``text`` column is required. ``document`` groups rows into documents (default: the file
name), ``speaker`` names the respondent, ``id`` becomes the segment id, and every other column
is kept as an attribute of the turn.
"""

from __future__ import annotations

from pathlib import Path

from ..coded import is_blank, read_table
from ..domain import UNKNOWN_SPEAKER, Transcript, Turn
from ..errors import QualcodeError

TEXT, DOCUMENT, SPEAKER, ID = "text", "document", "speaker", "id"
ROW_SEPARATOR = "\n\n"


def read_table_transcripts(path: Path) -> list[Transcript]:
    return [_transcript(document, rows, Path(path)) for document, rows in documents_of(read_table(path), path).items()]


def documents_of(table, path: Path) -> dict[str, list[tuple[int, dict]]]:
    """The rows that have text, by document, as (spreadsheet row number, record); one turn each.

    The ``--keep-format`` copy regroups the table with this same function, so its rows line up
    with the turns.
    """
    if TEXT not in table.columns:
        raise QualcodeError(f"no 'text' column (columns: {', '.join(map(str, table.columns))})", path, 1)
    if ID in table.columns:
        ids = [str(value).strip() for value in table[ID]]
        seen: dict[str, int] = {}
        for row_number, value in enumerate(ids, start=2):
            if value and value in seen:
                raise QualcodeError(f"duplicate id (the same as on row {seen[value]})", path, row_number)
            seen.setdefault(value, row_number)
    groups: dict[str, list[tuple[int, dict]]] = {}
    for row_number, record in enumerate(table.to_dict("records"), start=2):
        if is_blank(record.get(TEXT)):
            continue
        document = str(record.get(DOCUMENT) or "").strip() or Path(path).stem
        groups.setdefault(document, []).append((row_number, record))
    if not groups:
        raise QualcodeError("the table has no text in its 'text' column", path, 2)
    return groups


def _transcript(document: str, rows: list[tuple[int, dict]], path: Path) -> Transcript:
    turns, offset, texts = [], 0, []
    for index, (row_number, record) in enumerate(rows, start=1):
        text = " ".join(str(record[TEXT]).splitlines()).strip()
        attributes = {str(k): str(v) for k, v in record.items() if k not in (TEXT, DOCUMENT, SPEAKER) and not is_blank(v)}
        attributes.setdefault("row", str(row_number))
        speaker = str(record.get(SPEAKER) or "").strip() or UNKNOWN_SPEAKER
        turns.append(Turn(index=index, speaker=speaker, text=text, start=offset, end=offset + len(text),
                          attributes=attributes))
        texts.append(text)
        offset += len(text) + len(ROW_SEPARATOR)
    return Transcript(document=document, text=ROW_SEPARATOR.join(texts), turns=tuple(turns), source=path)
