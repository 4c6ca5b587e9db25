"""Case attributes: what later stages may know about a participant, keyed by pseudonym only.

``pseudonymise`` writes ``cases.csv`` beside the pseudonymised transcripts: one row per register
person, with their pseudonym and non-identifying attributes (role descriptor, organisation
type). Matrices and REFI-QDA exports join on the pseudonym. Only those generic attributes are
ever read here (an allow-list, not a deny-list), so no other register column can reach an output.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .errors import QualcodeError

CASES_FILENAME = "cases.csv"
CASE_KEY = "pseudonym"
CASE_ATTRIBUTES = ("role_descriptor", "organisation_type")


def read_case_attributes(path: Path) -> dict[str, dict[str, str]]:
    """``{pseudonym: {attribute: value}}`` from ``cases.csv`` or a register with a filled pseudonym column."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if CASE_KEY not in (reader.fieldnames or ()):
                raise QualcodeError(f"no {CASE_KEY!r} column to join cases on", path, 1)
            attributes: dict[str, dict[str, str]] = {}
            for row in reader:
                pseudonym = (row.get(CASE_KEY) or "").strip().strip("[]")
                if pseudonym:
                    attributes[pseudonym] = {column: (row.get(column) or "").strip()
                                             for column in CASE_ATTRIBUTES if column in row}
    except FileNotFoundError:
        raise QualcodeError("no such file", path) from None
    except UnicodeDecodeError:
        raise QualcodeError("unreadable encoding: save the file as UTF-8", path) from None
    return attributes
