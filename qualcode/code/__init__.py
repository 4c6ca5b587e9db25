"""Stage 2, code: segments of pseudonymised transcripts (or table rows) coded against a codebook.

``run_code`` is the I/O edge: read and check the codebook and the inputs first, segment, score
every code on every segment in one batched spaCy pass, then write the coded-segments table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..codebook import load_codebook
from ..config import Settings
from ..errors import QualcodeError
from ..ingest import failure_lines, read_corpus
from ..nlp import DocCache, lemma_pipeline
from ..progress import progress_bar
from ..segment import segment_corpus
from ..domain import Coding
from .coder import CodebookCoder


@dataclass(frozen=True)
class CodeSummary:
    segments: int
    coded: int
    out: Path
    failures: Sequence[QualcodeError] = ()

    def __str__(self) -> str:
        return "\n".join([f"coded {self.coded} of {self.segments} segment(s); wrote {self.out}",
                          *failure_lines(self.failures)])


def code_segments(segments, codebook, nlp, threshold=None, code_interviewer=False, quiet=True,
                  model=None) -> list[Coding]:
    """Code zero-shot from the codebook; a fitted ``model`` (:class:`~qualcode.learn.LearnedCoder`)
    decides the codes it learnt."""
    coder = CodebookCoder(codebook, nlp, threshold=threshold, code_interviewer=code_interviewer).fit()
    with progress_bar(len(segments), "coding", quiet) as bar:
        coded = coder.predict(segments, model)
        bar.update(len(segments))
    return coded


def run_code(source: Path, codebook_path: Path, out: Path, unit: str | None, threshold: float | None,
             code_interviewer: bool, settings: Settings, load_model: Callable | None = None,
             continue_on_error: bool = False) -> CodeSummary:
    """The stage end to end; with ``continue_on_error``, unreadable files are skipped and listed.

    ``load_model(codebook, nlp)`` supplies a trained model (``qualcode code --model-dir``); the
    caller names it, so this stage never imports :mod:`qualcode.learn`, which imports it.
    """
    from ..export.coded_workbook import write_coded

    codebook = load_codebook(codebook_path)
    failures: list[QualcodeError] | None = [] if continue_on_error else None
    transcripts = read_corpus(source, settings, failures)
    segments = segment_corpus(transcripts, unit or codebook.unit)
    nlp = DocCache(lemma_pipeline(settings.model))  # rules, question context and model share one parse
    model = None if load_model is None else load_model(codebook, nlp)
    coded = code_segments(segments, codebook, nlp, threshold, code_interviewer, settings.quiet, model)
    path = write_coded(coded, codebook, Path(out))
    return CodeSummary(len(coded), sum(1 for c in coded if c.codes), path, tuple(failures or ()))
