"""REFI-QDA exchange: coded projects out as ``.qdpx``, codebooks out as ``.qdc`` and back in.

REFI-QDA (www.qdasoftware.org) is the format NVivo, ATLAS.ti, MAXQDA and QualCoder share, so
analysts can review qualcode's automatic coding in the tool they know, and a codebook built in
such a tool can become a qualcode codebook. Exports are deterministic (GUIDs are uuid5 of stable
keys, the zip carries fixed dates and permissions), so the same input always gives the same
bytes and a re-export can be diffed or merged by GUID.

Positions are Unicode code points into the LF-normalised pseudonymised transcript, end exclusive,
which is exactly what the coded table's ``start``/``end`` are.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..cases import read_case_attributes
from ..codebook import DEFAULT_UNIT, default_color
from ..coded import FIRST_DATA_ROW, RESERVED_COLUMNS, SEGMENT_COLUMNS, final_codes, is_reviewed, read_coded
from ..domain import PARTICIPANT, UNKNOWN_SPEAKER, Code, Codebook
from ..errors import QualcodeError
from ..fsutil import deterministic_zip, write_bytes
from ..ingest.text import normalise_newlines, read_text

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
PROJECT_ENTRY = "project.qde"
ORIGIN = "qualcode"
AUTOMATIC_USER = "qualcode"
REVIEW_USER = "analyst"
# Never change this: every exported GUID derives from it, and tools merge re-exports by GUID.
GUID_NAMESPACE = uuid.UUID("152d6523-a364-4736-9114-290b7714c2df")
UNKNOWN_ORIGIN = "another QDA tool"
_SECTION_RE = re.compile(r"\n\n(Include|Exclude):\n")
_RGB_RE = re.compile(r"#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})")


def guid(key: str) -> str:
    """The GUID of the object named by ``key``: the same key gives the same GUID in every export."""
    return str(uuid.uuid5(GUID_NAMESPACE, key)).upper()


# Objects that are referenced from elsewhere in the project: one key format each, so refs match.
def _code_guid(code_id: str) -> str:
    return guid(f"code:{code_id}")


def _source_guid(document: str) -> str:
    return guid(f"source:{document}")


def _user_guid(user: str) -> str:
    return guid(f"user:{user}")


def _variable_guid(name: str) -> str:
    return guid(f"variable:{name}")


# --- code descriptions -----------------------------------------------------------------------


def describe(code: Code) -> str:
    """Definition, include and exclude as the prose a QDA tool shows as the code's description.

    The layout is the one :func:`parse_description` reads back, so a round trip keeps all three.
    """
    parts = [code.definition.strip()]
    for title, items in (("Include", code.include), ("Exclude", code.exclude)):
        if items:
            parts.append(f"{title}:\n" + "\n".join(f"- {item}" for item in items))
    return "\n\n".join(parts)


def parse_description(text: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """``(definition, include, exclude)`` from a description; foreign prose is all definition."""
    parts = _SECTION_RE.split(normalise_newlines(text).strip())
    sections = dict(zip(parts[1::2], parts[2::2]))
    return parts[0].strip(), _list_items(sections.get("Include", "")), _list_items(sections.get("Exclude", ""))


def _list_items(block: str) -> tuple[str, ...]:
    return tuple(line[2:].strip() for line in block.split("\n") if line.startswith("- ") and line[2:].strip())


# --- XML building ----------------------------------------------------------------------------


def _root(tag: str, namespace: str, **attributes: str) -> ET.Element:
    """A document root declaring ``namespace`` as the default one, so every element below is in it.

    (ElementTree's own ``default_namespace`` option refuses unqualified attributes, which REFI uses.)
    """
    return ET.Element(tag, {"xmlns": namespace, **attributes})


def _child(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = text
    return element


def _xml_bytes(root: ET.Element) -> bytes:
    """Indented UTF-8 XML with the declaration other tools write (ElementTree's uses single quotes)."""
    ET.indent(root)
    return f'<?xml version="1.0" encoding="utf-8"?>\n{ET.tostring(root, encoding="unicode")}\n'.encode("utf-8")


def _add_codes(parent: ET.Element, codebook: Codebook, parent_id: str | None = None) -> None:
    """Nest every code under its parent's element: that nesting is REFI-QDA's hierarchy."""
    for code in codebook.children(parent_id):
        element = _child(parent, "Code", guid=_code_guid(code.id), name=code.name, isCodable="true",
                         color=code.color)
        _child(element, "Description", describe(code))
        _add_codes(element, codebook, code.id)


def _add_codebook(parent: ET.Element, codebook: Codebook) -> None:
    _add_codes(_child(parent, "Codes"), codebook)


def export_qdc(codebook: Codebook, out_path: Path) -> Path:
    """Write ``codebook`` as a REFI-QDA codebook (``.qdc``) that other QDA tools can import."""
    root = _root("CodeBook", CODEBOOK_NS, origin=ORIGIN)
    _add_codebook(root, codebook)
    write_bytes(Path(out_path), _xml_bytes(root))
    return Path(out_path)


# --- the coded table -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    """One coded-table row, reduced to what the export needs."""

    segment_id: str
    document: str
    speaker: str
    speaker_role: str
    text: str
    start: int
    end: int
    codes: tuple[str, ...]
    user: str

    @property
    def is_case(self) -> bool:
        """Participants are cases; the interviewer and text without a speaker label are not."""
        return self.speaker_role == PARTICIPANT and self.speaker != UNKNOWN_SPEAKER


def _read_rows(coded_path: Path, codebook: Codebook) -> list[_Row]:
    """The table's rows with their final codes and who decided them, checked for export."""
    table = read_coded(coded_path)
    missing = [column for column in SEGMENT_COLUMNS if column not in table.columns]
    if missing:
        raise QualcodeError(f"cannot export without the column(s) {', '.join(missing)}", coded_path, 1)
    codes = final_codes(table, codebook.ids, coded_path)
    reviewed = is_reviewed(table)
    rows, seen = [], set()
    for position, record in enumerate(table.to_dict("records")):
        line = position + FIRST_DATA_ROW
        if record["segment_id"] in seen:
            raise QualcodeError(f"segment id {record['segment_id']} appears twice", coded_path, line)
        seen.add(record["segment_id"])
        rows.append(_Row(
            segment_id=record["segment_id"], document=record["document"], speaker=record["speaker"].strip(),
            speaker_role=record["speaker_role"].strip(), text=record["text"],
            start=_offset(record, "start", coded_path, line), end=_offset(record, "end", coded_path, line),
            codes=codes[position], user=REVIEW_USER if reviewed[position] else AUTOMATIC_USER))
    return rows


def _offset(record: dict, column: str, path: Path, line: int) -> int:
    try:
        return int(record[column])
    except ValueError:
        raise QualcodeError(f"segment {record['segment_id']}: {column} must be a whole number, not "
                            f"{record[column]!r}", path, line) from None


def _read_sources(rows: list[_Row], transcripts_dir: Path) -> dict[str, str]:
    """Each document's transcript text, checked against every segment's offsets.

    A mismatch almost always means the wrong transcripts folder (e.g. the originals instead of
    the pseudonymised files), which would put every selection in the wrong place.
    """
    texts: dict[str, str] = {}
    for row in rows:
        if Path(row.document).name != row.document:
            raise QualcodeError(f"segment {row.segment_id}: document {row.document!r} is not a file name")
        path = Path(transcripts_dir) / f"{row.document}.txt"
        if row.document not in texts:
            texts[row.document] = read_text(path)[0]
        if not 0 <= row.start <= row.end or texts[row.document][row.start:row.end] != row.text:
            raise QualcodeError(f"segment {row.segment_id}: its offsets {row.start}-{row.end} do not slice its "
                                "text out of this transcript: is this the pseudonymised transcript it was coded from?", path)
    return texts


def _participants(rows: list[_Row]) -> dict[str, list[str]]:
    """Each participant's pseudonym -> the documents they speak in, in order of appearance."""
    documents: dict[str, dict[str, None]] = {}
    for row in rows:
        if row.is_case:
            documents.setdefault(row.speaker, {})[row.document] = None
    return {speaker: list(found) for speaker, found in documents.items()}


# --- the project -----------------------------------------------------------------------------


@dataclass(frozen=True)
class QdpxSummary:
    """What an export wrote, for the command line to report."""

    path: Path
    sources: int
    codes: int
    selections: int
    codings: int
    cases: int

    def __str__(self) -> str:
        return (f"wrote {self.path}: {self.sources} source(s), {self.codes} code(s), {self.selections} "
                f"coded selection(s) with {self.codings} coding(s), {self.cases} case(s)")


def export_qdpx(coded_path: Path, transcripts_dir: Path, codebook: Codebook, out_path: Path,
                cases_path: Path | None = None) -> QdpxSummary:
    """Write the coded project as a REFI-QDA ``.qdpx``: sources, codebook, codings, cases.

    Only pseudonymised material goes in: the transcripts from ``transcripts_dir`` and case
    attributes read through :func:`qualcode.cases.read_case_attributes`, which drops identifying
    columns.
    """
    rows = _read_rows(Path(coded_path), codebook)
    texts = _read_sources(rows, Path(transcripts_dir))
    participants = _participants(rows)
    attributes = read_case_attributes(Path(cases_path)) if cases_path is not None else {}
    project = _project(codebook, texts, rows, participants, attributes)
    entries = [(PROJECT_ENTRY, _xml_bytes(project))]
    entries += [(f"sources/{_source_guid(document)}.txt", text.encode("utf-8"))
                for document, text in texts.items()]
    write_bytes(Path(out_path), deterministic_zip(entries))
    coded = [row for row in rows if row.codes]
    return QdpxSummary(Path(out_path), len(texts), len(codebook.codes), len(coded),
                       sum(len(row.codes) for row in coded), len(participants))


def _project(codebook: Codebook, texts: dict[str, str], rows: list[_Row], participants: dict[str, list[str]],
             attributes: dict[str, dict[str, str]]) -> ET.Element:
    """The ``project.qde`` tree, children in the order Project.xsd requires."""
    root = _root("Project", PROJECT_NS, name=codebook.name, origin=ORIGIN,
                 creatingUserGUID=_user_guid(AUTOMATIC_USER))
    users = _child(root, "Users")
    for user in (AUTOMATIC_USER, REVIEW_USER):
        _child(users, "User", guid=_user_guid(user), name=user)
    _add_codebook(_child(root, "CodeBook"), codebook)
    case_attributes = {speaker: attributes.get(speaker.strip("[]"), {}) for speaker in participants}
    variables = list(dict.fromkeys(name for values in case_attributes.values() for name in values))
    if variables:
        _add_variables(_child(root, "Variables"), variables)
    if participants:
        _add_cases(_child(root, "Cases"), participants, case_attributes)
    if texts:
        _add_sources(_child(root, "Sources"), texts, rows)
    return root


def _add_variables(parent: ET.Element, names: list[str]) -> None:
    for name in names:
        _child(parent, "Variable", guid=_variable_guid(name), name=name, typeOfVariable="Text")


def _add_cases(parent: ET.Element, participants: dict[str, list[str]],
               case_attributes: dict[str, dict[str, str]]) -> None:
    """One case per participant, with their attributes and the documents they speak in."""
    for speaker, documents in participants.items():
        case = _child(parent, "Case", guid=guid(f"case:{speaker}"), name=speaker)
        for name, value in case_attributes[speaker].items():
            if value:
                variable_value = _child(case, "VariableValue")
                _child(variable_value, "VariableRef", targetGUID=_variable_guid(name))
                _child(variable_value, "TextValue", value)
        for document in documents:
            _child(case, "SourceRef", targetGUID=_source_guid(document))


def _add_sources(parent: ET.Element, texts: dict[str, str], rows: list[_Row]) -> None:
    """One TextSource per transcript, stored in the zip, holding the coded selections."""
    for document in texts:
        source_guid = _source_guid(document)
        source = _child(parent, "TextSource", guid=source_guid, name=document,
                        plainTextPath=f"internal://{source_guid}.txt", creatingUser=_user_guid(AUTOMATIC_USER))
        for row in rows:
            if row.document == document and row.codes:
                _add_selection(source, row)


def _add_selection(source: ET.Element, row: _Row) -> None:
    user = _user_guid(row.user)
    selection = _child(source, "PlainTextSelection", guid=guid(f"selection:{row.segment_id}"), name=row.segment_id,
                       startPosition=str(row.start), endPosition=str(row.end), creatingUser=user)
    for code_id in row.codes:
        coding = _child(selection, "Coding", guid=guid(f"coding:{row.segment_id}:{code_id}"), creatingUser=user)
        _child(coding, "CodeRef", targetGUID=_code_guid(code_id))


# --- import ----------------------------------------------------------------------------------


def import_codebook(path: Path) -> Codebook:
    """Read the codebook of a ``.qdc`` or of a ``.qdpx`` project as a qualcode codebook.

    Names, hierarchy, colours and descriptions are kept. Ids are slugs of the names, made unique
    and kept clear of the coded table's own columns. Code sets (ATLAS.ti code groups) are not
    kept: a qualcode codebook has no groups, only the hierarchy.
    """
    path = Path(path)
    root = _parse(*_codebook_xml(path), path)
    codebook_element = root if _local(root.tag) == "CodeBook" else _first_child(root, "CodeBook")
    codes_element = None if codebook_element is None else _first_child(codebook_element, "Codes")
    if codes_element is None or _first_child(codes_element, "Code") is None:
        raise QualcodeError("the file holds no codes", path)
    origin = (root.get("origin") or "").strip() or UNKNOWN_ORIGIN
    return Codebook(name=root.get("name") or path.stem, version="1",
                    description=f"Imported from {origin} ({path.name}).", unit=DEFAULT_UNIT,
                    codes=tuple(_imported_codes(codes_element, origin)))


def _codebook_xml(path: Path) -> tuple[bytes, str]:
    """The XML holding the codebook, and what to call it in messages."""
    suffix = path.suffix.lower()
    if suffix == ".qdpx":
        return _read_project_entry(path), PROJECT_ENTRY
    if suffix != ".qdc":
        raise QualcodeError(f"unsupported file type {path.suffix!r} (use a REFI-QDA .qdc or .qdpx)", path)
    try:
        return path.read_bytes(), "the codebook"
    except FileNotFoundError:
        raise QualcodeError("no such file", path) from None
    except OSError as error:
        raise QualcodeError(f"cannot read file ({error.strerror})", path) from None


def _read_project_entry(path: Path) -> bytes:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [name for name in archive.namelist() if name.rsplit("/", 1)[-1].lower() == PROJECT_ENTRY]
            if not names:
                raise QualcodeError(f"no {PROJECT_ENTRY} inside: not a REFI-QDA project", path)
            return archive.read(names[0])
    except FileNotFoundError:
        raise QualcodeError("no such file", path) from None
    except OSError as error:
        raise QualcodeError(f"cannot read file ({error.strerror})", path) from None
    except (zipfile.BadZipFile, zlib.error, EOFError):
        raise QualcodeError("not a readable .qdpx: the file is not a zip archive or it is damaged", path) from None


def _parse(data: bytes, what: str, path: Path) -> ET.Element:
    try:
        return ET.fromstring(data)
    except ET.ParseError as error:
        line, column = error.position
        raise QualcodeError(f"XML syntax error in {what} at line {line}, column {column + 1}", path) from None


def _local(tag: str) -> str:
    """A tag without its namespace: tools differ in namespacing, the element names do not."""
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _first_child(element: ET.Element, name: str) -> ET.Element | None:
    return next(iter(_children(element, name)), None)


def _imported_codes(codes_element: ET.Element, origin: str) -> list[Code]:
    """Every Code element, parents before children, with ids unique across the codebook."""
    codes: list[Code] = []
    taken: set[str] = set()

    def visit(parent: ET.Element, parent_id: str | None) -> None:
        for element in _children(parent, "Code"):
            code = _imported_code(element, parent_id, _unique_id(element.get("name", ""), taken), origin, len(codes))
            codes.append(code)
            visit(element, code.id)

    visit(codes_element, None)
    return codes


def _imported_code(element: ET.Element, parent_id: str | None, code_id: str, origin: str, index: int) -> Code:
    description = _first_child(element, "Description")
    text = "" if description is None else (description.text or "")
    definition, include, exclude = parse_description(text)
    return Code(id=code_id, name=element.get("name", "").strip() or code_id,
                definition=definition or f"Imported from {origin} without a description.", parent=parent_id,
                include=include, exclude=exclude, color=_imported_colour(element.get("color"), index))


def _imported_colour(value: str | None, index: int) -> str:
    """REFI's ``#RGB``/``#RRGGBB`` as ``#RRGGBB``; no colour gets the default of that position."""
    match = _RGB_RE.fullmatch((value or "").strip())
    if match is None:
        return default_color(index)
    digits = match.group(1)
    return "#" + (digits if len(digits) == 6 else "".join(digit * 2 for digit in digits)).upper()


def _unique_id(name: str, taken: set[str]) -> str:
    """A code id from a name: an ASCII slug, suffixed off reserved column names and earlier ids."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    base = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_") or "code"
    if base in RESERVED_COLUMNS:
        base += "_code"
    code_id, number = base, 2
    while code_id in taken:
        code_id, number = f"{base}-{number}", number + 1
    taken.add(code_id)
    return code_id
