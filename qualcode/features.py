"""Codebook features: what a codebook says about a text, for the zero-shot and the trained coder.

Both :mod:`qualcode.code` (zero-shot, from the codebook alone) and :mod:`qualcode.learn` (a
model trained on reviewed codes) read segments through :class:`CodebookFeatures`, so neither
imports the other's internals.

The rule layer: keywords on lemmas, spaCy token patterns, regular expressions, exclusions.
Keywords are matched twice, on case-folded lemmas (so "share" finds "shared" and "sharing")
and on lower-cased words (so a keyword the lemmatizer reads differently alone than in context
still matches). Any exclusion phrase of a code vetoes that code for the segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import regex

from .domain import Code, Codebook
from .errors import QualcodeError
from .nlp import DocCache

KEYWORD, PATTERN, EXCLUDE = "keyword", "pattern", "exclude"
# A codebook regex gets this long on one segment. Ordinary patterns take microseconds; one that
# backtracks catastrophically would otherwise hang the run (the ``regex`` module can stop it, ``re`` cannot).
REGEX_SECONDS = 2.0
TOKEN_PATTERN = r"(?u)\b\w[\w'-]+\b"  # words of two or more characters, keeping "self-care" whole


@dataclass
class RuleHits:
    """What the rules found for one code in one text."""

    keywords: set[str] = field(default_factory=set)
    patterns: set[str] = field(default_factory=set)  # the text each pattern matched
    excluded: set[str] = field(default_factory=set)

    @property
    def evidence_count(self) -> int:
        return len(self.keywords) + len(self.patterns)


class RuleMatcher:
    """All codes' keywords, patterns and exclusions compiled into three spaCy matchers."""

    def __init__(self, codebook: Codebook, nlp):
        from spacy.matcher import Matcher, PhraseMatcher

        self.codebook = codebook
        self._lemma = PhraseMatcher(nlp.vocab, attr="LEMMA")
        self._lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self._tokens = Matcher(nlp.vocab)
        self._labels: dict[int, tuple[str, str, str]] = {}
        self._regexes: list[tuple[Code, str, regex.Pattern]] = []
        phrases = [(code.id, KEYWORD, keyword) for code in codebook.codes for keyword in code.keywords]
        phrases += [(code.id, EXCLUDE, phrase) for code in codebook.codes for phrase in code.exclude]
        for (code_id, kind, phrase), doc in zip(phrases, nlp.pipe(phrase for _, _, phrase in phrases)):
            key = self._label(code_id, kind, phrase)
            self._lemma.add(key, [doc])
            self._lower.add(key, [nlp.make_doc(phrase)])
        for code in codebook.codes:
            for pattern in code.patterns:
                if pattern.regex is not None:
                    self._regexes.append((code, pattern.regex, regex.compile(pattern.regex, regex.IGNORECASE | regex.V0)))
                else:
                    self._tokens.add(self._label(code.id, PATTERN, pattern.label), [list(pattern.tokens)])

    def _label(self, code_id: str, kind: str, term: str) -> str:
        key = f"{code_id}\x1f{kind}\x1f{term}"
        from spacy.strings import hash_string

        self._labels[hash_string(key)] = (code_id, kind, term)
        return key

    def match(self, doc) -> dict[str, RuleHits]:
        hits = {code.id: RuleHits() for code in self.codebook.codes}
        for matcher in (self._lemma, self._lower, self._tokens):
            if not len(matcher):  # an empty matcher only warns
                continue
            for match_id, start, end in matcher(doc):
                code_id, kind, term = self._labels[match_id]
                if kind == PATTERN:
                    hits[code_id].patterns.add(doc[start:end].text.lower())
                else:
                    (hits[code_id].keywords if kind == KEYWORD else hits[code_id].excluded).add(term)
        for code, source, compiled in self._regexes:
            try:
                for found in compiled.finditer(doc.text, timeout=REGEX_SECONDS):
                    hits[code.id].patterns.add(found.group(0).lower())
            except TimeoutError:
                raise QualcodeError(f"code '{code.id}': pattern '{source}' took over {REGEX_SECONDS:g} s on one "
                                    "segment (it backtracks); simplify it", self.codebook.path, code.line or None) \
                    from None
        return hits


# --- similarity ----------------------------------------------------------------------------

BACKGROUND = Path(__file__).parent / "data" / "background.txt"
SIMILARITY_KINDS = ("definition", "examples", "counter_examples")
# The columns of the per-code feature block, in order (see CodebookFeatures.transform).
FEATURE_KINDS = ("rules", "excluded", *SIMILARITY_KINDS, "zero_shot")
BACKGROUND_QUANTILE = 0.95
MIN_CEILING = 0.05  # a code whose words no background sentence uses still needs a real match
SHARED_SHARE, MIN_CODES_FOR_SHARED = 0.5, 4  # terms in over half the profiles of 4+ codes weigh nothing


def lemma_text(doc) -> str:
    """Content lemmas of a spaCy doc: what the vectorizer sees."""
    return " ".join(t.lemma_ for t in doc if t.is_alpha and not t.is_stop and len(t) > 1)


def code_profiles(codebook: Codebook) -> list[str]:
    """What each code is, in its own words: name, definition and inclusion criteria."""
    return [" ".join((code.name, code.definition, *code.include)) for code in codebook.codes]


def coded_ids(codebook: Codebook) -> tuple[str, ...]:
    """The codes a coder applies: a parent with no keywords or patterns of its own is a grouping,
    counted (its children roll up) but not coded."""
    return tuple(code.id for code in codebook.codes
                 if not (codebook.children(code.id) and not (code.keywords or code.patterns)))


def background_sentences() -> list[str]:
    """The shipped generic sentences: text that is about no code of any codebook."""
    lines = BACKGROUND.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def rule_score(hits: RuleHits) -> float:
    """``1 - 0.5 ** hits``: one keyword or pattern gives 0.5, each further hit adds confidence."""
    return 1.0 - 0.5 ** hits.evidence_count


def noisy_or(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Either layer alone can reach the threshold, and together they reinforce."""
    return 1.0 - (1.0 - a) * (1.0 - b)


@dataclass
class TextFeatures:
    """What the codebook says about some texts: rule hits per code and the feature block.

    ``block`` is (texts × codes × :data:`FEATURE_KINDS`); ``scores`` is the zero-shot score in
    [0, 1] per code, 0.5 meaning "as far above unrelated text as a code must be".
    """

    hits: list[dict[str, RuleHits]]
    block: np.ndarray

    @property
    def scores(self) -> np.ndarray:
        return self.block[:, :, FEATURE_KINDS.index("zero_shot")]

    def kind(self, name: str) -> np.ndarray:
        return self.block[:, :, FEATURE_KINDS.index(name)]


class CodebookFeatures:
    """Rules, similarity to each code's words, and a calibrated zero-shot score (sklearn-style).

    ``fit()`` reads only the codebook and the shipped background sentences, never the corpus
    being coded: the TF-IDF vocabulary and IDF come from the codes' own text plus the
    background, terms found in more than half the codes' profiles weigh nothing (codebook
    boilerplate such as "CI is associated with" tells no code apart), and each code's *ceiling*
    is the similarity unrelated text reaches to it (the :data:`BACKGROUND_QUANTILE` of the
    background's scores, at least :data:`MIN_CEILING`). So a segment's features never depend on
    which other segments are coded with it.

    Per code and text: the rule score (keywords and patterns), whether an exclusion phrase
    matched, the TF-IDF cosine to the definition (name, definition, include criteria), the best
    cosine to an example and to a counter-example, and the zero-shot score: the support
    (definition or example, whichever is closer) less the counter-example cosine, over the
    code's ceiling, halved and capped at 1 (so 0.5, the default threshold, means "as similar as
    the closest 5% of unrelated text"), then combined with the rule score as a noisy-OR and vetoed
    by an exclusion phrase.
    """

    def __init__(self, codebook: Codebook, nlp):
        self.codebook = codebook
        self.nlp = DocCache.around(nlp)
        self.rules = RuleMatcher(codebook, self.nlp)

    def fit(self) -> "CodebookFeatures":
        from sklearn.feature_extraction.text import TfidfVectorizer

        codes = self.codebook.codes
        profiles = self._lemmas(code_profiles(self.codebook))
        examples = [self._lemmas(c.examples) for c in codes]
        counters = [self._lemmas(c.counter_examples) for c in codes]
        background = self._lemmas(background_sentences())
        self.vectorizer_ = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), token_pattern=TOKEN_PATTERN)
        self.vectorizer_.fit([*profiles, *(t for texts in examples + counters for t in texts), *background])
        self.vectorizer_.idf_ = np.where(self._shared(profiles), 0.0, self.vectorizer_.idf_)
        self.profiles_ = self.vectorizer_.transform(profiles)
        self.examples_ = [self.vectorizer_.transform(texts) if texts else None for texts in examples]
        self.counters_ = [self.vectorizer_.transform(texts) if texts else None for texts in counters]
        support = self._similarity(background)[1]
        self.ceiling_ = np.maximum(np.quantile(support, BACKGROUND_QUANTILE, axis=0), MIN_CEILING)
        return self

    def transform(self, texts: Sequence[str]) -> TextFeatures:
        if not texts:
            return TextFeatures([], np.zeros((0, len(self.codebook.codes), len(FEATURE_KINDS))))
        docs = list(self.nlp.pipe(texts))
        hits = [self.rules.match(doc) for doc in docs]
        shape = (len(texts), len(self.codebook.codes))
        rules = np.array([[rule_score(h[c.id]) for c in self.codebook.codes] for h in hits]).reshape(shape)
        excluded = np.array([[bool(h[c.id].excluded) for c in self.codebook.codes] for h in hits]).reshape(shape)
        cosines, support = self._similarity([lemma_text(doc) for doc in docs])
        similar = np.minimum(1.0, np.maximum(support, 0.0) / self.ceiling_ / 2)
        zero_shot = np.where(excluded, 0.0, noisy_or(rules, similar))
        return TextFeatures(hits, np.stack([rules, excluded.astype(float), *cosines, zero_shot], axis=2))

    def _shared(self, profiles: list[str]) -> np.ndarray:
        """Terms in more than :data:`SHARED_SHARE` of the codes' profiles: boilerplate."""
        counts = (self.vectorizer_.transform(profiles) > 0).sum(axis=0).A1
        return counts > SHARED_SHARE * len(profiles) if len(profiles) >= MIN_CODES_FOR_SHARED else counts < 0

    def _lemmas(self, texts: Sequence[str]) -> list[str]:
        return [lemma_text(doc) for doc in self.nlp.pipe(list(texts))]

    def _similarity(self, lemmas: Sequence[str]) -> tuple[list[np.ndarray], np.ndarray]:
        """The three cosines per code, and the support: the closer of definition and examples,
        less the closest counter-example."""
        vectors = self.vectorizer_.transform(list(lemmas))
        definition = np.asarray((vectors @ self.profiles_.T).todense()).reshape(len(lemmas), -1)
        examples, counters = (np.column_stack([_best(vectors, matrix) for matrix in group])
                              if group else np.zeros((len(lemmas), 0))
                              for group in (self.examples_, self.counters_))
        support = np.maximum(definition, examples) - counters
        return [definition, examples, counters], support


def _best(vectors, matrix) -> np.ndarray:
    """Each row's highest cosine to any row of ``matrix`` (0 without one)."""
    if matrix is None:
        return np.zeros(vectors.shape[0])
    return np.asarray((vectors @ matrix.T).max(axis=1).todense()).ravel()
