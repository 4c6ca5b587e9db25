"""The codebook coder: a score for every code on every segment, and the evidence behind it.

Scores combine two layers as a noisy-OR, each in [0, 1]:

- rules: ``1 - 0.5 ** hits``, so one keyword or pattern gives 0.5 (enough at the default
  threshold, as the codebook promises its editors) and each further hit adds confidence;
- similarity: the TF-IDF cosine with the code's profile, relative to the segment's best code
  and damped when even that is weak (see :func:`similarity_scores`).

An exclusion phrase vetoes the code. A short participant answer is also scored on the
interviewer's question before it, discounted, and the evidence says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..domain import PARTICIPANT, Codebook, Segment
from .rules import RuleHits, RuleMatcher
from .similarity import DefinitionSimilarity, code_profiles, lemma_text

CONFIDENT_SIMILARITY_WITH_RULES = 0.10
CONFIDENT_SIMILARITY_DEFINITION_ONLY = 0.03
SHORT_ANSWER_WORDS = 15
CONTEXT_WEIGHT = 0.9


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


@dataclass(frozen=True)
class CodedSegment:
    segment: Segment
    scores: dict[str, float]
    codes: tuple[str, ...]
    evidence: str


@dataclass
class Features:
    """What the layers saw, per segment: rule hits (own and question), similarity, combined score."""

    hits: list[dict[str, RuleHits]]
    context_hits: list[dict[str, RuleHits] | None]
    similarity: np.ndarray
    scores: np.ndarray
    from_context: np.ndarray


class CodebookCoder:
    """Rules plus definition similarity for one codebook (fit, then predict)."""

    def __init__(self, codebook: Codebook, nlp, threshold: float | None = None, code_interviewer: bool = False,
                 batch_size: int = 256):
        self.codebook = codebook
        self.nlp = nlp
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
        docs = list(self.nlp.pipe((s.text for s in segments), batch_size=self.batch_size))
        self.similarity_ = DefinitionSimilarity().fit(profiles, [lemma_text(doc) for doc in docs])
        self._docs = dict(zip((s.segment_id for s in segments), docs))
        return self

    def features(self, segments: Sequence[Segment]) -> Features:
        docs = self._docs_for(segments)
        hits = [self.rules.match(doc) for doc in docs]
        similarity = self.similarity_.transform([lemma_text(doc) for doc in docs])
        rule = np.array([[rule_score(h[c.id]) for c in self.codebook.codes] for h in hits]).reshape(similarity.shape)
        scores = combine(rule, similarity_scores(similarity, self.confident_))
        context_hits = self._context_hits(segments)
        from_context = np.zeros_like(scores, dtype=bool)
        for row, context in enumerate(context_hits):
            if context is None:
                continue
            context_rule = CONTEXT_WEIGHT * np.array([rule_score(context[c.id]) for c in self.codebook.codes])
            from_context[row] = context_rule > scores[row]
            scores[row] = np.maximum(scores[row], context_rule)
        excluded = np.array([[bool(h[c.id].excluded) for c in self.codebook.codes] for h in hits]).reshape(scores.shape)
        scores[excluded] = 0.0
        return Features(hits, context_hits, similarity, scores, from_context)

    def predict(self, segments: Sequence[Segment]) -> list[CodedSegment]:
        features = self.features(segments)
        return [self._decide(segment, row, features) for row, segment in enumerate(segments)]

    # -- helpers ------------------------------------------------------------------------------
    def threshold_for(self, code) -> float:
        return self.threshold if self.threshold is not None and code.threshold is None else \
            self.codebook.threshold_for(code)

    def codable(self, segment: Segment) -> bool:
        return self.code_interviewer or segment.speaker_role == PARTICIPANT

    def _docs_for(self, segments: Sequence[Segment]) -> list:
        missing = [s for s in segments if s.segment_id not in self._docs]
        self._docs.update(zip((s.segment_id for s in missing),
                              self.nlp.pipe((s.text for s in missing), batch_size=self.batch_size)))
        return [self._docs[s.segment_id] for s in segments]

    def _context_hits(self, segments: Sequence[Segment]) -> list[dict[str, RuleHits] | None]:
        """Rule hits on the question before each short participant answer (None elsewhere)."""
        wanted = [bool(s.context) and s.speaker_role == PARTICIPANT and len(s.text.split()) <= SHORT_ANSWER_WORDS
                  for s in segments]
        questions = sorted({s.context for s, want in zip(segments, wanted) if want})
        matched = dict(zip(questions, (self.rules.match(doc) for doc in self.nlp.pipe(questions))))
        return [matched[s.context] if want else None for s, want in zip(segments, wanted)]

    def _decide(self, segment: Segment, row: int, features: Features) -> CodedSegment:
        scores = {code.id: round(float(features.scores[row, i]), 4) for i, code in enumerate(self.codebook.codes)}
        if not self.codable(segment):
            return CodedSegment(segment, scores, (), "")
        applied, evidence = [], []
        for i, code in enumerate(self.codebook.codes):
            if code.id in self.coded_ids and scores[code.id] >= self.threshold_for(code):
                applied.append(code.id)
                evidence.append(f"{code.id}: {self._why(row, i, code.id, features)}")
        return CodedSegment(segment, scores, tuple(applied), " | ".join(evidence))

    def _why(self, row: int, column: int, code_id: str, features: Features) -> str:
        if features.from_context[row, column]:
            return "from the question: " + _describe(features.context_hits[row][code_id])
        reasons = [_describe(features.hits[row][code_id])] if features.hits[row][code_id].evidence_count else []
        reasons.append(f"similarity {features.similarity[row, column]:.2f}")
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
