"""``qualcode evaluate``: cross-validated figures, so a team knows how far to trust the suggestions.

K-fold cross-validation with a fixed seed scores three coders on the same folds:

- the plain baseline, TF-IDF of lemmas with one logistic regression per code;
- the rules alone (keywords, patterns, definition similarity);
- rules plus the learned model, the ``qualcode code --model-dir`` coder.

Everything that learns from data, including both TF-IDF vocabularies and IDF weights, is fitted
on the training folds only. Out-of-fold decisions are pooled over the folds and then scored
against the human codes: per code precision, recall, F1 and Cohen's kappa; micro-F1 over every
(segment, code) decision; macro-F1 and mean kappa over the codes the humans used.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..domain import Codebook
from ..progress import progress_bar
from ..reliability import cohen_kappa, mean_defined, render_table
from .labelled import Labelled, label_matrix
from ..nlp import DocCache
from .model import MAX_ITER, SEED, SOLVER, LearnedCoder, lemmas, text_vectorizer

FOLDS = 5
BASELINE, RULES, COMBINED = "TF-IDF + LR (baseline)", "rules", "rules + model"
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
    mean_kappa: float


@dataclass(frozen=True)
class Evaluation:
    folds: int
    segments: int
    systems: tuple[SystemScore, ...]
    model_folds: dict[str, int]  # per code, in how many folds the model (not only the rules) covered it

    def system(self, name: str) -> SystemScore:
        return next(system for system in self.systems if system.name == name)


def precision_recall_f1(true_positives: int, predicted: int, support: int) -> tuple[float, float, float]:
    """0 where undefined, as sklearn's ``zero_division=0``."""
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / support if support else 0.0
    return precision, recall, (2 * true_positives / (predicted + support) if predicted + support else 0.0)


def code_score(code: str, truth: np.ndarray, predicted: np.ndarray) -> CodeScore:
    """One code's figures from two boolean columns: the human decisions and the coder's."""
    hits, guessed, support = int((truth & predicted).sum()), int(predicted.sum()), int(truth.sum())
    return CodeScore(code, support, guessed, *precision_recall_f1(hits, guessed, support),
                     cohen_kappa(truth.tolist(), predicted.tolist()))


def score(name: str, truth: np.ndarray, predicted: np.ndarray, code_ids: Sequence[str]) -> SystemScore:
    """Score one coder's (segments × codes) decisions against the human ones."""
    per_code = tuple(code_score(code, truth[:, j], predicted[:, j]) for j, code in enumerate(code_ids))
    micro = precision_recall_f1(int((truth & predicted).sum()), int(predicted.sum()), int(truth.sum()))
    used = [code for code in per_code if code.support]
    return SystemScore(name, per_code, *micro, mean_defined([code.f1 for code in used]),
                       mean_defined([code.kappa for code in used]))


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


def cross_validate(data: Labelled, codebook: Codebook, nlp, folds: int = FOLDS, hyperparameters: dict | None = None,
                   quiet: bool = True) -> Evaluation:
    """Out-of-fold decisions of the three coders on the same ``folds`` folds, scored."""
    from sklearn.model_selection import KFold

    nlp = DocCache.around(nlp)
    texts = lemmas(nlp, data.segments)
    decisions = {name: np.zeros_like(data.labels) for name in (BASELINE, RULES, COMBINED)}
    model_folds = dict.fromkeys(data.code_ids, 0)
    with progress_bar(folds, "cross-validating", quiet) as bar:
        for train, test in KFold(folds, shuffle=True, random_state=SEED).split(texts):
            held_out, covered = fold_decisions(data, codebook, nlp, texts, train, test, hyperparameters)
            for name, predicted in held_out.items():
                decisions[name][test] = predicted
            for code in covered:
                model_folds[code] += 1
            bar.update(1)
    systems = tuple(score(name, data.labels, predicted, data.code_ids) for name, predicted in decisions.items())
    return Evaluation(folds, len(data), systems, model_folds)


def fold_decisions(data: Labelled, codebook: Codebook, nlp, texts: list[str], train: np.ndarray, test: np.ndarray,
                   hyperparameters: dict | None) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    """Each coder fitted on the ``train`` rows, its decisions on the ``test`` rows, and the model's codes."""
    training, held_out = data.subset(train), data.subset(test)
    model = LearnedCoder(codebook, nlp, **(hyperparameters or {})).fit(training.segments, training.labels)
    rules = model.rules_.predict(held_out.segments)
    combined = model.combine(rules, model.rules_.codable)
    return {BASELINE: baseline_decisions([texts[i] for i in train], training.labels, [texts[i] for i in test]),
            RULES: label_matrix([item.codes for item in rules], data.code_ids),
            COMBINED: label_matrix([item.codes for item in combined], data.code_ids)}, model.codes_


SUMMARY_COLUMNS = (("coder", "text"), ("micro P", "ratio"), ("micro R", "ratio"), ("micro F1", "ratio"),
                   ("macro F1", "ratio"), ("mean kappa", "ratio"))
PER_CODE_COLUMNS = (("code", "text"), ("n", "count"), ("model", "text"), ("baseline F1", "ratio"),
                    ("rules F1", "ratio"), ("P", "ratio"), ("R", "ratio"), ("F1", "ratio"), ("kappa", "ratio"))


def summary_rows(evaluation: Evaluation) -> list[tuple]:
    return [(system.name, system.micro_precision, system.micro_recall, system.micro_f1, system.macro_f1,
             system.mean_kappa) for system in evaluation.systems]


def per_code_rows(evaluation: Evaluation) -> list[tuple]:
    """Baseline and rules F1 beside rules + model precision, recall, F1 and kappa, per code."""
    base, rules, combined = (evaluation.system(name).per_code for name in (BASELINE, RULES, COMBINED))
    return [(c.code, c.support, f"{evaluation.model_folds[c.code]}/{evaluation.folds}", b.f1, r.f1,
             c.precision, c.recall, c.f1, c.kappa) for b, r, c in zip(base, rules, combined)]


def format_evaluation(evaluation: Evaluation) -> str:
    return "\n".join([
        f"{evaluation.folds}-fold cross-validation on {evaluation.segments} labelled segment(s) (seed {SEED})",
        "", *render_table(SUMMARY_COLUMNS, summary_rows(evaluation)), "",
        "per code: n = human codings; model = folds in which the model, not only the rules, covered it;",
        "P, R, F1, kappa = rules + model",
        *render_table(PER_CODE_COLUMNS, per_code_rows(evaluation))])


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
