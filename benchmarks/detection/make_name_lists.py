#!/usr/bin/env python
"""Write qualcode's shipped name lists (``qualcode/data/first_names.txt``, ``surnames.txt``).

Sources, both redistributable: the US Census Bureau's 1990 name frequency lists (public domain;
as packaged in the MIT-licensed PyPI package ``names`` 0.3.0: ``dist.male.first``,
``dist.female.first``, ``dist.all.last``), and the first names and surnames of Faker's (MIT)
providers for the ``DEV_LOCALES`` of ``make_devset.py`` only, so the held-out locales of the
detection benchmark stay unseen. Run with the census files' folder as argument.
"""

from __future__ import annotations

import sys
from pathlib import Path

from faker import Faker

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_devset import DEV_LOCALES  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "qualcode" / "data"
TOP_SURNAMES = 30_000  # the census list is ranked by frequency; the tail is mostly one-off spellings


def census(path: Path, top: int | None = None) -> list[str]:
    names = [line.split()[0].title() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return names[:top] if top else names


def faker_names(attribute: str) -> set[str]:
    found: set[str] = set()
    for locale in DEV_LOCALES:
        provider = Faker(locale).factories[0]
        for source in (f"{attribute}s", f"{attribute}s_male", f"{attribute}s_female"):
            values = getattr(type(provider.provider("faker.providers.person")), source, ())
            found.update(values if not isinstance(values, dict) else values.keys())
    return {name for name in found if name.isalpha() and name[0].isupper()}


def main() -> None:
    folder = Path(sys.argv[1])
    first = set(census(folder / "dist.male.first")) | set(census(folder / "dist.female.first")) | faker_names("first_name")
    last = set(census(folder / "dist.all.last", TOP_SURNAMES)) | faker_names("last_name")
    header = ("# {what}: US Census 1990 name lists (public domain, via the MIT package 'names' 0.3.0) and\n"
              "# Faker's (MIT) person providers for {locales}. Written by benchmarks/detection/make_name_lists.py.\n")
    for name, values, what in (("first_names.txt", first, "First names"), ("surnames.txt", last, "Surnames")):
        (DATA / name).write_text(header.format(what=what, locales=", ".join(DEV_LOCALES)) +
                                 "\n".join(sorted(values)) + "\n", encoding="utf-8")
        print(f"wrote {DATA / name}: {len(values)} names")


if __name__ == "__main__":
    main()
