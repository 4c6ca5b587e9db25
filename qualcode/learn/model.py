"""The learned coder: the rule layer's scores plus the words of the text, weighed from reviewed codes.

For each code with enough reviewed examples, a logistic regression (balanced class weights, as
most codes are rare) reads two blocks of features of a segment:

- the TF-IDF of its content lemmas, so it can learn the words analysts actually code on;
- the rule layer's view of it (:class:`~qualcode.code.coder.CodebookCoder`): the code's own rule
  score, definition-similarity cosine and combined score, standardised. These carry the
  codebook's own words, which is what lifts a small training set above plain TF-IDF. Other
  codes' scores are left out: three more weights per other code, learnt from a few dozen
  examples, cost more than they told (5-fold micro/macro-F1 of rules + model 0.47/0.38
  without them, 0.45/0.36 with, on the games-as-art set).

Each code's decision threshold is the one that maximised F1 on out-of-fold probabilities from
an inner cross-validation of the training data: balanced weights still leave rare codes'
probabilities badly placed around 0.5. Codes with fewer than :data:`MIN_POSITIVES` examples
are left to the rules.

Every fitted part (both TF-IDF layers, the scaling, coefficients, thresholds) is a plain array,
so :mod:`qualcode.learn.store` can save it without pickling and a reloaded coder computes the
very same probabilities.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..coded import join_evidence, split_evidence
from ..nlp import DocCache
from ..code.coder import CodebookCoder, rule_score
from ..code.similarity import lemma_text
from ..domain import Codebook, Coding, Segment

MIN_POSITIVES = 5  # fewer reviewed examples (or non-examples) than this and a code stays with the rules
INNER_FOLDS = 3
SEED = 0
HYPERPARAMETERS = ("C", "min_df", "inner_folds", "min_positives", "random_state")
TOKEN_PATTERN = r"(?u)\b\w[\w'-]+\b"  # words of two or more characters, keeping "self-care" whole
MAX_ITER = 1000
SOLVER = "liblinear"  # one small sparse binary problem: lbfgs made cross-validation ten times slower
SCORE_KINDS = 3  # per code: rule score, similarity cosine, combined score


def text_vectorizer(min_df: int = 1):
    """TF-IDF of lemma unigrams and bigrams, log-scaled counts (a long answer repeats itself)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=min_df, token_pattern=TOKEN_PATTERN)


def lemmas(nlp, segments: Sequence[Segment]) -> list[str]:
    return [lemma_text(doc) for doc in nlp.pipe(segment.text for segment in segments)]


def rule_features(coder: CodebookCoder, segments: Sequence[Segment]) -> np.ndarray:
    """(segments × 3·codes): every code's rule score, then every similarity cosine, then every combined score."""
    features = coder.features(segments)
    ids = coder.codebook.ids
    rules = np.array([[rule_score(hits[code]) for code in ids] for hits in features.hits])
    rules = rules.reshape(features.scores.shape)  # also when there are no segments
    return np.hstack([rules, features.similarity, features.scores])


def rule_layer(codebook: Codebook, nlp) -> CodebookCoder:
    """The rule layer the model reads, unfitted.

    Every labelled segment is a training example, whoever spoke it; which segments get coded is
    decided later by the ``code`` run's own rule layer (see :meth:`LearnedCoder.combine`).
    """
    return CodebookCoder(codebook, nlp, code_interviewer=True)


def own_columns(words: int, codes: int, code: int) -> np.ndarray:
    """Columns of the design matrix one code's classifier reads: every word, and its own scores."""
    return np.r_[np.arange(words), words + code + codes * np.arange(SCORE_KINDS)]


def trainable_codes(labels: np.ndarray, code_ids: Sequence[str], coded_ids: Sequence[str],
                    min_positives: int = MIN_POSITIVES) -> tuple[str, ...]:
    """Codes the rules would code that have enough examples, and non-examples, to learn from."""
    positives, negatives = labels.sum(axis=0), (~labels).sum(axis=0)
    return tuple(code for code, yes, no in zip(code_ids, positives, negatives)
                 if code in coded_ids and yes >= min_positives and no >= min_positives)


def best_f1_threshold(truth: np.ndarray, proba: np.ndarray) -> float:
    """The probability cut-off with the best F1, halfway between the last value kept and the next.

    Only cuts between distinct probabilities are candidates (tied segments cannot be split);
    the midpoint keeps a new segment scoring just below the last kept one on the same side.
    """
    order = np.argsort(-proba, kind="stable")
    ranked, hits = proba[order], truth[order].astype(bool)
    kept = np.arange(1, len(ranked) + 1)
    f1 = 2 * np.cumsum(hits) / (kept + hits.sum())
    at_boundary = np.r_[ranked[1:] != ranked[:-1], True]
    best = int(np.argmax(np.where(at_boundary, f1, -1.0)))
    below = ranked[best + 1] if best + 1 < len(ranked) else 0.0
    return float((ranked[best] + below) / 2)


def fit_binary(features, truth: np.ndarray, C: float, random_state: int) -> tuple[np.ndarray, float]:
    """Coefficients and intercept of one code's logistic regression.

    An inner training fold may hold no example of a rare code (or only examples); its
    "classifier" is then the constant it saw, as an infinite intercept.
    """
    from sklearn.linear_model import LogisticRegression

    if truth.all() or not truth.any():
        return np.zeros(features.shape[1]), np.inf if truth.all() else -np.inf
    model = LogisticRegression(C=C, class_weight="balanced", solver=SOLVER, max_iter=MAX_ITER,
                               random_state=random_state)
    model.fit(features, truth)
    return model.coef_[0], float(model.intercept_[0])


class LearnedCoder:
    """Rule-layer scores and TF-IDF into one logistic regression per code (sklearn-style).

    ``fit(segments, labels)`` takes a (segments × codebook codes) boolean matrix; afterwards
    ``codes_`` names the codes the model covers, ``predict_proba`` gives their probabilities and
    ``predict`` their decisions at the tuned ``thresholds_``. ``combine`` adds those decisions to
    the rule layer's codings.
    """

    def __init__(self, codebook: Codebook, nlp, C: float = 1.0, min_df: int = 1, inner_folds: int = INNER_FOLDS,
                 min_positives: int = MIN_POSITIVES, random_state: int = SEED):
        self.codebook = codebook
        self.nlp = nlp
        self.C = C
        self.min_df = min_df
        self.inner_folds = inner_folds
        self.min_positives = min_positives
        self.random_state = random_state

    def hyperparameters(self) -> dict:
        return {name: getattr(self, name) for name in HYPERPARAMETERS}

    # -- sklearn-style ------------------------------------------------------------------------
    def fit(self, segments: Sequence[Segment], labels: np.ndarray) -> "LearnedCoder":
        """Tune each code's threshold on inner out-of-fold probabilities, then fit on all ``segments``."""
        nlp = DocCache.around(self.nlp)
        labels = np.asarray(labels, dtype=bool)
        codes = trainable_codes(labels, self.codebook.ids, rule_layer(self.codebook, nlp).coded_ids,
                                self.min_positives)
        target = labels[:, [self.codebook.ids.index(code) for code in codes]]
        proba = self._out_of_fold_proba(segments, target, codes, nlp)
        self.thresholds_ = np.array([best_f1_threshold(target[:, j], proba[:, j]) for j in range(len(codes))])
        return self._fit_weights(segments, target, codes, nlp)

    def predict_proba(self, segments: Sequence[Segment]) -> np.ndarray:
        """(segments × ``codes_``) probabilities."""
        from scipy.special import expit

        return expit(self._design(segments) @ self.coef_.T + self.intercept_)

    def predict(self, segments: Sequence[Segment]) -> np.ndarray:
        return self.predict_proba(segments) >= self.thresholds_

    def combine(self, coded: Sequence[Coding], codable: Callable[[Segment], bool]) -> list[Coding]:
        """The rule layer's codings with the model's added: a code applies if either reaches its threshold.

        ``codable`` is the rule layer's own test (interviewer turns are left alone unless asked).
        """
        proba = self.predict_proba([item.segment for item in coded])
        fired = proba >= self.thresholds_
        return [with_model(item, {code: p for code, p, hit in zip(self.codes_, row, hits) if hit}, self.codebook.ids)
                if codable(item.segment) else item
                for item, row, hits in zip(coded, proba, fired)]

    # -- fitting ------------------------------------------------------------------------------
    def _out_of_fold_proba(self, segments: Sequence[Segment], target: np.ndarray, codes: tuple[str, ...],
                           nlp) -> np.ndarray:
        """Each training segment's probabilities from a model fitted without it (for thresholds)."""
        from sklearn.model_selection import KFold

        proba = np.zeros(target.shape)
        if not codes:
            return proba
        folds = KFold(min(self.inner_folds, len(segments)), shuffle=True, random_state=self.random_state)
        for train, test in folds.split(np.arange(len(segments))):
            inner = LearnedCoder(self.codebook, nlp, **self.hyperparameters())
            inner._fit_weights([segments[i] for i in train], target[train], codes, nlp)
            proba[test] = inner.predict_proba([segments[i] for i in test])
        return proba

    def _fit_weights(self, segments: Sequence[Segment], target: np.ndarray, codes: tuple[str, ...],
                     nlp) -> "LearnedCoder":
        """Fit both TF-IDF layers and the scaling on ``segments`` only, then one regression per code."""
        self.codes_ = codes
        self.rules_ = rule_layer(self.codebook, nlp).fit(segments)
        self.vectorizer_ = text_vectorizer(self.min_df).fit(lemmas(nlp, segments))
        scores = rule_features(self.rules_, segments)
        self.score_mean_ = scores.mean(axis=0)
        spread = scores.std(axis=0)
        self.score_scale_ = np.where(spread > 0, spread, 1.0)
        design = self._design(segments)
        words = len(self.vectorizer_.vocabulary_)
        self.coef_ = np.zeros((len(codes), design.shape[1]))
        self.intercept_ = np.zeros(len(codes))
        for j, code in enumerate(codes):
            columns = own_columns(words, len(self.codebook.ids), self.codebook.ids.index(code))
            self.coef_[j, columns], self.intercept_[j] = fit_binary(design[:, columns], target[:, j], self.C,
                                                                    self.random_state)
        return self

    def _design(self, segments: Sequence[Segment]):
        """The feature matrix: TF-IDF of lemmas beside the standardised rule-layer scores."""
        from scipy.sparse import csr_matrix, hstack

        words = self.vectorizer_.transform(lemmas(self.rules_.nlp, segments))
        scores = (rule_features(self.rules_, segments) - self.score_mean_) / self.score_scale_
        return hstack([words, csr_matrix(scores)], format="csr")


def with_model(item: Coding, model_hits: dict[str, float], code_ids: Sequence[str]) -> Coding:
    """``item`` with the codes the model fired added; each code's evidence names what fired it."""
    if not model_hits:
        return item
    rules = split_evidence(item.evidence, code_ids)
    codes = tuple(code for code in code_ids if code in rules or code in model_hits)

    def why(code: str) -> str:
        model = f"model {model_hits[code]:.2f}" if code in model_hits else ""
        return "; ".join(reason for reason in (model, rules.get(code, "")) if reason)

    return Coding(item.segment, item.scores, codes, join_evidence((code, why(code)) for code in codes))
