"""Privacy edges found in review: names in file names and table cells, keys beside outputs,
register columns that are not case attributes, and pseudonyms given to the wrong person."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pandas as pd
import pytest

from qualcode.cases import read_case_attributes
from qualcode.config import Settings
from qualcode.errors import QualcodeError
from qualcode.pseudonymise import run_pseudonymise
from qualcode.pseudonymise.leakcheck import find_leaks
from qualcode.pseudonymise.reidentify import run_reidentify
from qualcode.register import load_register

SETTINGS = Settings(workers=1, quiet=True)
REGISTER = ("name,aliases,role,organisation,role_descriptor,organisation_type,pseudonym,speaker_label\n"
            "Rachel Okafor,Rachel;Okafor,Detective Inspector,Harrowfield Police,police officer,police force,,P4\n"
            "Jo Lane,Jo;Lane,IDVA,Eastmoor Women's Aid,third-sector support worker,charity,,\n")


def corpus(tmp_path: Path, files: dict[str, str]) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    (source / "participants.csv").write_text(REGISTER, encoding="utf-8")
    for name, text in files.items():
        (source / name).write_text(text, encoding="utf-8")
    return source


def run(tmp_path: Path, source: Path, **options):
    out, key = tmp_path / "out", tmp_path / "secure" / "key.json"
    return run_pseudonymise(source, out, None, key, SETTINGS, **options), out, key


def test_a_register_alias_or_organisation_in_a_file_name_gives_a_neutral_name(tmp_path):
    source = corpus(tmp_path, {"jo_interview.txt": "Interviewer: Hello.\nP4: Fine, thanks.\n",
                               "harrowfield_police_visit.txt": "Interviewer: And you?\nP4: Busy.\n"})
    _summary, out, _key = run(tmp_path, source)
    assert sorted(p.name for p in out.glob("*.txt")) == ["T01.txt", "T02.txt"]


def test_a_registered_speaker_label_becomes_the_pseudonym(tmp_path):
    source = corpus(tmp_path, {"one.txt": "Interviewer: How is Rachel?\nP4: Fine, thanks.\n"})
    _summary, out, _key = run(tmp_path, source)
    text = (out / "one.txt").read_text(encoding="utf-8")
    pseudonym = text.split("\n\n")[1].split(":")[0]
    assert pseudonym != "P4" and f"[{pseudonym}]" in text  # the label agrees with the text
    assert pseudonym in (out / "cases.csv").read_text(encoding="utf-8")


def test_another_person_sharing_a_first_name_gets_their_own_pseudonym(tmp_path):
    source = corpus(tmp_path, {"one.txt": "Interviewer: Who chaired it?\n"
                                          "P4: I met Rachel Green, the head teacher, and then Rachel rang me.\n"})
    _summary, out, _key = run(tmp_path, source)
    answer = (out / "one.txt").read_text(encoding="utf-8").split("\n\n")[1]
    speaker = answer.split(":")[0]
    assert "Green" not in answer
    assert f"met [{speaker}]" not in answer  # Rachel Green is not the participant


def test_a_table_document_cell_never_chooses_where_files_go(tmp_path):
    source = corpus(tmp_path, {})
    pd.DataFrame({"document": ["../escaped", "Feedback from Jo"], "text": ["It was fine.", "Also fine."]}
                 ).to_csv(source / "survey.csv", index=False)
    _summary, out, _key = run(tmp_path, source, keep_format=True)
    assert not (tmp_path / "escaped.txt").exists() and not list(tmp_path.glob("escaped*"))
    names = sorted(p.name for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))
    assert all("escaped" not in name and "Jo" not in name for name in names), names


def test_the_key_may_not_share_a_folder_tree_with_the_outputs(tmp_path):
    source = corpus(tmp_path, {"one.txt": "Interviewer: Hello.\nP4: Hi.\n"})
    with pytest.raises(QualcodeError, match="separate secure folder"):
        run_pseudonymise(source, tmp_path / "out", None, tmp_path / "key.json", SETTINGS)  # out inside key's folder
    with pytest.raises(QualcodeError, match="separate secure folder"):
        run_pseudonymise(source, tmp_path / "out", None, tmp_path / "out" / "key.json", SETTINGS)
    assert not (tmp_path / "out").exists() and not (tmp_path / "key.json").exists()


def test_reidentify_cannot_escape_the_secure_folder_through_a_symlink(tmp_path):
    source = corpus(tmp_path, {"one.txt": "Interviewer: Hello.\nP4: Jo rang me.\n"})
    _summary, out, key = run(tmp_path, source)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (key.parent / "link").symlink_to(elsewhere)
    with pytest.raises(QualcodeError, match="inside"):
        run_reidentify(out / "one.txt", key, key.parent / "link" / "re.txt", None)
    assert not list(elsewhere.iterdir())


def test_case_attributes_are_an_allow_list(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text("pseudonym,Name,email,role_descriptor,organisation_type\n"
                    "Maya,Rachel Okafor,r.okafor@example.org,police officer,police force\n", encoding="utf-8")
    assert read_case_attributes(path) == {"Maya": {"role_descriptor": "police officer",
                                                   "organisation_type": "police force"}}


def test_the_leak_check_reads_file_names_and_organisations(tmp_path):
    register = load_register(corpus(tmp_path, {}) / "participants.csv")
    folder = tmp_path / "outputs"
    folder.mkdir()
    (folder / "notes_for_jo.txt").write_text("nothing here\n", encoding="utf-8")
    (folder / "b.txt").write_text("we met\nat Harrowfield Police\n", encoding="utf-8")
    leaks = {(Path(leak.path).name, leak.line) for leak in find_leaks(folder, register)}
    assert leaks == {("notes_for_jo.txt", None), ("b.txt", 2)}


def test_keep_format_copies_drop_comments_and_link_targets(tmp_path):
    source = corpus(tmp_path, {})
    document = docx.Document()
    paragraph = document.add_paragraph("Interviewer: How was it?")
    document.add_paragraph("P4: It went well.")
    document.add_comment(paragraph.runs, text="Check with Dave Smith", author="Karen Whitley", initials="KW")
    document.save(source / "meeting.docx")
    _summary, out, _key = run(tmp_path, source, keep_format=True)
    with zipfile.ZipFile(out / "original_format" / "meeting.docx") as archive:
        content = b"".join(archive.read(name) for name in archive.namelist())
        assert not any("comments" in name for name in archive.namelist())
    assert b"Dave Smith" not in content and b"Karen Whitley" not in content


@pytest.mark.parametrize("file_name", ["RachelOkafor.txt", "rachel_okafor.txt", "Okafor-notes.txt", "JoLane2.txt",
                                       "DIOkaforHarrowfield.txt", "harrowfield.police.visit.txt",
                                       "interview with Trevor Maddocks.txt", "MaddocksT.txt"])
def test_a_name_written_any_way_in_a_file_name_gives_a_neutral_name(tmp_path, file_name):
    """CamelCase, ``_``, ``-``, ``.`` and digits split file names into words; each reading is checked
    against the register and against every name detected in the corpus (Trevor Maddocks is in no
    register: NER finds him in the text)."""
    source = corpus(tmp_path, {file_name: "Interviewer: Who helped?\n"
                                          "P4: Trevor Maddocks from the housing team helped a lot.\n"})
    _summary, out, _key = run(tmp_path, source)
    assert [p.name for p in out.glob("*.txt")] == ["T01.txt"]


@pytest.mark.parametrize("file_name", ["RachelOkafor.txt", "notes_JoLane.txt", "HarrowfieldPolice-2024.txt"])
def test_the_leak_check_reads_names_in_file_names_written_any_way(tmp_path, file_name):
    folder = tmp_path / "outputs"
    folder.mkdir()
    (folder / file_name).write_text("nothing here\n", encoding="utf-8")
    register = load_register(corpus(tmp_path, {}) / "participants.csv")
    assert [(Path(leak.path).name, leak.line) for leak in find_leaks(folder, register)] == [(file_name, None)]


def test_a_plain_file_name_is_kept(tmp_path):
    source = corpus(tmp_path, {"interview_03_council.txt": "Interviewer: Who helped?\nP4: The housing team.\n"})
    _summary, out, _key = run(tmp_path, source)
    assert [p.name for p in out.glob("*.txt")] == ["interview_03_council.txt"]
