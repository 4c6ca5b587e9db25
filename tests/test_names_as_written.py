"""Names as people really write them (issue 11): everyday-word aliases, neighbours, accents,
case folding that changes length, and capitals outside Latin-1.

Each test runs the real pseudonymise stage on a small corpus and checks the pseudonymised text,
the review log (offsets exact: the log's span of the input is the original) and the leak check.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qualcode.config import Settings
from qualcode.ingest.text import parse_turns
from qualcode.pseudonymise import LOG_FILENAME, parse_log, run_pseudonymise
from qualcode.pseudonymise.leakcheck import find_leaks
from qualcode.pseudonymise.propagate import name_parts
from qualcode.register import FoldedText, fold, load_register, normalise

SETTINGS = Settings(workers=1, quiet=True)
HEADER = "name,aliases,role,organisation,role_descriptor,organisation_type,pseudonym,speaker_label\n"


def run(tmp_path: Path, register_rows: str, text: str):
    """Pseudonymise one transcript; return (summary, output text, log rows, input text)."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "participants.csv").write_text(HEADER + register_rows, encoding="utf-8")
    (source / "interview.txt").write_text(text, encoding="utf-8")
    out, key = tmp_path / "out", tmp_path / "secure" / "key.json"
    summary = run_pseudonymise(source, out, None, key, SETTINGS)
    log = parse_log((key.parent / LOG_FILENAME).read_text(encoding="utf-8"))
    (output,) = out.glob("*.txt")
    return summary, output.read_text(encoding="utf-8"), log, text


def assert_offsets_exact(log: list[dict[str, str]], text: str) -> None:
    """Every log row's span of the input turn is its original (turn offsets are document offsets)."""
    for row in log:
        assert text[int(row["start"]):int(row["end"])] == row["original"], row


def test_an_everyday_word_alias_is_replaced_only_where_capitalised(tmp_path):
    summary, output, log, text = run(
        tmp_path, "William Rose,Will;Rose,,,,,,\n",
        "Interviewer: What helps?\n"
        "P1: Will said we will share data, and may be the rose garden meeting helps. Rose agreed.\n")
    assert "we will share data" in output and "may be the rose garden" in output
    assert "Will said" not in output and "Rose agreed" not in output
    assert sorted(row["original"] for row in log) == ["Rose", "Will"]
    assert_offsets_exact(log, text)
    warnings = [w for w in summary.warnings if "everyday word" in w]
    assert warnings == ["register row 2: a name or alias is also an everyday word; it is replaced only where "
                        "written with a capital"]  # once for the row, naming the row, never the name


def test_the_corpus_itself_marks_an_everyday_word(tmp_path):
    """"Sunday" is in no list of names that are words, but this corpus writes "sunday" in lower case."""
    _summary, output, log, _text = run(
        tmp_path, "Tom Sunday,Sunday,,,,,,\n",
        "Interviewer: When?\nP1: every sunday we meet. Sunday chairs it.\n")
    assert "every sunday we meet" in output and "Sunday chairs" not in output


def test_the_leak_check_agrees_with_the_recognizer_on_everyday_words(tmp_path):
    register = load_register(_register(tmp_path, "William Rose,Will;Rose,,,,,,\n")).with_everyday_words(())
    folder = tmp_path / "checked"
    folder.mkdir()
    (folder / "a.txt").write_text("we will share data\n", encoding="utf-8")
    assert find_leaks(folder, register) == []
    (folder / "b.txt").write_text("then Will rang\n", encoding="utf-8")
    assert [(Path(leak.path).name, leak.line) for leak in find_leaks(folder, register)] == [("b.txt", 1)]


def test_adjacent_names_stay_two_people(tmp_path):
    _summary, output, log, text = run(
        tmp_path, "Rachel Okafor,Rachel;Okafor,,,,,,\nPriya Shah,Priya;Shah,,,,,,\n",
        "Interviewer: Who came?\nP1: Rachel Okafor Priya Shah and nobody else.\n")
    assert [row["original"] for row in log] == ["Rachel Okafor", "Priya Shah"]
    first, second = (row["replacement"] for row in log)
    assert first != second and f"{first} {second} and nobody else" in output
    assert_offsets_exact(log, text)


@pytest.mark.parametrize("registered, written", [
    ("Siobhán Murphy", "Siobhan"), ("Siobhan Murphy", "Siobhán"), ("Zoë Adams", "ZOE"),
    ("Renée Dubois", "Rene\u0301e"),  # a decomposed accent, as some editors save it
    ("Jürgen Strauß", "Strauss"), ("Jurgen Strauss", "Strauß"), ("İpek Yılmaz", "Ipek"),
    ("Łukasz Nowak", "Lukasz"), ("Øystein Berg", "Oystein"),
])
def test_accents_and_length_changing_case_folds_are_the_same_name(tmp_path, registered, written):
    first, last = registered.split()
    _summary, output, log, text = run(tmp_path, f"{registered},{first};{last},,,,,,\n",
                                      f"Interviewer: Who?\nP1: I told {written} about it, then I went home.\n")
    assert written not in output and "then I went home" in output
    (row,) = log
    assert row["original"] == written
    assert_offsets_exact(log, text)


def test_the_leak_check_ignores_accents(tmp_path):
    register = load_register(_register(tmp_path, "Siobhán Murphy,Siobhán,,,,,,\n"))
    folder = tmp_path / "checked"
    folder.mkdir()
    (folder / "a.txt").write_text("line one\nthen Siobhan rang\n", encoding="utf-8")
    assert [(leak.line, leak.register_row) for leak in find_leaks(folder, register)] == [(2, 2)]


def test_one_pseudonym_whatever_the_accents(tmp_path):
    _summary, output, log, _text = run(tmp_path, "Siobhán Murphy,Siobhán,,,,,,\n",
                                       "Interviewer: Who?\nP1: Siobhán rang. Later Siobhan rang again.\n")
    assert len({row["replacement"] for row in log}) == 1
    assert normalise("Siobhán") == normalise("SIOBHAN")


@pytest.mark.parametrize("label", ["Łukasz", "Şule Kaya", "Đorđe", "Øystein Berg", "Ólafur"])
def test_capitals_outside_latin1_start_speaker_labels(label):
    transcript = parse_turns(f"Interviewer: Hello.\n{label}: Hello to you.\n", "doc", SETTINGS.is_interviewer)
    assert [(turn.speaker, turn.text) for turn in transcript.turns][-1] == (label, "Hello to you.")


@pytest.mark.parametrize("name, parts", [("Łukasz Nowak", ["Łukasz", "Nowak"]), ("Şule Đorđević", ["Şule", "Đorđević"]),
                                         ("Øystein Ødegaard", ["Øystein", "Ødegaard"])])
def test_capitals_outside_latin1_start_name_parts(name, parts):
    assert name_parts(name) == parts


@pytest.mark.parametrize("text", ["Straße und Siobhán", "ǅemal İpek Æsa", "plain ascii", "Re\u0301ne\u0301e Zoë"])
def test_folded_spans_map_back_exactly(text):
    """Each word found in the folded text maps back to exactly that word of the original."""
    folded = FoldedText.of(text)
    assert folded.text == fold(text)
    position = 0
    for word in text.split():
        start = folded.text.index(fold(word), position)
        position = start + len(fold(word))
        first, last = folded.span(start, position)
        assert text[first:last] == word


def _register(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "participants.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path
