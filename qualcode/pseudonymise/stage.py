"""The pseudonymisation stage: detections in, consistent replacements and a review log out.

Planning is pure: given transcripts, per-turn detections, the register and the key, it decides
every replacement in a fixed order (documents by name, turns, offsets) so two runs give the same
bytes. Presidio's ``AnonymizerEngine`` applies the replacements through custom operators that
read the key, so one mapping serves the text, the speaker labels and the log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from ..domain import UNKNOWN_SPEAKER, Transcript
from ..ingest.text import format_transcript
from ..register import Register, normalise
from .analyse import Detection
from .key import PseudonymKey
from .propagate import lower_case_words, propagate, propagation_recognizers, propagation_terms, resolve_overlaps
from .recognizers import ENTITY_TYPES, PERSON, ROLE, GenericBodies, RoleLexicon, shipped_generic_bodies

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
class PseudonymisedDocument:
    source_name: str
    document: str
    text: str
    speakers: set[str] = field(default_factory=set)


@dataclass
class StagePlan:
    documents: list[PseudonymisedDocument]
    log: list[LogRow]


def source_label(transcript: Transcript) -> str:
    """How the review log and the key name a document: its file, plus the group for tables."""
    if transcript.source is None:
        return transcript.document
    if transcript.document == transcript.source.stem:
        return transcript.source.name
    return f"{transcript.source.name}#{transcript.document}"


def keeps_label(label: str, is_interviewer: bool) -> bool:
    """Interviewer labels, ``P3``-style codes and the unknown speaker identify no one."""
    return is_interviewer or label == UNKNOWN_SPEAKER or bool(_NEUTRAL_LABEL.match(label))


def speaker_pseudonym(label: str, is_interviewer: bool, register: Register, key: PseudonymKey) -> str:
    if keeps_label(label, is_interviewer):
        return label
    person = register.find(label)
    return key.person_pseudonym(person) if person else key.replacement(PERSON, label, register)


def found_strings(transcripts: Sequence[Transcript], detections: Sequence[Sequence[Detection]],
                  register: Register) -> list[tuple[str, str]]:
    """(entity type, text) of every NER/register find and unregistered speaker, in corpus order."""
    found = []
    turns = [(transcript, turn) for transcript in transcripts for turn in transcript.turns]
    for (transcript, turn), turn_detections in zip(turns, detections):
        if not keeps_label(turn.speaker, turn.is_interviewer) and register.find(turn.speaker) is None:
            found.append((PERSON, turn.speaker))
        for d in turn_detections:
            if d.detector in ("ner", "register"):
                found.append((d.entity_type, turn.text[d.start:d.end]))
    found.extend((PERSON, name) for name in register.all_names)
    return found


def identifying_name(source_name: str, terms: Sequence[str], register: Register) -> bool:
    """Whether a file name contains a register name or any detected person."""
    readable = re.sub(r"[_\-.]+", " ", source_name).casefold()
    return any(re.search(rf"(?<!\w){re.escape(term.casefold())}(?!\w)", readable)
               for term in (*register.all_names, *terms) if len(term) >= 3)


def plan(transcripts: Sequence[Transcript], detections: Sequence[Sequence[Detection]], register: Register,
         key: PseudonymKey, lexicon: RoleLexicon, style: str) -> StagePlan:
    """Decide every replacement of the corpus, updating ``key`` in place."""
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

    key.assign_people(register, style)
    generic = GenericBodies(shipped_generic_bodies(), register)
    turns = [turn for transcript in transcripts for turn in transcript.turns]
    detections = [generic.drop_inside(turn.text, found) for turn, found in zip(turns, detections)]
    found = found_strings(transcripts, detections, register)
    terms = propagation_terms(found, lower_case_words(turn.text for turn in turns), generic.is_generic)
    for entity_type, text in found:  # whole strings first, so their parts can share the pseudonym
        if entity_type == PERSON:
            key.replacement(entity_type, text, register)
    for part, whole in terms[PERSON].items():
        key.alias(PERSON, part, key.replacement(PERSON, whole, register))
    propagators = propagation_recognizers(terms)
    anonymizer = AnonymizerEngine()
    person_terms = list(terms[PERSON])

    def replace(entity_type: str, original: str) -> str:
        descriptor = lexicon.descriptor(original) if entity_type == ROLE else ""
        return f"[{key.replacement(entity_type, original, register, descriptor)}]"

    operators = {entity_type: OperatorConfig("custom", {"lambda": lambda original, e=entity_type: replace(e, original)})
                 for entity_type in ENTITY_TYPES}

    documents, log = [], []
    turn_detections = iter(detections)
    for transcript in transcripts:
        source_name = source_label(transcript)
        identifying = identifying_name(source_name, person_terms, register)
        document = PseudonymisedDocument(source_name, key.document_id(source_name, transcript.document, identifying),
                                         "")
        rendered = []
        for turn in transcript.turns:
            spans = resolve_overlaps([*next(turn_detections),
                                      *generic.drop_inside(turn.text, propagate(turn.text, propagators))])
            # Decide in reading order (the anonymizer works backwards), so numbering follows the text.
            replacements = [replace(s.entity_type, turn.text[s.start:s.end]) for s in spans]
            results = [RecognizerResult(s.entity_type, s.start, s.end, s.score) for s in spans]
            text = anonymizer.anonymize(turn.text, results, operators).text if spans else turn.text
            speaker = speaker_pseudonym(turn.speaker, turn.is_interviewer, register, key)
            if not turn.is_interviewer:
                document.speakers.add(speaker)
            rendered.append((speaker, text, turn.timestamp))
            log.extend(LogRow(source_name, turn.start + s.start, turn.start + s.end, s.entity_type,
                              turn.text[s.start:s.end], replacement, s.detector, s.score)
                       for s, replacement in zip(spans, replacements))
        document.text = format_transcript(rendered)
        documents.append(document)
    return StagePlan(documents, log)
