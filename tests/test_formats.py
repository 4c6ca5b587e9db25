"""Transcripts as researchers receive them: Word documents, Teams/Zoom captions, survey tables.

The readers are tested on fixtures the tests build (python-docx writes real .docx files); the
pseudonymise stage runs once per module over a folder of every format, with ``--keep-format``,
and the tests assert on its real outputs. The last tests run the sample corpus as ``make run`` does.
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner
from docx.shared import Pt

from conftest import DEFAULT_CODEBOOK, SAMPLE
from qualcode.cli import main
from qualcode.config import Settings
from qualcode.domain import UNKNOWN_SPEAKER
from qualcode.errors import QualcodeError
from qualcode.export.keep_format import KEEP_FORMAT_DIR, apply_edits, edits_within
from qualcode.ingest import READERS, read_corpus, read_source
from qualcode.ingest.text import parse_turns
from qualcode.pseudonymise import run_pseudonymise
from qualcode.pseudonymise.leakcheck import find_leaks
from qualcode.register import load_register

SETTINGS = Settings(workers=1, quiet=True)
REGISTER = """\
name,aliases,role,organisation,role_descriptor,organisation_type,pseudonym,speaker_label
Lisa Hammond,Lisa;Hammond,Detective Inspector,Harrowfield Police,police officer,police force,,
Priya Natarajan,Priya;Natarajan,IDVA,Eastmoor Women's Aid,third-sector support worker,charity,,PN
"""
HEADER_TEXT = "Transcribed by Example Transcription Ltd"
FOOTER_TEXT = "Page 1 of 3"


def read(path: Path):
    """The one transcript of a file, checking the invariant every later stage relies on."""
    (transcript,) = read_source(path, SETTINGS)
    for turn in transcript.turns:
        assert transcript.text[turn.start:turn.end] == turn.text
    return transcript


def turns(path: Path) -> list[tuple[str, str | None, str]]:
    return [(turn.speaker, turn.timestamp, turn.text) for turn in read(path).turns]


def new_document(header: str = HEADER_TEXT, footer: str = FOOTER_TEXT):
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = header
    document.sections[0].footer.paragraphs[0].text = footer
    return document


def bold_paragraph(document, bold: str, rest: str = ""):
    paragraph = document.add_paragraph()
    paragraph.add_run(bold).bold = True
    if rest:
        paragraph.add_run(rest)
    return paragraph


def add_table(document, rows: list[tuple[str, ...]]):
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    for row, values in zip(table.rows, rows):
        for cell, value in zip(row.cells, values):
            cell.text = value
    return table


def save(document, path: Path) -> Path:
    document.save(path)
    return path


# -- .docx ---------------------------------------------------------------------------------------

def test_docx_paragraph_labels_and_timestamps(tmp_path):
    document = new_document()
    for text in ("Interviewer: Could you tell me about your role?",
                 "Lisa Hammond: I'm a detective.",
                 "Most of my week goes on the risk meeting.",
                 "[00:01:02] Interviewer: And who attends?",
                 "00:01:10 Lisa: Priya comes from the refuge.\nShe chairs it.",
                 "Lisa Hammond (00:02:00): That's everyone.",
                 "INT:\tThank you."):
        document.add_paragraph(text)
    assert turns(save(document, tmp_path / "labels.docx")) == [
        ("Interviewer", None, "Could you tell me about your role?"),
        ("Lisa Hammond", None, "I'm a detective.\nMost of my week goes on the risk meeting."),
        ("Interviewer", "00:01:02", "And who attends?"),
        ("Lisa", "00:01:10", "Priya comes from the refuge. She chairs it."),
        ("Lisa Hammond", "00:02:00", "That's everyone."),
        ("INT", None, "Thank you."),
    ]
    transcript = read(tmp_path / "labels.docx")
    assert [turn.is_interviewer for turn in transcript.turns] == [True, False, True, False, False, True]
    # The text is the common format, so what pseudonymise writes reads back to the same turns.
    again = parse_turns(transcript.text, "again", SETTINGS.is_interviewer).turns
    assert [(t.speaker, t.timestamp, t.text) for t in again] == turns(tmp_path / "labels.docx")


def test_docx_headers_and_footers_are_ignored(tmp_path):
    document = new_document()
    document.add_paragraph("Interviewer: Hello.")
    path = save(document, tmp_path / "header.docx")
    reopened = docx.Document(path)
    assert reopened.sections[0].header.paragraphs[0].text == HEADER_TEXT
    # python-docx's body excludes headers and footers: the reader relies on it.
    assert all(text not in p.text for p in reopened.paragraphs for text in (HEADER_TEXT, FOOTER_TEXT))
    transcript = read(path)
    assert HEADER_TEXT not in transcript.text and FOOTER_TEXT not in transcript.text
    assert transcript.text == "Interviewer: Hello.\n"


def test_docx_bold_speakers(tmp_path):
    document = new_document()
    bold_paragraph(document, "Interviewer:", " Where do you work?")  # a bold label ending with a colon
    bold_paragraph(document, "Lisa Hammond", "\t[00:00:09]")  # a bold name alone, then the turn below
    document.add_paragraph("At the police station.")
    document.add_paragraph("Most days, anyway.")
    bold_paragraph(document, "Interviewer", " 00:00:30")
    document.add_paragraph("Thanks.")
    bold_paragraph(document, "Never", " again, she said.")  # bold emphasis is not a speaker
    document.add_paragraph().add_run("Lisa Hammond", style="Strong")  # bold by its character style
    document.add_paragraph("You're welcome.")
    assert turns(save(document, tmp_path / "bold.docx")) == [
        ("Interviewer", None, "Where do you work?"),
        ("Lisa Hammond", "00:00:09", "At the police station.\nMost days, anyway."),
        ("Interviewer", "00:00:30", "Thanks.\nNever again, she said."),
        ("Lisa Hammond", None, "You're welcome."),
    ]


def test_docx_table_with_a_header_row(tmp_path):
    document = new_document()
    table = add_table(document, [("Time", "Speaker", "Text"),
                                 ("00:00:01", "Interviewer", "Where do you work?"),
                                 ("00:00:05", "Lisa Hammond", "At the police station."),
                                 ("", "", "Most days, anyway."),
                                 ("00:00:12", "Interviewer", "Thanks.")])
    # A paragraph that would read as a label in the common format joins its turn with a space.
    table.rows[2].cells[2].add_paragraph("Later: it was late.")
    transcript = read(save(document, tmp_path / "table.docx"))
    assert [(t.speaker, t.timestamp, t.text) for t in transcript.turns] == [
        ("Interviewer", "00:00:01", "Where do you work?"),
        ("Lisa Hammond", "00:00:05", "At the police station. Later: it was late.\nMost days, anyway."),
        ("Interviewer", "00:00:12", "Thanks."),
    ]
    again = parse_turns(transcript.text, "again", SETTINGS.is_interviewer).turns
    assert [(t.speaker, t.text) for t in again] == [(t.speaker, t.text) for t in transcript.turns]


@pytest.mark.parametrize("rows", [
    [("[00:00:01]", "Interviewer", "Where do you work?"), ("[00:00:05]", "Lisa Hammond", "At the station.")],
    [("Interviewer", "00:00:01", "Where do you work?"), ("Lisa Hammond", "00:00:05", "At the station.")],
    [("00:00:01", "Interviewer: Where do you work?"), ("00:00:05", "Lisa Hammond: At the station.")],
], ids=["time-speaker-text", "speaker-time-text", "time-and-labelled-text"])
def test_docx_table_without_a_header_is_found_by_its_time_column(tmp_path, rows):
    document = new_document()
    add_table(document, rows)
    assert turns(save(document, tmp_path / "table.docx")) == [
        ("Interviewer", "00:00:01", "Where do you work?"), ("Lisa Hammond", "00:00:05", "At the station.")]


def test_docx_other_tables_and_headings_are_read_as_text(tmp_path):
    document = new_document()
    document.add_heading("Interview 6: housing", 1)  # looks like a label, but a heading never is one
    document.add_paragraph("Interviewer: Which services do you refer to?")
    add_table(document, [("Service", "Contact"), ("Refuge", "Priya")])
    assert turns(save(document, tmp_path / "other.docx")) == [
        (UNKNOWN_SPEAKER, None, "Interview 6: housing"),
        ("Interviewer", None, "Which services do you refer to?\nService\nContact\nRefuge\nPriya"),
    ]


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    document = new_document()
    document.add_paragraph("Interviewer: Hello.")
    document.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("data, problem", [
    (b"Interviewer: this is a text file with a .docx name\n", "not a zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "not a zip archive"),  # an old binary .doc
    (None, "truncated or damaged"),
    ("zip", "holds no readable Word document"),
], ids=["text", "doc", "truncated", "other-zip"])
def test_an_invalid_docx_is_a_clean_error(tmp_path, data, problem):
    if data is None:
        data = docx_bytes()[:4000]
    elif data == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("notes.txt", "no document here")
        data = buffer.getvalue()
    path = tmp_path / "broken.docx"
    path.write_bytes(data)
    with pytest.raises(QualcodeError) as raised:
        read_source(path, SETTINGS)
    assert raised.value.path == str(path)
    assert "not a valid .docx" in raised.value.problem and problem in raised.value.problem


def test_an_empty_docx_is_a_clean_error(tmp_path):
    with pytest.raises(QualcodeError, match="empty document"):
        read_source(save(new_document(), tmp_path / "empty.docx"), SETTINGS)


# -- .vtt and .srt -------------------------------------------------------------------------------

TEAMS_VTT = """\
WEBVTT

NOTE Recorded in Microsoft Teams

STYLE
::cue { color: white }

3f1b6a2e-9c4d/11-0
00:00:01.250 --> 00:00:04.000 align:start position:10%
<v Interviewer>How did the meeting go?</v>

3f1b6a2e-9c4d/12-0
00:00:04.500 --> 00:00:07.000
<v Lisa Hammond>It went well. Priya was</v>

3f1b6a2e-9c4d/13-0
00:00:07.000 --> 00:00:09.500
<v Lisa Hammond>there &amp; she chaired it.
We agreed &lt;three&gt; actions.</v>

3f1b6a2e-9c4d/14-0
00:01:02.000 --> 00:01:05.000
<v.loud Interviewer>Thank you.</v>
"""
ZOOM_VTT = """\
WEBVTT

1
00:00:01.000 --> 00:00:03.000
Interviewer: How did the meeting go?

2
00:03.500 --> 00:06.000
Lisa Hammond: It went well.

3
00:00:06.000 --> 00:00:08.000
Lisa Hammond: <i>Really</i> well.

4
00:00:08.000 --> 00:00:09.000
Then we left.
"""
SRT = """\
1
00:00:01,000 --> 00:00:03,000
Interviewer: How did the meeting go?

2
00:00:03,500 --> 00:00:06,000
Lisa Hammond: It went well,
Priya chaired it.

3
01:00:06,000 --> 01:00:08,000
Interviewer: Thanks.
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_teams_vtt(tmp_path):
    transcript = read(write(tmp_path / "teams.vtt", TEAMS_VTT))
    assert [(t.speaker, t.timestamp, t.text) for t in transcript.turns] == [
        ("Interviewer", "00:00:01", "How did the meeting go?"),
        ("Lisa Hammond", "00:00:04", "It went well. Priya was there & she chaired it. We agreed <three> actions."),
        ("Interviewer", "00:01:02", "Thank you."),
    ]
    assert [t.is_interviewer for t in transcript.turns] == [True, False, True]
    assert "Recorded" not in transcript.text and "color" not in transcript.text


def test_zoom_vtt(tmp_path):
    assert turns(write(tmp_path / "zoom.vtt", ZOOM_VTT)) == [
        ("Interviewer", "00:00:01", "How did the meeting go?"),
        ("Lisa Hammond", "00:00:03", "It went well. Really well. Then we left."),  # no speaker: the turn goes on
    ]


def test_srt(tmp_path):
    assert turns(write(tmp_path / "captions.srt", SRT)) == [
        ("Interviewer", "00:00:01", "How did the meeting go?"),
        ("Lisa Hammond", "00:00:03", "It went well, Priya chaired it."),
        ("Interviewer", "01:00:06", "Thanks."),
    ]


@pytest.mark.parametrize("text, line, problem", [
    (TEAMS_VTT.replace("00:00:04.500 -->", "00:00:04.5x0 -->"), 13, "broken timestamp"),
    (TEAMS_VTT.replace("00:00:07.000 --> 00:00:09.500", "00:00:07.000 --> 00:00:75.500"), 17, "broken timestamp"),
    (TEAMS_VTT.replace("00:01:02.000 --> 00:01:05.000", "00:01:02.000 -> 00:01:05.000"), 22, "timing line"),
    (TEAMS_VTT.replace("WEBVTT\n", "WEBVTX\n"), 1, "not a WebVTT file"),
], ids=["bad-digit", "seconds-over-59", "no-arrow", "no-header"])
def test_a_broken_vtt_is_a_clean_error_with_its_line(tmp_path, text, line, problem):
    path = write(tmp_path / "broken.vtt", text)
    with pytest.raises(QualcodeError) as raised:
        read_source(path, SETTINGS)
    assert (raised.value.path, raised.value.line) == (str(path), line)
    assert problem in raised.value.problem


def test_new_formats_are_registered():
    assert {".docx", ".vtt", ".srt", ".txt", ".csv", ".xlsx"} <= set(READERS)


# -- keep-format helpers -------------------------------------------------------------------------

def test_edits_within_a_piece_of_a_turn():
    replacements = [(0, 4, "[A]"), (10, 20, "[B]")]  # the second crosses the piece boundary at 15
    assert edits_within(replacements, 0, 15) == [(0, 4, "[A]"), (10, 15, "[B]")]
    assert edits_within(replacements, 16, 30) == [(0, 4, "")]  # its rest is removed, not replaced twice
    assert apply_edits("Lisa met Priya Natarajan.", [(0, 4, "[A]"), (9, 24, "[B]")]) == "[A] met [B]."


# -- pseudonymise, once for every format ---------------------------------------------------------

def build_sources(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "participants.csv").write_text(REGISTER, encoding="utf-8")
    document = new_document(header="Interview with Lisa Hammond")
    document.add_paragraph("Interviewer: Who else was there?")
    paragraph = document.add_paragraph("Lisa Hammond: I spoke to ")
    paragraph.add_run("Pri").italic = True  # a name split across runs, as Word often stores it
    paragraph.add_run("ya Natarajan").bold = True
    paragraph.add_run(" on 07700 900123 yesterday.")
    bold_paragraph(document, "Lisa Hammond", " [00:02:00]").runs[0].font.size = Pt(14)
    document.add_paragraph("Then Lisa went home.")
    add_table(document, [("Time", "Speaker", "Text"), ("00:03:00", "Interviewer", "And Priya?"),
                         ("00:03:05", "Lisa Hammond", "Priya Natarajan rang me.")])
    document.core_properties.author = "Lisa Hammond"
    save(document, folder / "interview_lisa.docx")
    write(folder / "teams.vtt", TEAMS_VTT)
    write(folder / "captions.srt", SRT)
    write(folder / "survey.csv", "id,site,name,comments,text\n"
                                 "R01,north,Lisa Hammond,ask Priya,\"Lisa Hammond rang me, which helped.\"\n"
                                 "R02,south,,,Nothing to add.\n"
                                 "R03,north,Priya,,\n")  # no text: not an answer, so not in the copy
    write(folder / "plain.txt", "Interviewer: Hello.\nPN: Hello back.\n")
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("formats")
    source = build_sources(base / "source")
    out, key = base / "out", base / "secure" / "key.json"
    run_pseudonymise(source, out, register_path=None, key_path=key, settings=SETTINGS, keep_format=True)
    return source, out, key


def copy_of(run, name: str) -> Path:
    return run[1] / KEEP_FORMAT_DIR / name


def test_every_format_becomes_a_common_txt_and_a_copy(run):
    source, out, _key = run
    copies = {path.name for path in (out / KEEP_FORMAT_DIR).iterdir()}
    assert copies == {"T01.docx", "teams.vtt", "captions.srt", "survey.csv"}  # a .txt needs none
    for name in ("T01", "teams", "captions", "survey", "plain"):
        assert (out / f"{name}.txt").exists()
    # The .txt is the common format: it reads back to the turns of the source.
    for name, source_name in (("T01", "interview_lisa.docx"), ("teams", "teams.vtt"), ("captions", "captions.srt")):
        written = parse_turns((out / f"{name}.txt").read_text(encoding="utf-8"), name, SETTINGS.is_interviewer)
        original = read(source / source_name)
        assert [t.timestamp for t in written.turns] == [t.timestamp for t in original.turns]
        assert [t.is_interviewer for t in written.turns] == [t.is_interviewer for t in original.turns]


def test_keep_format_copies_hold_no_register_name(run):
    source, out, _key = run
    assert find_leaks(out / KEEP_FORMAT_DIR, load_register(source / "participants.csv")) == []
    assert find_leaks(out, load_register(source / "participants.csv")) == []


def test_docx_copy_keeps_its_structure_and_formatting(run):
    source, _out, _key = run
    original, copy = docx.Document(source / "interview_lisa.docx"), docx.Document(copy_of(run, "T01.docx"))
    assert len(copy.paragraphs) == len(original.paragraphs)
    assert len(copy.tables) == len(original.tables) == 1
    texts = [p.text for p in copy.paragraphs]
    assert texts[0] == "Interviewer: Who else was there?"
    speaker = texts[1].split(":")[0]
    assert speaker not in ("Lisa Hammond", "Lisa")
    assert texts[1].endswith(" on [phone] yesterday.")
    # The name split across runs is replaced whole, in the formatting of the run it started in.
    (replaced,) = [piece for piece in copy.paragraphs[1].runs if piece.text.startswith("[")]
    assert replaced.italic and not replaced.bold and "Priya" not in texts[1]
    # A bold speaker line keeps its bold, its size and its timestamp.
    assert texts[2] == f"{speaker} [00:02:00]"
    assert copy.paragraphs[2].runs[0].bold and copy.paragraphs[2].runs[0].font.size == Pt(14)
    assert [cell.text for cell in copy.tables[0].rows[2].cells][:2] == ["00:03:05", speaker]
    # Nothing unanalysed reaches the copy: headers, footers and the author are gone.
    assert copy.sections[0].header.is_linked_to_previous and copy.core_properties.author == ""
    with zipfile.ZipFile(copy_of(run, "T01.docx")) as archive:
        assert not [name for name in archive.namelist() if "header" in name or "footer" in name]


def test_caption_copies_keep_cues_and_timings(run):
    source, _out, _key = run
    copy = copy_of(run, "teams.vtt").read_text(encoding="utf-8")
    original_timings = [line for line in TEAMS_VTT.splitlines() if "-->" in line]
    assert [line for line in copy.splitlines() if "-->" in line] == original_timings
    assert copy.startswith("WEBVTT\n\n3f1b6a2e-9c4d/11-0\n") and "NOTE" not in copy and "STYLE" not in copy
    assert copy.count("<v Interviewer>") == 2 and copy.count("<v ") == 4
    assert "&amp; she chaired it.\nWe agreed &lt;three&gt; actions.</v>" in copy
    assert read(copy_of(run, "teams.vtt")).turns[1].speaker == read(run[1] / "teams.txt").turns[1].speaker
    srt = copy_of(run, "captions.srt").read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:01,000 --> 00:00:03,000\nInterviewer: How did the meeting go?\n\n2\n")
    assert "Priya" not in srt and "Lisa" not in srt


def test_table_cells_are_pseudonymised_cell_by_cell(run):
    source, out, key = run
    with copy_of(run, "survey.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "site", "name", "comments", "text"]
    assert [row[0] for row in rows[1:]] == ["R01", "R02"]  # ids stay; the row without text is left out
    (first, second) = rows[1:]
    lisa = first[2]
    assert lisa.startswith("[") and "Lisa" not in lisa
    assert first[3].startswith("ask [") and first[4] == f"{lisa} rang me, which helped."
    assert second == ["R02", "south", "", "", "Nothing to add."]
    log = (key.parent / "pseudonymisation_log.csv").read_text(encoding="utf-8")
    assert '"survey.csv (name, turn 1)",0,12,PERSON,Lisa Hammond' in log
    # The common .txt keeps the common format: the answers, not the attributes.
    assert (out / "survey.txt").read_text(encoding="utf-8") == (
        f"{UNKNOWN_SPEAKER}: {lisa} rang me, which helped.\n\n{UNKNOWN_SPEAKER}: Nothing to add.\n")


def test_an_xlsx_copy_has_the_same_columns(tmp_path, run):
    import pandas as pd

    source, _out, key = run
    folder = tmp_path / "xlsx"
    folder.mkdir()
    shutil.copy(source / "participants.csv", folder)
    pd.DataFrame({"id": ["A1"], "name": ["Priya Natarajan"], "text": ["Lisa helped."]}).to_excel(
        folder / "answers.xlsx", index=False)
    run_pseudonymise(folder, tmp_path / "out", None, key, SETTINGS, keep_format=True)
    copy = pd.read_excel(tmp_path / "out" / KEEP_FORMAT_DIR / "answers.xlsx", dtype=str)
    assert list(copy.columns) == ["id", "name", "text"] and copy.iloc[0]["id"] == "A1"
    assert "Priya" not in copy.iloc[0]["name"] and "Lisa" not in copy.iloc[0]["text"]


def test_copies_are_the_same_bytes_on_a_second_run(tmp_path, run):
    source, out, key = run
    run_pseudonymise(source, tmp_path / "again", None, key, SETTINGS, keep_format=True)
    for path in sorted((out / KEEP_FORMAT_DIR).iterdir()):
        assert (tmp_path / "again" / KEEP_FORMAT_DIR / path.name).read_bytes() == path.read_bytes(), path.name


# -- bad input stops the run before anything is written -----------------------------------------

@pytest.mark.parametrize("name, data, message", [
    ("broken.docx", docx_bytes()[:3000], "broken.docx: not a valid .docx"),
    ("broken.vtt", TEAMS_VTT.replace("00:00:04.500", "00:00:4.500").encode(), "broken.vtt:13: broken timestamp"),
])
def test_bad_input_gives_one_line_and_no_output(tmp_path, name, data, message):
    source = tmp_path / "source"
    source.mkdir()
    (source / "participants.csv").write_text(REGISTER, encoding="utf-8")
    (source / "fine.txt").write_text("Interviewer: Hello.\n", encoding="utf-8")
    (source / name).write_bytes(data)
    result = CliRunner().invoke(main, ["pseudonymise", str(source), "--out", str(tmp_path / "out"),
                                       "--key", str(tmp_path / "secure" / "key.json"), "--keep-format", "--quiet"])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "secure").exists()


# -- the sample corpus, as `make run` processes it -----------------------------------------------

@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("sample")
    out = base / "pseudonymised"
    run_pseudonymise(SAMPLE, out, None, base / "secure" / "key.json", SETTINGS, keep_format=True)
    return base, out


def test_the_sample_holds_every_format():
    names = {path.name for path in SAMPLE.iterdir()}
    assert {"interview_06_housing.docx", "interview_07_marac.vtt", "survey_open_answers.csv"} <= names
    assert (SAMPLE / "interview_06_housing.docx").stat().st_size < 100_000
    transcripts = {t.document: t for t in read_corpus(SAMPLE, SETTINGS)}
    assert len(transcripts["survey_open_answers"].turns) == 20
    assert 1_100 <= len(transcripts["interview_06_housing"].text.split()) <= 1_400
    assert 500 <= len(transcripts["interview_07_marac"].text.split()) <= 750


def test_the_sample_docx_is_what_its_script_builds(tmp_path):
    import runpy

    build = runpy.run_path(str(SAMPLE / "make_docx.py"))["build"]
    assert build() == (SAMPLE / "interview_06_housing.docx").read_bytes()


def test_make_run_processes_the_new_sample_files(sample_run):
    from qualcode.code import run_code

    base, out = sample_run
    for name in ("interview_06_housing", "interview_07_marac", "survey_open_answers"):
        assert (out / f"{name}.txt").exists()
    assert {p.name for p in (out / KEEP_FORMAT_DIR).iterdir()} == {
        "interview_06_housing.docx", "interview_07_marac.vtt", "survey_open_answers.csv"}
    assert find_leaks(out, load_register(SAMPLE / "participants.csv")) == []
    run_code(out, DEFAULT_CODEBOOK, base, None, None, False, SETTINGS)
    with (base / "coded_segments.csv").open(encoding="utf-8", newline="") as handle:
        documents = {row["document"] for row in csv.DictReader(handle)}
    assert {"interview_06_housing", "interview_07_marac", "survey_open_answers"} <= documents
