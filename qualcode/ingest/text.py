"""Plain-text transcripts: decoding, speaker-label parsing, and the common output format.

The common format is what every stage reads and ``pseudonymise`` writes: one turn per block,
``[hh:mm:ss] Speaker: text``, blocks separated by a blank line. Parsing and formatting live
together so the format has one definition.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from ..domain import UNKNOWN_SPEAKER, Transcript, Turn
from ..errors import QualcodeError
from ..letters import UPPER

_WORD = rf"[{UPPER}][\w'’.-]*"  # a capital in any script: "Łukasz", "Øystein"
# Lower-case name particles, up to two in a row ("van der Berg", "de la Cruz", "d'Aquin").
_PARTICLE = r"(?:van|von|de|der|den|du|da|di|le|la|d'|d’|al|el|bin|ibn)"
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
# A numbered label ("Person 3", "Speaker 2") is what pseudonymise writes for an unregistered speaker
# and what automatic transcribers write: the next stage must read it back as a label.
_NUMBER = r"(?:[ \t]+\d{1,3})?"
LABEL_RE = re.compile(
    rf"^[ \t]*(?:\[(?P<ts_before>{_TIME})\][ \t]*)?"
    rf"(?P<label>P\d{{1,3}}|{_WORD}(?:[ \t]+(?:{_PARTICLE}[ \t]*){{0,2}}{_WORD}){{0,3}}{_NUMBER})"
    rf"(?:[ \t]*\((?P<ts_after>{_TIME})\))?[ \t]*:(?:[ \t]+|$)"
)
MAX_LABEL_CHARS = 40
CHUNK_BYTES = 1 << 20  # read size of the streaming decoder
# A timestamp on its own, bare or in brackets: other readers (.docx) meet it outside a label.
TIMESTAMP_RE = re.compile(rf"[ \t]*[\[(]?(?P<time>{_TIME})[\])]?")


def decode(data: bytes, path: Path | str) -> tuple[str, str]:
    """Decode transcript bytes held in memory, by the rules of :func:`read_text`."""
    return _decode_stream(lambda: iter((data,)), path)


def read_text(path: Path) -> tuple[str, str]:
    """Read a transcript: UTF-8 (BOM optional), else cp1252. Returns (text, encoding).

    The file is decoded chunk by chunk, so a 50 MB transcript never sits in memory as raw bytes
    and text at once. Binary data (NUL bytes), undecodable bytes and empty files are refused
    with the line where the problem is.
    """
    try:
        with open(path, "rb") as handle:
            return _decode_stream(lambda: _chunks(handle), path)
    except OSError as error:
        raise QualcodeError(f"cannot read file ({error.strerror})", path) from None


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    """The file from its start, in chunks: each encoding tried reads it again from the top."""
    handle.seek(0)
    while chunk := handle.read(CHUNK_BYTES):
        yield chunk


class _Undecodable(Exception):
    """Internal: the bytes are not valid in the encoding being tried, first on ``line``."""

    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def _decode_stream(read_chunks: Callable[[], Iterator[bytes]], path: Path | str) -> tuple[str, str]:
    """UTF-16 when the file opens with its byte-order mark (Windows tools save "Unicode" text so);
    else UTF-8 first and, at the first invalid byte, again in cp1252 (which reads almost anything)."""
    head = _head(read_chunks())
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not head.startswith(codecs.BOM_UTF32_LE):
        try:
            return _decode_as("utf-16", read_chunks(), path), "utf-16"
        except _Undecodable as error:
            raise QualcodeError("unreadable encoding: it starts like UTF-16 but is not", path, error.line) from None
    try:
        text = _decode_as("utf-8-sig", read_chunks(), path)
    except _Undecodable as utf8_error:
        try:
            return _decode_as("cp1252", read_chunks(), path), "cp1252"
        except _Undecodable:
            raise QualcodeError("unreadable encoding: neither UTF-8 nor cp1252", path, utf8_error.line) from None
    return text, ("utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8")


def _head(chunks: Iterator[bytes], size: int = 4) -> bytes:
    """The first ``size`` bytes, for byte-order marks (chunks may be tiny)."""
    head = b""
    for chunk in chunks:
        head += chunk[:size - len(head)]
        if len(head) == size:
            break
    return head


def _decode_as(encoding: str, chunks: Iterator[bytes], path: Path | str) -> str:
    """The text in one encoding with LF newlines, decoded incrementally; NUL characters (a binary
    file) and a text of only whitespace are refused. A CR ending a chunk is held back in case an LF
    starts the next."""
    decoder = codecs.getincrementaldecoder(encoding)()
    pieces: list[str] = []
    line, held = 1, ""
    for chunk in chunks:
        decoded = _decode_chunk(decoder, chunk, line)
        if "\x00" in decoded:
            raise QualcodeError("NUL byte found: this looks like a binary file, not a transcript", path,
                                line + decoded.count("\n", 0, decoded.index("\x00")))
        piece = held + decoded
        held = "\r" if piece.endswith("\r") else ""
        pieces.append(normalise_newlines(piece.removesuffix(held)))
        line += decoded.count("\n")
    pieces.append(normalise_newlines(held + _decode_chunk(decoder, b"", line, final=True)))
    if all(piece.isspace() or not piece for piece in pieces):
        raise QualcodeError("empty file: no text to process", path, 1)
    return "".join(pieces)


def _decode_chunk(decoder: codecs.IncrementalDecoder, chunk: bytes, line: int, final: bool = False) -> str:
    """Decode one chunk; ``line`` is the line the chunk starts on, for the error."""
    try:
        return decoder.decode(chunk, final)
    except UnicodeDecodeError as error:  # error.object: bytes held from the last chunk (no LF) + this one
        raise _Undecodable(line + error.object.count(b"\n", 0, error.start)) from None


NOT_SPEAKERS = frozenset("""
note notes nb ps re subject date time duration transcript transcriber page file title location venue
present absent apologies agenda action actions summary recording interview
""".split())


def match_label(line: str) -> re.Match | None:
    """The speaker label opening ``line``, if any. Transcript furniture ("Note:", "Date:") is not a speaker."""
    match = LABEL_RE.match(line)
    if match is None or len(match.group("label")) > MAX_LABEL_CHARS or match.group("label").casefold() in NOT_SPEAKERS:
        return None
    return match


def parse_turns(text: str, document: str, is_interviewer: Callable[[str], bool], source: Path | None = None,
                encoding: str = "utf-8") -> Transcript:
    """Split normalised text into turns; each turn's text is an exact slice of ``text``.

    A line that starts with a speaker label opens a turn; any other line continues the turn
    before it. Text before the first label, or a file with no labels, is a turn by an unknown
    speaker.
    """
    opened: list[list] = []  # [speaker, timestamp, text start, text end]
    for offset, line in _lines(text):
        match = match_label(line)
        content_start = offset + len(line) - len(line.lstrip())
        content_end = offset + len(line.rstrip())
        if match is not None:
            start = offset + match.end()
            opened.append([match.group("label"), match.group("ts_before") or match.group("ts_after"), start,
                           max(start, content_end)])
        elif line.strip():
            if not opened:
                opened.append([UNKNOWN_SPEAKER, None, content_start, content_end])
            elif opened[-1][2] == opened[-1][3]:  # label line had no text: the turn starts here
                opened[-1][2] = content_start
            opened[-1][3] = content_end
    turns = tuple(
        Turn(index=i + 1, speaker=speaker, text=text[start:end], start=start, end=end,
             is_interviewer=is_interviewer(speaker), timestamp=timestamp)
        for i, (speaker, timestamp, start, end) in enumerate(opened)
    )
    return Transcript(document=document, text=text, turns=turns, source=source, encoding=encoding)


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """``(offset, line)`` for each line, as ``text.split("\\n")`` gives them, without a list of them
    all: a 50 MB transcript is not held a second time as a million line strings."""
    start = 0
    while (end := text.find("\n", start)) >= 0:
        yield start, text[start:end]
        start = end + 1
    yield start, text[start:]


def format_turn(speaker: str, text: str, timestamp: str | None = None) -> str:
    prefix = f"[{timestamp}] " if timestamp else ""
    return f"{prefix}{speaker}: {text}"


def format_transcript(turns: list[tuple[str, str, str | None]]) -> str:
    """Render ``(speaker, text, timestamp)`` turns in the common format, ending with a newline."""
    return "\n\n".join(format_turn(speaker, text, timestamp) for speaker, text, timestamp in turns) + "\n"
