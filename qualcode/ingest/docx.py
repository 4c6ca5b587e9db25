"""Word transcripts (.docx), as transcription services deliver them.

Layouts, which may mix in one document:

- paragraphs that start with a speaker label (``Lisa Hammond: ...``, ``[00:01:02] Lisa: ...``,
  ``00:01:02 Lisa: ...``, ``Lisa (00:01:02): ...``), bold or not, read with the plain-text
  reader's own label matcher;
- a speaker name in bold alone on its paragraph (maybe with a timestamp), the turn's text in the
  paragraphs after it;
- tables with speaker and text columns, found by their header row or, without one, as 2-3 columns
  of which one holds only timestamps.

Headers and footers are not part of the document body, so they never reach a turn. The
transcript's text is the turns in the common format. :func:`document_layout` also records which
span of which paragraph each turn's text came from, so the ``--keep-format`` copy can replace
exactly what pseudonymise replaced.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..config import Settings
from ..domain import UNKNOWN_SPEAKER, Transcript
from ..errors import QualcodeError
from .text import TIMESTAMP_RE, match_label
from .turns import TurnDraft, build_transcript

Span = tuple[int, int]

SPEAKER_HEADERS = frozenset({"speaker", "speaker name", "name", "participant", "person"})
TEXT_HEADERS = frozenset({"text", "transcript", "transcription", "content", "dialogue", "speech", "utterance"})
TIME_HEADERS = frozenset({"time", "timestamp", "time stamp", "timecode", "start", "start time"})
HEADING_STYLES = ("Heading", "Title", "Subtitle")
TIME, SPEAKER, TEXT, EMPTY = "time", "speaker", "text", "empty"
NO_DOCUMENT = "not a valid .docx: the zip archive holds no readable Word document"
_ONE_LINE = str.maketrans("\n\r\t\v\f", "     ")  # same length: offsets in the paragraph still hold


def read_docx(path: Path, settings: Settings) -> list[Transcript]:
    layout = document_layout(open_docx(path))
    if not any(turn.text for turn in layout.turns):
        raise QualcodeError("empty document: no text to process", path)
    return [build_transcript(Path(path).stem, layout.turns, settings.is_interviewer, source=Path(path))]


def open_docx(path: Path):
    """The python-docx ``Document`` at ``path``; a file Word could not open either is a QualcodeError."""
    import docx

    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise QualcodeError(f"cannot read file ({error.strerror})", path) from None
    if not data.startswith(b"PK"):
        raise QualcodeError("not a valid .docx: not a zip archive (an old .doc, or another format renamed?)", path)
    if not _intact_zip(data):
        raise QualcodeError("not a valid .docx: the zip archive is truncated or damaged", path)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception:  # python-docx raises many types for a zip that holds no Word document
        raise QualcodeError(NO_DOCUMENT, path) from None
    if getattr(document.element, "body", None) is None:  # a main part that is not a Word document body
        raise QualcodeError(NO_DOCUMENT, path)
    as_seen(document.element.body)
    return document


# -- what a person sees --------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
# Tracked changes: text a reviewer deleted, and the records of formatting changes (each names its author).
_REMOVED = tuple(f"{_W}{tag}" for tag in (
    "del", "moveFrom", "rPrChange", "pPrChange", "sectPrChange", "tblPrChange", "trPrChange", "tcPrChange",
    "tblGridChange", "tblPrExChange", "numberingChange", "moveFromRangeStart", "moveFromRangeEnd",
    "moveToRangeStart", "moveToRangeEnd", "customXmlInsRangeStart", "customXmlInsRangeEnd",
    "customXmlDelRangeStart", "customXmlDelRangeEnd", "customXmlMoveFromRangeStart", "customXmlMoveFromRangeEnd",
    "customXmlMoveToRangeStart", "customXmlMoveToRangeEnd", "sdtPr", "sdtEndPr"))
# Wrappers around text a person reads: tracked insertions, content controls, fields, smart tags.
_UNWRAPPED = tuple(f"{_W}{tag}" for tag in ("ins", "moveTo", "sdt", "sdtContent", "fldSimple", "smartTag",
                                             "customXml", "dir", "bdo"))


def as_seen(body) -> None:
    """Rewrite a document body (in memory) into what a person reading it in Word sees.

    Transcribers leave documents with tracked changes, content controls and text boxes. Read as
    stored, inserted text would be lost, deleted text (which may hold a name) and revision authors
    kept, and the text of content controls and text boxes never pseudonymised. So insertions are
    accepted, deletions and revision records dropped, content controls and fields unwrapped, and
    each text box's paragraphs moved into the body after the paragraph that anchors it (the
    DrawingML copy; its VML fallback twin is dropped). Reader and ``--keep-format`` writer both open
    documents through here, so the copy carries no revision marks, authors or hidden text either.
    """
    for element in [e for e in body.iter(*_REMOVED)]:
        _remove(element)
    for element in reversed([e for e in body.iter(*_UNWRAPPED)]):  # innermost first
        if element.getparent() is not None:
            for child in list(element):
                element.addprevious(child)
            _remove(element)
    _move_text_boxes_into_body(body)


def _move_text_boxes_into_body(body) -> None:
    hosts = [p for p in body.iter(f"{_W}p") if next(p.iter(f"{_W}txbxContent"), None) is not None
             and not any(ancestor.tag == f"{_W}txbxContent" for ancestor in p.iterancestors())]
    for host in hosts:
        content = []
        for fallback in list(host.iter(f"{_MC}Fallback")):  # the VML copy of a DrawingML shape
            _remove(fallback)
        for box in list(host.iter(f"{_W}txbxContent")):
            content += [child for child in box if child.tag in (f"{_W}p", f"{_W}tbl")]
        for graphic in [e for e in host.iter(f"{_W}drawing", f"{_W}pict", f"{_MC}AlternateContent")
                        if next(e.iter(f"{_W}txbxContent"), None) is not None]:
            if graphic.getparent() is not None:
                _remove(graphic)
        for block in reversed(content):
            host.addnext(block)


def _remove(element) -> None:
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)


def _intact_zip(data: bytes) -> bool:
    """Whether every member of the zip reads back with its checksum."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.testzip() is None
    except Exception:  # zipfile and zlib raise many types for a damaged archive
        return False


@dataclass(frozen=True)
class Piece:
    """What one paragraph gave a turn, as spans of ``paragraph.text``: the speaker label that opened
    the turn, content that starts at ``offset`` in the turn's text, or both."""

    paragraph: object
    turn: int
    speaker: Span | None
    content: Span | None
    offset: int


@dataclass(frozen=True)
class Styles:
    """Ids of the document's heading styles and bold character styles.

    Looked up once: python-docx scans every style of the document for each paragraph's or run's
    style, which took 30 s instead of 2 s to read a transcript of 20,000 paragraphs.
    """

    headings: frozenset[str]
    bold: frozenset[str]

    @classmethod
    def of(cls, document) -> "Styles":
        from docx.enum.style import WD_STYLE_TYPE

        styles = list(document.styles)
        return cls(frozenset(s.style_id for s in styles if (s.name or "").startswith(HEADING_STYLES)),
                   frozenset(s.style_id for s in styles if s.type == WD_STYLE_TYPE.CHARACTER and s.font.bold))


@dataclass
class Layout:
    """The turns of a document, and the paragraph pieces they were read from."""

    styles: Styles
    turns: list[TurnDraft] = field(default_factory=list)
    pieces: list[Piece] = field(default_factory=list)
    pending_timestamp: str | None = None  # seen alone (a time cell or paragraph): for the next turn

    def take(self, paragraph, speaker: Span | None = None, content: Span | None = None,
             timestamp: str | None = None) -> None:
        """Record one paragraph: a speaker span opens a turn, a content span adds to the open one."""
        if speaker is not None or not self.turns:
            label = paragraph.text[slice(*speaker)] if speaker is not None else UNKNOWN_SPEAKER
            self.turns.append(TurnDraft(label, timestamp or self.pending_timestamp))
            self.pending_timestamp = None
        offset = 0
        if content is not None:
            offset = self.turns[-1].append(paragraph.text[slice(*content)].translate(_ONE_LINE))
        self.pieces.append(Piece(paragraph, len(self.turns) - 1, speaker, content, offset))


def document_layout(document) -> Layout:
    layout = Layout(Styles.of(document))
    _read_blocks(layout, document.iter_inner_content())
    return layout


def _read_blocks(layout: Layout, blocks: Iterable) -> None:
    from docx.table import Table

    for block in blocks:
        if isinstance(block, Table):
            _read_table(layout, block)
        else:
            _read_paragraph(layout, block)


# -- paragraphs ----------------------------------------------------------------------------------

def _read_paragraph(layout: Layout, paragraph) -> None:
    text = paragraph.text
    if not text.strip():
        return
    if paragraph._p.style in layout.styles.headings:  # a heading is never a speaker, whatever it looks like
        layout.take(paragraph, content=_content_span(text))
        return
    label = _speaker_label(paragraph, layout.styles)
    if label is not None:
        speaker, timestamp, content_start = label
        layout.take(paragraph, speaker=speaker, content=_content_span(text, content_start), timestamp=timestamp)
    elif (time := _timestamp_alone(text)) is not None:
        layout.pending_timestamp = time
    else:
        layout.take(paragraph, content=_content_span(text))


def _speaker_label(paragraph, styles: Styles) -> tuple[Span, str | None, int] | None:
    """(label span, timestamp, where the turn's text starts) when the paragraph opens a turn."""
    text = paragraph.text
    lead = TIMESTAMP_RE.match(text)  # "00:01:02 Lisa: ..." (the label matcher reads bracketed times itself)
    start = lead.end() if lead else 0
    match = match_label(text[start:])
    if match is not None:
        timestamp = (lead.group("time") if lead else None) or match.group("ts_before") or match.group("ts_after")
        return (start + match.start("label"), start + match.end("label")), timestamp, start + match.end()
    return _bold_speaker(paragraph, styles)


def _bold_speaker(paragraph, styles: Styles) -> tuple[Span, str | None, int] | None:
    """A speaker name in bold alone on its paragraph, maybe with a timestamp after it.

    Only alone: a bold word that starts a sentence is emphasis far more often than a speaker.
    """
    text = paragraph.text
    end = _bold_prefix_end(paragraph, styles)
    match = _whole_label(text[:end]) if end else None
    if match is None:
        return None
    after = TIMESTAMP_RE.match(text, end)
    if text[after.end() if after else end:].strip():
        return None
    timestamp = match.group("ts_before") or match.group("ts_after") or (after.group("time") if after else None)
    return match.span("label"), timestamp, len(text)


def _bold_prefix_end(paragraph, styles: Styles) -> int:
    """How many characters of ``paragraph.text`` the leading bold runs hold."""
    from docx.text.run import Run

    end = 0
    for item in paragraph.iter_inner_content():
        if not isinstance(item, Run) or (item.text and not (item.bold or item._r.style in styles.bold)):
            break
        end += len(item.text)
    return end


def _whole_label(text: str) -> re.Match | None:
    """The label match when ``text`` is nothing but a speaker label (its colon optional)."""
    text = text.rstrip().removesuffix(":").rstrip()
    match = match_label(f"{text}:")
    return match if match is not None and match.end() == len(text) + 1 else None


def _timestamp_alone(text: str) -> str | None:
    match = TIMESTAMP_RE.fullmatch(text.strip())
    return match.group("time") if match else None


def _content_span(text: str, start: int = 0) -> Span | None:
    """The span of ``text[start:]`` without surrounding whitespace, or None when there is no text."""
    piece = text[start:]
    left, right = len(piece) - len(piece.lstrip()), len(piece.rstrip())
    return (start + left, start + right) if right > left else None


# -- tables --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Columns:
    """Where a transcript table keeps its parts; ``speaker`` is None when labels are in the text."""

    first_row: int
    time: int | None
    speaker: int | None
    text: int


def _read_table(layout: Layout, table) -> None:
    grid = _grid(table)
    columns = transcript_columns(grid)
    if columns is None:  # another kind of table: its cells are read like the body
        for row in grid:
            for cell in filter(None, row):
                _read_blocks(layout, cell.iter_inner_content())
        return
    for row in grid[columns.first_row:]:
        _read_row(layout, row, columns)


def _read_row(layout: Layout, row: list, columns: Columns) -> None:
    if columns.time is not None and (time := _timestamp_alone(_cell_text(row[columns.time]))):
        layout.pending_timestamp = time
    if columns.speaker is None:  # the labels are in the text cell
        if row[columns.text] is not None:
            _read_blocks(layout, row[columns.text].iter_inner_content())
        return
    if row[columns.speaker] is not None:
        _read_speaker_cell(layout, row[columns.speaker])
    if row[columns.text] is not None:
        for paragraph in row[columns.text].paragraphs:
            if (span := _content_span(paragraph.text)) is not None:
                layout.take(paragraph, content=span)


def _read_speaker_cell(layout: Layout, cell) -> None:
    """The name opens a turn; an empty speaker cell continues the turn above."""
    paragraphs = [paragraph for paragraph in cell.paragraphs if paragraph.text.strip()]
    if not paragraphs:
        return
    name, *rest = paragraphs
    match = _whole_label(name.text)
    if match is not None:
        layout.take(name, speaker=match.span("label"), timestamp=match.group("ts_before") or match.group("ts_after"))
    else:  # a header names the column: any name is the speaker, label-shaped or not
        layout.take(name, speaker=_content_span(name.text.rstrip().removesuffix(":")))
    for paragraph in rest:
        layout.take(paragraph, content=_content_span(paragraph.text))


def _grid(table) -> list[list]:
    """Rows of cells, a merged cell kept only where it first appears (python-docx repeats it)."""
    seen, grid = set(), []
    for row in table.rows:
        cells = []
        for cell in row.cells:
            cells.append(None if cell._tc in seen else cell)
            seen.add(cell._tc)
        grid.append(cells)
    return grid


def _cell_text(cell) -> str:
    return "" if cell is None else " ".join(cell.text.split())


def transcript_columns(grid: list[list]) -> Columns | None:
    """The transcript columns of a table, by its header row or, without one, by what they hold."""
    if not grid or len({len(row) for row in grid}) != 1:
        return None
    header = [_cell_text(cell).casefold().removesuffix(":") for cell in grid[0]]
    speaker, text = _index(header, SPEAKER_HEADERS), _index(header, TEXT_HEADERS)
    if speaker is not None and text is not None:
        return Columns(1, _index(header, TIME_HEADERS), speaker, text)
    return _columns_by_content(grid)


def _columns_by_content(grid: list[list]) -> Columns | None:
    """Without a header: 2-3 columns, one of only timestamps, one of text, maybe one of speaker names."""
    width = len(grid[0])
    kinds = [_kind([_cell_text(row[column]) for row in grid]) for column in range(width)]
    if width not in (2, 3) or kinds.count(TIME) != 1:
        return None
    time = kinds.index(TIME)
    others = [column for column in range(width) if column != time]
    if len(others) == 1:
        return Columns(0, time, None, others[0])
    speakers = [column for column in others if kinds[column] == SPEAKER]
    if not speakers:
        return None
    return Columns(0, time, speakers[0], next(column for column in others if column != speakers[0]))


def _kind(values: list[str]) -> str:
    values = [value for value in values if value]
    if not values:
        return EMPTY
    if all(_timestamp_alone(value) for value in values):
        return TIME
    if all(_whole_label(value) for value in values):
        return SPEAKER
    return TEXT


def _index(header: list[str], names: frozenset[str]) -> int | None:
    return next((column for column, name in enumerate(header) if name in names), None)
