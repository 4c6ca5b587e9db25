"""Presidio recognizers for UK interview transcripts.

Each detector is a small Presidio recognizer plugged into the analyzer, so Presidio's own
engine runs them, batches them and boosts them with context. Their names say which detector
fired; ``DETECTOR_OF`` maps a recognizer name to the review log's ``detector`` column.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Iterable, Iterator, Sequence

from presidio_analyzer import EntityRecognizer, LocalRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import (
    EmailRecognizer,
    SpacyRecognizer,
    NhsRecognizer,
    UkPostcodeRecognizer,
    UrlRecognizer,
)

from ..register import FoldedText, Register, fold, normalise

PERSON, ORGANIZATION, LOCATION, ROLE = "PERSON", "ORGANIZATION", "LOCATION", "ROLE"
PHONE, DATE_OF_BIRTH = "PHONE_NUMBER", "DATE_OF_BIRTH"
NER_ENTITIES = (PERSON, ORGANIZATION, LOCATION)
ENTITY_TYPES = (*NER_ENTITIES, ROLE, PHONE, DATE_OF_BIRTH, "EMAIL_ADDRESS", "URL", "UK_POSTCODE", "UK_NHS", "UK_NINO")
SPACY_LABELS = {"PERSON": PERSON, "PER": PERSON, "ORG": ORGANIZATION, "GPE": LOCATION, "LOC": LOCATION,
                "FAC": LOCATION}

REGISTER_PEOPLE, REGISTER_ORGANISATIONS, ROLES = "register_people", "register_organisations", "role_lexicon"
PROPAGATION = "propagation"
DETECTOR_OF = {REGISTER_PEOPLE: "register", REGISTER_ORGANISATIONS: "register", ROLES: "role",
               SpacyRecognizer.__name__: "ner", PROPAGATION: "propagation", "NameShapeRecognizer": "shape",
               "NameListRecognizer": "name list"}
# Who wins between two spans of one length: the register, exact patterns and job titles first; a
# name's shape or a known first name in context beats the model's guess of type ("Mitchell said").
DETECTOR_PRIORITY = {"register": 0, "pattern": 1, "role": 2, "shape": 3, "name list": 3, "ner": 4, "typing": 4,
                     "propagation": 5}


def detector_of(recognizer_name: str) -> str:
    return DETECTOR_OF.get(recognizer_name, "pattern")


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer, validated against tldextract's bundled suffix list.

    The stock recognizer calls ``tldextract.extract``, which fetches the public suffix list
    over the network on first use. qualcode never touches the network.
    """

    def validate_result(self, pattern_text: str) -> bool:
        return offline_tld_extractor()(pattern_text).fqdn != ""


@cache
def offline_tld_extractor():
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class QuickUrlRecognizer(UrlRecognizer):
    """Presidio's URL recognizer, run only on text that could hold a URL at all.

    Its patterns are expensive and almost no interview turn contains a dot between letters or a
    scheme; a cheap test skips the rest with identical results.
    """

    MAYBE_URL = re.compile(r"[A-Za-z0-9-]\.[A-Za-z]{2,}|://|www\.", re.IGNORECASE)

    def analyze(self, text: str, entities, nlp_artifacts=None, regex_flags=None):
        return super().analyze(text, entities, nlp_artifacts, regex_flags) if self.MAYBE_URL.search(text) else []


class UkPhoneRecognizer(PatternRecognizer):
    """UK phone numbers: mobiles (07…), +44 and geographic numbers (01…, 02…, 03…, 08…)."""

    PATTERNS = [
        Pattern("UK phone (international)", r"(?<![\w+])\+44\s?\(?0?\)?\s?\d{2,4}(?:[\s-]?\d{3,4}){2}(?!\w)", 0.7),
        Pattern("UK phone (national)", r"(?<![\w+])\(?0[1-37-8]\d{1,3}\)?(?:[\s-]?\d{3,4}){2}(?!\w)", 0.6),
    ]
    CONTEXT = ["phone", "mobile", "number", "call", "ring", "tel", "telephone", "landline"]

    def __init__(self):
        super().__init__(supported_entity=PHONE, patterns=self.PATTERNS, context=self.CONTEXT,
                         name="UkPhoneRecognizer")


class UkNinoRecognizer(PatternRecognizer):
    """National Insurance numbers with any two-letter prefix, HMRC's specimen ``QQ 12 34 56 C`` too.

    Presidio's recognizer follows HMRC's allocation rules, so a number misheard or mistyped in
    transcription, or the specimen itself, slips through. Removing identifiers must not depend on
    them being valid: two letters, six digits (spaced in pairs or not) and a suffix A-D count.
    """

    PATTERNS = [Pattern("NI number", r"\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b", 0.5)]
    CONTEXT = ["national insurance", "ni number", "nino", "insurance"]

    def __init__(self):
        super().__init__(supported_entity="UK_NINO", patterns=self.PATTERNS, context=self.CONTEXT,
                         name="UkNinoRecognizer")


_DATE = (r"(?:\d{1,2}(?:st|nd|rd|th)?(?:\s+of)?\s+[A-Z][a-z]{2,8}\.?,?\s+\d{4}"
         r"|[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}"
         r"|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})")


class DateOfBirthRecognizer(PatternRecognizer):
    """A date said to be someone's birth date. Other dates are not identifying and stay."""

    PATTERNS = [Pattern("date of birth", rf"(?i:(?<=\b(?:born(?:\s+on)?|date\s+of\s+birth|d\.?o\.?b\.?)[:\s]{{1,3}})){_DATE}", 0.85)]

    def __init__(self):
        super().__init__(supported_entity=DATE_OF_BIRTH, patterns=self.PATTERNS, name="DateOfBirthRecognizer",
                         global_regex_flags=0)


@dataclass(frozen=True)
class RoleLexicon:
    """Job titles (lower case) and the generic descriptor each becomes."""

    descriptors: dict[str, str]
    of_phrase: frozenset[str] = frozenset()

    def descriptor(self, title_text: str) -> str:
        """The descriptor of the longest known title that ``title_text`` starts with."""
        folded = normalise(title_text)
        for title in sorted(self.descriptors, key=len, reverse=True):
            if folded == title or folded.startswith(title + " "):
                return self.descriptors[title]
        return "role"

    def with_register(self, register: Register) -> "RoleLexicon":
        """Add the register's own job titles. A title the lexicon knows keeps its descriptor: one
        title has one generalisation, whichever person's row it came from."""
        extra = {normalise(role): descriptor for role, descriptor in register.roles.items()}
        return RoleLexicon({**extra, **self.descriptors}, self.of_phrase)

    def recognizer(self) -> "TrieRecognizer":
        """Titles as whole words; "professor of X" and the like swallow a short "of <field>"."""
        with_field = trie_regex(self.of_phrase, fold_case=True)
        return TrieRecognizer(rf"{with_field}{OF_TAIL}|{trie_regex(self.descriptors, fold_case=True)}",
                              ROLE, ROLES, score=0.8)


_TAIL_WORD = r"(?!(?:at|in|on|for|with|from|to|by|and|but|who|which|that|so|because)\b)[\w'’-]+"
OF_TAIL = rf"(?:\s+of\s+(?:the\s+)?{_TAIL_WORD}(?:\s+(?:and\s+)?{_TAIL_WORD}){{0,2}})?"


def _escape_title(title: str) -> str:
    return r"\s+".join(re.escape(word) for word in title.split())


def trie_regex(terms: Iterable[str], fold_case: bool) -> str:
    """One regex matching any of ``terms``, shaped as a trie so it runs in one pass.

    A flat alternation of hundreds of names or titles is tried alternative by alternative at
    every position; a trie shares prefixes, and greedy optional tails still prefer the longest
    term. Spaces match any run of whitespace (titles break across lines). Terms are folded
    (:func:`~qualcode.register.fold`): the pattern is for text folded the same way.
    """
    trie: dict = {}
    for term in terms:
        node = trie
        for char in fold(" ".join(term.split()), case=fold_case):
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_pattern(trie) if trie else r"(?!x)x"


def _trie_pattern(node: dict) -> str:
    branches = [(r"\s+" if char == " " else re.escape(char)) + _trie_pattern(child)
                for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body  # a term ends here: the rest is optional, greedy


class SpanRecognizer(LocalRecognizer):
    """A Presidio recognizer over whole-word matches in the folded text (see :meth:`spans`).

    Matching runs on the folded text (:class:`~qualcode.register.FoldedText`), so "Siobhan" finds
    "Siobhán" and the reverse, and spans map back to exact offsets. ``capitalised_only`` holds folded
    terms that are also ordinary words ("will", "may", "grace"): they match only where the text
    writes them with a capital.
    """

    def __init__(self, entity: str, name: str, score: float = 1.0, fold_case: bool = True,
                 capitalised_only: frozenset[str] = frozenset()):
        self.fold_case = fold_case
        self.capitalised_only = capitalised_only
        self.score = score
        super().__init__(supported_entities=[entity], name=name, supported_language="en")

    def load(self) -> None:
        """Nothing to load: everything is built in ``__init__``."""

    def folded_spans(self, folded: str) -> Iterator[tuple[int, int]]:
        raise NotImplementedError

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """Original (start, end) of every match in ``text``."""
        folded = FoldedText.of(text, self.fold_case)
        for folded_start, folded_end in self.folded_spans(folded.text):
            start, end = folded.span(folded_start, folded_end)
            if self.capitalised_only and " ".join(folded.text[folded_start:folded_end].split()) in \
                    self.capitalised_only and not text[start].isupper():
                continue
            yield start, end

    def analyze(self, text: str, entities, nlp_artifacts=None) -> list[RecognizerResult]:
        metadata = {RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}
        return [RecognizerResult(self.supported_entities[0], start, end, self.score,
                                 recognition_metadata=dict(metadata))
                for start, end in self.spans(text)]


class TrieRecognizer(SpanRecognizer):
    """Whole-word matches of a trie-shaped stdlib regex (:func:`trie_regex`), for the role lexicon,
    whose titles take a pattern tail ("professor of criminology").

    Presidio's own deny list is one flat alternation in the ``regex`` module: it cost more time than
    the rest of the recognizers together.
    """

    def __init__(self, body: str, entity: str, name: str, score: float = 1.0, fold_case: bool = True):
        # Word characters only, as in the leak check: "Okafor-led" holds the name "Okafor".
        self.pattern = re.compile(rf"(?<!\w)(?:{body})(?!\w)")
        super().__init__(entity, name, score, fold_case)

    def folded_spans(self, folded: str) -> Iterator[tuple[int, int]]:
        return (match.span() for match in self.pattern.finditer(folded) if match.end() > match.start())


_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
_WORD = re.compile(r"\w+")


def _tokens(folded: str) -> list[str]:
    """Words, single punctuation marks and whitespace (any run of it is one ``" "``)."""
    return [" " if token[0].isspace() else token for token in _TOKEN.findall(folded)]


class DenyListRecognizer(SpanRecognizer):
    """Whole-word matches of a list of terms (names, organisations), leftmost and longest first.

    The terms are sets of token tuples (and of their prefixes), so building and matching cost the
    same for a register of 10 people or 10,000 (a regex alternation of 30,000 names takes
    seconds to compile). Whitespace in a term matches any run of whitespace in the text; "Okafor"
    matches in "Okafor-led" and "Okafor's", never inside "Okaforth". Terms start with a word.
    """

    def __init__(self, terms: Iterable[str], entity: str, name: str, score: float = 1.0, fold_case: bool = True,
                 capitalised_only: Iterable[str] = ()):
        self.terms: set[tuple[str, ...]] = set()
        self.prefixes: set[tuple[str, ...]] = set()  # every start of a term, to stop a walk early
        for term in terms:
            tokens = tuple(_tokens(fold(" ".join(term.split()), case=fold_case)))
            if tokens:
                self.terms.add(tokens)
                self.prefixes.update(tokens[:length] for length in range(1, len(tokens) + 1))
        self.first_words = frozenset(tokens[0] for tokens in self.terms)
        super().__init__(entity, name, score, fold_case, frozenset(fold(t, fold_case) for t in capitalised_only))

    @classmethod
    def deny_list(cls, terms: Iterable[str], entity: str, name: str, fold_case: bool = True,
                  capitalised_only: Iterable[str] = ()) -> "DenyListRecognizer":
        return cls(terms, entity, name, fold_case=fold_case, capitalised_only=capitalised_only)

    def folded_spans(self, folded: str) -> Iterator[tuple[int, int]]:
        # One C-level pass over the text's words finds the few that can start a term (most texts
        # hold none); only their occurrences are looked at.
        starts = self.first_words.intersection(_WORD.findall(folded))
        if not starts:
            return
        position = 0
        for word in _starts_pattern(frozenset(starts)).finditer(folded):
            if word.start() < position:
                continue
            # walk the text token by token while it is still the start of some term; keep the longest
            tokens, at, end = (word.group(),), word.end(), 0
            while True:
                if tokens in self.terms and self._whole(folded, word.start(), at):
                    end = at
                token = _TOKEN.match(folded, at)
                if token is None:
                    break
                tokens += (" " if token.group()[0].isspace() else token.group(),)
                if tokens not in self.prefixes:
                    break
                at = token.end()
            if end:
                yield word.start(), end
                position = end

    @staticmethod
    def _whole(folded: str, start: int, end: int) -> bool:
        """Whole words only: no word character just before or after (a term may end in "." or "-")."""
        return not (start > 0 and _is_word(folded[start - 1])) and not (end < len(folded) and _is_word(folded[end]))


@lru_cache(maxsize=4096)
def _starts_pattern(words: frozenset[str]) -> re.Pattern:
    """Whole-word occurrences of a few words (the same sets recur from text to text: cached)."""
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")(?!\w)")


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


@cache
def shipped_role_lexicon() -> RoleLexicon:
    text = resources.files("qualcode.data").joinpath("roles.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return RoleLexicon(
        {normalise(row["title"]): row["descriptor"].strip() for row in rows if row["title"].strip()},
        frozenset(normalise(row["title"]) for row in rows if (row.get("of_phrase") or "").strip() == "yes"),
    )


class GenericBodies:
    """Public bodies, processes and laws that identify no one ("the CPS", "Clare's Law", "MARAC").

    NER tags them, and a detection inside one ("Clare" in "Clare's Law") would otherwise be
    replaced and then propagated across the corpus. Register detections always win: a team that
    lists a body in its register wants it replaced.
    """

    def __init__(self, bodies: Iterable[str], register: Register):
        registered = {normalise(name) for name in (*register.all_names, *register.organisations)}
        kept = sorted({b for b in bodies if normalise(b) not in registered}, key=lambda b: (-len(b), b))
        alternation = "|".join(_escape_title(body) for body in kept) or r"(?!x)x"
        self._inside = re.compile(rf"(?<!\w)(?:the\s+)?(?:{alternation})(?!\w)", re.IGNORECASE)
        self._cache: dict[str, list[tuple[int, int]]] = {}
        self._whole = re.compile(rf"(?:the\s+)?(?:{alternation})(?:['’]s?)?", re.IGNORECASE)

    def _spans(self, text: str) -> list[tuple[int, int]]:
        """Generic phrases of ``text``; each text is asked about up to three times, so remember."""
        if text not in self._cache:
            self._cache[text] = [match.span() for match in self._inside.finditer(text)]
        return self._cache[text]

    def is_generic(self, text: str) -> bool:
        return self._whole.fullmatch(text.strip()) is not None

    def drop_inside(self, text: str, detections: Sequence) -> list:
        """Detections not lying within a generic phrase of ``text`` (register finds always stay)."""
        if not detections:
            return []
        spans = self._spans(text)
        return [d for d in detections
                if d.detector == "register" or not any(start <= d.start and d.end <= end for start, end in spans)]


@cache
def shipped_generic_bodies() -> tuple[str, ...]:
    text = resources.files("qualcode.data").joinpath("generic_bodies.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def build_recognizers(register: Register, lexicon: RoleLexicon) -> list[EntityRecognizer]:
    """Every recognizer a pseudonymisation run uses: register, NER, contacts, UK ids, roles."""
    return [
        DenyListRecognizer.deny_list(register.all_names, PERSON, REGISTER_PEOPLE,
                                     capitalised_only=register.everyday_words),
        DenyListRecognizer.deny_list(register.organisations, ORGANIZATION, REGISTER_ORGANISATIONS),
        lexicon.recognizer(),
        SpacyRecognizer(supported_entities=list(NER_ENTITIES)),
        OfflineEmailRecognizer(),
        QuickUrlRecognizer(),
        UkPhoneRecognizer(),
        UkPostcodeRecognizer(),
        NhsRecognizer(),
        UkNinoRecognizer(),
        DateOfBirthRecognizer(),
    ]
