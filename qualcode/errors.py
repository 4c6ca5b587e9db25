"""The one exception type qualcode raises for problems a user can fix.

Every message names the file and, where there is one, the line or row, so the CLI can print a
single line and exit non-zero. Messages must never carry original identifiers: they describe the
problem, not the data.
"""

from __future__ import annotations

from pathlib import Path


class QualcodeError(Exception):
    """A user-facing error: bad input, a missing model, a refused path."""

    def __init__(self, problem: str, path: str | Path | None = None, line: int | None = None):
        self.problem = problem
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        return f"{where}{self.problem}"
