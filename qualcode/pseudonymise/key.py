"""The pseudonymisation key: original -> pseudonym, by entity type, kept apart from the data.

The key makes pseudonyms consistent across a corpus and across runs: a later run loads it and
reuses every mapping, so adding transcripts never renames earlier pseudonyms. It holds real
names, so it is written owner-only under ``secure/`` and never beside the outputs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import QualcodeError
from ..fsutil import OUTPUT_MARKER, write_secure_text
from ..register import Person, Register, normalise
from . import vault
from .recognizers import LOCATION, ORGANIZATION, PERSON, ROLE

KEY_VERSION = 1
NUMBERED = {PERSON: "Person", ORGANIZATION: "Organisation", LOCATION: "Location"}
FIXED = {"EMAIL_ADDRESS": "email", "URL": "url", "PHONE_NUMBER": "phone", "UK_POSTCODE": "postcode",
         "UK_NHS": "NHS number", "UK_NINO": "NI number", "DATE_OF_BIRTH": "date of birth"}


@cache
def pseudonym_names() -> tuple[str, ...]:
    text = resources.files("qualcode.data").joinpath("pseudonym_names.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@dataclass
class PseudonymKey:
    """Mappings from normalised originals to pseudonyms (without brackets).

    ``corpus`` is the key's corpus fingerprint, written beside the pseudonymised outputs (in the output
    folder's marker file): a hash of the first outputs the key made, so it reveals nothing the outputs
    do not, and the same input gives the same bytes. ``outputs`` holds the SHA-256 of every
    pseudonymised document the key made. ``reidentify`` refuses a file that matches neither,
    so another study's key can never "restore" the wrong names into a file.
    """

    entities: dict[str, dict[str, str]] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)
    documents: dict[str, str] = field(default_factory=dict)
    originals: dict[str, str] = field(default_factory=dict)  # pseudonym -> the original as first written
    corpus: str = ""
    outputs: list[str] = field(default_factory=list)

    # -- persistence -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path, passphrase: str | None = None) -> "PseudonymKey":
        """Read a key (decrypting it when it is encrypted); a missing file is a new, empty key."""
        path = Path(path)
        if not path.exists():
            return cls()
        if not path.is_file():
            raise QualcodeError("the key is not a file", path)
        try:
            data = json.loads(vault.unseal(path.read_text(encoding="utf-8"), passphrase, path))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            line = getattr(error, "lineno", None)
            raise QualcodeError("the key file is damaged (not valid JSON)", path, line) from None
        except OSError as error:
            raise QualcodeError(f"cannot read the key ({error.strerror})", path) from None
        if not isinstance(data, dict) or data.get("version") != KEY_VERSION:
            raise QualcodeError(f"not a qualcode key (expected version {KEY_VERSION})", path)
        problem = _shape_problem(data)
        if problem:
            raise QualcodeError(f"not a qualcode key: {problem}", path)
        return cls(entities=data["entities"], people=data["people"], documents=data["documents"],
                   originals=data["originals"], corpus=data["corpus"], outputs=data["outputs"])

    def to_json(self) -> str:
        return json.dumps({"version": KEY_VERSION, "corpus": self.corpus, "outputs": sorted(set(self.outputs)),
                           "people": self.people, "documents": self.documents, "entities": self.entities,
                           "originals": self.originals}, ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    def save(self, path: Path, passphrase: str | None = None) -> None:
        """Write owner-only; encrypted with ``passphrase`` when one is given."""
        write_secure_text(path, vault.seal(self.to_json(), passphrase))

    def record_outputs(self, texts: Iterable[str]) -> None:
        """Remember the fingerprint of every pseudonymised document this key made."""
        made = sorted({fingerprint(text) for text in texts})
        self.corpus = self.corpus or fingerprint("\n".join(made))[:32]
        self.outputs = sorted({*self.outputs, *made})

    def made(self, text: str, folder: Path) -> bool:
        """Whether this key pseudonymised ``text`` (found in ``folder``): the text is one of its outputs,
        or the folder (or one above it) is an output folder whose marker names this key's corpus."""
        if fingerprint(text) in self.outputs:
            return True
        for parent in [Path(folder), *Path(folder).parents][:4]:
            marker = parent / OUTPUT_MARKER
            if marker.is_file():
                return marker.read_text(encoding="utf-8", errors="replace").strip() == corpus_marker(self.corpus)
        return False

    # -- assignment --------------------------------------------------------------------------
    def assign_people(self, register: Register, style: str) -> None:
        """Give every register person a pseudonym, in register order, keeping earlier ones."""
        taken = set(self.people.values())
        real = {normalise(part) for name in register.all_names for part in name.split()}
        free_names = (name for name in pseudonym_names() if normalise(name) not in real and name not in taken)
        labels = itertools.count(self._next_number(taken, "P"))  # counted once: a register may list 10,000 people
        for person in register.people:
            key = normalise(person.name)
            if key in self.people:
                continue
            if person.pseudonym:
                pseudonym = person.pseudonym.strip("[] ")
            elif style == "label":
                pseudonym = _free_label(labels, taken)
            else:
                pseudonym = next(free_names, None) or _free_label(labels, taken)
            self.people[key] = pseudonym
            self.originals.setdefault(pseudonym, person.name)
            taken.add(pseudonym)

    def person_pseudonym(self, person: Person) -> str:
        return self.people[normalise(person.name)]

    def replacement(self, entity_type: str, original: str, register: Register, descriptor: str = "") -> str:
        """The pseudonym for one detected original, creating (and remembering) it if new."""
        if entity_type in FIXED:
            return FIXED[entity_type]
        mapping = self.entities.setdefault(entity_type, {})
        key = normalise(original)
        if key in mapping:
            return mapping[key]
        if entity_type == ROLE:
            value = descriptor or "role"
        elif entity_type == PERSON and (person := register.owner_of(original)):
            value = self.person_pseudonym(person)
        elif entity_type == ORGANIZATION and (kind := _organisation_type(original, register)):
            value = kind
        else:
            label = NUMBERED.get(entity_type, entity_type.title())
            value = f"{label} {self._next_number(mapping.values(), label)}"
            self.originals.setdefault(value, original.strip())
        mapping[key] = value
        return value

    def alias(self, entity_type: str, original: str, value: str) -> None:
        """Map another spelling (a name part found by propagation) to an existing pseudonym."""
        self.entities.setdefault(entity_type, {}).setdefault(normalise(original), value)

    def document_id(self, source_name: str, document: str, identifying: bool) -> str:
        """The output name of a document: its own name, or a neutral ``T03`` if the name identifies."""
        if source_name not in self.documents:
            taken = set(self.documents.values())
            if identifying or document in taken:  # a name already given out is never given twice
                number = self._next_number(taken, "T")
                while f"T{number:02d}" in taken:
                    number += 1
                document = f"T{number:02d}"
            self.documents[source_name] = document
        return self.documents[source_name]

    @staticmethod
    def _next_number(values, label: str) -> int:
        pattern = re.compile(rf"^{re.escape(label)}\s?(\d+)$")
        numbers = [int(match.group(1)) for value in values if (match := pattern.match(value))]
        return max(numbers, default=0) + 1


def _free_label(numbers: Iterator[int], taken: set[str]) -> str:
    """The next ``P07``-style label no one has yet."""
    return next(label for label in (f"P{number:02d}" for number in numbers) if label not in taken)


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def corpus_marker(corpus: str) -> str:
    """What an output folder's marker file says: which key's corpus it holds (an id, no names)."""
    return f"qualcode corpus {corpus}"


_MAPPINGS = ("people", "documents", "originals")


def _shape_problem(data: dict) -> str:
    """What is wrong with a parsed key's shape, or "" (a hand-edited or foreign file must not crash)."""
    def strings(value) -> bool:
        return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())

    for name in _MAPPINGS:
        if not strings(data.get(name)):
            return f"'{name}' must map text to text"
    entities = data.get("entities")
    if not isinstance(entities, dict) or not all(isinstance(k, str) and strings(v) for k, v in entities.items()):
        return "'entities' must map each entity type to a mapping of text to text"
    if not isinstance(data.get("corpus"), str) or not re.fullmatch(r"[0-9a-f]{32}", data["corpus"]):
        return "no corpus fingerprint (a key from an older qualcode, or not a key)"
    if not isinstance(data.get("outputs"), list) or not all(isinstance(o, str) for o in data["outputs"]):
        return "'outputs' must list fingerprints"
    return ""


def _organisation_type(original: str, register: Register) -> str:
    folded = normalise(original)
    for organisation, kind in register.organisations.items():
        if kind and normalise(organisation) in folded:
            return kind
    return ""
