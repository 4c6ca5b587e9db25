"""Captions from Teams and Zoom: WebVTT (``.vtt``) and SubRip (``.srt``).

Teams names the speaker in a voice tag (``<v Lisa Hammond>text</v>``); Zoom starts the cue
with a label (``Lisa Hammond: text``), read with the plain-text reader's label matcher. Cue
identifiers, cue settings and ``NOTE``/``STYLE``/``REGION`` blocks are not text.

Consecutive cues of one speaker make one turn, and a cue without a speaker continues the turn
before it, as an unlabelled line does in a ``.txt`` transcript. A turn keeps the start time of
its first cue (``hh:mm:ss``).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..domain import UNKNOWN_SPEAKER, Transcript
from ..errors import QualcodeError
from .text import match_label, read_text
from .turns import TurnDraft, build_transcript

WEBVTT = "WEBVTT"
NOT_CUES = ("NOTE", "STYLE", "REGION")
ARROW = "-->"
_TIMING = re.compile(rf"^\s*(?P<start>\S+)\s+{ARROW}\s+(?P<end>\S+)")
_TIMESTAMP = re.compile(r"(?:(?P<hours>\d+):)?(?P<minutes>[0-5]\d):(?P<seconds>[0-5]\d)[.,]\d{3}")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?[ \t]+(?P<name>[^>]+)>")
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Cue:
    """One caption cue: its identifier and timing line as written, and its text without tags."""

    identifier: str | None
    timing: str
    start: str
    speaker: str | None
    voice: bool  # the speaker came from a voice tag (Teams), not a label (Zoom)
    text: str  # lines joined by "\n"


def read_captions(path: Path, settings: Settings) -> list[Transcript]:
    text, encoding = read_text(path)
    turns, _places = caption_turns(parse_captions(text, path))
    if not any(turn.text for turn in turns):
        raise QualcodeError("no caption text to process", path)
    return [build_transcript(Path(path).stem, turns, settings.is_interviewer, source=Path(path), encoding=encoding)]


def is_webvtt(path: Path) -> bool:
    return Path(path).suffix.lower() == ".vtt"


def parse_captions(text: str, path: Path) -> list[Cue]:
    """The cues of a caption file; a malformed timing line stops with the file and line."""
    blocks = _blocks(text)
    if is_webvtt(path):
        if not blocks or not blocks[0][1][0].startswith(WEBVTT):
            raise QualcodeError(f"not a WebVTT file: the first line must be {WEBVTT}", path, 1)
        blocks = [block for block in blocks[1:] if not block[1][0].startswith(NOT_CUES)]
    return [_cue(line, lines, path) for line, lines in blocks]


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """Runs of non-blank lines, each with the number of its first line."""
    blocks: list[tuple[int, list[str]]] = []
    previous_blank = True
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            previous_blank = True
            continue
        if previous_blank:
            blocks.append((number, []))
        blocks[-1][1].append(line.rstrip())
        previous_blank = False
    return blocks


def _cue(line: int, lines: list[str], path: Path) -> Cue:
    identifier = None
    if ARROW not in lines[0]:  # a cue identifier (an SRT index) before the timing line
        identifier, lines, line = lines[0], lines[1:], line + 1
        if not lines or ARROW not in lines[0]:
            raise QualcodeError(f"expected a cue timing line 'start {ARROW} end'", path, line)
    timing = _TIMING.match(lines[0])
    if timing is None or not all(_TIMESTAMP.fullmatch(timing.group(part)) for part in ("start", "end")):
        raise QualcodeError(f"broken timestamp in the cue timing line (expected hh:mm:ss.mmm {ARROW} hh:mm:ss.mmm)",
                            path, line)
    speaker, voice, text = _speaker_and_text(lines[1:])
    return Cue(identifier, lines[0], _clock(timing.group("start")), speaker, voice, text)


def _clock(timestamp: str) -> str:
    """``hh:mm:ss`` from a cue timestamp, without its milliseconds."""
    match = _TIMESTAMP.fullmatch(timestamp)
    return f"{int(match.group('hours') or 0):02d}:{match.group('minutes')}:{match.group('seconds')}"


def _speaker_and_text(lines: list[str]) -> tuple[str | None, bool, str]:
    raw = "\n".join(lines)
    voice = _VOICE.search(raw)
    text = "\n".join(line.strip() for line in html.unescape(_TAG.sub("", raw)).split("\n") if line.strip())
    if voice is not None:
        return voice.group("name").strip() or None, True, text
    label = match_label(text)
    if label is not None:
        return label.group("label"), False, text[label.end():].lstrip()
    return None, False, text


def caption_turns(cues: list[Cue]) -> tuple[list[TurnDraft], list[tuple[int, int]]]:
    """The turns of a caption file, and where each cue's text went: (turn index, offset in its text).

    A cue's lines join with spaces (same length as the newlines), so a cue's text and its piece
    of the turn have the same offsets.
    """
    turns: list[TurnDraft] = []
    places = []
    for cue in cues:
        if not turns or (cue.speaker is not None and cue.speaker != turns[-1].speaker):
            turns.append(TurnDraft(cue.speaker or UNKNOWN_SPEAKER, cue.start))
        offset = turns[-1].append(cue.text.replace("\n", " "), " ") if cue.text else 0
        places.append((len(turns) - 1, offset))
    return turns, places
