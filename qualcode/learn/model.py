"""The trained coder: one logistic regression per code, in which the model decides.

For each code with enough reviewed examples, a logistic regression (balanced class weights, so
a rare code weighs as much as a common one) reads three blocks of features of a segment:

- the TF-IDF of its content lemmas (unigrams and bigrams), the words analysts code on;
- the TF-IDF of its character n-grams (within words), robust to spelling and word forms;
- what the codebook says about it, for that code only (:class:`~qualcode.features.CodebookFeatures`):
  keyword and pattern hits, an exclusion hit, the similarity to the definition, to the
  examples and to the counter-examples, and the zero-shot score, standardised. These carry the
  codebook's own words, which is what lifts a small training set above plain TF-IDF.

Each code's decision threshold is the one that maximised F1 on out-of-fold probabilities from
an inner cross-validation of the training data only. Codes with fewer than
:data:`MIN_POSITIVES` examples (or non-examples) are not learnt: the zero-shot coder decides
them, and ``train`` and ``evaluate`` name them. The model's decisions are never added to the
rules': for a learnt code, keyword hits count only as far as the model weighs them.

Every fitted part (both vectorizers, the scaling, coefficients, thresholds) is a plain array,
so :mod:`qualcode.learn.store` can save it without pickling, and the codebook features are
fitted on the codebook alone (see :mod:`qualcode.features`): a reloaded coder computes the very
same probabilities.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..domain import Codebook, Segment
from ..features import FEATURE_KINDS, TOKEN_PATTERN, CodebookFeatures, coded_ids, lemma_text
from ..nlp import DocCache

MIN_POSITIVES = 5  # fewer reviewed examples (or non-examples) than this and a code stays zero-shot
INNER_FOLDS = 3
SEED = 0
HYPERPARAMETERS = ("C", "min_df", "inner_folds", "min_positives", "random_state")
MAX_ITER = 1000
SOLVER = "liblinear"  # one small sparse binary problem: lbfgs made cross-validation ten times slower
CHAR_NGRAMS = (2, 5)
RESCALED_THRESHOLD = 0.5  # a probability at the code's tuned threshold is reported as this score


def text_vectorizer(min_df: int = 1):
    """TF-IDF of lemma unigrams and bigrams, log-scaled counts (a long answer repeats itself)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=min_df, token_pattern=TOKEN_PATTERN)


def char_vectorizer(min_df: int = 1):
    """TF-IDF of character n-grams inside word boundaries."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(sublinear_tf=True, analyzer="char_wb", ngram_range=CHAR_NGRAMS, min_df=min_df,
                           lowercase=True)


def lemmas(nlp, segments: Sequence[Segment]) -> list[str]:
    return [lemma_text(doc) for doc in nlp.pipe(segment.text for segment in segments)]


def own_columns(words: int, codes: int, code: int) -> np.ndarray:
    """Columns of the design matrix one code's classifier reads: every n-gram, and its own features."""
    return np.r_[np.arange(words), words + code * len(FEATURE_KINDS) + np.arange(len(FEATURE_KINDS))]


def trainable_codes(labels: np.ndarray, code_ids: Sequence[str], coded_ids: Sequence[str],
                    min_positives: int = MIN_POSITIVES) -> tuple[str, ...]:
    """Codes the coder would code that have enough examples, and non-examples, to learn from."""
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


def rescale(proba: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Probabilities as scores in [0, 1] with each code's tuned threshold at 0.5 (piecewise linear),
    so "score >= 0.5" means "applies" for learnt and zero-shot codes alike."""
    low = np.clip(thresholds, 1e-9, 1 - 1e-9)
    below = RESCALED_THRESHOLD * proba / low
    above = RESCALED_THRESHOLD + (1 - RESCALED_THRESHOLD) * (proba - low) / (1 - low)
    return np.clip(np.where(proba < low, below, above), 0.0, 1.0)


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
    """N-grams and codebook features into one logistic regression per code (sklearn-style).

    ``fit(segments, labels)`` takes a (segments × codebook codes) boolean matrix; afterwards
    ``codes_`` names the codes the model covers, ``predict_proba`` gives their probabilities and
    ``predict`` their decisions at the tuned ``thresholds_``. ``rescore`` is how
    :class:`~qualcode.code.coder.CodebookCoder` lets the model decide.
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
        self.features_ = CodebookFeatures(self.codebook, nlp).fit()
        labels = np.asarray(labels, dtype=bool)
        codes = trainable_codes(labels, self.codebook.ids, coded_ids(self.codebook), self.min_positives)
        target = labels[:, [self.codebook.ids.index(code) for code in codes]]
        block = self.features_.transform([s.text for s in segments]).block
        texts = lemmas(nlp, segments)
        proba = self._out_of_fold_proba(segments, texts, block, target, codes)
        self.thresholds_ = np.array([best_f1_threshold(target[:, j], proba[:, j]) for j in range(len(codes))])
        return self._fit_weights([s.text for s in segments], texts, block, target, codes)

    def predict_proba(self, segments: Sequence[Segment]) -> np.ndarray:
        """(segments × ``codes_``) probabilities."""
        block = self.features_.transform([s.text for s in segments]).block
        return self._proba([s.text for s in segments], lemmas(self.features_.nlp, segments), block)

    def predict(self, segments: Sequence[Segment]) -> np.ndarray:
        return self.predict_proba(segments) >= self.thresholds_

    def rescore(self, segments: Sequence[Segment], features) -> tuple[np.ndarray, np.ndarray]:
        """The coder's scores with the learnt codes' replaced by the model's (rescaled, see
        :func:`rescale`), and a mask of the cells the model decides.

        ``features`` are the coder's :class:`~qualcode.code.coder.SegmentFeatures`: the model
        reads the segment's own codebook features, as in training.
        """
        texts = [s.text for s in segments]
        proba = self._proba(texts, lemmas(self.features_.nlp, segments), features.own.block)
        columns = [self.codebook.ids.index(code) for code in self.codes_]
        scores, by_model = features.scores.copy(), np.zeros_like(features.scores, dtype=bool)
        scores[:, columns] = rescale(proba, self.thresholds_)
        by_model[:, columns] = True
        return scores, by_model

    # -- fitting ------------------------------------------------------------------------------
    def _out_of_fold_proba(self, segments: Sequence[Segment], texts: list[str], block: np.ndarray,
                           target: np.ndarray, codes: tuple[str, ...]) -> np.ndarray:
        """Each training segment's probabilities from a model fitted without it (for thresholds)."""
        from sklearn.model_selection import KFold

        proba = np.zeros(target.shape)
        if not codes:
            return proba
        raw = [s.text for s in segments]
        folds = KFold(min(self.inner_folds, len(segments)), shuffle=True, random_state=self.random_state)
        for train, test in folds.split(np.arange(len(segments))):
            inner = LearnedCoder(self.codebook, self.nlp, **self.hyperparameters())
            inner._fit_weights([raw[i] for i in train], [texts[i] for i in train], block[train], target[train],
                               codes)
            proba[test] = inner._proba([raw[i] for i in test], [texts[i] for i in test], block[test])
        return proba

    def _fit_weights(self, raw: list[str], texts: list[str], block: np.ndarray, target: np.ndarray,
                     codes: tuple[str, ...]) -> "LearnedCoder":
        """Fit both vectorizers and the scaling on these segments only, then one regression per code."""
        self.codes_ = codes
        self.vectorizer_ = text_vectorizer(self.min_df).fit(texts)
        self.char_vectorizer_ = char_vectorizer(self.min_df).fit(raw)
        flat = block.reshape(len(texts), -1)
        self.feature_mean_ = flat.mean(axis=0)
        spread = flat.std(axis=0)
        self.feature_scale_ = np.where(spread > 0, spread, 1.0)
        design = self._design(raw, texts, block)
        ngrams = self._ngrams()
        self.coef_ = np.zeros((len(codes), design.shape[1]))
        self.intercept_ = np.zeros(len(codes))
        for j, code in enumerate(codes):
            columns = own_columns(ngrams, len(self.codebook.ids), self.codebook.ids.index(code))
            self.coef_[j, columns], self.intercept_[j] = fit_binary(design[:, columns], target[:, j], self.C,
                                                                    self.random_state)
        return self

    def _ngrams(self) -> int:
        return len(self.vectorizer_.vocabulary_) + len(self.char_vectorizer_.vocabulary_)

    def _proba(self, raw: list[str], texts: list[str], block: np.ndarray) -> np.ndarray:
        from scipy.special import expit

        if not self.codes_:
            return np.zeros((len(texts), 0))
        return expit(self._design(raw, texts, block) @ self.coef_.T + self.intercept_)

    def _design(self, raw: list[str], texts: list[str], block: np.ndarray):
        """The feature matrix: word and character n-grams beside the standardised codebook features."""
        from scipy.sparse import csr_matrix, hstack

        scaled = (block.reshape(len(texts), -1) - self.feature_mean_) / self.feature_scale_
        return hstack([self.vectorizer_.transform(texts), self.char_vectorizer_.transform(raw), csr_matrix(scaled)],
                      format="csr")
