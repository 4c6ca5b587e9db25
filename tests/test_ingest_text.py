"""The .txt reader: decoding, newline normalisation, speaker labels, turns as exact slices."""

from __future__ import annotations


import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import commons
from qualcode.config import Settings
from qualcode.domain import UNKNOWN_SPEAKER
from qualcode.errors import QualcodeError
from qualcode.ingest import read_corpus
from qualcode.ingest.text import format_transcript, parse_turns, read_text

IS_INTERVIEWER = Settings().is_interviewer


def turns_of(text: str, is_interviewer=IS_INTERVIEWER):
    transcript = parse_turns(text, "doc", is_interviewer)
    for turn in transcript.turns:
        assert transcript.text[turn.start:turn.end] == turn.text  # the invariant every stage relies on
    return [(t.speaker, t.timestamp, t.text, t.is_interviewer) for t in transcript.turns]


@pytest.mark.parametrize("line, speaker, timestamp", [
    ("Lisa: Hello there.", "Lisa", None),
    ("Lisa Hammond: Hello there.", "Lisa Hammond", None),
    ("P1: Hello there.", "P1", None),
    ("Interviewer: Hello there.", "Interviewer", None),
    ("INT: Hello there.", "INT", None),
    ("[00:01:02] Lisa: Hello there.", "Lisa", "00:01:02"),
    ("Lisa (00:01:02): Hello there.", "Lisa", "00:01:02"),
    ("[01:02] Lisa Hammond: Hello there.", "Lisa Hammond", "01:02"),
    ("Professor van Zoonen: Hello there.", "Professor van Zoonen", None),
    ("Dr d'Aquin: Hello there.", "Dr d'Aquin", None),
    ("Anna van der Berg: Hello there.", "Anna van der Berg", None),
    ("Maria de la Cruz: Hello there.", "Maria de la Cruz", None),
    ("Zoë Ní Bhriain: Hello there.", "Zoë Ní Bhriain", None),
    ("Person 12: Hello there.", "Person 12", None),
    ("Speaker 2 (00:01:02): Hello there.", "Speaker 2", "00:01:02"),
])
def test_every_label_form(line, speaker, timestamp):
    assert turns_of(f"{line}\n")[0][:3] == (speaker, timestamp, "Hello there.")


@pytest.mark.parametrize("line", [
    "She said: no, not then.",
    "However, she said: no.",
    "10:30: we met at the station.",
    "The thing is this: nobody came.",
    "https://example.org is the site.",
    "An Extremely Long Label Made Of Capitalised Words Going On: no",
])
def test_prose_is_not_a_label(line):
    assert turns_of(f"Lisa: First.\n{line}\n") == [("Lisa", None, f"First.\n{line}", False)]


def test_unlabelled_lines_continue_the_turn_and_blank_lines_separate_nothing():
    text = "Interviewer: How did it start?\n\nLisa: It started in May.\nThen it got worse.\n\n  And worse.  \nQ: Why?\n"
    assert turns_of(text) == [
        ("Interviewer", None, "How did it start?", True),
        ("Lisa", None, "It started in May.\nThen it got worse.\n\n  And worse.", False),
        ("Q", None, "Why?", True),
    ]


def test_a_label_alone_on_its_line_takes_the_next_lines():
    assert turns_of("Lisa:\n   It started in May.\n") == [("Lisa", None, "It started in May.", False)]


def test_a_file_without_labels_is_one_turn_by_an_unknown_speaker():
    assert turns_of("It started in May.\nThen it got worse.\n") == [
        (UNKNOWN_SPEAKER, None, "It started in May.\nThen it got worse.", False)]


def test_text_before_the_first_label_is_an_unknown_turn():
    assert [t[0] for t in turns_of("Recorded 3 May.\nInterviewer: Hello.\n")] == [UNKNOWN_SPEAKER, "Interviewer"]


@pytest.mark.parametrize("label", ["Interviewer", "INTERVIEWER", "INT", "Int", "I", "Q"])
def test_interviewer_labels_are_recognised_in_any_letter_case(label):
    assert turns_of(f"{label}: Hello?\n")[0][3] is True


def test_interviewer_labels_are_configurable():
    settings = Settings(interviewer_labels=("Researcher",))
    assert [t[3] for t in turns_of("Researcher: Hi?\nINT: Hi.\n", settings.is_interviewer)] == [True, False]


def test_read_text_strips_a_bom_and_normalises_crlf_and_cr(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbfLisa: one\r\ntwo\rInterviewer: three\r\n")
    text, encoding = read_text(path)
    assert (text, encoding) == ("Lisa: one\ntwo\nInterviewer: three\n", "utf-8-sig")
    path.write_bytes("Lisa: café\n".encode("utf-8"))
    assert read_text(path) == ("Lisa: café\n", "utf-8")


def test_cp1252_is_read_as_a_fallback(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("Lisa: the café’s menu\n".encode("cp1252"))
    assert read_text(path) == ("Lisa: the café’s menu\n", "cp1252")


def test_offsets_are_into_the_normalised_text(tmp_path):
    """Turn offsets index the text after BOM removal and CRLF -> LF, as the review log promises."""
    (tmp_path / "a.txt").write_bytes(b"\xef\xbb\xbfInterviewer: Hi.\r\nLisa: I rang Tom.\r\nHe came.\r\n")
    (transcript,) = read_corpus(tmp_path, Settings())
    text, _ = read_text(tmp_path / "a.txt")
    assert transcript.text == text
    lisa = transcript.turns[1]
    assert text[lisa.start:lisa.end] == "I rang Tom.\nHe came." == lisa.text
    assert text.index("Tom") == lisa.start + lisa.text.index("Tom")


@pytest.mark.parametrize("data, line", [
    (b"Lisa: one\ntwo\nthr\x00ee\n", 3),
    (b"\x00\x01binary", 1),
])
def test_nul_bytes_are_refused_with_the_line(tmp_path, data, line):
    path = tmp_path / "a.txt"
    path.write_bytes(data)
    with pytest.raises(QualcodeError) as raised:
        read_text(path)
    assert (raised.value.path, raised.value.line) == (str(path), line)
    assert raised.value.message.startswith(f"{path}:{line}: NUL byte")


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"  \r\n\n\t\n"])
def test_empty_files_are_refused(tmp_path, data):
    path = tmp_path / "a.txt"
    path.write_bytes(data)
    with pytest.raises(QualcodeError) as raised:
        read_text(path)
    assert raised.value.path == str(path) and "empty" in raised.value.message


def test_a_missing_file_is_a_clean_error(tmp_path):
    with pytest.raises(QualcodeError) as raised:
        read_text(tmp_path / "gone.txt")
    assert raised.value.path == str(tmp_path / "gone.txt")


def test_format_and_parse_round_trip():
    """What pseudonymise writes, the next stage reads back: including ``Person 3`` labels."""
    turns = [("Interviewer", "How?", None), ("Samira", "Like this.\nAnd this.", "00:01:02"), ("P03", "Yes.", None),
             ("Person 12", "I work with [Person 3].", None), ("INT", "And?", "01:02:03")]
    text = format_transcript(turns)
    assert text.endswith("\n") and "\n\n[00:01:02] Samira: Like this.\nAnd this.\n\n" in text
    assert [(s, x, t) for s, t, x, _ in turns_of(text)] == turns


def test_every_commons_turn_parses_back(datasets):
    """The real Commons sessions written as `Name: text` parse back to the same speakers and texts."""
    folder = datasets / "uk_commons_oral_evidence"
    for session in commons.sessions(folder):
        rows = commons.read_session(session)
        parsed = turns_of(commons.transcript_text(rows))
        assert [(speaker, text) for speaker, _, text, _ in parsed] == rows


LINES = st.lists(st.one_of(
    st.sampled_from(["Lisa:", "Lisa Hammond: ", "[00:01:02] Q: ", "Tom (1:02): ", "INT:", "", "  "]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"), max_size=30),
).map(lambda s: s.replace("\n", " ")), max_size=12)


@settings(max_examples=200, deadline=None)
@given(LINES)
def test_turns_are_exact_trimmed_slices(lines):
    text = "\n".join(lines)
    transcript = parse_turns(text, "doc", IS_INTERVIEWER)
    for turn in transcript.turns:
        assert text[turn.start:turn.end] == turn.text
        assert turn.text == turn.text.strip() or not turn.text
    ends = [turn.end for turn in transcript.turns]
    assert ends == sorted(ends)
