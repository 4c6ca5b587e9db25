"""Property-based tests: no input makes a reader fail with anything but a QualcodeError, and every
turn's offsets slice the text it claims (``transcript.text[turn.start:turn.end] == turn.text``).

Covered: the .txt decoder and turn parser (including the streaming reader at any chunk size),
the .vtt/.srt caption reader, and the codebook loader on arbitrary YAML-ish text.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.codebook import CODE_KEYS, PATTERN_KEYS, TOP_KEYS, check_codebook, load_codebook
from qualcode.config import Settings
from qualcode.domain import Transcript
from qualcode.errors import QualcodeError
from qualcode.ingest import text as text_reader
from qualcode.ingest.captions import read_captions
from qualcode.ingest.text import decode, parse_turns, read_text

FAST = settings(max_examples=200, deadline=None)
IS_INTERVIEWER = Settings().is_interviewer


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """One folder for the files the properties write (hypothesis reruns a test many times)."""
    return tmp_path_factory.mktemp("properties")


def assert_exact_offsets(transcript: Transcript) -> None:
    for turn in transcript.turns:
        assert transcript.text[turn.start:turn.end] == turn.text


def outcome(call):
    """The value of ``call()``, or its QualcodeError's message: anything else fails the test."""
    try:
        return call()
    except QualcodeError as error:
        return error.message


# -- the .txt reader -------------------------------------------------------------------------------

PIECES = st.sampled_from([
    "Interviewer: ", "Lisa Hammond: ", "[00:01:02] Q: ", "Tom (1:02): ", "P3:", "Person 12: ", "INT:", "\n", "\r\n",
    "\r", "\n\n", "  ", "\t", "مرحبا ", "שלום ", "👨‍👩‍👧", "🇬🇧", "e\u0301", "\ufeff", "’", "é", ":", "\x00"])
TEXTS = st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=30).map("".join)
BYTES = st.one_of(
    st.binary(max_size=200),
    TEXTS.map(lambda text: text.encode("utf-8", "surrogatepass")),
    TEXTS.map(lambda text: b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")),
    TEXTS.map(lambda text: text.encode("cp1252", "ignore")),
)


@FAST
@given(BYTES)
def test_any_bytes_decode_to_normalised_text_or_a_qualcode_error(data):
    result = outcome(lambda: decode(data, "a.txt"))
    if isinstance(result, str):
        assert result.startswith("a.txt:")
        return
    text, encoding = result
    assert encoding in ("utf-8", "cp1252") or encoding == "utf-8-sig" and data.startswith(b"\xef\xbb\xbf")
    assert "\r" not in text and "\x00" not in text and text.strip()
    assert_exact_offsets(parse_turns(text, "a", IS_INTERVIEWER))


@FAST
@given(BYTES, st.integers(min_value=1, max_value=7))
def test_the_streaming_reader_agrees_with_decode_at_any_chunk_size(scratch, data, chunk_bytes):
    """Chunk edges fall inside CRLF pairs, multi-byte characters and the BOM: none may change the result."""
    path = scratch / "a.txt"
    path.write_bytes(data)
    with mock.patch.object(text_reader, "CHUNK_BYTES", chunk_bytes):
        streamed = outcome(lambda: read_text(path))
    assert streamed == outcome(lambda: decode(data, path))


@FAST
@given(TEXTS)
def test_turns_slice_any_text_exactly(text):
    transcript = parse_turns(text, "a", IS_INTERVIEWER)
    assert_exact_offsets(transcript)
    starts = [turn.start for turn in transcript.turns]
    assert starts == sorted(starts)


# -- the .vtt/.srt reader --------------------------------------------------------------------------

CUE_PIECES = st.sampled_from([
    "WEBVTT", "WEBVTT - meeting", "NOTE written by Teams", "STYLE", "1", "2", "00:00:01.000 --> 00:00:02.500",
    "00:01.000 --> 00:02.000 align:start", "01:00:00,000 --> 01:00:01,000", "00:00:0x.000 --> 00:00:01.000", "-->",
    "<v Lisa Hammond>", "</v>", "<v.loud Tom>", "<b>", "</b>", "&amp;", "Lisa: ", "Interviewer: ", "\n", "\n\n",
    "\r\n", "  ", "مرحبا", "👋🏽"])
CUE_TEXT = st.lists(st.one_of(CUE_PIECES, st.text(max_size=8)), max_size=8).map("".join)
WELL_FORMED = st.lists(st.tuples(st.sampled_from(["00:00:01.000 --> 00:00:02.500", "00:01,000 --> 00:02,000"]),
                                 CUE_TEXT), max_size=6).map(
    lambda cues: "WEBVTT\n\n" + "".join(f"{timing}\n{text}\n\n" for timing, text in cues))
CAPTIONS = st.one_of(WELL_FORMED, st.lists(st.one_of(CUE_PIECES, st.text(max_size=8)), max_size=30).map("".join))


@FAST
@given(CAPTIONS, st.sampled_from([".vtt", ".srt"]))
def test_any_caption_file_reads_with_exact_offsets_or_a_qualcode_error(scratch, text, suffix):
    path = scratch / f"captions{suffix}"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    result = outcome(lambda: read_captions(path, Settings()))
    if isinstance(result, str):
        assert result.startswith(str(path))
        return
    for transcript in result:
        assert_exact_offsets(transcript)


# -- the codebook loader ---------------------------------------------------------------------------

YAML_PIECES = st.sampled_from([
    "name: ", "version: 1.10", "unit: ", "threshold: ", "codes:", "\n  - id: ", "\n    definition: ", "\n    parent: ",
    "\n    keywords: [", "]", "\n    patterns:\n      - regex: ", "\n      - tokens: [{LOWER: ", "}]", "\n    color: ",
    "#", "'", '"', "{", "}", "[", "]", ": ", "- ", "? ", "&a ", "*a", "<<: ", "!!python/name:os.system", "!!binary ",
    "%YAML 1.2\n---\n", "\t", "  ", "\n", "yes", "no", "~", "1e9", ".nan", "-.inf", "(", "\ufeff", "\x85"])
YAML_TEXT = st.lists(st.one_of(YAML_PIECES, st.text(max_size=8)), max_size=40).map("".join)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.floats(), st.text(max_size=8),
                    st.sampled_from(["a-b", "#12AB3C", "sentence", "LOWER", "OP", "+", "IN", "REGEX", "("]))
KEYS = st.one_of(st.sampled_from(TOP_KEYS + CODE_KEYS + PATTERN_KEYS + ("LOWER", "OP", "IN", "REGEX")),
                 st.integers(0, 2), st.none())
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(KEYS, inner, max_size=4)), max_leaves=20)
CODEBOOKS = st.builds(
    lambda top, codes: {**top, "codes": codes},
    st.dictionaries(st.sampled_from(TOP_KEYS), VALUES, max_size=5),
    st.lists(st.dictionaries(st.sampled_from(CODE_KEYS), VALUES, max_size=7), max_size=3),
).map(lambda data: yaml.safe_dump(data, allow_unicode=True))


@FAST
@given(st.one_of(YAML_TEXT, CODEBOOKS, st.binary(max_size=60).map(lambda data: data.decode("latin-1"))))
def test_any_codebook_text_is_checked_without_crashing(scratch, text):
    path = scratch / "codebook.yaml"
    path.write_text(text, encoding="utf-8")
    report = check_codebook(path)
    assert all(problem.line >= 0 for problem in report.problems)
    loaded = outcome(lambda: load_codebook(path))
    assert (report.codebook is None) == isinstance(loaded, str)
