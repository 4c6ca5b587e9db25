"""The codebook loader, its checker (every problem with its line) and the YAML writer."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conftest import DEFAULT_CODEBOOK
from qualcode.cli import main
from qualcode.codebook import (
    PALETTE,
    Problem,
    check_codebook,
    dump_codebook,
    load_codebook,
    write_codebook,
)
from qualcode.domain import Code, Codebook, Pattern
from qualcode.errors import QualcodeError

VALID = """\
name: Test codebook
version: 1.10
description: Codes for tests.
unit: sentence
threshold: 0.4
codes:
  - id: emotion
    name: Emotion
    definition: Any feeling.
  - id: fear
    parent: emotion
    definition: |
      Worry, fear or dread.
      Also anxiety about the future.
    include: talk about being afraid
    exclude: [fear of missing out]
    keywords: [worried, no]
    patterns:
      - "\\\\bafraid\\\\b"
      - regex: "scar(ed|y)"
      - tokens: [{LEMMA: dread}]
    examples: ["I was so worried."]
    counter_examples: [I fear not.]
    color: "#1f77b4"
    threshold: 0.7
  - id: panic
    parent: fear
    definition: Sudden overwhelming fear – Ängste.
    examples: [My heart raced.]
  - id: joy
    definition: Happiness.
    keywords: [happy]
"""


def write(tmp_path: Path, text: str, name: str = "codebook.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def found(tmp_path: Path, text: str) -> list[tuple[int, str, str]]:
    report = check_codebook(write(tmp_path, text))
    return [(problem.line, problem.severity, problem.message) for problem in report.problems]


def assert_one_error(tmp_path: Path, text: str, line: int, *fragments: str) -> None:
    """Exactly one error, on ``line``, whose message holds every fragment (warnings aside)."""
    errors = [problem for problem in found(tmp_path, text) if problem[1] == "error"]
    assert len(errors) == 1, errors
    assert errors[0][0] == line, errors
    for fragment in fragments:
        assert fragment in errors[0][2], errors


# --- a valid codebook ------------------------------------------------------------------------


def test_valid_codebook_loads_with_hierarchy_and_defaults(tmp_path):
    path = write(tmp_path, VALID)
    assert check_codebook(path).problems == []
    codebook = load_codebook(path)
    assert (codebook.name, codebook.version) == ("Test codebook", "1.10")  # not the float 1.1
    assert (codebook.unit, codebook.threshold) == ("sentence", 0.4)
    assert codebook.path == path
    assert codebook.ids == ("emotion", "fear", "panic", "joy")
    assert codebook.descendants("emotion") == ("fear", "panic")
    assert codebook.descendants("joy") == ()
    fear = codebook.code("fear")
    assert fear.line == 10
    assert fear.definition == "Worry, fear or dread.\nAlso anxiety about the future.\n"
    assert fear.include == ("talk about being afraid",)
    assert fear.exclude == ("fear of missing out",)
    assert fear.keywords == ("worried", "no")  # YAML 1.1 would have made `no` a boolean
    assert fear.patterns == (Pattern(regex=r"\bafraid\b"), Pattern(regex="scar(ed|y)"),
                             Pattern(tokens=({"LEMMA": "dread"},)))
    assert (fear.color, fear.threshold, codebook.threshold_for(fear)) == ("#1f77b4", 0.7, 0.7)
    joy = codebook.code("joy")
    assert (joy.name, joy.color, joy.threshold, joy.line) == ("joy", PALETTE[3], None, 30)
    assert codebook.threshold_for(joy) == 0.4


def test_top_level_defaults(tmp_path):
    codebook = load_codebook(write(tmp_path, """\
        codes:
          - id: a
            definition: d
            keywords: [k]
        """, name="mine.yaml"))
    assert (codebook.name, codebook.version, codebook.description) == ("mine", "", "")
    assert (codebook.unit, codebook.threshold) == ("turn", 0.5)


# --- errors: message and line ---------------------------------------------------------------

ERRORS = {
    "yaml syntax": ("""\
        codes:
          - id: a
            definition: [unclosed
            keywords: [k]
        """, 4, ("YAML syntax error", "while parsing a flow sequence")),
    "unclosed quote": ("""\
        codes:
          - id: a
            definition: "unclosed
            keywords: [k]
        """, 4, ("YAML syntax error", "end of stream", "quoted scalar that starts on line 3")),
    "not a mapping": ("""\
        - id: a
          definition: d
        """, 1, ("the codebook must be a mapping", "name, version, description, unit, threshold, codes")),
    "missing codes": ("""\
        name: x
        version: "1"
        """, 1, ("no codes",)),
    "null codes": ("""\
        name: x
        codes:
        """, 2, ("no codes",)),
    "empty codes": ("""\
        name: x
        codes: []
        """, 2, ("codes list is empty",)),
    "codes not a list": ("""\
        codes:
          a: 1
        """, 2, ("codes must be a list",)),
    "code not a mapping": ("""\
        codes:
          - just text
        """, 2, ("code 1 must be a mapping", "got 'just text'")),
    "malformed id": ("""\
        codes:
          - keywords: [k]
            id: Fear Of
            definition: d
        """, 3, ("id 'Fear Of' is malformed",)),
    "missing id": ("""\
        codes:
          - definition: d
            keywords: [k]
        """, 2, ("code 1 has no id",)),
    "reserved id": ("""\
        codes:
          - id: evidence
            definition: d
            keywords: [k]
        """, 2, ("'evidence' collides with the output column",)),
    "unknown parent": ("""\
        codes:
          - id: a
            definition: d
            keywords: [k]
            parent: nowhere
        """, 5, ("parent 'nowhere' of 'a' is not a code id",)),
    "self parent": ("""\
        codes:
          - id: a
            definition: d
            keywords: [k]
            parent: a
        """, 5, ("parent cycle: a -> a",)),
    "missing definition": ("""\
        codes:
          - id: a
            keywords: [k]
        """, 2, ("code 'a' has no definition",)),
    "null definition": ("""\
        codes:
          - id: a
            keywords: [k]
            definition:
        """, 4, ("code 'a' has no definition",)),
    "blank definition": ("""\
        codes:
          - id: a
            keywords: [k]
            definition: "  "
        """, 4, ("the definition of 'a' is empty",)),
    "definition not text": ("""\
        codes:
          - id: a
            keywords: [k]
            definition: [x]
        """, 4, ("definition of 'a' must be text; got a list",)),
    "bad colour": ("""\
        codes:
          - id: a
            definition: d
            keywords: [k]
            color: red
        """, 5, ("color 'red' of 'a' is not of the form #RRGGBB",)),
    "unquoted colour": ("""\
        codes:
          - id: a
            definition: d
            keywords: [k]
            color: #FF0000
        """, 5, ("color of 'a' is empty", "quote it")),
    "bad regex": ("""\
        codes:
          - id: a
            definition: d
            patterns:
              - regex: "\\\\bfine"
              - regex: "(unclosed"
        """, 6, ("pattern 2 of 'a'", "does not compile", "missing ), unterminated subpattern")),
    "catastrophic regex": ("""\
        codes:
          - id: a
            definition: d
            patterns:
              - regex: "(a+)+$"
        """, 5, ("pattern 1 of 'a'", "'(a+)+$'", "repeats a group that itself repeats")),
    "bad bare regex": ("""\
        codes:
          - id: a
            definition: d
            patterns:
              - "[a-"
        """, 5, ("pattern 1 of 'a'", "does not compile", "unterminated character set")),
    "token pattern rejected": ("""\
        codes:
          - id: a
            definition: d
            patterns:
              - tokens:
                  - LOWER: fine
                  - LOWER: worried
                    SHAPE_OF: x
        """, 7, ("pattern 1 of 'a'", "spaCy rejects", "token 2", "SHAPE_OF", "Extra inputs are not permitted")),
    "token regex rejected": ("""\
        codes:
          - id: a
            definition: d
            patterns:
              - tokens: [{TEXT: {REGEX: "(x"}}]
        """, 5, ("spaCy rejects", "missing )")),
    "tokens not mappings": ("""\
        codes:
          - id: a
            definition: d
            patterns:
              - tokens: [worried]
        """, 5, ("tokens must be a non-empty list of token mappings",)),
    "regex and tokens": ("""\
        codes:
          - id: a
            definition: d
            patterns:
              - regex: x
                tokens: [{LOWER: x}]
        """, 5, ("pattern 1 of 'a' needs exactly one of regex or tokens",)),
    "unknown pattern key": ("""\
        codes:
          - id: a
            definition: d
            patterns:
              - regex: x
                flags: i
        """, 6, ("unknown key 'flags' in pattern 1 of 'a' (allowed: regex, tokens)",)),
    "code threshold above 1": ("""\
        codes:
          - id: a
            definition: d
            keywords: [k]
            threshold: 1.5
        """, 5, ("threshold of 'a' must be from 0 to 1; got 1.5",)),
    "top threshold negative": ("""\
        threshold: -0.1
        codes:
          - id: a
            definition: d
            keywords: [k]
        """, 1, ("threshold must be from 0 to 1",)),
    "threshold not a number": ("""\
        threshold: high
        codes:
          - id: a
            definition: d
            keywords: [k]
        """, 1, ("threshold must be a number from 0 to 1; got 'high'",)),
    "bad unit": ("""\
        name: x
        unit: page
        codes:
          - id: a
            definition: d
            keywords: [k]
        """, 2, ("unit 'page' is not one of turn, sentence, paragraph",)),
    "keywords not a list": ("""\
        codes:
          - id: a
            definition: d
            keywords: worried
        """, 4, ("keywords of 'a' must be a list of texts; got 'worried'",)),
    "keyword not text": ("""\
        codes:
          - id: a
            definition: d
            keywords:
              - worried
              - {a: b}
        """, 6, ("item 2 of keywords of 'a' must be text; got a mapping",)),
    "empty keyword": ("""\
        codes:
          - id: a
            definition: d
            keywords:
              - worried
              - ""
        """, 6, ("item 2 of keywords of 'a' is empty",)),
    "include not text": ("""\
        codes:
          - id: a
            definition: d
            keywords: [k]
            include: {a: b}
        """, 5, ("include of 'a' must be a list of texts or one text",)),
    "unknown top key": ("""\
        name: x
        treshold: 0.5
        codes:
          - id: a
            definition: d
            keywords: [k]
        """, 2, ("unknown key 'treshold' in the codebook",
                 "allowed: name, version, description, unit, threshold, codes")),
    "unknown code key": ("""\
        codes:
          - id: a
            definition: d
            keywords: [k]
            synonyms: [x]
        """, 5, ("unknown key 'synonyms' in code 1", "allowed: id, name, parent, definition, include, exclude, "
                 "keywords, patterns, examples, counter_examples, color, threshold")),
    "duplicate key": ("""\
        codes:
          - id: a
            definition: d
            keywords: [k]
            definition: e
        """, 5, ("duplicate key 'definition' in code 1 (first on line 3)",)),
}


@pytest.mark.parametrize("text, line, fragments", ERRORS.values(), ids=ERRORS.keys())
def test_error_message_and_line(tmp_path, text, line, fragments):
    assert_one_error(tmp_path, text, line, *fragments)
    with pytest.raises(QualcodeError):
        load_codebook(tmp_path / "codebook.yaml")


def test_duplicate_ids_point_at_the_second(tmp_path):
    assert found(tmp_path, """\
        codes:
          - id: a
            definition: d
            keywords: [k]
          - id: b
            definition: d
            keywords: [l]
          - id: a
            definition: e
            keywords: [m]
        """) == [(8, "error", "duplicate id 'a' (first on line 2)")]


def test_parent_cycle_is_named_once(tmp_path):
    assert found(tmp_path, """\
        codes:
          - id: a
            parent: c
            definition: d
            keywords: [k]
          - id: b
            parent: a
            definition: d
            keywords: [l]
          - id: c
            parent: b
            definition: d
            keywords: [m]
        """) == [(3, "error", "parent cycle: a -> c -> b -> a")]


def test_every_problem_is_reported_at_once_sorted_by_line(tmp_path):
    problems = found(tmp_path, """\
        unit: page
        codes:
          - id: Bad
            definition: d
            keywords: [k]
          - id: b
            definition: ""
            keywords: [l]
            color: blue
            threshold: 3
        """)
    assert [(line, severity) for line, severity, _ in problems] == [
        (1, "error"), (3, "error"), (7, "error"), (9, "error"), (10, "error")]


# --- unreadable files ------------------------------------------------------------------------


def test_missing_file(tmp_path):
    report = check_codebook(tmp_path / "absent.yaml")
    assert report.problems == [Problem(0, "error", "file not found")]
    assert report.codebook is None
    with pytest.raises(QualcodeError) as raised:
        load_codebook(tmp_path / "absent.yaml")
    assert raised.value.line is None


def test_non_utf8_byte_reports_its_line(tmp_path):
    path = tmp_path / "codebook.yaml"
    path.write_bytes(b"codes:\n  - id: a\n    definition: caf\xe9\n")
    report = check_codebook(path)
    assert [(problem.line, problem.severity) for problem in report.problems] == [(3, "error")]
    assert "not UTF-8" in report.problems[0].message and "0xE9" in report.problems[0].message


def test_control_character_reports_its_line(tmp_path):
    text = "codes:\n  - id: a\n    definition: bell\x07\n"
    assert_one_error(tmp_path, text, 3, "YAML syntax error", "special characters")


@pytest.mark.parametrize("text", ["", "\n  \n", "# only a comment\n"])
def test_empty_file(tmp_path, text):
    assert_one_error(tmp_path, text, 1, "the file is empty")


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "codebook.yaml"
    path.write_bytes("\ufeffcodes:\n  - id: a\n    definition: d\n    keywords: [k]\n".encode())
    assert load_codebook(path).ids == ("a",)


# --- warnings --------------------------------------------------------------------------------


def test_shared_keyword_warns_naming_both_codes(tmp_path):
    path = write(tmp_path, """\
        codes:
          - id: fear
            definition: d
            keywords: [Worried   Sick]
          - id: stress
            definition: d
            keywords:
              - pressure
              - worried sick
        """)
    report = check_codebook(path)
    assert report.problems == [
        Problem(9, "warning", "keyword 'worried sick' is shared by 'fear' (line 4) and 'stress'")]
    assert report.codebook is not None
    assert load_codebook(path).ids == ("fear", "stress")


def test_code_without_keywords_or_examples_warns_unless_parent(tmp_path):
    assert found(tmp_path, """\
        codes:
          - id: parent
            definition: d
          - id: child
            parent: parent
            definition: d
          - id: matched
            definition: d
            patterns: ["x+"]
        """) == [(4, "warning", "code 'child' has neither keywords nor examples, "
                                "so only its definition can match it")]


# --- load_codebook ---------------------------------------------------------------------------


def test_load_raises_first_error_with_count_and_hint(tmp_path):
    path = write(tmp_path, """\
        codes:
          - id: a
            definition: d
            keywords: [k]
            color: red
          - id: b
            keywords: [k]
        """)
    with pytest.raises(QualcodeError) as raised:
        load_codebook(path)
    error = raised.value
    assert (error.path, error.line) == (str(path), 5)
    assert error.problem == (f"color 'red' of 'a' is not of the form #RRGGBB "
                             f"(2 problems; run `qualcode codebook check {path}`)")


def test_spacy_is_imported_only_for_token_patterns(tmp_path):
    plain = write(tmp_path, "codes:\n  - id: a\n    definition: d\n    keywords: [k]\n", "plain.yaml")
    tokens = write(tmp_path, "codes:\n  - id: a\n    definition: d\n    patterns: [{tokens: [{LOWER: k}]}]\n",
                   "tokens.yaml")
    probe = ("import sys; from qualcode.codebook import load_codebook; load_codebook(sys.argv[1]); "
             "print('spacy' in sys.modules)")
    outputs = [subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True,
                              check=True).stdout.strip() for path in (plain, tokens)]
    assert outputs == ["False", "True"]


# --- CLI -------------------------------------------------------------------------------------


def run_check(path: Path):
    return CliRunner().invoke(main, ["codebook", "check", str(path)])


def test_cli_check_reports_errors_and_exits_1(tmp_path):
    path = write(tmp_path, """\
        codes:
          - id: a
            definition: d
            keywords: [k]
            color: red
          - id: b
            definition: d
            keywords: [k]
        """)
    result = run_check(path)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{path}:5: error: color 'red' of 'a' is not of the form #RRGGBB",
        f"{path}:8: warning: keyword 'k' is shared by 'a' (line 4) and 'b'",
        f"{path}: 1 error, 1 warning",
    ]


def test_cli_check_warnings_only_exits_0(tmp_path):
    path = write(tmp_path, "codes:\n  - id: a\n    definition: d\n")
    result = run_check(path)
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == f"{path}: 0 errors, 1 warning"


def test_cli_check_clean_and_missing(tmp_path):
    clean = run_check(write(tmp_path, VALID))
    assert (clean.exit_code, clean.output.splitlines()[-1].endswith(": 0 errors, 0 warnings")) == (0, True)
    missing = run_check(tmp_path / "absent.yaml")
    assert missing.exit_code == 1
    assert missing.output.splitlines()[0] == f"{tmp_path / 'absent.yaml'}: error: file not found"


# --- writing ---------------------------------------------------------------------------------


def without_lines(codebook: Codebook) -> Codebook:
    """Lines and path say where a codebook was read from, not what it is."""
    return replace(codebook, path=None, codes=tuple(replace(code, line=0) for code in codebook.codes))


def test_round_trip(tmp_path):
    original = load_codebook(write(tmp_path, VALID))
    copy_path = tmp_path / "out" / "copy.yaml"
    write_codebook(original, copy_path)
    copy = load_codebook(copy_path)
    assert without_lines(copy) == without_lines(original)
    assert check_codebook(copy_path).problems == []
    assert dump_codebook(copy) == copy_path.read_text(encoding="utf-8")


def test_dump_format(tmp_path):
    codebook = Codebook(name="Ängste", version="2.0", description="", unit="turn", threshold=0.5, codes=(
        Code(id="a", name="a", definition="One.\nTwo.", keywords=("k",), color=PALETTE[0]),
        Code(id="b", name="Bee", definition="d", parent="a", examples=("e",), color="#123456",
             patterns=(Pattern(tokens=({"LOWER": {"IN": ["x", "y"]}},)),)),
    ))
    assert dump_codebook(codebook) == textwrap.dedent("""\
        name: Ängste
        version: '2.0'
        unit: turn
        threshold: 0.5
        codes:
          - id: a
            definition: |-
              One.
              Two.
            keywords:
              - k
          - id: b
            name: Bee
            parent: a
            definition: d
            patterns:
              - tokens:
                  - LOWER:
                      IN:
                        - x
                        - y
            examples:
              - e
            color: '#123456'
        """)
    path = tmp_path / "codebook.yaml"
    write_codebook(codebook, path)
    assert without_lines(load_codebook(path)) == without_lines(replace(codebook, path=path))


# PyYAML itself cannot round-trip the Unicode line breaks NEL, LS and PS in quoted scalars.
PROSE = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x85\u2028\u2029"), min_size=1)


@settings(max_examples=200, deadline=None)
@given(definition=PROSE, keyword=PROSE, name=PROSE)
def test_any_text_round_trips(tmp_path_factory, definition, keyword, name):
    assume(definition.strip() and keyword.strip())
    codebook = Codebook(name=name, version="1", description="", unit="turn", codes=(
        Code(id="a", name=name, definition=definition, keywords=(keyword,), color=PALETTE[0]),))
    path = tmp_path_factory.mktemp("round") / "codebook.yaml"
    write_codebook(codebook, path)
    assert without_lines(load_codebook(path)) == codebook


# --- the shipped codebook --------------------------------------------------------------------


@pytest.mark.skipif(not DEFAULT_CODEBOOK.exists(), reason="no default codebook yet")
def test_default_codebook_has_no_errors():
    report = check_codebook(DEFAULT_CODEBOOK)
    assert report.errors == [], [problem.format(DEFAULT_CODEBOOK) for problem in report.errors]
    assert report.codebook is not None


@pytest.mark.skipif(not DEFAULT_CODEBOOK.exists(), reason="no default codebook yet")
def test_default_codebook_round_trips(tmp_path):
    codebook = load_codebook(DEFAULT_CODEBOOK)
    write_codebook(codebook, tmp_path / "codebook.yaml")
    assert without_lines(load_codebook(tmp_path / "codebook.yaml")) == without_lines(codebook)
