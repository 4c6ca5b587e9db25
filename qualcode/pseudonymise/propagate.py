"""Corpus-wide propagation and overlap resolution: pure functions over detections.

Presidio analyses one text at a time. A name the model found in one interview is just as
identifying where the model missed it, so every detected person (and organisation and place)
is looked for again in every turn of every transcript, and so is each capitalised part of a
person's name of three letters or more: the surname or first name said alone.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Sequence


from ..letters import UPPER
from ..register import HONORIFICS, Register, normalise
from .analyse import Detection
from .recognizers import DETECTOR_PRIORITY, NER_ENTITIES, PERSON, PROPAGATION, DenyListRecognizer

_NAME_PART = re.compile(rf"^[{UPPER}][\w'’-]{{2,}}$")
_POSSESSIVE = re.compile(r"['’]s?$")
_LOWER_WORD = re.compile(r"(?<![\w'’@./-])[a-z][a-z'’-]+(?![\w@]|\.\w)")  # words, not bits of emails/URLs


def name_parts(name: str, common_words: frozenset[str] = frozenset()) -> list[str]:
    """Capitalised parts of three letters or more that can stand for the person alone.

    Honorifics, acronyms ("MARAC") and words the corpus also uses in lower case ("law",
    "lane", "women": signs of an NER slip on "Clare's Law" or "Women's Aid") are left out.
    """
    parts = []
    for token in name.split():
        token = _POSSESSIVE.sub("", token.strip(".,;:()\"“”"))
        folded = token.casefold()
        if _NAME_PART.match(token) and not token.isupper() and folded not in HONORIFICS and folded not in common_words:
            parts.append(token)
    return parts


def lower_case_words(texts: Iterable[str]) -> frozenset[str]:
    """Every word the corpus writes in lower case somewhere."""
    return frozenset(word for text in texts for word in _LOWER_WORD.findall(text))


def propagation_terms(found: Iterable[tuple[str, str]], common_words: frozenset[str],
                      is_generic: Callable[[str], bool]) -> dict[str, dict[str, str]]:
    """``{entity_type: {term: full string it came from}}`` for every detected string and name part."""
    terms: dict[str, dict[str, str]] = {entity: {} for entity in NER_ENTITIES}
    found = list(found)
    places_and_bodies = {text.strip() for entity_type, text in found if entity_type != PERSON}
    for entity_type, text in found:
        text = _POSSESSIVE.sub("", text.strip())
        if entity_type not in terms or len(text) < 3 or is_generic(text):
            continue
        if " " in text or text.casefold() not in common_words:  # one common word: an NER slip
            terms[entity_type].setdefault(text, text)
        if entity_type == PERSON:
            for part in name_parts(text, common_words):  # "Eastmoor" of "Safer Eastmoor Together" is a place
                if not is_generic(part) and part not in places_and_bodies:
                    terms[PERSON].setdefault(part, text)
    return terms


def full_names(found: Iterable[tuple[str, str]], register: Register) -> dict[str, set[str]]:
    """``{normalised name part: every full name it is part of}``, the register's names included.

    Who a first name or surname said alone may be. Common words count here: NER found "Mark" as
    a person, so it is replaced anyway; the only question is by which pseudonym.
    """
    people = {*register.all_names, *(text for entity_type, text in found if entity_type == PERSON)}
    wholes: dict[str, set[str]] = {}
    for text in people:
        if len(text.split()) > 1:
            for part in name_parts(text):
                wholes.setdefault(normalise(part), set()).add(text)
    return wholes


def propagation_recognizers(terms: dict[str, dict[str, str]]) -> list[DenyListRecognizer]:
    """Case-sensitive whole-word deny lists: "Rob" the name, not "rob" the verb."""
    return [DenyListRecognizer.deny_list(found, entity, PROPAGATION, fold_case=False)
            for entity, found in sorted(terms.items()) if found]


def propagate(text: str, recognizers: Sequence[DenyListRecognizer], offset: int = 0) -> list[Detection]:
    return [
        Detection(offset + result.start, offset + result.end, result.entity_type, PROPAGATION,
                  round(float(result.score), 4))
        for recognizer in recognizers
        for result in recognizer.analyze(text, [recognizer.supported_entities[0]])
    ]


def propagate_into_gaps(text: str, kept: Sequence[Detection], recognizers: Sequence[DenyListRecognizer]) -> list[Detection]:
    """Propagation again in the text that no kept span covers.

    A deny list matches each place once, longest term first. So a long NER slip ("techUK and the
    Information Economy Council") that loses to a register find inside it also hides the shorter
    term it contains; looking again where nothing was kept finds that term.
    """
    found, start = [], 0
    for span in sorted(kept, key=lambda d: d.start):
        if span.start > start:
            found.extend(propagate(text[start:span.start], recognizers, start))
        start = max(start, span.end)
    if start < len(text):
        found.extend(propagate(text[start:], recognizers, start))
    return found


def widen_register_people(text: str, detections: Sequence[Detection]) -> list[Detection]:
    """A register name inside a longer NER person ("Derek McAuley" around "McAuley") takes it all.

    The register knows who it is; the model knows where the name starts and ends.
    """
    people = [d for d in detections if d.entity_type == PERSON and d.detector == "ner"]
    widened = []
    for d in detections:
        if d.detector == "register" and d.entity_type == PERSON:
            outer = max((n for n in people if n.start <= d.start and d.end <= n.end
                         and _name_like(text[n.start:d.start] + " " + text[d.end:n.end])),
                        key=lambda n: n.end - n.start, default=d)
            d = Detection(outer.start, outer.end, PERSON, d.detector, d.score)
        widened.append(d)
    return widened


def _name_like(words: str) -> bool:
    """Only capitalised words widen a name: "Derek" before "McAuley", not "rang" after "Lisa"."""
    return all(word[0].isupper() or word.casefold() in HONORIFICS for word in re.findall(r"[\w'’-]+", words))


def resolve_overlaps(text: str, detections: Iterable[Detection]) -> list[Detection]:
    """Keep non-overlapping spans: patterns first, then register finds, then longest, trusted detector, score.

    Contact details and identifiers are exact by construction, so a name inside one goes with
    it: "lisa.hammond@…" becomes [email], not the person's pseudonym stretched over the address
    by an NER slip. The register is ground truth for the rest, so "Dr Anjali Mistry" mis-tagged
    as an organisation still becomes the person's pseudonym. Among the rest, longest-first leaves
    fewest characters exposed; any part of a lost span that names someone is caught again by
    propagation.
    """
    ranked = sorted(set(widen_register_people(text, list(detections))),
                    key=lambda d: (d.detector != "pattern", d.detector != "register", -(d.end - d.start),
                                   DETECTOR_PRIORITY.get(d.detector, 9), -d.score, d.start, d.entity_type))
    kept: list[Detection] = []
    for detection in ranked:
        if detection.end > detection.start and all(detection.end <= k.start or detection.start >= k.end for k in kept):
            kept.append(detection)
    return sorted(kept, key=lambda d: d.start)
