"""Ingest: turn files into :class:`~qualcode.domain.Transcript` objects.

Each reader maps one file format to the same ``Transcript`` of speaker turns, so no later stage
knows where the text came from. ``READERS`` is the one table of supported formats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..config import Settings
from ..domain import Transcript
from ..errors import QualcodeError
from ..fsutil import is_within
from .text import parse_turns, read_text

REGISTER_FILENAME = "participants.csv"


def read_txt(path: Path, settings: Settings) -> Transcript:
    text, encoding = read_text(path)
    return parse_turns(text, path.stem, settings.is_interviewer, source=path, encoding=encoding)


READERS: dict[str, Callable[[Path, Settings], Transcript]] = {".txt": read_txt}


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
        if path.name == REGISTER_FILENAME or path.name.startswith(".") or path.suffix.lower() not in READERS:
            continue
        if path.is_symlink() and not is_within(path.resolve(), source.resolve()):
            raise QualcodeError("refusing a symlink that points outside the source folder", path)
        if path.is_file():
            found.append(path)
    if not found:
        raise QualcodeError(f"no transcripts found (looked for {', '.join(sorted(READERS))})", source)
    return found


def read_transcript(path: Path, settings: Settings) -> Transcript:
    reader = READERS.get(Path(path).suffix.lower())
    if reader is None:
        raise QualcodeError(f"unsupported file type {Path(path).suffix!r}", path)
    return reader(Path(path), settings)
