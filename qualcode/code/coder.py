"""The codebook coder: a score for every code on every segment, and the evidence behind it.

Scores combine two layers as a noisy-OR, each in [0, 1]:

- rules: ``1 - 0.5 ** hits``, so one keyword or pattern gives 0.5 (enough at the default
  threshold, as the codebook promises its editors) and each further hit adds confidence;
- similarity: the TF-IDF cosine with the code's profile, relative to the segment's best code
  and damped when even that is weak (see :func:`similarity_scores`).

An exclusion phrase vetoes the code. A short participant answer is also scored on the
interviewer's question before it (a short answer agrees with its question), and the evidence
says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..coded import join_evidence
from ..domain import PARTICIPANT, Codebook, Coding, Segment
from ..nlp import DocCache
from .rules import RuleHits, RuleMatcher
from .similarity import DefinitionSimilarity, code_profiles, lemma_text

CONFIDENT_SIMILARITY_WITH_RULES = 0.10
CONFIDENT_SIMILARITY_DEFINITION_ONLY = 0.03
SHORT_ANSWER_WORDS = 15


def rule_score(hits: RuleHits) -> float:
    return 1.0 - 0.5 ** hits.evidence_count


def confident_similarity(codebook: Codebook) -> np.ndarray:
    """The cosine at which similarity alone is trusted, per code.

    A code with keywords or patterns leans on them, so similarity must be strong before it
    codes a segment by itself; a code with only its definition has nothing else, so a weaker
    match must do. Measured on the Commons sample and the games-as-art set (see tests).
    """
    return np.array([CONFIDENT_SIMILARITY_WITH_RULES if code.keywords or code.patterns
                     else CONFIDENT_SIMILARITY_DEFINITION_ONLY for code in codebook.codes])


def similarity_scores(cosine: np.ndarray, confident: np.ndarray) -> np.ndarray:
    """Cosines in [0, 1] as scores: relative to the segment's best code, damped when that is weak.

    Raw TF-IDF cosines between a sentence and a definition are small and vary with how much a
    code's profile says, so an absolute cut-off codes either everything or nothing. The best
    code of a segment scores up to 1, the others in proportion, and all scale down when the best
    cosine is below the code's confident level.
    """
    best = cosine.max(axis=1, keepdims=True)
    relative = np.divide(cosine, best, out=np.zeros_like(cosine), where=best > 0)
    return relative * np.minimum(1.0, best / confident)


def combine(rule: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """Noisy-OR: either layer alone can reach the threshold, and together they reinforce."""
    return 1.0 - (1.0 - rule) * (1.0 - similarity)


@dataclass
class Evidence:
    """What the layers saw in one text: rule hits per code and the similarity cosines."""

    hits: dict[str, RuleHits]
    similarity: np.ndarray


@dataclass
class Features:
    """Per segment: its own evidence, the question's (short answers only), the final scores."""

    own: list[Evidence]
    context: list[Evidence | None]
    scores: np.ndarray
    from_context: np.ndarray

    @property
    def hits(self) -> list[dict[str, RuleHits]]:
        return [evidence.hits for evidence in self.own]

    @property
    def similarity(self) -> np.ndarray:
        return np.array([evidence.similarity for evidence in self.own]).reshape(self.scores.shape)


class CodebookCoder:
    """Rules plus definition similarity for one codebook (fit, then predict)."""

    def __init__(self, codebook: Codebook, nlp, threshold: float | None = None, code_interviewer: bool = False,
                 batch_size: int = 256):
        self.codebook = codebook
        self.nlp = DocCache.around(nlp)
        self.threshold = threshold
        self.code_interviewer = code_interviewer
        self.batch_size = batch_size
        self.rules = RuleMatcher(codebook, nlp)
        self.coded_ids = [code.id for code in codebook.codes if not _rolls_up_only(codebook, code.id)]
        self.confident_ = confident_similarity(codebook)

    # -- sklearn-style ------------------------------------------------------------------------
    def fit(self, segments: Sequence[Segment]) -> "CodebookCoder":
        """Learn TF-IDF weights from the code profiles and the segments (no labels needed)."""
        profiles = [lemma_text(doc) for doc in self.nlp.pipe(code_profiles(self.codebook))]
        docs = self._parse([s.text for s in segments])
        self.similarity_ = DefinitionSimilarity().fit(profiles, [lemma_text(doc) for doc in docs])
        return self

    def features(self, segments: Sequence[Segment]) -> Features:
        own, scores = self._evidence([s.text for s in segments])
        questions = [s.context if self._takes_context(s) else "" for s in segments]
        asked = sorted(set(filter(None, questions)))
        asked_evidence, asked_scores = self._evidence(asked)
        by_question = {q: (e, asked_scores[i]) for i, (q, e) in enumerate(zip(asked, asked_evidence))}
        context: list[Evidence | None] = []
        from_context = np.zeros_like(scores, dtype=bool)
        for row, question in enumerate(questions):
            evidence, question_scores = by_question.get(question, (None, None))
            context.append(evidence)
            if evidence is None:
                continue
            question_scores = np.where(self._excluded(own[row].hits), 0.0, question_scores)
            from_context[row] = question_scores > scores[row]
            scores[row] = np.maximum(scores[row], question_scores)
        return Features(own, context, scores, from_context)

    def predict(self, segments: Sequence[Segment]) -> list[Coding]:
        features = self.features(segments)
        return [self._decide(segment, row, features) for row, segment in enumerate(segments)]

    # -- helpers ------------------------------------------------------------------------------
    def threshold_for(self, code) -> float:
        return self.threshold if self.threshold is not None and code.threshold is None else \
            self.codebook.threshold_for(code)

    def codable(self, segment: Segment) -> bool:
        return self.code_interviewer or segment.speaker_role == PARTICIPANT

    def _parse(self, texts: Sequence[str]) -> list:
        """spaCy docs for ``texts``, each distinct text parsed once in one batched ``nlp.pipe``."""
        return list(self.nlp.pipe(texts, batch_size=self.batch_size))

    def _evidence(self, texts: Sequence[str]) -> tuple[list[Evidence], np.ndarray]:
        """Both layers on ``texts``, combined into scores, with exclusion phrases vetoing their code."""
        shape = (len(texts), len(self.codebook.codes))
        if not texts:
            return [], np.zeros(shape)
        docs = self._parse(texts)
        hits = [self.rules.match(doc) for doc in docs]
        similarity = self.similarity_.transform([lemma_text(doc) for doc in docs])
        rule = np.array([[rule_score(h[c.id]) for c in self.codebook.codes] for h in hits]).reshape(shape)
        scores = combine(rule, similarity_scores(similarity, self.confident_))
        scores[np.array([self._excluded(h) for h in hits]).reshape(shape)] = 0.0
        return [Evidence(h, row) for h, row in zip(hits, similarity)], scores

    def _excluded(self, hits: dict[str, RuleHits]) -> np.ndarray:
        return np.array([bool(hits[c.id].excluded) for c in self.codebook.codes])

    @staticmethod
    def _takes_context(segment: Segment) -> bool:
        """A short participant answer ("It absolutely is.") is read with the question before it."""
        return bool(segment.context) and segment.speaker_role == PARTICIPANT and \
            len(segment.text.split()) <= SHORT_ANSWER_WORDS

    def _decide(self, segment: Segment, row: int, features: Features) -> Coding:
        scores = {code.id: round(float(features.scores[row, i]), 4) for i, code in enumerate(self.codebook.codes)}
        if not self.codable(segment):
            return Coding(segment, scores, (), "")
        reasons = [(code.id, self._why(row, i, code.id, features)) for i, code in enumerate(self.codebook.codes)
                   if code.id in self.coded_ids and scores[code.id] >= self.threshold_for(code)]
        return Coding(segment, scores, tuple(code for code, _ in reasons), join_evidence(reasons))

    def _why(self, row: int, column: int, code_id: str, features: Features) -> str:
        if features.from_context[row, column]:
            return "from the question: " + _explain(features.context[row], column, code_id)
        return _explain(features.own[row], column, code_id)


def _explain(evidence: Evidence, column: int, code_id: str) -> str:
    hits = evidence.hits[code_id]
    reasons = [_describe(hits)] if hits.evidence_count else []
    reasons.append(f"similarity {evidence.similarity[column]:.2f}")
    return "; ".join(reasons)


def _describe(hits: RuleHits) -> str:
    parts = []
    if hits.keywords:
        parts.append("keywords " + ", ".join(f"'{k}'" for k in sorted(hits.keywords)))
    if hits.patterns:
        parts.append("patterns matched " + ", ".join(f"'{p}'" for p in sorted(hits.patterns)))
    return "; ".join(parts)


def _rolls_up_only(codebook: Codebook, code_id: str) -> bool:
    """A parent with no keywords or patterns of its own is a grouping: it is counted, not coded."""
    code = codebook.code(code_id)
    return bool(codebook.children(code_id)) and not (code.keywords or code.patterns)
