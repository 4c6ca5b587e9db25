"""Typed domain objects shared by every stage.

They are plain frozen dataclasses: stages are pure functions from one to another, and all I/O
lives at the edges (``ingest``, ``export``, ``fsutil``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

INTERVIEWER = "interviewer"
PARTICIPANT = "participant"
UNKNOWN_SPEAKER = "Unknown"


@dataclass(frozen=True)
class Turn:
    """One speaker turn. ``text == transcript.text[start:end]`` always holds."""

    index: int
    speaker: str
    text: str
    start: int
    end: int
    is_interviewer: bool = False
    timestamp: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)

    @property
    def speaker_role(self) -> str:
        return INTERVIEWER if self.is_interviewer else PARTICIPANT


@dataclass(frozen=True)
class Transcript:
    """A document as a sequence of turns over one normalised text (LF newlines, no BOM)."""

    document: str
    text: str
    turns: tuple[Turn, ...]
    source: Path | None = None
    encoding: str = "utf-8"
    group: str = ""  # the subfolder of the source folder the file was in ("site_a/2024"), if any


@dataclass(frozen=True)
class Segment:
    """The unit that gets coded: a turn, a sentence or a paragraph of one turn.

    ``start``/``end`` are character offsets into the transcript file the segment came from, so
    exports (REFI-QDA selections) can point at the exact text.
    """

    segment_id: str
    document: str
    speaker: str
    speaker_role: str
    text: str
    start: int
    end: int
    context: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pattern:
    """A code pattern: a regular expression or a spaCy ``Matcher`` token pattern."""

    regex: str | None = None
    tokens: tuple[Mapping, ...] | None = None

    @property
    def label(self) -> str:
        return f"regex:{self.regex}" if self.regex is not None else f"tokens:{list(self.tokens or ())}"


@dataclass(frozen=True)
class Code:
    """One code (theme) of a codebook; ``line`` is where it starts in the YAML file."""

    id: str
    name: str
    definition: str
    parent: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    patterns: tuple[Pattern, ...] = ()
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    color: str = "#BBBBBB"
    threshold: float | None = None
    line: int = 0

    @property
    def description_text(self) -> str:
        """The prose a similarity model compares segments with."""
        return " ".join((self.name, self.definition, *self.include, *self.examples))


@dataclass(frozen=True)
class Codebook:
    name: str
    version: str
    description: str
    unit: str
    codes: tuple[Code, ...]
    threshold: float = 0.5
    path: Path | None = None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(code.id for code in self.codes)

    def code(self, code_id: str) -> Code:
        for code in self.codes:
            if code.id == code_id:
                return code
        raise KeyError(code_id)

    def children(self, code_id: str) -> tuple[Code, ...]:
        return tuple(code for code in self.codes if code.parent == code_id)

    def descendants(self, code_id: str) -> tuple[str, ...]:
        """Ids of every code below ``code_id`` (the hierarchy is checked acyclic on load)."""
        found: list[str] = []
        for child in self.children(code_id):
            found.append(child.id)
            found.extend(self.descendants(child.id))
        return tuple(found)

    def threshold_for(self, code: Code) -> float:
        return self.threshold if code.threshold is None else code.threshold


@dataclass(frozen=True)
class Evidence:
    """One reason a code applies: its ``kind`` (keyword, pattern, similarity, model; prefixed with
    "question " when read from the interviewer's question), the matched text, and the score."""

    code: str
    kind: str
    text: str
    score: float


@dataclass(frozen=True)
class Coding:
    """One segment coded: every code's score, the codes that apply, the evidence for them, and the
    best-scoring codes as suggestions for the analyst (``(code, score)``, highest first)."""

    segment: Segment
    scores: Mapping[str, float]
    codes: tuple[str, ...]
    evidence: tuple[Evidence, ...] = ()
    suggested: tuple[tuple[str, float], ...] = ()


# -- what pseudonymise hands on: read by the keep-format writer (export), so it lives here ------------

@dataclass(frozen=True)
class PseudonymisedTurn:
    """A turn after replacement. ``replacements`` are (start, end, pseudonym) spans of the original
    turn's text, so a copy in the source format (``--keep-format``) can replace the same spans."""

    speaker: str
    text: str
    timestamp: str | None
    replacements: tuple[tuple[int, int, str], ...] = ()
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass
class PseudonymisedDocument:
    source_name: str
    document: str
    text: str
    speakers: set[str] = field(default_factory=set)
    turns: list[PseudonymisedTurn] = field(default_factory=list)
