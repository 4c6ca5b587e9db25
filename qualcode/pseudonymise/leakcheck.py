"""The leak check: no register name or alias may survive in any output.

It reads every file under a folder, its name included, and the XML inside ``.xlsx``, ``.docx``
and ``.qdpx`` zips, and matches every register name, alias and organisation as whole words, ignoring case and
accents. A finding names the file, the line and the register row, never the name
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
from ..letters import LOWER, UPPER
from ..register import Register, fold
from .recognizers import PERSON, DenyListRecognizer


_WORD_BREAK = re.compile(rf"(?<=[{LOWER}])(?=[{UPPER}])|(?<=[{UPPER}])(?=[{UPPER}][{LOWER}])"
                         rf"|(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_SURNAME_PREFIX = re.compile(rf"(?<!\S)(Mc|Mac|De|Di|Da|Le|La|Van|Von|O') (?=[{UPPER}])")  # McDonald, DeSouza
_SEPARATORS = re.compile(r"[\s_\-.#/\\]+")


def file_name_readings(name: str) -> tuple[str, str]:
    """The ways a file or folder name can spell a name, for matching: split at separators only
    (``McDonald notes``), and also at CamelCase and digits (``Rachel Okafor notes v 2`` from
    ``RachelOkafor_notes-v2``). ``_``, ``-``, ``.``, ``#``, slashes and spaces separate words."""
    words = [word for word in _SEPARATORS.split(name) if word]
    split = " ".join(_WORD_BREAK.sub(" ", word) for word in words)
    return " ".join(words), _SURNAME_PREFIX.sub(r"\1", split)


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
    """The first place each register row's names occur in each file (one pass per text).

    Names are matched as the register recognizer matches them (whole words, any case or accent,
    an everyday-word alias only where capitalised), so what pseudonymising leaves is what is checked.
    """
    rows = {}
    for person in register.people:
        for name in (*person.names, person.organisation):
            if name.strip():
                rows.setdefault(fold(" ".join(name.split())), person.row)
    names = DenyListRecognizer.deny_list(rows, PERSON, "leak_check", capitalised_only=register.everyday_words)

    def row_of(text: str, start: int, end: int) -> int:
        return rows.get(fold(" ".join(text[start:end].split())), 0)

    leaks = []
    files = [Path(folder)] if Path(folder).is_file() else sorted(p for p in Path(folder).rglob("*") if p.is_file())
    for path in files:
        for reading in file_name_readings(str(path.relative_to(folder) if path != Path(folder) else path.name)):
            found = next(names.spans(reading), None)
            if found:  # the file's own name, or a folder's on its path
                leaks.append(Leak(str(path), None, row_of(reading, *found)))
                break
        for where, text in _texts(path):
            seen = set()
            for start, end in names.spans(text):
                row = row_of(text, start, end)
                if row not in seen:
                    seen.add(row)
                    leaks.append(Leak(where, text.count("\n", 0, start) + 1, row))
    return leaks


def assert_no_leaks(folder: Path, register: Register) -> None:
    leaks = find_leaks(folder, register)
    if leaks:
        first = leaks[0]
        raise QualcodeError(f"leak check failed: a name from register row {first.register_row} survives "
                            f"({len(leaks)} finding(s) in all)", first.path, first.line)
