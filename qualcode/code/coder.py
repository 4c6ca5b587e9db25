"""The codebook coder: a score for every code on every segment, the decisions, and the evidence.

Zero-shot, from the codebook alone (:class:`~qualcode.features.CodebookFeatures`): a code's
score is the noisy-OR of its rule score (one keyword or pattern gives 0.5) and its similarity
to the code's definition and examples (less its counter-examples) measured against the
similarity that unrelated background text reaches; an exclusion phrase vetoes the code. A code
applies when its score reaches the threshold (0.5 unless the codebook says otherwise), so a
segment that fits no code gets none.

With a trained model (:class:`~qualcode.learn.LearnedCoder`), the model decides every code it
learnt, on a score rescaled so that 0.5 is its own tuned threshold; codes with too few examples
keep the zero-shot decision. Rules and model are never added together.

A short answer ("It absolutely is.") is also scored on the interviewer's question before it (a
short answer agrees with its question), and the evidence says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..domain import PARTICIPANT, Codebook, Coding, Evidence, Segment
from ..features import FEATURE_KINDS, CodebookFeatures, RuleHits, TextFeatures, coded_ids

SHORT_ANSWER_WORDS = 15
MODEL_THRESHOLD = 0.5  # a model score is rescaled so that its tuned threshold sits here
SUGGESTIONS = 3


@dataclass
class SegmentFeatures:
    """Per segment: its own features, the question's (short answers only), the final scores."""

    own: TextFeatures
    context: list[TextFeatures | None]
    scores: np.ndarray
    from_context: np.ndarray


class CodebookCoder:
    """Zero-shot coding from one codebook, optionally with a trained model deciding (fit, then predict)."""

    def __init__(self, codebook: Codebook, nlp, threshold: float | None = None, code_interviewer: bool = False):
        self.codebook = codebook
        self.threshold = threshold
        self.code_interviewer = code_interviewer
        self.features = CodebookFeatures(codebook, nlp)
        self.nlp = self.features.nlp
        self.coded_ids = coded_ids(codebook)

    # -- sklearn-style ------------------------------------------------------------------------
    def fit(self, segments: Sequence[Segment] = ()) -> "CodebookCoder":
        """Fit on the codebook and the shipped background only: ``segments`` are not read, so
        coding one transcript never depends on which others are coded with it."""
        self.features.fit()
        return self

    def segment_features(self, segments: Sequence[Segment]) -> SegmentFeatures:
        own = self.features.transform([s.text for s in segments])
        scores = own.scores.copy()
        questions = [s.context if self._takes_context(s) else "" for s in segments]
        asked = sorted(set(filter(None, questions)))
        asked_features = self.features.transform(asked)
        by_question = {question: row for row, question in enumerate(asked)}
        context: list[TextFeatures | None] = []
        from_context = np.zeros_like(scores, dtype=bool)
        for row, question in enumerate(questions):
            if question not in by_question:
                context.append(None)
                continue
            at = by_question[question]
            context.append(TextFeatures([asked_features.hits[at]], asked_features.block[at:at + 1]))
            question_scores = np.where(own.kind("excluded")[row] > 0, 0.0, asked_features.scores[at])
            from_context[row] = question_scores > scores[row]
            scores[row] = np.maximum(scores[row], question_scores)
        return SegmentFeatures(own, context, scores, from_context)

    def predict(self, segments: Sequence[Segment], model=None) -> list[Coding]:
        """Codings of ``segments``; a fitted ``model`` decides the codes it covers."""
        features = self.segment_features(segments)
        scores, by_model = features.scores, np.zeros_like(features.scores, dtype=bool)
        if model is not None and len(segments):
            scores, by_model = model.rescore(segments, features)
        return [self._decide(segment, row, features, scores, by_model) for row, segment in enumerate(segments)]

    # -- helpers ------------------------------------------------------------------------------
    def threshold_for(self, code) -> float:
        return self.threshold if self.threshold is not None and code.threshold is None else \
            self.codebook.threshold_for(code)

    def codable(self, segment: Segment) -> bool:
        return self.code_interviewer or segment.speaker_role == PARTICIPANT

    @staticmethod
    def _takes_context(segment: Segment) -> bool:
        """A short participant answer ("It absolutely is.") is read with the question before it."""
        return bool(segment.context) and segment.speaker_role == PARTICIPANT and \
            len(segment.text.split()) <= SHORT_ANSWER_WORDS

    def _decide(self, segment: Segment, row: int, features: SegmentFeatures, scores: np.ndarray,
                by_model: np.ndarray) -> Coding:
        codes = self.codebook.codes
        rounded = {code.id: round(float(scores[row, i]), 4) for i, code in enumerate(codes)}
        suggested = tuple(sorted(rounded.items(), key=lambda item: (-item[1], self.codebook.ids.index(item[0])))
                          [:SUGGESTIONS])
        if not self.codable(segment):
            return Coding(segment, rounded, (), (), suggested)
        applied = [i for i, code in enumerate(codes) if code.id in self.coded_ids and
                   rounded[code.id] >= (MODEL_THRESHOLD if by_model[row, i] else self.threshold_for(code))]
        evidence = tuple(item for i in applied
                         for item in self._why(row, i, features, float(scores[row, i]), by_model[row, i]))
        return Coding(segment, rounded, tuple(codes[i].id for i in applied), evidence, suggested)

    def _why(self, row: int, column: int, features: SegmentFeatures, score: float, by_model: bool) -> list[Evidence]:
        code_id = self.codebook.codes[column].id
        if by_model:
            return [Evidence(code_id, "model", "", round(score, 2))]
        if features.from_context[row, column]:
            context = features.context[row]
            return _explain(code_id, context.hits[0][code_id], context.block[0, column], "question ")
        return _explain(code_id, features.own.hits[row][code_id], features.own.block[row, column], "")


def _explain(code_id: str, hits: RuleHits, block: np.ndarray, prefix: str) -> list[Evidence]:
    """The rule hits and the similarity behind one code, as evidence items."""
    items = [Evidence(code_id, prefix + "keyword", keyword, 0.5) for keyword in sorted(hits.keywords)]
    items += [Evidence(code_id, prefix + "pattern", text, 0.5) for text in sorted(hits.patterns)]
    similarity = float(max(block[FEATURE_KINDS.index("definition")], block[FEATURE_KINDS.index("examples")]))
    items.append(Evidence(code_id, prefix + "similarity", "", round(similarity, 2)))
    return items

