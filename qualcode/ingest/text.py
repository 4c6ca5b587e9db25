"""Plain-text transcripts: decoding, speaker-label parsing, and the common output format.

The common format is what every stage reads and ``pseudonymise`` writes: one turn per block,
``[hh:mm:ss] Speaker: text``, blocks separated by a blank line. Parsing and formatting live
together so the format has one definition.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from ..domain import UNKNOWN_SPEAKER, Transcript, Turn
from ..errors import QualcodeError

_UPPER = "A-ZÀ-ÖØ-Þ"
_WORD = rf"[{_UPPER}][\w'’.-]*"
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


def decode(data: bytes, path: Path | str) -> tuple[str, str]:
    """Decode transcript bytes: UTF-8 (BOM optional), else cp1252. Returns (text, encoding).

    Binary data (NUL bytes) and empty files are refused with the line where the problem is.
    """
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise QualcodeError("NUL byte found: this looks like a binary file, not a transcript", path, line)
    try:
        text, encoding = data.decode("utf-8-sig"), ("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8")
    except UnicodeDecodeError as utf8_error:
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            line = data[: utf8_error.start].count(b"\n") + 1
            raise QualcodeError("unreadable encoding: neither UTF-8 nor cp1252", path, line) from None
    text = normalise_newlines(text)
    if not text.strip():
        raise QualcodeError("empty file: no text to process", path, 1)
    return text, encoding


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: Path) -> tuple[str, str]:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise QualcodeError(f"cannot read file ({error.strerror})", path) from None
    return decode(data, path)


def match_label(line: str) -> re.Match | None:
    match = LABEL_RE.match(line)
    if match is None or len(match.group("label")) > MAX_LABEL_CHARS:
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
    offset = 0
    for line in text.split("\n"):
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
        offset += len(line) + 1
    turns = tuple(
        Turn(index=i + 1, speaker=speaker, text=text[start:end], start=start, end=end,
             is_interviewer=is_interviewer(speaker), timestamp=timestamp)
        for i, (speaker, timestamp, start, end) in enumerate(opened)
    )
    return Transcript(document=document, text=text, turns=turns, source=source, encoding=encoding)


def format_turn(speaker: str, text: str, timestamp: str | None = None) -> str:
    prefix = f"[{timestamp}] " if timestamp else ""
    return f"{prefix}{speaker}: {text}"


def format_transcript(turns: list[tuple[str, str, str | None]]) -> str:
    """Render ``(speaker, text, timestamp)`` turns in the common format, ending with a newline."""
    return "\n\n".join(format_turn(speaker, text, timestamp) for speaker, text, timestamp in turns) + "\n"
