"""The participant register: parsing, clean errors with file and row, and name look-ups."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import commons
from qualcode.errors import QualcodeError
from qualcode.register import Register, load_register, normalise, parse_register

HEADER = "name,aliases,role,organisation,role_descriptor,organisation_type,pseudonym,speaker_label\n"
REGISTER = HEADER + (
    "Lisa Hammond, Lisa ; Hammond;;Lis ,Detective Inspector,Harrowfield Police,police officer,police force,,LH\n"
    "Priya Natarajan,Priya,IDVA,Harbour Women's Aid,third-sector support worker,charity,[Maya],\n"
    ",,,,,,,\n"
    "Tom Reid,,Detective Inspector,Harrowfield Police,senior police officer,police force,,\n"
)


def write(tmp_path: Path, text: str | bytes, name: str = "participants.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> QualcodeError:
    with pytest.raises(QualcodeError) as raised:
        load_register(path)
    return raised.value


def test_columns_aliases_and_rows(tmp_path):
    register = load_register(write(tmp_path, REGISTER))
    lisa, priya, tom = register.people
    assert lisa.name == "Lisa Hammond"
    assert lisa.aliases == ("Lisa", "Hammond", "Lis")  # split on ';', stripped, empties dropped
    assert (lisa.role, lisa.organisation, lisa.role_descriptor, lisa.organisation_type, lisa.speaker_label) == (
        "Detective Inspector", "Harrowfield Police", "police officer", "police force", "LH")
    assert priya.pseudonym == "[Maya]"
    assert (lisa.row, priya.row, tom.row) == (2, 3, 5)  # the header is row 1; the blank row 4 is skipped
    assert register.all_names == ("Lisa Hammond", "Lisa", "Hammond", "Lis", "Priya Natarajan", "Priya", "Tom Reid")
    assert register.organisations == {"Harrowfield Police": "police force", "Harbour Women's Aid": "charity"}
    # One title, one generalisation: the first row that gives it wins.
    assert register.roles == {"Detective Inspector": "police officer", "IDVA": "third-sector support worker"}


def test_header_is_case_and_space_insensitive_and_a_bom_is_ignored(tmp_path):
    text = " Name ,ALIASES,Speaker_Label\nLisa Hammond,Lisa,LH\n"
    register = load_register(write(tmp_path, b"\xef\xbb\xbf" + text.encode("utf-8")))
    assert [(p.name, p.aliases, p.speaker_label) for p in register.people] == [("Lisa Hammond", ("Lisa",), "LH")]


def test_only_a_name_column_is_required(tmp_path):
    register = load_register(write(tmp_path, "name\nLisa Hammond\nTom Reid\n"))
    assert [p.name for p in register.people] == ["Lisa Hammond", "Tom Reid"]
    assert register.people[0].aliases == () and register.people[0].role == ""


def test_no_name_column_names_the_file_and_row_1(tmp_path):
    path = write(tmp_path, "person,aliases\nLisa Hammond,Lisa\n")
    error = error_of(path)
    assert error.path == str(path) and error.line == 1
    assert "'name'" in error.message and str(path) in error.message


@pytest.mark.parametrize("duplicate", ["Lisa Hammond", "lisa  HAMMOND", " Lisa Hammond's"])
def test_duplicate_names_give_the_row_of_the_second(tmp_path, duplicate):
    path = write(tmp_path, f"name,role\nLisa Hammond,DI\nTom Reid,DC\n{duplicate},DS\n")
    error = error_of(path)
    assert error.line == 4
    assert error.message.startswith(f"{path}:4: duplicate name")
    assert "row 2" in error.message  # where the first one is
    assert "Lisa" not in error.problem  # an error never repeats the name it is about


def test_empty_name_with_other_values_is_an_error(tmp_path):
    path = write(tmp_path, "name,role\nLisa Hammond,DI\n,DC\n")
    assert error_of(path).line == 3


def test_non_utf8_register_names_the_file_and_row(tmp_path):
    data = "name,role\nLisa Hammond,DI\nZoë Reid,DC\n".encode("cp1252")
    path = write(tmp_path, data)
    error = error_of(path)
    assert (error.path, error.line) == (str(path), 3)
    assert "UTF-8" in error.message


def test_missing_register_file(tmp_path):
    error = error_of(tmp_path / "nope.csv")
    assert error.path == str(tmp_path / "nope.csv") and "not found" in error.message


def test_find_by_name_alias_or_speaker_label_any_case_and_possessive(tmp_path):
    register = load_register(write(tmp_path, REGISTER))
    lisa = register.people[0]
    for form in ("Lisa Hammond", "LISA", "hammond", "Lisa's", "Hammond’s", "lh", "  lisa   hammond "):
        assert register.find(form) == lisa, form
    assert register.find("Lisander") is None
    assert register.find("Lisa Reid") is None


def test_owner_of_a_longer_name_needs_no_stranger_words(tmp_path):
    register = load_register(write(tmp_path, REGISTER))
    lisa, priya, tom = register.people
    assert register.owner_of("LISA HAMMOND's") == lisa
    assert register.owner_of("Detective Tom Reid") == tom  # an honorific is no stranger
    assert register.owner_of("Priya") == priya
    assert register.owner_of("Lisa Green") is None  # another Lisa: the register knows Lisa's surname
    assert register.owner_of("Lisander Hammondsworth") is None


def test_normalise_is_the_one_comparison_form():
    assert normalise("  Lisa\t Hammond’s ") == "lisa hammond"
    assert normalise("O'Neill") == "o'neill"  # an apostrophe inside a name is not a possessive
    assert normalise("Charles'") == "charles"


def test_an_empty_register_finds_nothing():
    register = Register()
    assert register.find("Lisa") is None and register.owner_of("Lisa") is None
    assert register.all_names == () and register.roles == {} and register.organisations == {}


def test_the_commons_register_loads_with_every_speaker(datasets, tmp_path):
    """The real register the stage-1 tests use: every speaker of every session resolves to one row."""
    folder = datasets / "uk_commons_oral_evidence"
    register = load_register(commons.write_register(folder, tmp_path / "participants.csv"))
    with (folder / "persons.csv").open(encoding="utf-8") as handle:
        persons = list(csv.DictReader(handle, delimiter="|"))
    assert len(register.people) == len(persons)
    speakers = {speaker for session in commons.sessions(folder) for speaker, _ in commons.read_session(session)}
    assert speakers, "no speakers read from the Commons sessions"
    for speaker in speakers:
        assert register.find(speaker) is not None, speaker
    assert parse_register(REGISTER, Path("x.csv")).people[0].row == 2
