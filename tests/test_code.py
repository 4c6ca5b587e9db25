"""Stage 2, ``qualcode code``: real coding runs checked against gold codes, the rules, and the output.

Every run here goes through ``run_code`` or the CLI into a tmp folder, once per module, and the
tests read back what was written. Nothing depends on ``outputs/``.
"""

from __future__ import annotations

import csv
import shutil
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from sklearn.metrics import f1_score, precision_score
from sklearn.preprocessing import MultiLabelBinarizer

from conftest import DATASETS, DEFAULT_CODEBOOK
from games import write_games
from qualcode.cli import main
from qualcode.code import code_segments, run_code
from qualcode.codebook import load_codebook
from qualcode.config import DEFAULT_MODEL, Settings
from qualcode.domain import Codebook
from qualcode.errors import QualcodeError
from qualcode.ingest import read_corpus
from qualcode.nlp import lemma_pipeline
from qualcode.segment import segment_corpus

SETTINGS = Settings(quiet=True)
GAMES = DATASETS / "games_as_art_coded"
SEGMENT_COLUMNS = ["segment_id", "document", "speaker", "speaker_role", "start", "end", "text"]

# A small codebook whose every rule is known, so each test can say exactly what must fire.
TOY_CODEBOOK = """\
name: Rules test codebook
version: "1"
unit: turn
codes:
  - id: sharing
    name: Information sharing
    definition: Agencies exchanging case information with one another.
    keywords: [share information]
    examples: [We pass her details to the police.]
  - id: tender
    name: Commissioning and tendering
    definition: Services being put out to tender or procured by commissioners.
    keywords: [tender, procurement]
    exclude: [tender age]
  - id: rules-clash
    name: Clashing rules
    definition: Organisational rules that get in the way of joint work.
    patterns:
      - regex: '\\bhands (are|were) tied\\b'
      - tokens: [{LOWER: {IN: [conflicting, different]}}, {LEMMA: policy}]
  - id: wellbeing
    name: Staff wellbeing
    definition: >-
      Burnout, exhaustion and stress among frontline practitioners, and the toll that
      vicarious trauma takes on workers.
"""
TOY_IDS = ["sharing", "tender", "rules-clash", "wellbeing"]
LONG_ANSWER = ("Well, I would say that depends a lot on the year, on the people involved, on the weather "
               "and on how tired everyone is by the end of it all.")
# (question, answer): each answer is one participant turn, toy:2, toy:4, ... in this order
TOY_TURNS = [
    ("Go on.", "Sharing information was hard at first."),                                      # toy:2
    ("Go on.", "We shared information with the refuge every week."),                          # toy:4
    ("Go on.", "SHARING INFORMATION is the whole job."),                                       # toy:6
    ("Go on.", "The service went out to tender last spring."),                                 # toy:8
    ("Go on.", "At a tender age she moved in with him."),                                      # toy:10
    ("Go on.", "Our hands are tied by conflicting policies."),                                 # toy:12
    ("Go on.", "Burnout is everywhere: our frontline practitioners are stressed and exhausted "
               "by vicarious trauma."),                                                        # toy:14
    ("Is the tender and procurement process the main problem?", "It absolutely is."),          # toy:16
    ("Is the tender and procurement process the main problem?", LONG_ANSWER),                  # toy:18
    ("Is the tender the main problem?", "It absolutely is."),                                  # toy:20
    ("Was care for children of a tender age put out to tender and procurement?", "Yes, it was."),  # toy:22
]


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, [dict(zip(header, row)) for row in reader]


def by_id(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["segment_id"]: row for row in rows}


def codes_of(row: dict[str, str]) -> list[str]:
    return [code for code in row["codes"].split(";") if code]


def scores_sheet(out: Path) -> tuple[list[str], dict[str, dict[str, float]]]:
    book = load_workbook(out / "coded_segments.xlsx", read_only=True)
    values = list(book["scores"].values)
    book.close()
    header = list(values[0])
    return header, {row[0]: dict(zip(header[1:], row[1:])) for row in values[1:]}


def leaf_ids(codebook: Codebook) -> list[str]:
    return [code.id for code in codebook.codes if not codebook.children(code.id)]


def invoke(*args: str):
    return CliRunner().invoke(main, [*args, "--quiet"])


# --- fixtures: one real run per configuration ---------------------------------------------------

@pytest.fixture(scope="module")
def codebook():
    return load_codebook(DEFAULT_CODEBOOK)


@pytest.fixture(scope="module")
def sample_out(pseudonymised, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample_coded")
    summary = run_code(pseudonymised, DEFAULT_CODEBOOK, out, None, None, False, SETTINGS)
    assert summary.out == out / "coded_segments.xlsx"
    return out


@pytest.fixture(scope="module")
def sample(sample_out):
    return read_rows(sample_out / "coded_segments.csv")


@pytest.fixture(scope="module")
def toy_source(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("toy")
    codebook_path = folder / "codebook.yaml"
    codebook_path.write_text(TOY_CODEBOOK, encoding="utf-8")
    source = folder / "source"
    source.mkdir()
    blocks = [f"Interviewer: {question}\n\nP1: {answer}" for question, answer in TOY_TURNS]
    (source / "toy.txt").write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return source, codebook_path


@pytest.fixture(scope="module")
def toy_out(toy_source, tmp_path_factory) -> Path:
    source, codebook_path = toy_source
    out = tmp_path_factory.mktemp("toy_coded")
    run_code(source, codebook_path, out, None, None, False, SETTINGS)
    return out


@pytest.fixture(scope="module")
def toy(toy_out) -> dict[str, dict[str, str]]:
    return by_id(read_rows(toy_out / "coded_segments.csv")[1])


@pytest.fixture(scope="module")
def nlp():
    return lemma_pipeline(DEFAULT_MODEL)


# --- the real games-as-art data set against its gold codes --------------------------------------

@pytest.fixture(scope="module")
def games(datasets, tmp_path_factory):
    """Code the answers (the labelled table's ``codes`` column is just kept as an attribute)."""
    folder = tmp_path_factory.mktemp("games")
    codebook_path, labelled, gold = write_games(GAMES, folder)
    run_code(labelled, codebook_path, folder / "out", None, None, False, SETTINGS)
    rows = read_rows(folder / "out" / "coded_segments.csv")[1]
    predicted = [set(codes_of(row)) for row in rows]
    return list(load_codebook(codebook_path).ids), gold, predicted


@pytest.fixture(scope="module")
def games_rows(datasets, tmp_path_factory) -> list[dict[str, str]]:
    folder = tmp_path_factory.mktemp("games_rows")
    codebook_path, labelled, _ = write_games(GAMES, folder)
    run_code(labelled, codebook_path, folder / "out", None, None, False, SETTINGS)
    return read_rows(folder / "out" / "coded_segments.csv")[1]


def test_games_codebook_has_31_definition_only_codes(games):
    ids, gold, predicted = games
    assert len(ids) == len(set(ids)) == 31
    assert len(gold) == len(predicted) == 90
    assert set().union(*gold) <= set(ids)


def test_games_coding_beats_trivial_baselines(games, capsys):
    ids, gold, predicted = games
    binarizer = MultiLabelBinarizer(classes=ids)
    truth, guess = binarizer.fit_transform(gold), binarizer.transform(predicted)
    nothing = np.zeros_like(truth)
    most_frequent = np.zeros_like(truth)
    most_frequent[:, truth.sum(axis=0).argmax()] = 1

    def f1(prediction):
        return (f1_score(truth, prediction, average="micro", zero_division=0),
                f1_score(truth, prediction, average="macro", zero_division=0))

    model, empty, frequent = f1(guess), f1(nothing), f1(most_frequent)
    with capsys.disabled():
        print(f"\ngames-as-art, answer level, {len(ids)} codes, {len(gold)} answers: "
              f"micro-F1 {model[0]:.3f}, macro-F1 {model[1]:.3f}; baselines: no code {empty[0]:.3f}/{empty[1]:.3f}, "
              f"most frequent code '{ids[truth.sum(axis=0).argmax()]}' everywhere {frequent[0]:.3f}/{frequent[1]:.3f}")
    for measure in (0, 1):
        assert model[measure] > empty[measure]
        assert model[measure] > frequent[measure]
    everywhere = f1(np.ones_like(truth))
    assert model[0] > everywhere[0]
    assert precision_score(truth, guess, average="micro", zero_division=0) >= 0.30  # issue 10's floor


def test_games_answers_may_get_no_code_but_always_three_suggestions(games_rows):
    uncoded = [row for row in games_rows if not codes_of(row)]
    assert uncoded, "the decision is absolute: some answers fit no code"
    for row in games_rows:
        suggested = [part.rsplit(" ", 1) for part in row["suggested"].split("; ")]
        assert len(suggested) == 3
        scores = [float(score) for _, score in suggested]
        assert scores == sorted(scores, reverse=True)
        assert set(codes_of(row)) <= {code for code, _ in suggested} or len(codes_of(row)) > 3


# --- the sample transcripts with the default codebook -------------------------------------------

def test_every_theme_is_applied_somewhere(sample, codebook):
    _, rows = sample
    themes = leaf_ids(codebook)
    assert len(themes) == 6
    for theme in themes:
        coded = [row for row in rows if row[theme] == "1" and row["speaker_role"] == "participant"]
        assert coded, f"theme {theme!r} is never applied to the sample transcripts"


def test_interviewer_turns_are_uncoded(sample, codebook):
    _, rows = sample
    interviewer = [row for row in rows if row["speaker_role"] == "interviewer"]
    assert len(interviewer) > 100
    for row in interviewer:
        assert row["codes"] == "" and row["evidence"] == ""
        assert all(row[code] == "0" for code in codebook.ids)
    # ...although their questions are full of keywords: the rule is about the role, not the text
    assert any("GDPR" in row["text"] for row in interviewer)


def test_every_code_has_a_score_for_every_segment(sample_out, sample, codebook):
    header, scores = scores_sheet(sample_out)
    _, rows = sample
    assert header == ["segment_id", *codebook.ids]
    assert list(scores) == [row["segment_id"] for row in rows]
    for row in rows:
        values = scores[row["segment_id"]]
        assert all(isinstance(value, (int, float)) and 0.0 <= value <= 1.0 for value in values.values())


def test_codes_follow_scores_and_the_0_1_columns(sample_out, sample, codebook):
    _, scores = scores_sheet(sample_out)
    _, rows = sample
    themes = leaf_ids(codebook)
    for row in rows:
        ones = [code for code in codebook.ids if row[code] == "1"]
        assert codes_of(row) == ones  # same ids, in codebook order
        assert all(row[code] in ("0", "1") for code in codebook.ids)
        if row["speaker_role"] == "participant":
            expected = [code for code in themes if scores[row["segment_id"]][code] >= codebook.threshold]
            assert ones == expected, row["segment_id"]
            for code in ones:
                assert row["evidence"].count(f"{code}: ") == 1


def test_output_columns_are_in_the_documented_order(sample, codebook):
    header, _ = sample
    assert header == [*SEGMENT_COLUMNS, "codes", *codebook.ids, "evidence", "suggested", "review_codes", "comment"]


def xlsx_rows(path: Path, sheet: str = "coded_segments") -> list[list[str]]:
    book = load_workbook(path, read_only=True)
    values = [["" if value is None else str(value) for value in row] for row in book[sheet].values]
    book.close()
    return values


def test_csv_and_xlsx_agree(sample_out):
    header, rows = read_rows(sample_out / "coded_segments.csv")
    assert xlsx_rows(sample_out / "coded_segments.xlsx") == [header, *([row[name] for name in header] for row in rows)]


def test_workbook_is_made_for_a_reviewer(sample_out, sample, codebook):
    header, rows = sample
    book = load_workbook(sample_out / "coded_segments.xlsx")
    assert book.sheetnames == ["coded_segments", "scores", "evidence", "codebook"]
    sheet = book["coded_segments"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}{len(rows) + 1}"
    assert sheet.column_dimensions[sheet.cell(1, header.index("text") + 1).column_letter].width >= 60
    assert sheet.cell(2, header.index("text") + 1).alignment.wrap_text
    review = sheet.cell(1, header.index("review_codes") + 1).column_letter
    hints = [rule for rule in sheet.data_validations.dataValidation if review in str(rule.sqref)]
    assert len(hints) == 1 and hints[0].showInputMessage
    assert str(hints[0].sqref) == f"{review}2:{review}{len(rows) + 1}"
    assert all(code in hints[0].prompt for code in codebook.ids)
    for code in codebook.codes:
        column = header.index(code.id) + 1
        for row in (1, 2, len(rows) + 1):
            fill = sheet.cell(row, column).fill
            assert fill.fill_type == "solid" and fill.fgColor.rgb.upper().endswith(code.color.lstrip("#").upper())
    definitions = {row[0].value: row[3].value for row in book["codebook"].iter_rows(min_row=2)}
    assert [cell.value for cell in book["codebook"][1]][:4] == ["id", "name", "parent", "definition"]
    assert definitions == {code.id: code.definition for code in codebook.codes}


def test_two_runs_give_identical_bytes(pseudonymised, sample_out, tmp_path):
    result = invoke("code", str(pseudonymised), "--codebook", str(DEFAULT_CODEBOOK), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    for name in ("coded_segments.csv", "coded_segments.xlsx"):
        assert (tmp_path / name).read_bytes() == (sample_out / name).read_bytes(), name


# --- the rules, on the toy codebook ---------------------------------------------------------------

@pytest.mark.parametrize("segment_id", ["toy:2", "toy:4", "toy:6"])
def test_keywords_match_lemmas_case_insensitively(toy, segment_id):
    row = toy[segment_id]
    assert "sharing" in codes_of(row), row
    assert "sharing: keywords 'share information'" in row["evidence"]


def test_regex_and_token_patterns_both_fire_and_are_named(toy):
    row = toy["toy:12"]
    assert "rules-clash" in codes_of(row)
    evidence = row["evidence"].split(" | ")
    clash = next(part for part in evidence if part.startswith("rules-clash: "))
    assert "patterns matched" in clash
    assert "'hands are tied'" in clash and "'conflicting policies'" in clash


def test_exclusion_phrase_vetoes_the_code(toy, toy_out):
    _, scores = scores_sheet(toy_out)
    assert "tender" in codes_of(toy["toy:8"])  # the keyword alone codes
    excluded = toy["toy:10"]  # "At a tender age ...": the keyword is there, inside an exclusion phrase
    assert "tender" not in codes_of(excluded) and excluded["tender"] == "0"
    assert "tender:" not in excluded["evidence"]
    assert scores["toy:10"]["tender"] == 0.0


def test_definition_only_code_is_applied_by_similarity(toy):
    row = toy["toy:14"]
    assert "wellbeing" in codes_of(row), row
    assert re.search(r"(^|\| )wellbeing: similarity 0\.\d\d($| \|)", row["evidence"]), row["evidence"]


def test_short_answer_takes_codes_from_the_question(toy):
    row = toy["toy:16"]  # "It absolutely is." after a question with the keywords tender and procurement
    assert codes_of(row) == ["tender"]
    assert row["evidence"].startswith("tender: from the question: keywords 'procurement', 'tender'; similarity ")


def test_long_answer_does_not_take_codes_from_the_question(toy):
    assert len(LONG_ANSWER.split()) > 20
    row = toy["toy:18"]
    assert "tender" not in codes_of(row) and "from the question" not in row["evidence"]


def test_single_keyword_question_codes_the_short_answer(toy):
    row = toy["toy:20"]  # "It absolutely is." after "Is the tender the main problem?"
    assert codes_of(row) == ["tender"]
    assert row["evidence"].startswith("tender: from the question: keywords 'tender'; similarity ")


def test_exclusion_phrase_in_the_question_vetoes_the_context_code(toy, toy_out):
    _, scores = scores_sheet(toy_out)
    assert scores["toy:21"]["tender"] == 0.0  # the question itself is vetoed ("tender age")...
    assert "tender" not in codes_of(toy["toy:22"])  # ...so "Yes, it was." must not take tender from it


def test_interviewer_is_coded_only_when_asked(toy, toy_source, tmp_path):
    assert toy["toy:15"]["codes"] == ""  # the question with two tender keywords
    source, codebook_path = toy_source
    result = invoke("code", str(source), "--codebook", str(codebook_path), "--out", str(tmp_path),
                    "--code-interviewer")
    assert result.exit_code == 0, result.output
    rows = by_id(read_rows(tmp_path / "coded_segments.csv")[1])
    assert rows["toy:15"]["speaker_role"] == "interviewer"
    assert codes_of(rows["toy:15"]) == ["tender"]
    assert "tender: keywords 'procurement', 'tender'" in rows["toy:15"]["evidence"]
    participant = {key: row["codes"] for key, row in rows.items() if row["speaker_role"] == "participant"}
    assert participant == {key: row["codes"] for key, row in toy.items() if row["speaker_role"] == "participant"}


def test_threshold_option(toy_source, toy_out, tmp_path):
    source, codebook_path = toy_source
    result = invoke("code", str(source), "--codebook", str(codebook_path), "--out", str(tmp_path),
                    "--threshold", "0.9")
    assert result.exit_code == 0, result.output
    _, scores = scores_sheet(tmp_path)
    strict = by_id(read_rows(tmp_path / "coded_segments.csv")[1])
    default = by_id(read_rows(toy_out / "coded_segments.csv")[1])
    for segment_id, row in strict.items():
        if row["speaker_role"] == "participant":
            assert codes_of(row) == [code for code in TOY_IDS if scores[segment_id][code] >= 0.9]
    assert sum(map(len, map(codes_of, strict.values()))) < sum(map(len, map(codes_of, default.values())))
    dropped = [(segment_id, code) for segment_id, row in default.items() for code in codes_of(row)
               if code not in codes_of(strict[segment_id])]
    assert dropped and all(0.5 <= scores[segment_id][code] < 0.9 for segment_id, code in dropped)
    refused = invoke("code", str(source), "--codebook", str(codebook_path), "--out", str(tmp_path / "bad"),
                     "--threshold", "1.5")
    assert refused.exit_code == 2 and not (tmp_path / "bad").exists()


def test_unit_option(toy_source, tmp_path):
    source, codebook_path = toy_source
    result = invoke("code", str(source), "--codebook", str(codebook_path), "--out", str(tmp_path),
                    "--unit", "sentence")
    assert result.exit_code == 0, result.output
    _, rows = read_rows(tmp_path / "coded_segments.csv")
    ids = [row["segment_id"] for row in rows]
    assert all(re.fullmatch(r"toy:\d+\.\d+", segment_id) for segment_id in ids)
    assert "toy:14.1" in ids and "toy:18.1" in ids
    refused = invoke("code", str(source), "--codebook", str(codebook_path), "--out", str(tmp_path / "bad"),
                     "--unit", "word")
    assert refused.exit_code == 2 and not (tmp_path / "bad").exists()


# --- tables of answers ------------------------------------------------------------------------------

TABLE = [
    {"id": "r1", "text": "We share information with the police every week.", "site": "North", "participant": "A"},
    {"id": "r2", "text": "The service went out to tender again.", "site": "South", "participant": "B"},
    {"id": "r3", "text": "Nothing much to say about that.", "site": "North", "participant": "C"},
]


def write_table(path: Path, records: list[dict[str, str]]) -> Path:
    columns = list(records[0])
    if path.suffix == ".csv":
        pd.DataFrame(records, columns=columns).to_csv(path, index=False)
    else:
        book = Workbook()
        book.active.append(columns)
        for record in records:
            book.active.append([record[column] for column in columns])
        book.save(path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_table_input(toy_source, tmp_path, suffix):
    _, codebook_path = toy_source
    table = write_table(tmp_path / f"answers{suffix}", TABLE)
    out = tmp_path / "out"
    run_code(table, codebook_path, out, None, None, False, SETTINGS)
    header, rows = read_rows(out / "coded_segments.csv")
    fixed = [*SEGMENT_COLUMNS, "codes", *TOY_IDS, "evidence", "suggested", "review_codes", "comment"]
    assert header[:len(fixed)] == fixed
    extra = header[len(fixed):]
    assert extra.index("site") < extra.index("participant")
    assert "id" not in header and "text" not in extra
    assert [row["segment_id"] for row in rows] == ["r1", "r2", "r3"]
    assert [row["text"] for row in rows] == [record["text"] for record in TABLE]
    assert [row["site"] for row in rows] == ["North", "South", "North"]
    assert [row["participant"] for row in rows] == ["A", "B", "C"]
    assert {row["document"] for row in rows} == {"answers"}
    assert "sharing" in codes_of(rows[0]) and "tender" in codes_of(rows[1])
    assert xlsx_rows(out / "coded_segments.xlsx") == [header, *([row[name] for name in header] for row in rows)]


def test_table_columns_named_like_output_columns_are_kept_apart(toy_source, tmp_path):
    """A table's own ``comment``/``start``/code-id column must not give the output two columns of one name."""
    _, codebook_path = toy_source
    records = [{"id": "r1", "text": "The service went out to tender again.", "comment": "from the pilot",
                "start": "2024-05-01", "tender": "yes", "site": "North"}]
    out = tmp_path / "out"
    run_code(write_table(tmp_path / "answers.csv", records), codebook_path, out, None, None, False, SETTINGS)
    header, rows = read_rows(out / "coded_segments.csv")
    assert len(header) == len(set(header)), header
    assert header[:len(SEGMENT_COLUMNS)] == SEGMENT_COLUMNS
    assert header.index("comment") == header.index("review_codes") + 1
    row = rows[0]
    assert row["comment"] == "" and row["start"] == "0" and row["tender"] == "1"  # the documented columns
    assert [row[f"{name} (input)"] for name in ("comment", "start", "tender")] == ["from the pilot", "2024-05-01",
                                                                                   "yes"]
    assert row["site"] == "North"
    assert xlsx_rows(out / "coded_segments.xlsx")[0] == header


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_table_without_text_column_is_refused(toy_source, tmp_path, suffix):
    _, codebook_path = toy_source
    table = write_table(tmp_path / f"answers{suffix}", [{"id": "r1", "answer": "We share information."}])
    with pytest.raises(QualcodeError) as error:
        run_code(table, codebook_path, tmp_path / "out", None, None, False, SETTINGS)
    assert str(table) in error.value.message and "'text'" in error.value.message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_duplicate_table_ids_are_refused_with_the_row(toy_source, tmp_path, suffix):
    _, codebook_path = toy_source
    records = [*TABLE, {"id": "r2", "text": "Again.", "site": "East", "participant": "D"}]
    table = write_table(tmp_path / f"answers{suffix}", records)
    with pytest.raises(QualcodeError) as error:
        run_code(table, codebook_path, tmp_path / "out", None, None, False, SETTINGS)
    assert error.value.message.startswith(f"{table}:5: duplicate id (the same as on row")
    assert "'r2'" not in error.value.message  # input values never go into a message
    assert "row 3" in error.value.message
    assert not (tmp_path / "out").exists()


# --- the codebook and the spaCy pipeline -------------------------------------------------------------

def test_broken_codebook_stops_code_with_file_and_line(toy_source, tmp_path):
    source, _ = toy_source
    broken = tmp_path / "broken.yaml"
    broken.write_text(TOY_CODEBOOK.replace('keywords: [tender, procurement]',
                                           'keywords: [tender, procurement]\n    color: "#12"'), encoding="utf-8")
    line = broken.read_text(encoding="utf-8").splitlines().index('    color: "#12"') + 1
    out = tmp_path / "out"
    result = invoke("code", str(source), "--codebook", str(broken), "--out", str(out))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"qualcode: error: {broken}:{line}: color '#12' of 'tender'")
    assert not out.exists()


def test_coding_pipeline_has_only_what_rules_need(nlp):
    assert "parser" not in nlp.pipe_names and "ner" not in nlp.pipe_names
    assert "lemmatizer" in nlp.pipe_names


class CountingNLP:
    """The real pipeline, counting how it is called."""

    def __init__(self, nlp):
        self._nlp, self.pipes, self.calls = nlp, [], 0

    def __call__(self, text):
        self.calls += 1
        return self._nlp(text)

    def pipe(self, texts, **kwargs):
        texts = list(texts)
        self.pipes.append(len(texts))
        return self._nlp.pipe(texts, **kwargs)

    def __getattr__(self, name):
        return getattr(self._nlp, name)


def test_spacy_runs_in_batches_not_per_segment(nlp, pseudonymised, toy_source):
    codebook = load_codebook(DEFAULT_CODEBOOK)
    counts = []
    for folder in (toy_source[0], pseudonymised):
        segments = segment_corpus(read_corpus(folder, SETTINGS), "turn")
        spy = CountingNLP(nlp)
        coded = code_segments(segments, codebook, spy)
        assert len(coded) == len(segments)
        assert spy.calls == 0
        counts.append(len(spy.pipes))
    assert counts[0] == counts[1]  # 22 segments or 245: the same number of nlp.pipe passes


# --- stable codes, counter-examples, evidence as data --------------------------------------------

def test_adding_a_transcript_never_changes_the_codes_of_the_others(pseudonymised, tmp_path):
    """Nothing is fitted on the corpus being coded: each segment's scores are its own."""
    files = sorted(path for path in pseudonymised.glob("*.txt"))
    assert len(files) >= 3
    few, more = tmp_path / "few", tmp_path / "more"
    for folder, chosen in ((few, files[:2]), (more, files)):
        folder.mkdir()
        for path in chosen:
            shutil.copy(path, folder / path.name)
        run_code(folder, DEFAULT_CODEBOOK, tmp_path / f"{folder.name}_out", None, None, False, SETTINGS)
    before = by_id(read_rows(tmp_path / "few_out" / "coded_segments.csv")[1])
    after = by_id(read_rows(tmp_path / "more_out" / "coded_segments.csv")[1])
    assert len(after) > len(before)
    assert any(codes_of(row) for row in before.values())
    for segment_id, row in before.items():
        assert after[segment_id] == row, segment_id  # codes, 0/1 columns, evidence and suggestions alike
    assert scores_sheet(tmp_path / "few_out")[1].items() <= scores_sheet(tmp_path / "more_out")[1].items()


COUNTER_CODEBOOK = """name: Counter-examples
version: "1"
unit: turn
codes:
  - id: housing
    name: Housing
    definition: Finding safe housing, refuges and emergency accommodation for survivors.
  - id: courts
    name: Courts
    definition: Court hearings, magistrates and the criminal justice process.
"""
HOUSING_TEXT = "The council found her emergency accommodation in a refuge."


def code_one(tmp_path: Path, codebook_text: str, text: str) -> dict[str, str]:
    (tmp_path / "codebook.yaml").write_text(codebook_text, encoding="utf-8")
    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "in" / "t.txt").write_text(f"P1: {text}\n", encoding="utf-8")
    run_code(tmp_path / "in", tmp_path / "codebook.yaml", tmp_path / "out", None, None, False, SETTINGS)
    return read_rows(tmp_path / "out" / "coded_segments.csv")[1][0]


def test_counter_examples_count_against_their_code(tmp_path):
    assert codes_of(code_one(tmp_path, COUNTER_CODEBOOK, HOUSING_TEXT)) == ["housing"]
    with_counter = COUNTER_CODEBOOK.replace(
        "for survivors.\n", f"for survivors.\n    counter_examples: [\"{HOUSING_TEXT}\"]\n", 1)
    assert with_counter != COUNTER_CODEBOOK
    row = code_one(tmp_path, with_counter, HOUSING_TEXT)
    assert codes_of(row) == []
    assert row["suggested"].split("; ")[0].startswith("housing ")  # still suggested, below the threshold


def test_a_segment_about_no_code_gets_none(tmp_path):
    row = code_one(tmp_path, COUNTER_CODEBOOK, "My uncle restores old motorbikes in his garage at weekends.")
    assert codes_of(row) == [] and row["evidence"] == ""
    assert len(row["suggested"].split("; ")) == 2  # every code of this two-code codebook, best first


def test_evidence_sheet_holds_each_reason_as_data(toy_out, toy):
    book = load_workbook(toy_out / "coded_segments.xlsx", read_only=True)
    values = list(book["evidence"].values)
    book.close()
    assert list(values[0]) == ["segment_id", "code", "kind", "text", "score"]
    items = [dict(zip(values[0], row)) for row in values[1:]]
    tender = [item for item in items if item["segment_id"] == "toy:8" and item["code"] == "tender"]
    assert {(item["kind"], item["text"]) for item in tender} >= {("keyword", "tender")}
    assert any(item["kind"] == "similarity" and isinstance(item["score"], float) for item in tender)
    question = [item for item in items if item["segment_id"] == "toy:16"]
    assert {item["kind"] for item in question} >= {"question keyword"}
    coded = {(row["segment_id"], code) for row in toy.values() for code in codes_of(row)}
    assert {(item["segment_id"], item["code"]) for item in items} == coded


def test_evidence_travels_as_data_in_the_workbook_and_the_csv_twin(toy_out):
    from qualcode.coded import read_evidence

    from_xlsx = read_evidence(toy_out / "coded_segments.xlsx")
    from_csv = read_evidence(toy_out / "coded_segments.csv")
    assert from_xlsx == from_csv and from_xlsx
    tender = [item for item in from_xlsx["toy:8"] if item.code == "tender"]
    keywords = {(item.kind, item.text, item.score) for item in tender if item.kind == "keyword"}
    assert keywords == {("keyword", "tender", 0.5)}
