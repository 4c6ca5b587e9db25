"""A coder that learns from reviewed codes: ``qualcode train``, ``code --model-dir``, ``evaluate``.

The loop: ``qualcode code`` suggests codes, analysts review them, ``train`` fits a
:class:`~qualcode.learn.model.LearnedCoder` on the reviewed file, and ``code --model-dir`` lets
it decide the codes it learnt on new transcripts. ``evaluate`` says, by cross-validation on the
same reviewed file and beside plain baselines, how much that is worth before anyone relies on it.

This package imports :mod:`qualcode.code` and :mod:`qualcode.features`; neither imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..codebook import load_codebook
from ..config import Settings
from ..errors import QualcodeError
from ..nlp import lemma_pipeline
from ..features import coded_ids
from .evaluate import FOLDS, WORKBOOK_NAME, Evaluation, cross_validate, format_evaluation, write_evaluation_xlsx
from .labelled import Labelled, read_labelled
from ..nlp import DocCache
from .model import MIN_POSITIVES, LearnedCoder
from .store import load_model, save_model

__all__ = ["Evaluation", "LearnedCoder", "Labelled", "TrainSummary", "cross_validate",
           "format_evaluation", "load_model", "read_labelled", "run_evaluate", "run_train", "save_model"]


@dataclass(frozen=True)
class TrainSummary:
    segments: int
    covered: tuple[str, ...]
    fallback: dict[str, int]  # code -> reviewed examples, for the coded codes the model leaves to the zero-shot rule
    out: Path

    def __str__(self) -> str:
        lines = [f"trained on {self.segments} labelled segment(s): the model covers {len(self.covered)} code(s)"]
        if self.fallback:
            listed = ", ".join(f"{code} ({count})" for code, count in self.fallback.items())
            lines.append(f"{len(self.fallback)} code(s) keep the zero-shot rule (fewer than {MIN_POSITIVES} examples "
                         f"or non-examples): {listed}")
        lines.append(f"wrote {self.out}")
        return "\n".join(lines)


def run_train(labelled_path: Path, codebook_path: Path, model_dir: Path, settings: Settings) -> TrainSummary:
    """The ``qualcode train`` command: read the reviewed codes, fit, save."""
    codebook = load_codebook(codebook_path)
    data = read_labelled(Path(labelled_path), codebook)
    model = LearnedCoder(codebook, lemma_pipeline(settings.model)).fit(data.segments, data.labels)
    examples = {code: int(count) for code, count in zip(codebook.ids, data.labels.sum(axis=0))}
    save_model(model, Path(model_dir), training={"segments": len(data), "examples": examples})
    fallback = {code: examples[code] for code in coded_ids(codebook) if code not in model.codes_}
    return TrainSummary(len(data), model.codes_, fallback, Path(model_dir))


def run_evaluate(labelled_path: Path, codebook_path: Path, settings: Settings, folds: int = FOLDS,
                 model_dir: Path | None = None, out: Path | None = None) -> tuple[Evaluation, Path | None]:
    """The ``qualcode evaluate`` command; ``model_dir`` supplies the hyper-parameters to retrain per fold."""
    codebook = load_codebook(codebook_path)
    data = read_labelled(Path(labelled_path), codebook)
    if not 2 <= folds <= len(data):
        raise QualcodeError(f"cannot cross-validate {len(data)} labelled segment(s) in {folds} folds", labelled_path)
    nlp = DocCache(lemma_pipeline(settings.model))
    hyperparameters = None if model_dir is None else load_model(Path(model_dir), codebook, nlp).hyperparameters()
    evaluation = cross_validate(data, codebook, nlp, folds, hyperparameters, quiet=settings.quiet)
    written = None if out is None else write_evaluation_xlsx(evaluation, Path(out) / WORKBOOK_NAME)
    return evaluation, written
