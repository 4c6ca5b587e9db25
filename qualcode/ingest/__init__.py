"""Ingest: turn files into :class:`~qualcode.domain.Transcript` objects.

Each reader maps one file format to the same ``Transcript`` of speaker turns, so no later stage
knows where the text came from. ``READERS`` is the one table of supported formats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..cases import CASES_FILENAME
from ..config import Settings
from ..domain import Transcript
from ..errors import QualcodeError
from ..fsutil import is_within
from .table import read_table_transcripts
from .text import parse_turns, read_text

REGISTER_FILENAME = "participants.csv"
NOT_TRANSCRIPTS = frozenset({REGISTER_FILENAME, CASES_FILENAME})


def read_txt(path: Path, settings: Settings) -> list[Transcript]:
    text, encoding = read_text(path)
    return [parse_turns(text, path.stem, settings.is_interviewer, source=path, encoding=encoding)]


def read_table(path: Path, settings: Settings) -> list[Transcript]:
    return read_table_transcripts(path)


READERS: dict[str, Callable[[Path, Settings], list[Transcript]]] = {
    ".txt": read_txt, ".csv": read_table, ".xlsx": read_table}


def discover(source: Path) -> list[Path]:
    """The transcript files of a folder (or one file), sorted by name.

    The register (``participants.csv``) is never a transcript, and a symlink that leads outside
    the folder is refused rather than followed.
    """
    source = Path(source)
    if not source.exists():
        raise QualcodeError("no such file or folder", source)
    if source.is_file():
        return [source]
    found = []
    for path in sorted(source.iterdir(), key=lambda p: p.name):
        if path.name in NOT_TRANSCRIPTS or path.name.startswith(".") or path.suffix.lower() not in READERS:
            continue
        if path.is_symlink() and not is_within(path.resolve(), source.resolve()):
            raise QualcodeError("refusing a symlink that points outside the source folder", path)
        if path.is_file():
            found.append(path)
    if not found:
        raise QualcodeError(f"no transcripts found (looked for {', '.join(sorted(READERS))})", source)
    return found


def read_source(path: Path, settings: Settings) -> list[Transcript]:
    """The transcripts in one file (a table may hold several documents)."""
    reader = READERS.get(Path(path).suffix.lower())
    if reader is None:
        raise QualcodeError(f"unsupported file type {Path(path).suffix!r}", path)
    return reader(Path(path), settings)


def read_corpus(source: Path, settings: Settings) -> list[Transcript]:
    """Every transcript under ``source``, read before any work starts so bad input stops early."""
    transcripts = [transcript for path in discover(source) for transcript in read_source(path, settings)]
    documents = [transcript.document for transcript in transcripts]
    duplicates = sorted({document for document in documents if documents.count(document) > 1})
    if duplicates:
        raise QualcodeError(f"duplicate document id(s) {', '.join(duplicates)}: rename one of the files", source)
    return transcripts
