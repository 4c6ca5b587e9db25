"""The rule layer: keywords on lemmas, spaCy token patterns, regular expressions, exclusions.

Keywords are matched twice, on case-folded lemmas (so "share" finds "shared" and "sharing")
and on lower-cased words (so a keyword the lemmatizer reads differently alone than in context
still matches). Any exclusion phrase of a code vetoes that code for the segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..domain import Codebook

KEYWORD, PATTERN, EXCLUDE = "keyword", "pattern", "exclude"


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
        self._regexes: list[tuple[str, re.Pattern]] = []
        phrases = [(code.id, KEYWORD, keyword) for code in codebook.codes for keyword in code.keywords]
        phrases += [(code.id, EXCLUDE, phrase) for code in codebook.codes for phrase in code.exclude]
        for (code_id, kind, phrase), doc in zip(phrases, nlp.pipe(phrase for _, _, phrase in phrases)):
            key = self._label(code_id, kind, phrase)
            self._lemma.add(key, [doc])
            self._lower.add(key, [nlp.make_doc(phrase)])
        for code in codebook.codes:
            for pattern in code.patterns:
                if pattern.regex is not None:
                    self._regexes.append((code.id, re.compile(pattern.regex, re.IGNORECASE)))
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
        for code_id, regex in self._regexes:
            for found in regex.finditer(doc.text):
                hits[code_id].patterns.add(found.group(0).lower())
        return hits
