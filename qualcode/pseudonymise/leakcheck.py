"""The leak check: no register name or alias may survive in any output.

It reads every file under a folder, its name included, and the XML inside ``.xlsx``, ``.docx``
and ``.qdpx`` zips, and matches every register name, alias and organisation case-insensitively
as whole words. A finding names the file, the line and the register row, never the name
itself: the check's own message must not leak what it found.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Iterator

from ..errors import QualcodeError
from ..register import Register
from .recognizers import trie_regex


@dataclass(frozen=True)
class Leak:
    path: str
    line: int | None  # None: the file's name
    register_row: int


def _texts(path: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for a file, or for each member of a zip container."""
    data = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in sorted(archive.namelist()):
                yield f"{path}!{member}", unescape(archive.read(member).decode("utf-8", "replace"))
    else:
        yield str(path), data.decode("utf-8", "replace")


def find_leaks(folder: Path, register: Register) -> list[Leak]:
    """The first place each register row's names occur in each file (one pass per text)."""
    rows = {}
    for person in register.people:
        for name in (*person.names, person.organisation):
            if name.strip():
                rows.setdefault(" ".join(name.split()).casefold(), person.row)
    pattern = re.compile(rf"(?<!\w)(?:{trie_regex(rows, fold_case=True)})(?!\w)", re.IGNORECASE)
    leaks = []
    files = [Path(folder)] if Path(folder).is_file() else sorted(p for p in Path(folder).rglob("*") if p.is_file())
    for path in files:
        readable_name = re.sub(r"[_\-.]+", " ", str(path.relative_to(folder) if path != Path(folder) else path.name))
        match = pattern.search(readable_name)
        if match:  # the file's own name
            leaks.append(Leak(str(path), None, rows.get(" ".join(match.group().split()).casefold(), 0)))
        for where, text in _texts(path):
            seen = set()
            for match in pattern.finditer(text):
                row = rows.get(" ".join(match.group().split()).casefold(), 0)  # 0: a case-folding corner
                if row not in seen:
                    seen.add(row)
                    leaks.append(Leak(where, text.count("\n", 0, match.start()) + 1, row))
    return leaks


def assert_no_leaks(folder: Path, register: Register) -> None:
    leaks = find_leaks(folder, register)
    if leaks:
        first = leaks[0]
        raise QualcodeError(f"leak check failed: a name from register row {first.register_row} survives "
                            f"({len(leaks)} finding(s) in all)", first.path, first.line)
