"""Stage 2a, segment: ids, offsets into the pseudonymised files, and the question as context.

The offsets are checked on real output: the sample transcripts are pseudonymised into a tmp
folder, coded through the CLI once per unit, and every row's ``start:end`` is cut out of the
pseudonymised file's bytes decoded as UTF-8.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import DEFAULT_CODEBOOK
from qualcode.cli import main
from qualcode.config import Settings
from qualcode.errors import QualcodeError
from qualcode.ingest import read_corpus
from qualcode.ingest.text import parse_turns
from qualcode.segment import UNITS, segment_corpus, segment_transcript

SETTINGS = Settings(quiet=True)
ID_PATTERNS = {"turn": r"(?P<document>.+):(?P<turn>\d+)", "sentence": r"(?P<document>.+):(?P<turn>\d+)\.(?P<n>\d+)",
               "paragraph": r"(?P<document>.+):(?P<turn>\d+)\.(?P<n>\d+)"}


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def coded(pseudonymised, tmp_path_factory) -> dict[str, list[dict[str, str]]]:
    """The sample coded once per unit through ``qualcode code --unit``."""
    rows = {}
    for unit in UNITS:
        out = tmp_path_factory.mktemp(f"coded_{unit}")
        result = CliRunner().invoke(main, ["code", str(pseudonymised), "--codebook", str(DEFAULT_CODEBOOK),
                                           "--out", str(out), "--unit", unit, "--quiet"])
        assert result.exit_code == 0, result.output
        rows[unit] = read_rows(out / "coded_segments.csv")
    return rows


@pytest.mark.parametrize("unit", UNITS)
def test_offsets_slice_the_pseudonymised_file(coded, pseudonymised, unit):
    files = {path.stem: path.read_bytes().decode("utf-8") for path in pseudonymised.glob("*.txt")}
    rows = coded[unit]
    assert {row["document"] for row in rows} == set(files) and len(files) == 8  # 7 interviews and the survey
    for row in rows:
        start, end = int(row["start"]), int(row["end"])
        assert 0 <= start < end <= len(files[row["document"]])
        assert files[row["document"]][start:end] == row["text"], row["segment_id"]
        assert row["text"] == row["text"].strip()


@pytest.mark.parametrize("unit", UNITS)
def test_segment_ids_are_unique_and_well_formed(coded, unit):
    rows = coded[unit]
    ids = [row["segment_id"] for row in rows]
    assert len(ids) == len(set(ids))
    previous: dict[str, tuple[int, ...]] = {}
    for row in rows:
        match = re.fullmatch(ID_PATTERNS[unit], row["segment_id"])
        assert match and match["document"] == row["document"], row["segment_id"]
        key = tuple(int(part) for part in re.findall(r"\d+", row["segment_id"][len(row["document"]):]))
        assert key > previous.get(row["document"], ()), row["segment_id"]  # in file order
        previous[row["document"]] = key


@pytest.mark.parametrize("unit", ["sentence", "paragraph"])
def test_pieces_cover_their_turn_exactly(coded, unit):
    turns = {row["segment_id"]: row for row in coded["turn"]}
    pieces: dict[str, list[dict[str, str]]] = {}
    for row in coded[unit]:
        pieces.setdefault(row["segment_id"].rsplit(".", 1)[0], []).append(row)
    assert set(pieces) == set(turns)
    for turn_id, parts in pieces.items():
        turn = turns[turn_id]
        assert all(int(turn["start"]) <= int(p["start"]) < int(p["end"]) <= int(turn["end"]) for p in parts)
        assert all(int(a["end"]) <= int(b["start"]) for a, b in zip(parts, parts[1:]))
        assert "".join("".join(p["text"] for p in parts).split()) == "".join(turn["text"].split())
        assert {(p["speaker"], p["speaker_role"]) for p in parts} == {(turn["speaker"], turn["speaker_role"])}


def test_sample_has_real_sentences_and_paragraphs(coded):
    assert len(coded["sentence"]) > 3 * len(coded["turn"])
    assert len(coded["turn"]) < len(coded["paragraph"]) < len(coded["sentence"])


def test_sentences_keep_bracketed_placeholders_whole(coded):
    for row in coded["sentence"]:
        assert row["text"].count("[") == row["text"].count("]"), row["segment_id"]


# --- synthetic transcripts --------------------------------------------------------------------------

TRANSCRIPT = """\
Interviewer: Is the relationship the main strength?

P1: It absolutely is.

Interviewer: Tell me more.

P1: Badly. [laughs] No, okay. I rang [Person 1] on Monday. [Person 2] said no.
Then a second line, which is a paragraph of its own.

P2: And I agree.
"""


def segments(unit: str):
    transcript = parse_turns(TRANSCRIPT, "doc", SETTINGS.is_interviewer)
    return transcript, segment_transcript(transcript, unit)


@pytest.mark.parametrize("unit", UNITS)
def test_synthetic_offsets_and_ids(unit):
    transcript, found = segments(unit)
    for segment in found:
        assert transcript.text[segment.start:segment.end] == segment.text
        assert re.fullmatch(ID_PATTERNS[unit], segment.segment_id)
    assert len({segment.segment_id for segment in found}) == len(found)
    assert [s.speaker_role for s in found if s.segment_id.startswith("doc:1")] == ["interviewer"]


def test_sentences_do_not_split_brackets():
    _, found = segments("sentence")
    assert [s.text for s in found if s.segment_id.startswith("doc:4.")] == [
        "Badly.", "[laughs] No, okay.", "I rang [Person 1] on Monday.", "[Person 2] said no.",
        "Then a second line, which is a paragraph of its own."]


def test_paragraphs_are_the_lines_of_a_turn():
    _, found = segments("paragraph")
    assert [(s.segment_id, s.text[:6]) for s in found if s.segment_id.startswith("doc:4.")] == [
        ("doc:4.1", "Badly."), ("doc:4.2", "Then a")]


def test_question_is_context_of_the_answer_at_turn_level():
    _, found = segments("turn")
    context = {segment.segment_id: segment.context for segment in found}
    assert context["doc:1"] == "" and context["doc:3"] == ""  # interviewer turns have none
    assert context["doc:2"] == "Is the relationship the main strength?"
    assert context["doc:4"] == context["doc:5"] == "Tell me more."


@pytest.mark.parametrize("unit", ["sentence", "paragraph"])
def test_only_the_first_piece_of_an_answer_has_the_question(unit):
    """A long answer cut into sentences must not hand the question to each of its sentences."""
    _, found = segments(unit)
    context = {segment.segment_id: segment.context for segment in found}
    assert context["doc:2.1"] == "Is the relationship the main strength?"
    assert context["doc:4.1"] == "Tell me more."
    assert all(context[key] == "" for key in context if key.startswith("doc:4.") and key != "doc:4.1")


def test_unknown_unit_is_refused():
    transcript, _ = segments("turn")
    with pytest.raises(ValueError, match="unknown unit 'word'"):
        segment_transcript(transcript, "word")


# --- tables ------------------------------------------------------------------------------------------

def test_table_id_is_the_segment_id(tmp_path):
    table = tmp_path / "answers.csv"
    pd.DataFrame({"id": ["a1", "a2"], "text": ["One. Two.", "Three."], "site": ["North", "South"]}).to_csv(
        table, index=False)
    transcripts = read_corpus(table, SETTINGS)
    by_turn = segment_corpus(transcripts, "turn")
    assert [(s.segment_id, s.text, s.attributes["site"]) for s in by_turn] == [
        ("a1", "One. Two.", "North"), ("a2", "Three.", "South")]
    assert "id" not in by_turn[0].attributes
    assert [s.segment_id for s in segment_corpus(transcripts, "sentence")] == ["a1.1", "a1.2", "a2.1"]


def test_segment_ids_used_twice_in_one_source_are_refused(tmp_path):
    """Two tables that share an id would make two segments with one id; the coder looks docs up by id."""
    folder = tmp_path / "answers"
    folder.mkdir()
    pd.DataFrame({"id": ["1"], "text": ["We share information with the police."]}).to_csv(folder / "a.csv", index=False)
    pd.DataFrame({"id": ["1"], "text": ["The funding was cut."]}).to_csv(folder / "b.csv", index=False)
    with pytest.raises(QualcodeError) as error:
        segment_corpus(read_corpus(folder, SETTINGS), "turn")
    assert error.value.message.startswith(f"{folder / 'b.csv'}: a segment id is used twice")
    assert "'1'" not in error.value.message  # input values never go into a message
