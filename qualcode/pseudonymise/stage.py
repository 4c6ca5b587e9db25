"""The pseudonymisation stage: detections in, consistent replacements and a review log out.

Planning is pure: given transcripts, the detections of every analysed text (each turn's text and
table cells), the register and the key, it decides every replacement in a fixed order (documents
by name, turns, offsets) so two runs give the same bytes. Presidio's ``AnonymizerEngine`` applies
the replacements through custom operators that read the key, so one mapping serves the text, the
speaker labels and the log.
"""

from __future__ import annotations

import re
from collections import Counter
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ..domain import UNKNOWN_SPEAKER, PseudonymisedDocument, PseudonymisedTurn, Transcript, Turn
from ..ingest import grouped
from ..ingest.table import ID
from ..ingest.text import format_transcript
from ..register import Register, normalise
from .analyse import Detection
from .key import PseudonymKey
from .leakcheck import file_name_readings
from .person_rules import retype_persons
from .propagate import (full_names, lower_case_words, name_parts, propagate, propagate_into_gaps, propagation_recognizers,
                        propagation_terms, resolve_overlaps)
from .recognizers import ENTITY_TYPES, PERSON, ROLE, GenericBodies, RoleLexicon, DenyListRecognizer, shipped_generic_bodies

LOG_COLUMNS = ("document", "start", "end", "entity_type", "original", "replacement", "detector", "score")
_NEUTRAL_LABEL = re.compile(r"^(?:P|T|R)\d{1,3}$")


@dataclass(frozen=True)
class LogRow:
    document: str
    start: int
    end: int
    entity_type: str
    original: str
    replacement: str
    detector: str
    score: float


@dataclass
class StagePlan:
    documents: list[PseudonymisedDocument]
    log: list[LogRow]


def source_label(transcript: Transcript) -> str:
    """How the review log and the key name a document: its file (under its subfolder), plus the
    group for tables."""
    if transcript.source is None:
        return transcript.document
    name = f"{transcript.group}/{transcript.source.name}" if transcript.group else transcript.source.name
    return name if transcript.document == grouped(transcript.group, transcript.source.stem) \
        else f"{name}#{transcript.document}"


def keeps_label(label: str, is_interviewer: bool) -> bool:
    """Interviewer labels, ``P3``-style codes and the unknown speaker identify no one."""
    return is_interviewer or label == UNKNOWN_SPEAKER or bool(_NEUTRAL_LABEL.match(label))


def speaker_pseudonym(label: str, is_interviewer: bool, register: Register, key: PseudonymKey) -> str:
    """The register first: a participant labelled ``P4`` still becomes their pseudonym, so the
    label agrees with the text and with ``cases.csv``."""
    person = None if is_interviewer else register.find(label)
    if person is not None:
        return key.person_pseudonym(person)
    return label if keeps_label(label, is_interviewer) else key.replacement(PERSON, label, register)


def turn_texts(turn: Turn) -> list[tuple[str | None, str]]:
    """What is analysed in a turn, by column (None for the text): its text, then every attribute
    cell, as a survey export may still carry a name in any column."""
    return [(None, turn.text), *turn.attributes.items()]


def analysed_units(transcripts: Sequence[Transcript]) -> list[tuple[str | None, str]]:
    """(column, text) of every text to analyse, in the order :func:`plan` expects their detections."""
    return [unit for transcript in transcripts for turn in transcript.turns for unit in turn_texts(turn)]


def analysed_texts(transcripts: Sequence[Transcript]) -> list[str]:
    return [text for _column, text in analysed_units(transcripts)]


def trusted(column: str | None, found: Sequence[Detection]) -> Sequence[Detection]:
    """NER takes a bare code such as ``R01`` for an organisation: an id cell keeps register and pattern finds only."""
    return [d for d in found if d.detector != "ner"] if column == ID else found


FOUND_BY = ("ner", "register", "shape", "name list", "typing")  # what is propagated and typed consistently


def found_strings(transcripts: Sequence[Transcript], detections: Sequence[Sequence[Detection]],
                  register: Register) -> list[tuple[str, str]]:
    """(entity type, text) of every NER/register find and unregistered speaker, in corpus order."""
    found = []
    text_detections = iter(detections)
    for turn in (turn for transcript in transcripts for turn in transcript.turns):
        if not keeps_label(turn.speaker, turn.is_interviewer) and register.find(turn.speaker) is None:
            found.append((PERSON, turn.speaker))
        for _column, text in turn_texts(turn):
            found.extend((d.entity_type, text[d.start:d.end]) for d in next(text_detections)
                         if d.detector in FOUND_BY)
    found.extend((PERSON, name) for name in register.all_names)
    return found


def file_name_matcher(register: Register, found: Sequence[tuple[str, str]], common_words: frozenset[str],
                      terms: Sequence[str]) -> DenyListRecognizer:
    """What may not appear in an output file name: every register name, alias and organisation,
    every detected string and propagation term, and each capitalised word of three letters or more
    of a detected string that the corpus never writes in lower case ("Harrowfield" of
    "Harrowfield Police"). Matched in any case: "rachel_notes.txt" names Rachel as much as
    "Rachel.txt" does, and a neutral id for a harmless name costs nothing."""
    words = {part for _entity_type, text in found for part in name_parts(text, common_words)}
    known = {*register.all_names, *register.organisations, *(text for _entity_type, text in found), *terms, *words}
    return DenyListRecognizer.deny_list(sorted(term for term in known if term.strip()), PERSON, "file_names")


def identifying_name(source_name: str, document: str, matcher: DenyListRecognizer) -> bool:
    """Whether a document's name may not be used for its output file.

    It may not when any reading of it (:func:`~.leakcheck.file_name_readings`: CamelCase, ``_``,
    ``-``, ``.`` split into words) names anyone or anything the register or the detectors know, or
    when it is not a plain file name: a table's ``document`` cell such as ``../elsewhere`` must never
    choose where a file is written.
    """
    if Path(document).name != document or document in ("", ".", "..") or "\\" in document:
        return True
    return any(next(matcher.spans(reading), None) for reading in file_name_readings(f"{source_name} {document}"))


def consistent_entity_types(texts: Sequence[str], detections: Sequence[Sequence[Detection]]) -> list[list[Detection]]:
    """Give each string the entity type NER gave it most often across the corpus.

    The model calls "Harrowfield" a place in one sentence and a person in the next; one string
    should get one pseudonym. Ties go to the non-person type (a place named like a person is
    rarer than the reverse slip).
    """
    votes: dict[str, Counter] = {}
    for text, found in zip(texts, detections):
        for d in found:
            if d.detector == "ner":
                votes.setdefault(normalise(text[d.start:d.end]), Counter())[d.entity_type] += 1
    winner = {string: max(counts, key=lambda t: (counts[t], t != PERSON, t)) for string, counts in votes.items()}
    return [[dataclasses.replace(d, entity_type=winner[normalise(text[d.start:d.end])]) if d.detector == "ner" else d
             for d in found] for text, found in zip(texts, detections)]


def plan(transcripts: Sequence[Transcript], detections: Sequence[Sequence[Detection]], register: Register,
         key: PseudonymKey, lexicon: RoleLexicon, style: str) -> StagePlan:
    """Decide every replacement of the corpus, updating ``key`` in place.

    Four steps: settle the detections (generic bodies out, one entity type per string), settle
    who is who (:func:`assign_people`), build the corpus-wide :class:`Replacer`, then replace each
    document in order (:func:`plan_document`).
    """
    key.assign_people(register, style)
    generic = GenericBodies(shipped_generic_bodies(), register)
    units = analysed_units(transcripts)
    detections = [retype_persons(text, generic.drop_inside(text, trusted(column, found)), lexicon)
                  for (column, text), found in zip(units, detections)]
    texts = [text for _column, text in units]
    detections = consistent_entity_types(texts, detections)
    found = found_strings(transcripts, detections, register)
    common_words = lower_case_words(texts)
    terms = propagation_terms(found, common_words, generic.is_generic)
    assign_people(key, register, found, terms[PERSON])
    replacer = Replacer(key, register, lexicon, generic, propagation_recognizers(terms))
    file_names = file_name_matcher(register, found, common_words, [term for group in terms.values() for term in group])
    documents, log = [], []
    text_detections = iter(detections)
    for transcript in transcripts:
        document, rows = plan_document(transcript, text_detections, replacer, file_names)
        documents.append(document)
        log.extend(rows)
    return StagePlan(documents, log)


def assign_people(key: PseudonymKey, register: Register, found: Sequence[tuple[str, str]],
                  person_terms: Iterable[str]) -> None:
    """Give every detected person a pseudonym, full names first, in corpus order.

    A first name or surname, found alone by NER or as a propagation term, shares the pseudonym of
    the full names it is part of when they are all one person ("Carl" and "Carl Miller"); an
    ambiguous one ("David": three people) gets a number of its own rather than someone else's
    pseudonym. The register's own names map to their person.
    """
    people = [text for entity_type, text in found if entity_type == PERSON]
    for text in people:
        if len(text.split()) > 1 or register.find(text):
            key.replacement(PERSON, text, register)
    wholes = full_names(found, register)
    for text in [*people, *person_terms]:
        pseudonyms = {key.replacement(PERSON, whole, register) for whole in sorted(wholes.get(normalise(text), ()))}
        if len(pseudonyms) == 1 and not register.find(text):
            key.alias(PERSON, text, pseudonyms.pop())
        key.replacement(PERSON, text, register)


class Replacer:
    """Replaces the detections of one text, and what propagation finds in it, through Presidio's
    ``AnonymizerEngine`` with custom operators that read the key: one mapping for text, labels and log."""

    def __init__(self, key: PseudonymKey, register: Register, lexicon: RoleLexicon, generic: GenericBodies,
                 propagators: Sequence[DenyListRecognizer]):
        from presidio_anonymizer import AnonymizerEngine
        from presidio_anonymizer.entities import OperatorConfig

        self.key, self.register, self.lexicon, self.generic, self.propagators = key, register, lexicon, generic, propagators
        self.anonymizer = AnonymizerEngine()
        self.operators = {entity_type: OperatorConfig("custom", {"lambda": lambda original, e=entity_type:
                                                                 self.pseudonym(e, original)})
                          for entity_type in ENTITY_TYPES}

    def pseudonym(self, entity_type: str, original: str) -> str:
        descriptor = self.lexicon.descriptor(original) if entity_type == ROLE else ""
        return f"[{self.key.replacement(entity_type, original, self.register, descriptor)}]"

    def spans(self, text: str, detected: Sequence[Detection]) -> list[Detection]:
        """The spans to replace: detections and propagated terms, overlaps resolved, then propagation
        again in the gaps a long lost span left."""
        found = [*detected, *self.generic.drop_inside(text, propagate(text, self.propagators))]
        spans = resolve_overlaps(text, found)
        gaps = self.generic.drop_inside(text, propagate_into_gaps(text, spans, self.propagators))
        return resolve_overlaps(text, [*spans, *gaps])

    def replace(self, text: str, detected: Sequence[Detection]) -> tuple[str, list[Detection], list[str]]:
        """One text with its spans replaced; also the spans and their pseudonyms."""
        from presidio_anonymizer.entities import RecognizerResult

        spans = self.spans(text, detected)
        if not spans:
            return text, [], []
        # Decide in reading order (the anonymizer works backwards), so numbering follows the text.
        replacements = [self.pseudonym(s.entity_type, text[s.start:s.end]) for s in spans]
        results = [RecognizerResult(s.entity_type, s.start, s.end, s.score) for s in spans]
        # Adjacent spans stay apart ("Rachel Okafor Priya Shah" is two people), as qualcode has already
        # resolved overlaps: Presidio's default would merge same-type neighbours split only by spaces.
        return self.anonymizer.anonymize(text, results, self.operators, merge_entities_with_spaces=False).text, \
            spans, replacements


def plan_document(transcript: Transcript, detections: Iterator[Sequence[Detection]], replacer: Replacer,
                  file_names: DenyListRecognizer) -> tuple[PseudonymisedDocument, list[LogRow]]:
    """One document pseudonymised, and its log rows; ``detections`` yields each analysed text's, in order."""
    key, register = replacer.key, replacer.register
    source_name = source_label(transcript)
    identifying = identifying_name(source_name, transcript.document, file_names)
    document = PseudonymisedDocument(source_name, key.document_id(source_name, transcript.document, identifying), "")
    log = []
    for turn in transcript.turns:
        text, spans, replacements = replacer.replace(turn.text, next(detections))
        log.extend(log_rows(source_name, turn.start, turn.text, spans, replacements))
        attributes = {}
        for column, value in turn.attributes.items():  # cell offsets: the cell is its own text
            attributes[column], cell_spans, cell_replacements = replacer.replace(value, next(detections))
            log.extend(log_rows(f"{source_name} ({column}, turn {turn.index})", 0, value, cell_spans,
                                cell_replacements))
        speaker = speaker_pseudonym(turn.speaker, turn.is_interviewer, register, key)
        if not turn.is_interviewer:
            document.speakers.add(speaker)
        document.turns.append(PseudonymisedTurn(
            speaker, text, turn.timestamp, tuple((s.start, s.end, r) for s, r in zip(spans, replacements)),
            attributes))
    document.text = format_transcript([(turn.speaker, turn.text, turn.timestamp) for turn in document.turns])
    return document, log


def log_rows(document: str, offset: int, text: str, spans: Sequence[Detection],
             replacements: Sequence[str]) -> list[LogRow]:
    """Review-log rows for the replacements of one text that starts at ``offset`` in its document."""
    return [LogRow(document, offset + s.start, offset + s.end, s.entity_type, text[s.start:s.end], replacement,
                   s.detector, s.score) for s, replacement in zip(spans, replacements)]
