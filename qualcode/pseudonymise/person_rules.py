"""Finding the names no register lists, and only names: rules around the statistical NER model.

Three rules, each small and switchable (``benchmarks/bench_detection.py --ablation`` measures
what each adds), each leaving its evidence in the review log's ``detector`` column:

* **name shapes** (``shape``): a title before a name ("Dr Okafor", "DI Patel"), citation forms
  ("Hartley, J.", "J. Hartley"), middle initials ("Anna K. Whitfield"), particles ("van der
  Berg"), hyphens, and a name glued to a footnote digit or superscript ("Maria²").
* **name lists** (``name list``): a known first name (:func:`first_names`) followed by a
  capitalised word is a person; a known first name alone is one where context says so ("my
  colleague Lucy", "Lucy said"), in lower case too ("lucy said"), since machine and informal
  transcripts drop capitals. The lists are evidence, never enough alone: an everyday word
  (``everyday_word_names.txt``) needs a capital and a name-like neighbour.
* **entity typing** (``typing``): an NER "person" that is a street ("Oak Rd") becomes a place,
  one that ends in a partnership or service word ("Eastmoor MARAC", "Safer Streets Hub") an
  organisation, a job title or plural rank ("Detective Sergeants") a role; a weekday, month,
  demonym, acronym ("A&E") or everyday word with a possessive ("Email's best") is no one.
"""

from __future__ import annotations

import dataclasses
import re
from contextlib import contextmanager
from functools import cache
from importlib import resources
from typing import Iterable, Iterator, Sequence

from presidio_analyzer import LocalRecognizer, RecognizerResult
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from ..letters import LOWER, UPPER
from ..register import HONORIFICS, fold, shipped_everyday_words
from .analyse import Detection
from .recognizers import LOCATION, ORGANIZATION, PERSON, ROLE, RoleLexicon

NAME_SHAPES, NAME_LISTS, ENTITY_TYPING = "name shapes", "name lists", "entity typing"
RULES = (NAME_SHAPES, NAME_LISTS, ENTITY_TYPING)
_switched_off: set[str] = set()


@contextmanager
def switched_off(rules: Iterable[str]) -> Iterator[None]:
    """Run without some rules (the detection benchmark's ablation); in this process only."""
    rules = set(rules)
    _switched_off.update(rules)
    try:
        yield
    finally:
        _switched_off.difference_update(rules)


def active(rule: str) -> bool:
    return rule not in _switched_off


@cache
def _shipped(name: str) -> frozenset[str]:
    text = resources.files("qualcode.data").joinpath(name).read_text(encoding="utf-8")
    return frozenset(fold(line.strip()) for line in text.splitlines() if line.strip() and not line.startswith("#"))


@cache
def first_names() -> frozenset[str]:
    """Folded first names: US Census 1990 and Faker's providers (see ``first_names.txt``), without
    the short and function words some lists hold ("An", "In", "My")."""
    return frozenset(name for name in _shipped("first_names.txt") if _usable(name))


@cache
def surnames() -> frozenset[str]:
    return frozenset(name for name in _shipped("surnames.txt") if _usable(name))


def _usable(name: str) -> bool:
    return len(name) > 2 and name not in ENGLISH_STOP_WORDS


# -- name shapes ---------------------------------------------------------------------------------

_CAP = rf"[{UPPER}][{LOWER}][{LOWER}'’]*(?:-[{UPPER}][{LOWER}'’]+)?"  # Okafor, O'Neill, Taliercio-Salata
_MC = rf"(?:Mc|Mac|O['’])?{_CAP}"
_PARTICLE = r"(?:van|von|de|der|den|du|da|di|del|della|le|la|bin|binti|ibn|al|el|Ní|Nic|Mac|Ó|Ua)"
_SURNAME = rf"(?:{_PARTICLE}\s+){{0,2}}{_MC}"
_TITLES = (r"Dr|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Sir|Dame|Lord|Lady|Cllr|Councillor|Rev|Father|Sister|"
           r"DI|DS|DC|PC|DCI|DCS|Sgt|Sergeant|Insp|Inspector|Supt|Superintendent|Constable|Judge")
_INITIAL = rf"[{UPPER}]\."
SHAPES = [
    # a title, then one or two name words: the name is the person, not the title
    re.compile(rf"(?<![\w.])(?:{_TITLES})\.?\s+(?P<name>{_MC}(?:\s+{_SURNAME})?)(?![\w'’])"),
    # citations: "Hartley, J." and "Okoro, B. A."
    re.compile(rf"(?<![\w.])(?P<name>{_SURNAME},\s+{_INITIAL}(?:\s?{_INITIAL})*)"),
    # "J. Hartley", "J. K. Hartley", and a first name with middle initials: "Anna K. Whitfield"
    re.compile(rf"(?<![\w.])(?P<name>(?:{_CAP}\s+)?{_INITIAL}(?:\s?{_INITIAL})*\s+{_SURNAME})(?![\w'’])"),
    # a name glued to a footnote marker: "Maria²", "Okafor12"
    re.compile(rf"(?<![\w.])(?P<name>{_CAP})(?=[\u00b2\u00b3\u00b9\u2070-\u2079]|\d{{1,3}}\b)"),
]


class PersonRule(LocalRecognizer):
    """One switchable person rule as a Presidio recognizer: ``spans`` says where names are, with
    a score; the recognizer's name becomes the log's ``detector`` (``recognizers.DETECTOR_OF``)."""

    rule = ""

    def __init__(self):
        super().__init__(supported_entities=[PERSON], name=type(self).__name__, supported_language="en")

    def load(self) -> None:
        """Nothing to load: the lists are read once, on first use."""

    def spans(self, text: str) -> dict[tuple[int, int], float]:
        raise NotImplementedError

    def analyze(self, text: str, entities, nlp_artifacts=None) -> list[RecognizerResult]:
        if not active(self.rule):
            return []
        metadata = {RecognizerResult.RECOGNIZER_NAME_KEY: self.name, RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}
        return [RecognizerResult(PERSON, start, end, score, recognition_metadata=dict(metadata))
                for (start, end), score in sorted(self.spans(text).items())]


class NameShapeRecognizer(PersonRule):
    """Names by their written shape (rule "name shapes"); the span is the name, titles left out.

    A shape alone is weak evidence for the glued-digit form, so that one also needs the word to be
    a known first name or surname."""

    rule = NAME_SHAPES

    def spans(self, text: str) -> dict[tuple[int, int], float]:
        found: dict[tuple[int, int], float] = {}
        for index, shape in enumerate(SHAPES):
            for match in shape.finditer(text):
                name = match.group("name")
                if index == len(SHAPES) - 1 and not _known(name.split()[0]):
                    continue
                if index == 2 and name.split()[0].endswith(".") and not _known(name.split()[-1]):
                    continue  # "J. Hartley" needs a known surname: "(E. Funded by ...)" is no one
                found.setdefault(match.span("name"), 0.6)
        return found


# -- name lists ----------------------------------------------------------------------------------

# Context that makes a lone first name a person: before it ("my colleague Lucy") or after it ("Lucy said").
_BEFORE = re.compile(r"(?:\b(?:my|her|his|their|our|a|the)\s+(?:colleague|manager|partner|husband|wife|boyfriend|"
                     r"girlfriend|ex|son|daughter|sister|brother|mum|mother|dad|father|friend|worker|caseworker|"
                     r"client|supervisor|boss|neighbour)|\b(?:called|named|with|and|to|asked|told|rang|emailed|"
                     r"phoned|met|thanked)|\bsays|\bsaid)\s+$", re.IGNORECASE)
# Words that introduce a person by relation: a capitalised name after them is a person even when no
# list knows it ("her partner Babatunji Makinde").
_RELATION = re.compile(r"\b(?:(?:my|her|his|their|our)\s+(?:colleague|manager|partner|husband|wife|boyfriend|"
                       r"girlfriend|ex|son|daughter|sister|brother|mum|mother|dad|father|friend|caseworker|"
                       r"supervisor|boss|neighbour)|called|named)\s+", re.IGNORECASE)
_UNLISTED_NAME = re.compile(rf"(?<![\w'’])[{UPPER}][{LOWER}]{{2,}}(?:-[{UPPER}][{LOWER}]+)?"
                            rf"(?:\s+[{UPPER}][{LOWER}]{{2,}}(?:-[{UPPER}][{LOWER}]+)?){{0,2}}(?![\w'’])")
_SPEECH = re.compile(r"\s+(?:said|says|told|tells|asked)\b")
_MEETING = re.compile(r"\b(?:spoke to|speak to|talked to|met|with|asked|told|rang|called|emailed|when|and)\s+$",
                      re.IGNORECASE)
_AFTER = re.compile(r"\s+(?:said|says|told|tells|asked|rang|called|phoned|emailed|thought|thinks|felt|feels|"
                    r"was|is|had|has|would|will|did|does|and I|agreed|left|joined)\b", re.IGNORECASE)
_WORDS = re.compile(r"[\w'’-]+")


class NameListRecognizer(PersonRule):
    """Known first names as evidence (rule "name lists")."""

    rule = NAME_LISTS

    def spans(self, text: str) -> dict[tuple[int, int], float]:
        names, family, everyday = first_names(), surnames(), shipped_everyday_words()
        words = list(_WORDS.finditer(text))
        found: dict[tuple[int, int], float] = {}
        for index, word in enumerate(words):
            folded = fold(word.group())
            if folded in family and folded not in names and word.group()[0].isupper() \
                    and _unlisted_name(word.group()) and _SPEECH.match(text, word.end()):
                found.setdefault(word.span(), 0.5)  # "Mitchell said"
                continue
            if folded not in names or (folded in everyday and not word.group()[0].isupper()):
                continue
            end = word.end()
            following = words[index + 1] if index + 1 < len(words) else None
            capitalised = word.group()[0].isupper()
            if capitalised and following and text[end:following.start()].isspace() \
                    and following.group()[0].isupper() and _name_word(following.group()):
                found.setdefault((word.start(), following.end()), 0.55)  # "Giulia Ferraro"
            elif folded not in everyday and (_BEFORE.search(text[max(0, word.start() - 40):word.start()])
                                             or (_AFTER if capitalised else _SPEECH).match(text, end)):
                found.setdefault((word.start(), end), 0.5)  # "my colleague Lucy", "lucy said"
        for relation in _RELATION.finditer(text):
            name = _UNLISTED_NAME.match(text, relation.end())
            if name and _unlisted_name(name.group()):
                found.setdefault(name.span(), 0.5)  # "her partner Babatunji Makinde"
        for name in _UNLISTED_NAME.finditer(text):  # "Osunleke said", "I spoke to Omobobola Ogindan"
            full = len(name.group().split()) > 1 and _MEETING.search(text[max(0, name.start() - 20):name.start()])
            if (_SPEECH.match(text, name.end()) or full) and _unlisted_name(name.group()):
                found.setdefault(name.span(), 0.45)
        return found


def _name_word(word: str) -> bool:
    """A capitalised word that can be a surname: not an everyday word, not in capitals."""
    return not word.isupper() and fold(word.rstrip("'’s")) not in shipped_everyday_words() | _NOT_NAMES


def _unlisted_name(name: str) -> bool:
    """Capitalised words that can be a name no list knows: not everyday or function words, not a
    street, a service or a job title ("The Police said", "Funding was" are not people)."""
    words = name.split()
    return all(_name_word(word) and fold(word) not in ENGLISH_STOP_WORDS for word in words) \
        and not _STREET.search(name) and not _BODY.search(name)


def _known(word: str) -> bool:
    folded = fold(word)
    return folded in first_names() or folded in surnames()


# -- entity typing -------------------------------------------------------------------------------

# Street words that are rarely surnames ("Hill", "Green", "Park" are left out: they are names too).
_STREET = re.compile(r"\b(?:Rd|Road|St|Street|Lane|Ln|Ave|Avenue|Close|Way|Drive|Dr|Crescent|Gardens|Terrace|Square|"
                     r"Mews|Parade|Ridge|Heights|Meadows?|Wharf|Quay|Plain|Trace|Shoals?|Chowk|Marg|Boulevard|Blvd|"
                     r"Circle|Loop|Trail|Hollow|Estate)\.?$")
# A title or lower-case words the model took into a name ("rang Dr Ballard"): not part of it.
_LEADING = re.compile(rf"(?:(?:[{LOWER}][\w'’]*|(?:{_TITLES})\.?)\s+)+(?=[{UPPER}])")  # match() anchors it
_BODY = re.compile(r"\b(?:MARAC|MAPPA|MASH|Partnership|Hub|Board|Team|Forum|Service|Services|Trust|Council|Police|"
                   r"Unit|Centre|Center|Group|Panel|Network|Project|Refuge|Alliance|Agency|Foundation|Ltd|Inc|LLC|"
                   r"plc|Court|School|Hospital|Surgery|Practice|Clinic|College|University)$")
_NOT_NAMES = frozenset(fold(word) for word in """
monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
september october november december christmas easter email emails phone text whatsapp teams zoom
icelander icelandic british english scottish welsh irish polish somali romanian nigerian pakistani indian
bangladeshi african caribbean asian european american muslim christian jewish sikh hindu
cashier designer manager officer worker nurse doctor teacher caseworker advocate chair café cafe
""".split())


def retype_persons(text: str, detections: Sequence[Detection], lexicon: RoleLexicon) -> list[Detection]:
    """NER "persons" that are no one, or something else, and any NER entity written all in lower
    case in a text that uses capitals (rule "entity typing")."""
    if not active(ENTITY_TYPING):
        return list(detections)
    kept = []
    for detection in detections:
        if detection.detector == "ner" and not any(c.isupper() for c in text[detection.start:detection.end]) \
                and any(c.isupper() for c in text):
            continue  # "helpline" as a place: the model's slip on an ordinary word (all-lower-case text aside)
        if detection.entity_type != PERSON or detection.detector != "ner":
            kept.append(detection)
            continue
        leading = _LEADING.match(text, detection.start, detection.end)
        if leading:
            detection = dataclasses.replace(detection, start=leading.end(), detector="typing")
        span = text[detection.start:detection.end].strip()
        bare = re.sub(r"['’]s?$", "", span)
        words = [fold(word) for word in bare.split()]
        if not words or "&" in span or (bare.isupper() and len(bare) <= 5) or all(w in _NOT_NAMES for w in words):
            continue  # "A&E", "CPS", "Email's", "Icelander", "Monday"
        if len(words) == 1 and words[0] in shipped_everyday_words() and span != bare:
            continue  # "Will's" as in "Email's best": an everyday word with a possessive
        kind = (LOCATION if _STREET.search(bare) else ORGANIZATION if _BODY.search(bare)
                else ROLE if _role(bare, lexicon) else None)
        kept.append(detection if kind is None else dataclasses.replace(detection, entity_type=kind, detector="typing"))
    return kept


def not_a_name(word: str, lexicon: RoleLexicon) -> bool:
    """Whether entity typing takes a capitalised word for no one's name: a weekday, demonym or job
    noun ("Chair"), an honorific ("Ms"), a job title."""
    folded = fold(word).rstrip(".")
    return folded in _NOT_NAMES or folded in HONORIFICS or _role(word, lexicon)


def _role(span: str, lexicon: RoleLexicon) -> bool:
    """A job title, singular or plural ("Detective Sergeants")."""
    folded = fold(span)
    return any(candidate in lexicon.descriptors for candidate in (folded, folded.removesuffix("s")))
