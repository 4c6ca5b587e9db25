"""The similarity layer: how close a segment is to each code's own words.

Each code's profile is its name, definition, inclusion criteria and examples. Segments and
profiles are compared as TF-IDF vectors of lemmas (scikit-learn), so a code with neither
keywords nor examples still works from its definition.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..domain import Codebook


def lemma_text(doc) -> str:
    """Content lemmas of a spaCy doc: what the vectorizer sees."""
    return " ".join(t.lemma_ for t in doc if t.is_alpha and not t.is_stop and len(t) > 1)


def code_profiles(codebook: Codebook) -> list[str]:
    return [code.description_text for code in codebook.codes]


class DefinitionSimilarity:
    """Cosine similarity between segments and code profiles (an sklearn-style transformer)."""

    def __init__(self, sublinear_tf: bool = True, ngram_range: tuple[int, int] = (1, 2)):
        self.sublinear_tf = sublinear_tf
        self.ngram_range = ngram_range

    def fit(self, profile_lemmas: Sequence[str], segment_lemmas: Sequence[str]) -> "DefinitionSimilarity":
        """Learn the vocabulary and IDF weights from the profiles and the corpus being coded."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer_ = TfidfVectorizer(sublinear_tf=self.sublinear_tf, ngram_range=self.ngram_range,
                                           min_df=1, token_pattern=r"(?u)\b\w[\w'-]+\b")
        self.vectorizer_.fit([*profile_lemmas, *segment_lemmas])
        self.profiles_ = self.vectorizer_.transform(profile_lemmas)
        return self

    def transform(self, segment_lemmas: Sequence[str]) -> np.ndarray:
        """(segments × codes) cosine similarities in [0, 1] (TF-IDF rows are L2-normalised)."""
        vectors = self.vectorizer_.transform(segment_lemmas)
        return np.asarray((vectors @ self.profiles_.T).todense())
