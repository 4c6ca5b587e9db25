"""``pseudonymise --keep-format``: a pseudonymised copy of each input in its own format.

Researchers often need a document back as it came: a Word transcript to share, a survey table to
open in a spreadsheet. Each writer re-reads its source with the reader's own layout, so it knows
which span of which paragraph, cue or cell each turn's text came from, and replaces exactly the
spans pseudonymise replaced, with the same pseudonyms. What no reader analyses is left out rather
than copied unchecked: Word headers, footers, author properties and thumbnail, WebVTT header text
and ``NOTE``/``STYLE``/``REGION`` blocks, table rows without text. A ``.txt`` input needs no
copy: the common ``.txt`` is one. The copies go to ``original_format/`` in the output folder.
"""

from __future__ import annotations

import html
import io
import itertools
import re
from copy import deepcopy
from pathlib import Path
from typing import Callable, Iterable, Sequence
from zipfile import ZipFile

from ..coded import is_blank
from ..domain import PseudonymisedDocument, PseudonymisedTurn, Transcript
from ..errors import QualcodeError
from ..fsutil import csv_text, deterministic_zip, write_bytes
from ..ingest import grouped
from ..ingest.captions import WEBVTT, caption_turns, is_webvtt, parse_captions
from ..ingest.docx import document_layout, open_docx
from ..ingest.table import DOCUMENT, SPEAKER, TEXT, documents_of
from ..ingest.text import read_text
from .xlsx import new_workbook, write_table, xlsx_bytes

Edit = tuple[int, int, str]  # replace text[start:end] with the string
KEEP_FORMAT_DIR = "original_format"
# Extended properties Word fills in from the author's account: they can name a person or employer.
_APP_PROPERTIES = "docProps/app.xml"
_AUTHOR_ELEMENTS = re.compile(rb"<(Company|Manager)>[^<]*</\1>")
_CORE_PROPERTIES = ("author", "last_modified_by", "title", "subject", "keywords", "comments", "category")


def write_copies(folder: Path, transcripts: Sequence[Transcript], documents: Sequence[PseudonymisedDocument]) -> None:
    """Write the copy of each transcript whose source is not a ``.txt``, in ``folder/original_format``.

    A copy is named like its ``.txt``, after the document id, so a file name that identifies
    someone is replaced here too. The copies sit one folder down because ``qualcode code`` reads
    every supported file of the output folder, and would meet each document twice.
    """
    for transcript, document in zip(transcripts, documents):
        suffix = transcript.source.suffix.lower() if transcript.source else ""
        if suffix in WRITERS:
            target = Path(folder) / KEEP_FORMAT_DIR / f"{document.document}{suffix}"
            write_bytes(target, WRITERS[suffix](transcript, document))


# -- shared: spans of a turn's text --------------------------------------------------------------

def edits_within(replacements: Iterable[Edit], start: int, end: int) -> list[Edit]:
    """A turn's replacements that touch its text's ``[start, end)``, relative to ``start``.

    A replacement that began in an earlier piece was written there; here it only removes the
    rest of its original text.
    """
    return [(max(s, start) - start, min(e, end) - start, new if s >= start else "")
            for s, e, new in replacements if s < end and e > start]


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


# -- .docx ---------------------------------------------------------------------------------------

def docx_copy(transcript: Transcript, document: PseudonymisedDocument) -> bytes:
    word = open_docx(transcript.source)
    for piece in document_layout(word).pieces:
        turn = document.turns[piece.turn]
        edits = []
        if piece.speaker is not None and piece.paragraph.text[slice(*piece.speaker)] != turn.speaker:
            edits.append((*piece.speaker, turn.speaker))
        if piece.content is not None:
            start, end = piece.content
            edits += [(start + s, start + e, new) for s, e, new in
                      edits_within(turn.replacements, piece.offset, piece.offset + end - start)]
        if edits:
            rewrite_paragraph(piece.paragraph, edits)
    _drop_unread_parts(word)
    raw = io.BytesIO()
    word.save(raw)
    with ZipFile(raw) as archive:  # python-docx stamps each entry with the clock: same input, same bytes
        return deterministic_zip([(entry.filename, _without_author_elements(entry.filename, archive.read(entry)))
                                  for entry in archive.infolist()])


def rewrite_paragraph(paragraph, edits: Sequence[Edit]) -> None:
    """Apply ``edits`` to the paragraph's text and rebuild its runs from the result.

    Unchanged text keeps its run's formatting and a replacement takes that of the run its span
    starts in, so a name split across runs is replaced whole. Other inline content goes with the
    old runs: a hyperlink's target may be the very address that was replaced.
    """
    from docx.oxml.ns import qn

    text = paragraph.text
    formats = [run._r.rPr for run in _runs(paragraph) for _ in run.text]
    characters: list[tuple[str, object]] = []
    position = 0
    for start, end, new in sorted(edits):
        characters += zip(text[position:start], formats[position:start])
        characters += [(character, formats[min(start, len(formats) - 1)]) for character in new]
        position = end
    characters += zip(text[position:], formats[position:])
    for child in list(paragraph._p):
        if child.tag != qn("w:pPr"):
            paragraph._p.remove(child)
    for run_format, group in itertools.groupby(characters, key=lambda pair: pair[1]):
        run = paragraph.add_run("".join(character for character, _ in group))
        if run_format is not None:
            run._r.insert(0, deepcopy(run_format))


def _runs(paragraph):
    from docx.text.hyperlink import Hyperlink

    for item in paragraph.iter_inner_content():
        yield from (item.runs if isinstance(item, Hyperlink) else [item])


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_UNREAD_RELATIONSHIPS = ("/comments", "/commentsExtended", "/commentsIds", "/commentsExtensible", "/people",
                         "/footnotes", "/endnotes", "/customXml", "/custom-properties", "/thumbnail")
_UNREAD_MARKS = ("commentRangeStart", "commentRangeEnd", "commentReference", "footnoteReference",
                 "endnoteReference")


def _drop_unread_parts(word) -> None:
    """Headers, footers, comments, footnotes, endnotes, custom XML, the author's properties, link
    targets and the thumbnail (a picture of the first page): nothing analysed them, so none may
    reach the copy. The marks in the text that point at dropped parts go too."""
    for element in [e for mark in _UNREAD_MARKS for e in word.element.body.iter(f"{_W}{mark}")]:
        element.getparent().remove(element)
    for rels in (word.part.package.rels, word.part.rels):
        for rId in [rId for rId, rel in rels.items() if rel.reltype.endswith(_UNREAD_RELATIONSHIPS)]:
            del rels[rId]
        for rel in rels.values():
            if rel.is_external:
                rel._target = "#"  # a mailto: or URL target may name someone; the link text stays
    for section in word.sections:
        for part in (section.header, section.footer, section.first_page_header, section.first_page_footer,
                     section.even_page_header, section.even_page_footer):
            part.is_linked_to_previous = True  # drops this section's own definition
    for name in _CORE_PROPERTIES:
        setattr(word.core_properties, name, "")


def _without_author_elements(name: str, data: bytes) -> bytes:
    return _AUTHOR_ELEMENTS.sub(b"", data) if name == _APP_PROPERTIES else data


# -- .vtt and .srt -------------------------------------------------------------------------------

_MACHINE_ID = re.compile(r"^(?=[^\n]*\d)[0-9A-Fa-f/-]+$")  # "12", Teams' "3f1b6a2e-9c4d/11-0"


def captions_copy(transcript: Transcript, document: PseudonymisedDocument) -> bytes:
    """The cues with their text and speakers replaced; identifiers and timing lines as they were."""
    text, _encoding = read_text(transcript.source)
    cues = parse_captions(text, transcript.source)
    webvtt = is_webvtt(transcript.source)
    blocks = [WEBVTT] if webvtt else []
    for cue, (index, offset) in zip(cues, caption_turns(cues)[1]):
        turn = document.turns[index]
        body = apply_edits(cue.text, edits_within(turn.replacements, offset, offset + len(cue.text)))
        if webvtt:
            body = html.escape(body, quote=False)
        if cue.speaker is not None and cue.voice:
            body = f"<v {html.escape(turn.speaker, quote=False)}>{body}</v>"
        elif cue.speaker is not None:
            body = f"{turn.speaker}: {body}"
        identifier = cue.identifier if _MACHINE_ID.match(cue.identifier or "") else ""  # free text may name someone
        blocks.append("\n".join(line for line in (identifier, cue.timing, body) if line))
    return ("\n\n".join(blocks) + "\n").encode("utf-8")


# -- .csv and .xlsx ------------------------------------------------------------------------------

def table_rows(transcript: Transcript, document: PseudonymisedDocument) -> tuple[list[str], list[list[str]]]:
    """The columns of the source table and this document's rows, every cell pseudonymised."""
    from ..coded import read_table

    table = read_table(transcript.source)
    records = documents_of(table, transcript.source)[transcript.document.removeprefix(grouped(transcript.group, ""))]
    rows = [[_cell(column, value, turn, document) for column, value in record.items()]
            for (_row, record), turn in zip(records, document.turns)]
    return list(table.columns), rows


def _cell(column: str, value: str, turn: PseudonymisedTurn, document: PseudonymisedDocument) -> str:
    """A cell as pseudonymise left it; an empty cell stays empty (the reader filled in a speaker)."""
    if is_blank(value):
        return value
    if column == TEXT:
        return turn.text
    if column == SPEAKER:
        return turn.speaker
    if column == DOCUMENT:
        return document.document
    if column not in turn.attributes:  # fail closed: never copy a cell nothing analysed
        raise QualcodeError("a table cell was not pseudonymised, so no copy of the table was written",
                            document.source_name)
    return turn.attributes[column]


def csv_copy(transcript: Transcript, document: PseudonymisedDocument) -> bytes:
    return csv_text(*table_rows(transcript, document)).encode("utf-8")


def xlsx_copy(transcript: Transcript, document: PseudonymisedDocument) -> bytes:
    book = new_workbook("Sheet1")
    write_table(book.active, *table_rows(transcript, document))
    return xlsx_bytes(book)


WRITERS: dict[str, Callable[[Transcript, PseudonymisedDocument], bytes]] = {
    ".docx": docx_copy, ".vtt": captions_copy, ".srt": captions_copy, ".csv": csv_copy, ".xlsx": xlsx_copy}
