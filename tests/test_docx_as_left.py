"""Word documents as transcribers really leave them (issue 11): tracked changes, content controls,
text boxes and document properties.

The reader must read what a person sees (insertions accepted, deletions dropped, content controls
and text boxes read in document order), so every word is pseudonymised and coded; the
``--keep-format`` copy must carry no revision marks, authors or hidden parts. Each channel holds a
register name here, and the run must succeed (a leak would stop it) with the text where it belongs.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml

from qualcode.config import Settings
from qualcode.export.keep_format import KEEP_FORMAT_DIR
from qualcode.ingest import read_source
from qualcode.pseudonymise import run_pseudonymise
from qualcode.pseudonymise.leakcheck import find_leaks
from qualcode.register import load_register

SETTINGS = Settings(workers=1, quiet=True)
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
REGISTER = ("name,aliases,role,organisation,role_descriptor,organisation_type,pseudonym,speaker_label\n"
            "Rachel Okafor,Rachel;Okafor,,,,,,\nJo Lane,Jo;Lane,,,,,,\nPriya Shah,Priya;Shah,,,,,,\n"
            "Tom Baker,Tom;Baker,,,,,,\nAnna Novak,Anna;Novak,,,,,,\n")
AUTHOR = "Rachel Okafor"  # the transcriber's account, on every revision mark and in the properties


def run_xml(text: str) -> str:
    return f'<w:r {W}><w:t xml:space="preserve">{text}</w:t></w:r>'


def tracked_document(path: Path) -> Path:
    document = docx.Document()
    document.core_properties.author = AUTHOR
    document.core_properties.last_modified_by = AUTHOR
    document.add_paragraph("Interviewer: Who did you call about the referral?")
    answer = document.add_paragraph("P1: I called ")
    # an insertion (the name is in it) and a deletion (another name), both by the transcriber
    answer._p.append(parse_xml(
        f'<w:ins {W} w:id="1" w:author="{AUTHOR}" w:date="2024-01-01T00:00:00Z">'
        f'<w:r><w:t xml:space="preserve">Priya Shah at the refuge</w:t></w:r></w:ins>'))
    answer._p.append(parse_xml(
        f'<w:del {W} w:id="2" w:author="{AUTHOR}" w:date="2024-01-01T00:00:00Z">'
        f'<w:r><w:delText xml:space="preserve"> and Jo Lane</w:delText></w:r></w:del>'))
    answer._p.append(parse_xml(run_xml(" straight away.")))
    # an inline content control
    control = document.add_paragraph("P1: The form said ")
    control._p.append(parse_xml(
        f'<w:sdt {W}><w:sdtPr><w:alias w:val="Caseworker"/><w:tag w:val="cw"/></w:sdtPr>'
        f'<w:sdtContent>{run_xml("Tom Baker")}</w:sdtContent></w:sdt>'))
    control._p.append(parse_xml(run_xml(" was the caseworker.")))
    # a block-level content control holding a whole paragraph
    document.element.body.insert(len(document.element.body) - 1, parse_xml(
        f'<w:sdt {W}><w:sdtPr><w:tag w:val="block"/></w:sdtPr><w:sdtContent>'
        f'<w:p><w:r><w:t>P1: Then Anna Novak joined the meeting.</w:t></w:r></w:p></w:sdtContent></w:sdt>'))
    # a text box, as Word writes it: DrawingML with a VML fallback holding the same text
    box = document.add_paragraph("P1: I noted it down. ")
    box_text = '<w:txbxContent><w:p><w:r><w:t>Note from Jo Lane about the risk assessment.</w:t></w:r></w:p></w:txbxContent>'
    box._p.append(parse_xml(
        f'<w:r {W} xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
        'xmlns:v="urn:schemas-microsoft-com:vml">'
        f'<mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wps:txbx>{box_text}</wps:txbx></w:drawing>'
        f'</mc:Choice><mc:Fallback><w:pict><v:textbox>{box_text}</v:textbox></w:pict></mc:Fallback>'
        '</mc:AlternateContent></w:r>'))
    document.add_paragraph("Interviewer: Thank you.")
    document.save(path)
    return path


@pytest.fixture(scope="module")
def pseudonymised(tmp_path_factory):
    root = tmp_path_factory.mktemp("tracked")
    source = root / "source"
    source.mkdir()
    (source / "participants.csv").write_text(REGISTER, encoding="utf-8")
    tracked_document(source / "meeting.docx")
    out = root / "out"
    run_pseudonymise(source, out, None, root / "secure" / "key.json", SETTINGS, keep_format=True)
    return source, out


def test_the_reader_reads_what_a_person_sees(tmp_path):
    (transcript,) = read_source(tracked_document(tmp_path / "t.docx"), SETTINGS)
    text = transcript.text
    assert "I called Priya Shah at the refuge straight away." in text  # the insertion, accepted
    assert "and Jo Lane straight" not in text  # the deletion, dropped
    assert "The form said Tom Baker was the caseworker." in text  # an inline content control
    assert "Then Anna Novak joined the meeting." in text  # a block content control
    assert text.count("Note from Jo Lane about the risk assessment.") == 1  # a text box, once
    assert text.index("I noted it down.") < text.index("Note from Jo Lane") < text.index("Thank you.")


def test_a_tracked_document_pseudonymises_and_every_channel_is_replaced(pseudonymised):
    source, out = pseudonymised
    (txt,) = out.glob("*.txt")
    text = txt.read_text(encoding="utf-8")
    for name in ("Priya", "Shah", "Tom Baker", "Anna Novak", "Jo Lane"):
        assert name not in text
    assert "at the refuge straight away." in text and "about the risk assessment." in text
    assert find_leaks(out, load_register(source / "participants.csv")) == []


def test_the_keep_format_copy_has_no_revisions_authors_or_hidden_parts(pseudonymised):
    _source, out = pseudonymised
    (copy,) = (out / KEEP_FORMAT_DIR).glob("*.docx")
    with zipfile.ZipFile(copy) as archive:
        parts = {name: archive.read(name).decode("utf-8", "replace") for name in archive.namelist()}
    everything = "\n".join(parts.values())
    for mark in (r"<w:(ins|del|moveFrom|moveTo|sdt)[\s>/]", r"w:author=", "txbxContent", "<mc:Fallback", "Okafor",
                 "Caseworker"):
        assert not re.search(mark, everything), mark
    document = docx.Document(copy)
    paragraphs = [paragraph.text for paragraph in document.paragraphs]
    assert any(p.endswith("at the refuge straight away.") for p in paragraphs)
    assert any(p.endswith("about the risk assessment.") for p in paragraphs)
    assert document.core_properties.author == "" and document.core_properties.last_modified_by == ""
