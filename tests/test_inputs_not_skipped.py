"""Inputs that must not be skipped silently (issue 11): transcripts in subfolders, UTF-16 text
with a byte-order mark, and formula cells in an input spreadsheet."""

from __future__ import annotations


import openpyxl
import pytest

from qualcode.config import Settings
from qualcode.errors import QualcodeError
from qualcode.ingest import discover, read_corpus, read_source
from qualcode.pseudonymise import run_pseudonymise

SETTINGS = Settings(workers=1, quiet=True)
REGISTER = "name,aliases\nRachel Okafor,Rachel;Okafor\n"


def test_transcripts_in_subfolders_are_read_with_their_folder_as_group(tmp_path):
    source = tmp_path / "source"
    for folder in ("site_a", "site_b/2024"):
        (source / folder).mkdir(parents=True)
        (source / folder / "01.txt").write_text(f"Interviewer: Where?\nP1: At {folder}.\n", encoding="utf-8")
    (source / "top.txt").write_text("Interviewer: Hi.\nP1: Hello.\n", encoding="utf-8")
    (source / ".hidden").mkdir()
    (source / ".hidden" / "x.txt").write_text("Interviewer: no\n", encoding="utf-8")
    transcripts = read_corpus(source, SETTINGS)
    assert [(t.group, t.document) for t in transcripts] == [("site_a", "site_a_01"), ("site_b/2024", "site_b_2024_01"),
                                                            ("", "top")]


def test_a_subfolder_named_after_someone_gives_a_neutral_name(tmp_path):
    source = tmp_path / "source"
    (source / "Rachel Okafor").mkdir(parents=True)
    (source / "participants.csv").write_text(REGISTER, encoding="utf-8")
    (source / "Rachel Okafor" / "notes.txt").write_text("Interviewer: Hi.\nP1: Hello.\n", encoding="utf-8")
    (source / "plain.txt").write_text("Interviewer: Hi.\nP1: Hello.\n", encoding="utf-8")
    out = tmp_path / "out"
    run_pseudonymise(source, out, None, tmp_path / "secure" / "key.json", SETTINGS)
    assert sorted(p.name for p in out.glob("*.txt")) == ["T01.txt", "plain.txt"]


def test_a_qualcode_output_folder_is_not_read_twice(tmp_path):
    """``code`` on outputs/pseudonymised must not read the ``original_format/`` copies as more documents."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "survey.csv").write_text("id,text\n1,An answer.\n", encoding="utf-8")
    out = tmp_path / "out"
    run_pseudonymise(source, out, None, tmp_path / "secure" / "key.json", SETTINGS, keep_format=True)
    assert (out / "original_format" / "survey.csv").exists()
    assert [path.name for path in discover(out)] == ["survey.txt"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_a_byte_order_mark_is_read(tmp_path, encoding):
    text = "Interviewer: Où était Siobhán?\nP1: À la réunion, with the IDVA.\n"
    data = text.encode(encoding)
    if encoding != "utf-16":  # the plain codec writes its own BOM; the explicit ones do not
        data = ("\ufeff" + text).encode(encoding)
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    (transcript,) = read_source(path, SETTINGS)
    assert [turn.text for turn in transcript.turns] == ["Où était Siobhán?", "À la réunion, with the IDVA."]
    assert transcript.encoding == "utf-16"


def test_a_nul_byte_in_utf8_is_still_a_binary_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"Interviewer: hi\nP1: \x00\x01\x02")
    with pytest.raises(QualcodeError, match="NUL byte"):
        read_source(path, SETTINGS)


def test_formula_cells_are_read_by_their_saved_value_or_named(tmp_path):
    path = tmp_path / "survey.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["id", "text"])
    book.active.append(["a", "A plain answer."])
    book.active.append(["b", '=CONCAT("We share ","data.")'])
    book.save(path)
    with pytest.raises(QualcodeError) as error:
        read_source(path, SETTINGS)
    assert error.value.message == (f"{path}:3: sheet 'Sheet' cell B3 is a formula with no saved value: open and save "
                                   "the file in Excel, or paste the values")


def test_a_formula_with_a_saved_value_is_read_as_that_value(tmp_path):
    """As Excel saves it: the formula and its cached result side by side."""
    import zipfile

    path = tmp_path / "survey.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["id", "text"])
    book.active.append(["b", '=CONCAT("We share ","data.")'])
    book.save(path)
    with zipfile.ZipFile(path) as archive:  # add the cached value Excel would have written
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    sheet = sheet.replace('<c r="B2"><f>', '<c r="B2" t="str"><f>').replace("</f><v></v></c>", "</f><v>We share data.</v></c>")
    sheet = sheet.replace("</f></c>", "</f><v>We share data.</v></c>")
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    (transcript,) = read_source(path, SETTINGS)
    assert [turn.text for turn in transcript.turns] == ["We share data."]


def test_a_table_in_a_subfolder_gets_its_keep_format_copy(tmp_path):
    source = tmp_path / "source"
    (source / "wave_2").mkdir(parents=True)
    (source / "wave_2" / "survey.csv").write_text("id,text,document\n1,An answer.,north\n2,Another.,south\n",
                                                  encoding="utf-8")
    out = tmp_path / "out"
    run_pseudonymise(source, out, None, tmp_path / "secure" / "key.json", SETTINGS, keep_format=True)
    assert sorted(p.name for p in (out / "original_format").iterdir()) == ["wave_2_north.csv", "wave_2_south.csv"]
