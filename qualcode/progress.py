"""Progress bars on stderr for long runs; silent with ``--quiet``."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

import click


@contextmanager
def progress_bar(length: int, label: str, quiet: bool) -> Iterator:
    """A click progress bar on stderr; ``bar.update(n)`` advances it. Hidden when quiet."""
    if quiet:
        yield _Silent()
        return
    with click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True) as bar:
        yield bar


class _Silent:
    def update(self, steps: int) -> None:
        """Swallow progress when quiet."""
