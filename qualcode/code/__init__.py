"""Stage 2, code: segments of pseudonymised transcripts (or table rows) coded against a codebook.

``run_code`` is the I/O edge: read and check the codebook and the inputs first, segment, score
every code on every segment in one batched spaCy pass, then write the coded-segments table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..codebook import load_codebook
from ..config import Settings
from ..ingest import read_corpus
from ..nlp import lemma_pipeline
from ..progress import progress_bar
from ..segment import segment_corpus
from .coder import CodebookCoder, CodedSegment


@dataclass(frozen=True)
class CodeSummary:
    segments: int
    coded: int
    out: Path

    def __str__(self) -> str:
        return f"coded {self.coded} of {self.segments} segment(s); wrote {self.out}"


def code_segments(segments, codebook, nlp, threshold=None, code_interviewer=False, quiet=True) -> list[CodedSegment]:
    coder = CodebookCoder(codebook, nlp, threshold=threshold, code_interviewer=code_interviewer)
    with progress_bar(len(segments), "coding", quiet) as bar:
        coder.fit(segments)
        bar.update(len(segments))
    return coder.predict(segments)


def run_code(source: Path, codebook_path: Path, out: Path, unit: str | None, threshold: float | None,
             code_interviewer: bool, settings: Settings) -> CodeSummary:
    from ..export.coded_workbook import write_coded

    codebook = load_codebook(codebook_path)
    transcripts = read_corpus(source, settings)
    segments = segment_corpus(transcripts, unit or codebook.unit)
    nlp = lemma_pipeline(settings.model)
    coded = code_segments(segments, codebook, nlp, threshold, code_interviewer, settings.quiet)
    path = write_coded(coded, codebook, Path(out))
    return CodeSummary(len(coded), sum(1 for c in coded if c.codes), path)
