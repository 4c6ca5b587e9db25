"""Transcripts for readers that split turns themselves (.docx, captions).

Such readers know each turn's speaker and text before any transcript text exists. They render the
turns in the common format with :func:`~qualcode.ingest.text.format_transcript`, so the
transcript's text is what ``pseudonymise`` writes, and every turn's offsets slice it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..domain import Transcript, Turn
from .text import format_transcript, format_turn, match_label


@dataclass
class TurnDraft:
    """A turn being assembled from pieces of a document (paragraphs, table cells, caption cues)."""

    speaker: str
    timestamp: str | None = None
    parts: list[str] = field(default_factory=list)  # joined once at the end: a long turn stays linear
    length: int = 0

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def append(self, piece: str, separator: str = "\n") -> int:
        """Add a stripped, single-line piece of text; returns where it starts in the turn's text.

        Pieces join as continuation lines, as in a plain-text transcript, except a piece that would
        read as a speaker label once the common format is parsed again: that one joins with a space,
        so the written ``.txt`` keeps the turns this reader found.
        """
        if self.parts:
            if separator == "\n" and match_label(piece):
                separator = " "
            self.parts.append(separator)
            self.length += len(separator)
        self.parts.append(piece)
        self.length += len(piece)
        return self.length - len(piece)


def build_transcript(document: str, drafts: Sequence[TurnDraft], is_interviewer: Callable[[str], bool],
                     source: Path | None = None, encoding: str = "utf-8") -> Transcript:
    """A transcript whose text is ``drafts`` in the common format, with exact turn offsets."""
    rows = [(draft.speaker, draft.text, draft.timestamp) for draft in drafts]
    text = format_transcript(rows)
    turns, offset = [], 0
    for index, (speaker, body, timestamp) in enumerate(rows, start=1):
        block = format_turn(speaker, body, timestamp)
        end = text.index(block, offset) + len(block)  # a turn's text ends its block
        turns.append(Turn(index=index, speaker=speaker, text=body, start=end - len(body), end=end,
                          is_interviewer=is_interviewer(speaker), timestamp=timestamp))
        offset = end
    return Transcript(document=document, text=text, turns=tuple(turns), source=source, encoding=encoding)
