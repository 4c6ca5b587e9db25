"""The participant register: who may be named in the transcripts, and how to generalise them.

A CSV (``participants.csv`` by default) with a required ``name`` column and optional
``aliases`` (``;``-separated first names, surnames, nicknames, misspellings), ``role``,
``organisation``, ``role_descriptor``, ``organisation_type``, ``pseudonym`` and
``speaker_label``. People who are only mentioned (colleagues, managers) belong here too.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable

from .errors import QualcodeError

COLUMNS = ("name", "aliases", "role", "organisation", "role_descriptor", "organisation_type", "pseudonym",
           "speaker_label")
HONORIFICS = frozenset("""
mr mrs ms miss mx dr doctor sir dame lord lady professor prof rev reverend father sister nurse
detective inspector sergeant constable chief superintendent officer councillor cllr judge the and
di ds dc pc dci dcs sgt insp supt pcso
""".split())  # words that are not part of anyone's name
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_POSSESSIVE = re.compile(r"['’]s?$")


@lru_cache(maxsize=1 << 18)  # called for every name, alias and detection, many times over
def normalise(text: str) -> str:
    """The form originals are compared and keyed in: folded (see :func:`fold`), spaces collapsed,
    no possessive. "Siobhán" and "SIOBHAN" are one person and get one pseudonym."""
    return _POSSESSIVE.sub("", fold(_SPACES.sub(" ", text.strip()))).strip()


@lru_cache(maxsize=4096)
def fold_char(char: str, case: bool = True) -> str:
    """One character as names are compared: without diacritics ("á" -> "a", "Ø" -> "O",
    "Ł" -> "L"), and case-folded unless ``case`` is False ("ß" -> "ss", "İ" -> "i")."""
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    base = _NO_DECOMPOSITION.get(base, base)
    return base.casefold() if case else base


# Letters Unicode gives no decomposition, though readers take them for a letter with a stroke.
_NO_DECOMPOSITION = {"Ø": "O", "ø": "o", "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h",
                     "Ŧ": "T", "ŧ": "t", "ı": "i", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe"}


def fold(text: str, case: bool = True) -> str:
    """``text`` without diacritics, and case-folded unless ``case`` is False (see :func:`fold_char`)."""
    if text.isascii():
        return text.lower() if case else text
    return "".join(fold_char(char, case) for char in text)


@dataclass(frozen=True)
class FoldedText:
    """A text folded for matching (:func:`fold`), with the way back to the original's offsets.

    Folding can change lengths ("ß" -> "ss", a decomposed accent -> nothing), so a match in the
    folded text is mapped back through ``origins``: the original index each folded character
    came from. Offsets in the review log stay exact.
    """

    original: str
    text: str
    origins: tuple[int, ...] | None  # None: folding kept every offset (ASCII text)

    @classmethod
    def of(cls, original: str, case: bool = True) -> "FoldedText":
        if original.isascii():
            return cls(original, original.lower() if case else original, None)
        pieces = [fold_char(char, case) for char in original]
        return cls(original, "".join(pieces),
                   tuple(index for index, piece in enumerate(pieces) for _ in piece))

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the folded span ``[start, end)``, with any accents that follow it."""
        if self.origins is None:
            return start, end
        first, last = self.origins[start], self.origins[end - 1] + 1
        while last < len(self.original) and unicodedata.combining(self.original[last]):
            last += 1
        return first, last


@dataclass(frozen=True)
class Person:
    name: str
    aliases: tuple[str, ...] = ()
    role: str = ""
    organisation: str = ""
    role_descriptor: str = ""
    organisation_type: str = ""
    pseudonym: str = ""
    speaker_label: str = ""
    row: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        """Every way the person may be written in a transcript (not the speaker label)."""
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Register:
    """The people of a study. ``everyday_words`` holds the folded single-word names and aliases that
    are also ordinary words ("will", "may", "grace"): they are matched only where capitalised."""

    people: tuple[Person, ...] = ()
    path: Path | None = None
    everyday_words: frozenset[str] = frozenset()

    def with_everyday_words(self, lower_case_words: Iterable[str]) -> "Register":
        """The register knowing which of its one-word names are everyday words: those in the shipped
        list, and those the corpus itself writes in lower case (``lower_case_words``)."""
        words = shipped_everyday_words() | {fold(word) for word in lower_case_words}
        found = frozenset(fold(name) for name in self.all_names if " " not in name.strip() and fold(name) in words)
        return dataclasses.replace(self, everyday_words=found)

    def everyday_word_rows(self) -> list[int]:
        """Register rows with a name or alias that is an everyday word, for a warning once per row."""
        return sorted({person.row for person in self.people for name in person.names
                       if fold(name.strip()) in self.everyday_words})

    @cached_property
    def _by_form(self) -> dict[str, Person]:
        """Normalised name, alias or speaker label -> the first person listing it."""
        index: dict[str, Person] = {}
        for person in self.people:
            for form in (*person.names, person.speaker_label):
                if form:
                    index.setdefault(normalise(form), person)
        return index

    @cached_property
    def _by_word(self) -> dict[str, list[Person]]:
        """Each normalised word of a name or alias -> the people whose names hold it, so a lookup
        costs the same for a register of 10 people or 10,000."""
        index: dict[str, list[Person]] = {}
        for person in self.people:
            for word in {word for name in person.names for word in _WORD.findall(fold(name))}:
                index.setdefault(word, []).append(person)
        return index

    def find(self, text: str) -> Person | None:
        """The person whose name, alias or speaker label is ``text`` (any case), if any."""
        return self._by_form.get(normalise(text))

    def owner_of(self, text: str) -> Person | None:
        """The person a longer name found in the text is, if the register can tell.

        "Derek McAuley" is Professor McAuley (the register knows no first name for him), but
        "Rachel Green" is not Rachel Okafor: words beyond the matched name must be honorifics or
        the person's own names, except a first name before a surname the register lists alone.
        """
        exact = self.find(text)
        if exact is not None:
            return exact
        best, best_length = None, 0
        words = set(_WORD.findall(fold(text)))
        candidates = sorted({person.row: person for word in words for person in self._by_word.get(word, ())}.items())
        for _row, person in candidates:
            own = {word.casefold() for name in person.names for word in name.split()}
            given = [w for w in person.name.split() if w.casefold().strip(".") not in HONORIFICS]
            for form in person.names:
                found = re.search(rf"(?<!\w){re.escape(form)}(?!\w)", text, re.IGNORECASE)
                if found is None or len(form) <= best_length:
                    continue
                before, after = text[:found.start()].split(), text[found.end():].split()
                strangers = [w for w in (*before, *after) if w.casefold().strip(".,") not in own | HONORIFICS]
                # the register gives no first name before this form ("Professor De Roure"): one may precede it
                surname_alone = not after and [w.casefold() for w in given[:len(form.split())]] == \
                    [w.casefold() for w in form.split()]
                if not strangers or (surname_alone and len(before) <= 2):
                    best, best_length = person, len(form)
        return best

    @property
    def all_names(self) -> tuple[str, ...]:
        return tuple(name for person in self.people for name in person.names)

    @property
    def organisations(self) -> dict[str, str]:
        """``{organisation: organisation_type}`` for organisations named in the register."""
        return {p.organisation: p.organisation_type for p in self.people if p.organisation}

    @property
    def roles(self) -> dict[str, str]:
        """``{role as said: role_descriptor}`` from the register's own job titles; first row wins."""
        roles: dict[str, str] = {}
        for person in self.people:
            if person.role and person.role_descriptor:
                roles.setdefault(person.role, person.role_descriptor)
        return roles


@cache
def shipped_everyday_words() -> frozenset[str]:
    """Names that are also everyday English words (``qualcode/data/everyday_word_names.txt``)."""
    text = resources.files("qualcode.data").joinpath("everyday_word_names.txt").read_text(encoding="utf-8")
    return frozenset(fold(line.strip()) for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = data[: error.start].count(b"\n") + 1
        raise QualcodeError("unreadable encoding: save the register as UTF-8", path, row) from None


def parse_register(text: str, path: Path) -> Register:
    """Parse register CSV text; row numbers in errors count the header as row 1."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = [(field or "").strip().casefold() for field in (reader.fieldnames or [])]
    if "name" not in fields:
        raise QualcodeError("the register has no 'name' column", path, 1)
    reader.fieldnames = fields
    people, seen = [], {}
    for row_number, row in enumerate(reader, start=2):
        values = {column: (row.get(column) or "").strip() for column in COLUMNS}
        if not values["name"]:
            if any(values.values()):
                raise QualcodeError("empty name", path, row_number)
            continue
        key = normalise(values["name"])
        if key in seen:
            raise QualcodeError(f"duplicate name (first listed on row {seen[key]})", path, row_number)
        seen[key] = row_number
        aliases = tuple(alias.strip() for alias in values.pop("aliases").split(";") if alias.strip())
        people.append(Person(aliases=aliases, row=row_number, **values))
    return Register(tuple(people), path)


def load_register(path: Path) -> Register:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise QualcodeError("register not found", path) from None
    except OSError as error:
        raise QualcodeError(f"cannot read register ({error.strerror})", path) from None
    return parse_register(_decode(data, path), path)
