"""``qualcode evaluate``: cross-validated figures, so a team knows whether to trust the coder.

K-fold cross-validation with a fixed seed scores, on the same folds and in the same run:

- qualcode trained: :class:`~qualcode.learn.model.LearnedCoder` fitted on the training folds,
  applied through :meth:`~qualcode.code.coder.CodebookCoder.predict` as ``code --model-dir`` does;
- qualcode zero-shot: the codebook alone (it learns nothing, so folds do not matter);
- TF-IDF + logistic regression: the plain supervised baseline, one default regression per code;
- TF-IDF cosine: each segment gets the code whose definition is closest (a plain zero-shot baseline);
- every code everywhere: what recall alone is worth.

Everything that learns from data is fitted on the training folds only. Out-of-fold decisions are
pooled over the folds and scored with ``sklearn.metrics`` against the human codes: per code
precision, recall, F1 and Cohen's kappa; micro precision, recall and F1 over every (segment, code)
decision; macro-F1 over the codes the humans used.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..code.coder import CodebookCoder
from ..domain import Codebook
from ..features import coded_ids
from ..nlp import DocCache
from ..progress import progress_bar
from ..reliability import render_table
from .labelled import Labelled, label_matrix
from .model import MAX_ITER, SEED, SOLVER, LearnedCoder, lemmas, text_vectorizer

FOLDS = 5
TRAINED, ZERO_SHOT = "qualcode trained", "qualcode zero-shot"
BASELINE, COSINE, EVERYWHERE = "TF-IDF + LR", "TF-IDF cosine", "every code everywhere"
SYSTEMS = (TRAINED, ZERO_SHOT, BASELINE, COSINE, EVERYWHERE)
WORKBOOK_NAME = "evaluation.xlsx"


@dataclass(frozen=True)
class CodeScore:
    code: str
    support: int  # segments the humans gave the code
    predicted: int
    precision: float
    recall: float
    f1: float
    kappa: float


@dataclass(frozen=True)
class SystemScore:
    name: str
    per_code: tuple[CodeScore, ...]
    micro_precision: float
    micro_recall: float
    micro_f1: float
    macro_f1: float


@dataclass(frozen=True)
class Evaluation:
    folds: int
    segments: int
    systems: tuple[SystemScore, ...]
    model_folds: dict[str, int]  # per code, in how many folds the model (not the zero-shot rule) decided it

    def system(self, name: str) -> SystemScore:
        return next(system for system in self.systems if system.name == name)

    @property
    def not_learnt(self) -> tuple[str, ...]:
        """Codes the model never learnt (too few labelled segments): they keep the zero-shot rule."""
        return tuple(code for code, folds in self.model_folds.items() if folds == 0)


def score(name: str, truth: np.ndarray, predicted: np.ndarray, code_ids: Sequence[str]) -> SystemScore:
    """Score one coder's (segments × codes) decisions against the human ones, with sklearn.metrics."""
    from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support

    truth, predicted = np.asarray(truth, dtype=int), np.asarray(predicted, dtype=int)
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, average=None,
                                                                     zero_division=0)
    with warnings.catch_warnings():  # a constant column has no kappa: NaN, shown as empty
        warnings.simplefilter("ignore", RuntimeWarning)
        kappas = [cohen_kappa_score(truth[:, j], predicted[:, j]) if len(set(truth[:, j]) | set(predicted[:, j])) > 1
                  else math.nan for j in range(len(code_ids))]
    per_code = tuple(CodeScore(code, int(support[j]), int(predicted[:, j].sum()), float(precision[j]),
                               float(recall[j]), float(f1[j]), float(kappas[j])) for j, code in enumerate(code_ids))
    micro = precision_recall_fscore_support(truth, predicted, average="micro", zero_division=0)[:3]
    used = [j for j in range(len(code_ids)) if support[j]]
    macro = precision_recall_fscore_support(truth[:, used], predicted[:, used], average="macro",
                                            zero_division=0)[2] if used else math.nan
    return SystemScore(name, per_code, *map(float, micro), float(macro))


def baseline():
    """Plain TF-IDF and one default logistic regression per code: the reference to beat."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline

    return make_pipeline(text_vectorizer(),
                         OneVsRestClassifier(LogisticRegression(solver=SOLVER, max_iter=MAX_ITER)))


def baseline_decisions(train_texts: list[str], train_labels: np.ndarray, test_texts: list[str]) -> np.ndarray:
    with warnings.catch_warnings():  # a code absent from the training folds is predicted absent: expected
        warnings.filterwarnings("ignore", message="Label .* is present in all training examples")
        return baseline().fit(train_texts, train_labels).predict(test_texts).astype(bool)


def cosine_decisions(codebook: Codebook, texts: Sequence[str]) -> np.ndarray:
    """Plain TF-IDF (fitted on the definitions and the texts) and each text's closest definition."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    definitions = [f"{code.name} {code.definition}" for code in codebook.codes]
    vectorizer = TfidfVectorizer(stop_words="english").fit([*definitions, *texts])
    cosine = (vectorizer.transform(texts) @ vectorizer.transform(definitions).T).toarray()
    decisions = np.zeros(cosine.shape, dtype=bool)
    decisions[np.arange(len(texts)), cosine.argmax(axis=1)] = cosine.max(axis=1) > 0
    return decisions


def cross_validate(data: Labelled, codebook: Codebook, nlp, folds: int = FOLDS, hyperparameters: dict | None = None,
                   quiet: bool = True) -> Evaluation:
    """Out-of-fold decisions of every coder on the same ``folds`` folds, scored."""
    from sklearn.model_selection import KFold

    nlp = DocCache.around(nlp)
    texts = lemmas(nlp, data.segments)
    coder = CodebookCoder(codebook, nlp, code_interviewer=True).fit()  # every labelled segment is scored
    zero_shot = label_matrix([item.codes for item in coder.predict(data.segments)], data.code_ids)
    decisions = {TRAINED: np.zeros_like(data.labels), ZERO_SHOT: zero_shot, BASELINE: np.zeros_like(data.labels),
                 COSINE: cosine_decisions(codebook, [s.text for s in data.segments]),
                 EVERYWHERE: np.tile(np.isin(data.code_ids, coded_ids(codebook)), (len(data), 1))}
    model_folds = dict.fromkeys(data.code_ids, 0)
    with progress_bar(folds, "cross-validating", quiet) as bar:
        for train, test in KFold(folds, shuffle=True, random_state=SEED).split(texts):
            training, held_out = data.subset(train), data.subset(test)
            model = LearnedCoder(codebook, nlp, **(hyperparameters or {})).fit(training.segments, training.labels)
            coded = coder.predict(held_out.segments, model)
            decisions[TRAINED][test] = label_matrix([item.codes for item in coded], data.code_ids)
            decisions[BASELINE][test] = baseline_decisions([texts[i] for i in train], training.labels,
                                                           [texts[i] for i in test])
            for code in model.codes_:
                model_folds[code] += 1
            bar.update(1)
    systems = tuple(score(name, data.labels, decisions[name], data.code_ids) for name in SYSTEMS)
    return Evaluation(folds, len(data), systems, model_folds)


SUMMARY_COLUMNS = (("coder", "text"), ("micro P", "ratio"), ("micro R", "ratio"), ("micro F1", "ratio"),
                   ("macro F1", "ratio"))
PER_CODE_COLUMNS = (("code", "text"), ("n", "count"), ("model", "text"), ("P", "ratio"), ("R", "ratio"),
                    ("F1", "ratio"), ("kappa", "ratio"), ("zero-shot F1", "ratio"), ("TF-IDF+LR F1", "ratio"))


def summary_rows(evaluation: Evaluation) -> list[tuple]:
    return [(system.name, system.micro_precision, system.micro_recall, system.micro_f1, system.macro_f1)
            for system in evaluation.systems]


def per_code_rows(evaluation: Evaluation) -> list[tuple]:
    """The trained coder's precision, recall, F1 and kappa per code, beside zero-shot and baseline F1."""
    trained, zero, base = (evaluation.system(name).per_code for name in (TRAINED, ZERO_SHOT, BASELINE))
    return [(c.code, c.support, f"{evaluation.model_folds[c.code]}/{evaluation.folds}", c.precision, c.recall, c.f1,
             c.kappa, z.f1, b.f1) for c, z, b in zip(trained, zero, base)]


def format_evaluation(evaluation: Evaluation) -> str:
    lines = [f"{evaluation.folds}-fold cross-validation on {evaluation.segments} labelled segment(s) (seed {SEED})",
             "", *render_table(SUMMARY_COLUMNS, summary_rows(evaluation)), "",
             "per code: n = human codings; model = folds in which the model decided it (else the zero-shot rule);",
             "P, R, F1, kappa = qualcode trained",
             *render_table(PER_CODE_COLUMNS, per_code_rows(evaluation))]
    if evaluation.not_learnt:
        lines += ["", f"{len(evaluation.not_learnt)} code(s) too rare to learn keep the zero-shot rule: "
                  + ", ".join(evaluation.not_learnt)]
    return "\n".join(lines)


def write_evaluation_xlsx(evaluation: Evaluation, path: Path) -> Path:
    """A ``summary`` sheet and a ``per_code`` sheet with every coder's figures for every code."""
    from ..export.xlsx import new_workbook, save_workbook, write_table

    def cells(row):  # an undefined figure is an empty cell: Excel cannot read NaN
        return [None if isinstance(value, float) and math.isnan(value) else value for value in row]

    book = new_workbook("summary")
    write_table(book.active, [name for name, _ in SUMMARY_COLUMNS], map(cells, summary_rows(evaluation)))
    write_table(book.create_sheet("per_code"),
                ["code", "coder", "n", "predicted", "precision", "recall", "F1", "kappa", "model folds"],
                (cells([code.code, system.name, code.support, code.predicted, code.precision, code.recall, code.f1,
                        code.kappa, evaluation.model_folds[code.code]])
                 for system in evaluation.systems for code in system.per_code))
    return save_workbook(book, path)
