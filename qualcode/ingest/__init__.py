"""Ingest: turn files into :class:`~qualcode.domain.Transcript` objects.

Each reader maps one file format to the same ``Transcript`` of speaker turns, so no later stage
knows where the text came from. ``READERS`` is the one table of supported formats.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..cases import CASES_FILENAME
from ..config import Settings
from ..domain import Transcript
from ..errors import QualcodeError
from ..fsutil import OUTPUT_MARKER, check_expanded_size, is_within
from .captions import read_captions
from .docx import read_docx
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
    ".txt": read_txt, ".csv": read_table, ".xlsx": read_table, ".docx": read_docx, ".vtt": read_captions,
    ".srt": read_captions}


def discover(source: Path) -> list[Path]:
    """The transcript files of a folder and its subfolders (or one file), sorted by path.

    The register (``participants.csv``) is never a transcript; hidden files and folders are
    skipped, and so are the subfolders of a folder qualcode wrote (its ``original_format/`` copies
    are the same documents again). A symlink is listed wherever it leads: :func:`read_corpus`
    refuses one that leads outside the folder, as a failure of that file.
    """
    source = Path(source)
    if not source.exists():
        raise QualcodeError("no such file or folder", source)
    if source.is_file():
        return [source]
    found = [path for path in _walk(source)
             if path.name not in NOT_TRANSCRIPTS and path.suffix.lower() in READERS
             and (path.is_file() or path.is_symlink())]
    if not found:
        raise QualcodeError(f"no transcripts found (looked for {', '.join(sorted(READERS))})", source)
    return found


def _walk(folder: Path) -> Iterator[Path]:
    own_output = (folder / OUTPUT_MARKER).exists()
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.name.startswith("."):
            continue
        if path.is_dir() and not path.is_symlink():
            if not own_output:
                yield from _walk(path)
        else:
            yield path


def group_of(path: Path, source: Path) -> str:
    """The subfolder of ``source`` that ``path`` is in, as ``a/b`` ("" at the top)."""
    if not Path(source).is_dir():
        return ""
    folder = Path(path).parent.relative_to(source)
    return "" if folder == Path(".") else folder.as_posix()


def read_source(path: Path, settings: Settings) -> list[Transcript]:
    """The transcripts in one file (a table may hold several documents)."""
    reader = READERS.get(Path(path).suffix.lower())
    if reader is None:
        raise QualcodeError(f"unsupported file type {Path(path).suffix!r}", path)
    limits = settings.limits
    try:
        size = Path(path).stat().st_size
    except OSError as error:
        raise QualcodeError(f"cannot read file ({error.strerror})", path) from None
    if size > limits.file_mb * 1e6:
        raise QualcodeError(f"{size / 1e6:,.0f} MB, over the limit of {limits.file_mb:,.0f} MB for one file "
                            "(raise it with QUALCODE_MAX_FILE_MB)", path)
    if Path(path).suffix.lower() in ZIPPED:
        check_expanded_size(Path(path), limits.expanded_mb)
    transcripts = reader(Path(path), settings)
    for transcript in transcripts:
        check_line_length(transcript, limits.line_chars, path)
    return transcripts


ZIPPED = frozenset({".docx", ".xlsx"})


def check_line_length(transcript: Transcript, limit: int, path: Path) -> None:
    """A line longer than ``limit`` is refused with its line number: NER and matching on one
    20 MB line would take minutes and gigabytes, and no transcript has such a line."""
    text, start, line = transcript.text, 0, 1
    while True:  # one find per line: linear, where a regex for "a long line" backtracks on every short one
        newline = text.find("\n", start)
        end = len(text) if newline < 0 else newline
        if end - start > limit:
            raise QualcodeError(f"a line of over {limit:,} characters (raise the limit with "
                                "QUALCODE_MAX_LINE_CHARS); split it into turns or paragraphs", path, line)
        if newline < 0:
            return
        start, line = newline + 1, line + 1


def read_corpus(source: Path, settings: Settings, failures: list[QualcodeError] | None = None) -> list[Transcript]:
    """Every transcript under ``source``, read before any work starts so bad input stops early.

    With a ``failures`` list (``--continue-on-error``), a file that cannot be read is recorded
    there and skipped, so one bad file does not stop a corpus; if no file can be read, it stops.
    """
    transcripts = []
    for path in discover(source):
        try:
            transcripts.extend(_read_inside(path, Path(source), settings))
        except QualcodeError as error:
            if failures is None:
                raise
            failures.append(error)
    if failures and not transcripts:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise QualcodeError(f"no file could be read: {failures[0].message}{more}", source)
    documents = [transcript.document for transcript in transcripts]
    duplicates = sorted({document for document in documents if documents.count(document) > 1})
    if duplicates:
        raise QualcodeError(f"{len(duplicates)} document id(s) used by more than one file or table group: "
                            "rename one of each pair", source)
    return transcripts


def _read_inside(path: Path, source: Path, settings: Settings) -> list[Transcript]:
    """Read one file of ``source``; a symlink that leads out of a source folder is refused, not followed."""
    if source.is_dir() and path.is_symlink() and not is_within(path.resolve(), source.resolve()):
        raise QualcodeError("refusing a symlink that points outside the source folder", path)
    group = group_of(path, source)
    if not group:
        return read_source(path, settings)
    # a subfolder's documents are named by it too, so site_a/01.txt and site_b/01.txt stay apart
    return [dataclasses.replace(transcript, group=group, document=grouped(group, transcript.document))
            for transcript in read_source(path, settings)]


def grouped(group: str, document: str) -> str:
    """A document's id with its subfolder in front (``site_a/2024``, ``01`` -> ``site_a_2024_01``)."""
    return f"{group.replace('/', '_')}_{document}" if group else document


def failure_lines(failures: Sequence[QualcodeError]) -> list[str]:
    """What ``--continue-on-error`` reports: each skipped file with its problem, then the count."""
    if not failures:
        return []
    return [*(f"failed: {error.message}" for error in failures),
            f"{len(failures)} file(s) could not be read and were skipped"]


def encoding_warnings(transcripts: Sequence[Transcript]) -> list[str]:
    """A note per file that was not UTF-8: cp1252 reads almost any bytes, so the researcher should
    check that its accented letters and quotes came out right."""
    sources = dict.fromkeys(t.source for t in transcripts if not t.encoding.startswith("utf-"))
    return [f"{source}: not UTF-8, read as Windows-1252 (cp1252); check its accented letters and quotes"
            for source in sources]
