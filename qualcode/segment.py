"""Stage 2a, segment: cut transcripts into the units that get coded.

A segment is a turn, a paragraph of a turn, or a sentence of a turn. Its ``start``/``end`` are
offsets into the transcript text, which for a pseudonymised ``.txt`` is exactly the file's text,
so a REFI-QDA selection can point at it. The first segment of each participant turn carries the
interviewer question just before it as ``context``: a short answer ("It absolutely is.") means
little alone. Later sentences or paragraphs of the same answer do not, so a long answer cut into
short sentences does not take its codes from the question. Segment ids are unique across a corpus
(later stages and the coder look segments up by id).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Iterable, Iterator

from .domain import Segment, Transcript, Turn
from .errors import QualcodeError

UNITS = ("turn", "sentence", "paragraph")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n|\n")
# Opening brackets and quotes belong to the sentence after them: spaCy's sentencizer attaches
# them to the sentence before, which cut "[laughs]" and pseudonyms like "[Person 1]" in two.
_OPENING = "([{\u201c\u2018"


def segment_corpus(transcripts: Iterable[Transcript], unit: str) -> list[Segment]:
    """Every segment of every transcript; a segment id used twice (two tables sharing an ``id``)
    stops the run, naming both documents."""
    segments: list[Segment] = []
    first: dict[str, Segment] = {}
    for transcript in transcripts:
        for segment in segment_transcript(transcript, unit):
            earlier = first.setdefault(segment.segment_id, segment)
            if earlier is not segment:
                raise QualcodeError(
                    "a segment id is used twice, in two documents: ids must be unique across the source",
                    transcript.source if transcript.source is not None else transcript.document)
            segments.append(segment)
    return segments


def segment_transcript(transcript: Transcript, unit: str) -> list[Segment]:
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; use one of {', '.join(UNITS)}")
    segments, question = [], ""
    for turn in transcript.turns:
        if turn.is_interviewer:
            context, question = "", turn.text
        else:
            context = question
        pieces = [(turn.start, turn.end)] if unit == "turn" else list(_pieces(turn, unit))
        base_id = turn.attributes.get("id") or f"{transcript.document}:{turn.index}"
        for number, (start, end) in enumerate(pieces, start=1):
            segments.append(Segment(
                segment_id=base_id if unit == "turn" else f"{base_id}.{number}",
                document=transcript.document, speaker=turn.speaker, speaker_role=turn.speaker_role,
                text=transcript.text[start:end], start=start, end=end, context=context if number == 1 else "",
                attributes={k: v for k, v in turn.attributes.items() if k != "id"}))
    return segments


def _pieces(turn: Turn, unit: str) -> Iterator[tuple[int, int]]:
    """(start, end) offsets of the paragraphs or sentences of one turn, trimmed of whitespace."""
    spans = _paragraph_spans(turn.text) if unit == "paragraph" else _sentence_spans(turn.text)
    for start, end in spans:
        piece = turn.text[start:end]
        stripped = piece.strip()
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            yield turn.start + start + lead, turn.start + start + lead + len(stripped)


def _paragraph_spans(text: str) -> Iterator[tuple[int, int]]:
    position = 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        yield position, match.start()
        position = match.end()
    yield position, len(text)


@cache
def _sentencizer():
    import spacy

    from .nlp import LongTextPipeline

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return LongTextPipeline(nlp)  # a turn may be one 1 MB line


def _sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    starts = []
    for sentence in _sentencizer()(text).sents:
        start = sentence.start_char
        while starts and start > starts[-1] and (text[start - 1].isspace() or text[start - 1] in _OPENING):
            start -= 1
        starts.append(start)
    for start, end in zip(starts, [*starts[1:], len(text)]):
        yield start, end
