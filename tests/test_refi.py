"""REFI-QDA exchange: schema-valid exports, exact offsets, deterministic bytes, codebook import."""

from __future__ import annotations

import csv
import io
import zipfile
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
import xmlschema
from click.testing import CliRunner
from conftest import REFI

from qualcode.cli import main
from qualcode.codebook import load_codebook, write_codebook
from qualcode.domain import Code, Codebook
from qualcode.errors import QualcodeError
from qualcode.export.refi import export_qdc, export_qdpx, import_codebook

NS = {"q": "urn:QDA-XML:project:1.0"}
ATLAS_SAMPLE = REFI / "sample-atlas-project.qdpx"
CODE_COLUMNS = ("exclusion", "trust", "wellbeing")

INTERVIEW_1 = (
    "Interviewer: How did the reorganisation feel?\n\n"
    "Maya: Honestly, I felt “left out” — the café meeting was cancelled 😞 and nobody told us.\n\n"
    "Interviewer: And your manager?\n\n"
    "Maya: I trust Zoë completely; she always explains her décisions.\n"
)
INTERVIEW_2 = (
    "Interviewer: What helps?\n\n"
    "P02: Weekly check-ins. They make me feel I’m not alone 🙂 at all.\n"
)
# (segment_id, document, speaker, text, codes, review_codes)
SEGMENTS = (
    ("int1-001", "int1", "Interviewer", "How did the reorganisation feel?", "", ""),
    ("int1-002", "int1", "Maya", "Honestly, I felt “left out” — the café meeting was cancelled 😞", "exclusion", ""),
    ("int1-003", "int1", "Maya", "and nobody told us.", "exclusion", "exclusion; wellbeing"),
    ("int1-004", "int1", "Interviewer", "And your manager?", "", ""),
    ("int1-005", "int1", "Maya", "I trust Zoë completely; she always explains her décisions.", "trust", ""),
    ("int2-001", "int2", "Interviewer", "What helps?", "", ""),
    ("int2-002", "int2", "P02", "Weekly check-ins. They make me feel I’m not alone 🙂 at all.", "wellbeing", "-"),
)
TEXTS = {"int1": INTERVIEW_1, "int2": INTERVIEW_2}


def make_codebook() -> Codebook:
    return Codebook(
        name="Workplace study", version="2", description="Test codebook.", unit="sentence",
        codes=(
            Code(id="wellbeing", name="Wellbeing", definition="How people feel at work.", color="#E69F00",
                 include=("stress", "relief"), exclude=("physical health",)),
            Code(id="exclusion", name="Feeling left out", definition="Not being informed or involved.",
                 parent="wellbeing", color="#56B4E9", exclude=("chosen solitude",)),
            Code(id="trust", name="Trust & confidence — “managers”", definition="Trust in managers.",
                 color="#009E73"),
        ),
    )


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    """Pseudonymised transcripts, their cases.csv and a coded table with offsets into them."""
    transcripts = tmp_path / "pseudonymised"
    transcripts.mkdir()
    for document, text in TEXTS.items():
        (transcripts / f"{document}.txt").write_text(text, encoding="utf-8")
    with (transcripts / "cases.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["pseudonym", "name", "role_descriptor", "organisation_type"])
        writer.writerow(["[Maya]", "Real Person", "nurse", "public sector"])
        writer.writerow(["P02", "Other Person", "porter", ""])
    coded = tmp_path / "coded.csv"
    with coded.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["segment_id", "document", "speaker", "speaker_role", "start", "end", "text", "codes",
                         *CODE_COLUMNS, "evidence", "review_codes", "comment"])
        for segment_id, document, speaker, text, codes, review in SEGMENTS:
            start = TEXTS[document].index(text)
            role = "interviewer" if speaker == "Interviewer" else "participant"
            flags = [int(code in codes) for code in CODE_COLUMNS]
            writer.writerow([segment_id, document, speaker, role, start, start + len(text), text, codes, *flags,
                             "", review, ""])
    return {"coded": coded, "transcripts": transcripts, "cases": transcripts / "cases.csv", "tmp": tmp_path}


def export(project: dict[str, Path], name: str = "project.qdpx") -> Path:
    out = project["tmp"] / "out" / name
    export_qdpx(project["coded"], project["transcripts"], make_codebook(), out, project["cases"])
    return out


def read_project(path: Path) -> tuple[ET.Element, dict[str, str]]:
    """The project.qde tree and the stored sources by their internal path."""
    with zipfile.ZipFile(path) as archive:
        root = ET.fromstring(archive.read("project.qde"))
        sources = {name: archive.read(name).decode("utf-8") for name in archive.namelist() if name != "project.qde"}
    return root, sources


def selections(root: ET.Element, sources: dict[str, str]) -> dict[str, tuple[str, ET.Element]]:
    """segment id -> (the selected slice of the stored source, the selection element)."""
    found = {}
    for source in root.iterfind("q:Sources/q:TextSource", NS):
        text = sources["sources/" + source.get("plainTextPath").removeprefix("internal://")]
        for selection in source.iterfind("q:PlainTextSelection", NS):
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            found[selection.get("name")] = (text[start:end], selection)
    return found


def test_qdpx_validates_and_stores_sources_as_internal_utf8(project):
    out = export(project)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        xmlschema.XMLSchema(REFI / "Project.xsd").validate(io.BytesIO(archive.read("project.qde")))
        raw = {name: archive.read(name) for name in names}
    root, _ = read_project(out)
    paths = [source.get("plainTextPath") for source in root.iterfind("q:Sources/q:TextSource", NS)]
    assert names == ["project.qde", *(path.replace("internal://", "sources/") for path in paths)]
    stored = [raw[path.replace("internal://", "sources/")] for path in paths]
    assert stored == [TEXTS["int1"].encode("utf-8"), TEXTS["int2"].encode("utf-8")]
    assert [child.tag.split("}")[1] for child in root] == ["Users", "CodeBook", "Variables", "Cases", "Sources"]


def test_qdc_validates(tmp_path):
    out = export_qdc(make_codebook(), tmp_path / "codebook.qdc")
    xmlschema.XMLSchema(REFI / "Codebook.xsd").validate(str(out))


def test_every_selection_slices_its_segment_text(project):
    found = selections(*read_project(export(project)))
    coded = {segment_id: text for segment_id, _, _, text, codes, review in SEGMENTS
             if (review or codes) not in ("", "-")}
    assert {segment_id: text for segment_id, (text, _) in found.items()} == coded


def test_offsets_count_code_points_past_accents_quotes_and_emoji(project):
    found = selections(*read_project(export(project)))
    _, after_emoji = found["int1-003"]
    assert int(after_emoji.get("startPosition")) == INTERVIEW_1.index("and nobody told us.")
    # The emoji is one code point but two UTF-16 units and four bytes: only code points fit.
    prefix = INTERVIEW_1[: INTERVIEW_1.index("and nobody")]
    assert len(prefix) < len(prefix.encode("utf-16-le")) // 2 < len(prefix.encode("utf-8"))


def test_codings_follow_final_codes_and_credit_the_reviewer(project):
    root, sources = read_project(export(project))
    users = {user.get("guid"): user.get("name") for user in root.iterfind("q:Users/q:User", NS)}
    codes = {code.get("guid"): code.get("name") for code in root.iter(f"{{{NS['q']}}}Code")}
    found = selections(root, sources)
    credited = {segment_id: users[selection.get("creatingUser")] for segment_id, (_, selection) in found.items()}
    assert credited == {"int1-002": "qualcode", "int1-003": "analyst", "int1-005": "qualcode"}
    coded = {segment_id: sorted(codes[coding.find("q:CodeRef", NS).get("targetGUID")]
                                for coding in selection.iterfind("q:Coding", NS))
             for segment_id, (_, selection) in found.items()}
    assert coded["int1-003"] == ["Feeling left out", "Wellbeing"]
    assert {users[coding.get("creatingUser")] for coding in found["int1-003"][1].iterfind("q:Coding", NS)} == {
        "analyst"}


def test_cases_are_participants_with_their_attributes(project):
    root, _ = read_project(export(project))
    variables = {variable.get("guid"): variable.get("name") for variable in root.iterfind("q:Variables/q:Variable", NS)}
    assert sorted(variables.values()) == ["organisation_type", "role_descriptor"]
    sources = {source.get("guid"): source.get("name") for source in root.iterfind("q:Sources/q:TextSource", NS)}
    cases = {}
    for case in root.iterfind("q:Cases/q:Case", NS):
        values = {variables[value.find("q:VariableRef", NS).get("targetGUID")]: value.findtext("q:TextValue", None, NS)
                  for value in case.iterfind("q:VariableValue", NS)}
        documents = [sources[ref.get("targetGUID")] for ref in case.iterfind("q:SourceRef", NS)]
        cases[case.get("name")] = (values, documents)
    assert cases == {
        "Maya": ({"role_descriptor": "nurse", "organisation_type": "public sector"}, ["int1"]),
        "P02": ({"role_descriptor": "porter"}, ["int2"]),
    }


def test_reexport_is_byte_identical(project):
    first, second = export(project, "first.qdpx"), export(project, "second.qdpx")
    assert first.read_bytes() == second.read_bytes()
    first_qdc = export_qdc(make_codebook(), project["tmp"] / "first.qdc")
    assert first_qdc.read_bytes() == export_qdc(make_codebook(), project["tmp"] / "second.qdc").read_bytes()


def test_wrong_transcripts_folder_is_refused_naming_the_segment(project):
    originals = project["tmp"] / "originals"
    originals.mkdir()
    for document, text in TEXTS.items():
        (originals / f"{document}.txt").write_text(text.replace("Maya", "Margaret Holloway"), encoding="utf-8")
    with pytest.raises(QualcodeError, match="int1-002"):
        export_qdpx(project["coded"], originals, make_codebook(), project["tmp"] / "x.qdpx")


@pytest.mark.parametrize("suffix", ["qdpx", "qdc"])
def test_codebook_round_trip_keeps_every_code(project, suffix):
    out = export(project) if suffix == "qdpx" else export_qdc(make_codebook(), project["tmp"] / "codebook.qdc")
    imported = import_codebook(out)
    original = make_codebook()

    def by_name(codebook: Codebook) -> dict[str, tuple]:
        names = {code.id: code.name for code in codebook.codes}
        return {code.name: (names.get(code.parent), code.color, code.definition, code.include, code.exclude)
                for code in codebook.codes}

    assert by_name(imported) == by_name(original)
    assert [code.id for code in imported.codes] == ["wellbeing", "feeling_left_out", "trust_confidence_managers"]
    write_codebook(imported, project["tmp"] / "imported.yaml")
    reloaded = load_codebook(project["tmp"] / "imported.yaml")
    assert [replace(code, line=0) for code in reloaded.codes] == list(imported.codes)


def test_atlas_sample_codebook_imports_and_loads(tmp_path):
    codebook = import_codebook(ATLAS_SAMPLE)
    assert codebook.name == "target-atlas-project"
    assert [(code.name, code.parent) for code in codebook.codes] == [
        ("Commits", None),
        ("2022-05-10T02:05:59Z 19e4dce", "commits"),
        ("2022-02-11T10:39:25Z cdbfd92", "commits"),
    ]
    assert codebook.codes[1].id == "2022_05_10t02_05_59z_19e4dce"
    assert codebook.codes[0].definition == "Imported from ATLAS.ti for Windows 23.2.3.27778 without a description."
    write_codebook(codebook, tmp_path / "atlas.yaml")
    assert [code.id for code in load_codebook(tmp_path / "atlas.yaml").codes] == list(codebook.ids)


def test_import_makes_unique_ids_clear_of_reserved_columns_and_skips_sets(tmp_path):
    qdc = tmp_path / "other.qdc"
    qdc.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="MAXQDA 2022">\n'
        ' <Codes>\n'
        '  <Code guid="00000000-0000-0000-0000-000000000001" name="Text" isCodable="false" color="#abc">\n'
        '   <Code guid="00000000-0000-0000-0000-000000000002" name="text" isCodable="true"/>\n'
        '  </Code>\n'
        '  <Code guid="00000000-0000-0000-0000-000000000003" name="Énergie" isCodable="true">\n'
        '   <Description>Energy levels.</Description>\n'
        '  </Code>\n'
        '  <Code guid="00000000-0000-0000-0000-000000000004" name="energie" isCodable="true"/>\n'
        ' </Codes>\n'
        ' <Sets><Set guid="00000000-0000-0000-0000-000000000005" name="Group">'
        '<MemberCode guid="00000000-0000-0000-0000-000000000003"/></Set></Sets>\n'
        '</CodeBook>\n', encoding="utf-8")
    xmlschema.XMLSchema(REFI / "Codebook.xsd").validate(str(qdc))
    codebook = import_codebook(qdc)
    assert [(code.id, code.parent) for code in codebook.codes] == [
        ("text_code", None), ("text_code-2", "text_code"), ("energie", None), ("energie-2", None)]
    assert codebook.codes[0].color == "#AABBCC"
    assert codebook.codes[2].definition == "Energy levels."
    assert codebook.codes[3].definition == "Imported from MAXQDA 2022 without a description."


def write_zip(path: Path, entries: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return path


@pytest.mark.parametrize("name, make, message", [
    ("plain.qdpx", lambda path: path.write_text("not a zip"), "not a zip archive"),
    ("empty.qdpx", lambda path: write_zip(path, {"sources/a.txt": "x"}), "no project.qde"),
    ("broken.qdpx", lambda path: write_zip(path, {"project.qde": "<Project><CodeBook>"}),
     "XML syntax error in project.qde at line 1"),
    ("broken.qdc", lambda path: path.write_text("<CodeBook>\n<Codes>\n</CodeBook>"), "XML syntax error"),
    ("nocodes.qdpx", lambda path: write_zip(path, {"project.qde": '<Project name="x"/>'}), "no codes"),
    ("codebook.txt", lambda path: path.write_text("x"), "use a REFI-QDA .qdc or .qdpx"),
    ("missing.qdpx", lambda path: None, "no such file"),
])
def test_import_errors_are_clear(tmp_path, name, make, message):
    make(tmp_path / name)
    with pytest.raises(QualcodeError, match=message):
        import_codebook(tmp_path / name)


def test_corrupt_qdpx_is_refused(tmp_path):
    good = export_qdc(make_codebook(), tmp_path / "c.qdc").read_bytes()
    path = write_zip(tmp_path / "corrupt.qdpx", {"project.qde": good.decode("utf-8")})
    data = bytearray(path.read_bytes())
    data[50:60] = b"\xff" * 10  # inside the entry's data, after its 41-byte local header
    path.write_bytes(bytes(data))
    with pytest.raises(QualcodeError, match="damaged"):
        import_codebook(path)


def test_cli_exports_with_default_cases_and_imports_back(project):
    tmp = project["tmp"]
    write_codebook(make_codebook(), tmp / "codebook.yaml")
    runner = CliRunner()
    result = runner.invoke(main, ["export-qdpx", str(project["coded"]), "--transcripts", str(project["transcripts"]),
                                  "--codebook", str(tmp / "codebook.yaml"), "--out", str(tmp / "p.qdpx")])
    assert result.exit_code == 0, result.output
    root, _ = read_project(tmp / "p.qdpx")
    assert [case.get("name") for case in root.iterfind("q:Cases/q:Case", NS)] == ["Maya", "P02"]
    assert root.find("q:Variables", NS) is not None  # cases.csv beside the transcripts was used
    result = runner.invoke(main, ["export-qdc", "--codebook", str(tmp / "codebook.yaml"), "--out", str(tmp / "c.qdc")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["codebook", "import", str(tmp / "p.qdpx"), "--out", str(tmp / "imported.yaml")])
    assert result.exit_code == 0, result.output
    assert [code.name for code in load_codebook(tmp / "imported.yaml").codes] == [
        code.name for code in make_codebook().codes]


def test_cli_reports_a_wrong_transcripts_folder_in_one_line(project):
    tmp = project["tmp"]
    write_codebook(make_codebook(), tmp / "codebook.yaml")
    (tmp / "empty").mkdir()
    result = CliRunner().invoke(main, ["export-qdpx", str(project["coded"]), "--transcripts", str(tmp / "empty"),
                                       "--codebook", str(tmp / "codebook.yaml"), "--out", str(tmp / "p.qdpx")])
    assert result.exit_code == 1
    assert result.output.startswith("qualcode: error:") and "int1.txt" in result.output
    assert not (tmp / "p.qdpx").exists()
