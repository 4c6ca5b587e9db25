#!/usr/bin/env python
"""Write the labelled person-detection set: ``devset.jsonl`` (fixed; regenerate only on purpose).

Synthetic interview sentences made with Faker (MIT), names from many locales, with gold person
spans, plus distractors that are not people (streets, organisations, job titles, ranks, demonyms,
weekdays, partnership meetings). Locales are split: names from the ``held_out`` locales are in no
list qualcode ships, so they measure what generalises. Every line: ``{"split", "locale", "text",
"persons": [[start, end], ...]}``.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from faker import Faker

DEV_LOCALES = ["en_GB", "en_US", "en_IN", "fr_FR", "de_DE", "it_IT", "es_ES", "pl_PL", "nl_NL", "pt_BR"]
HELD_OUT_LOCALES = ["yo_NG", "sw", "vi_VN", "tr_TR", "ga_IE", "fi_FI", "hu_HU", "ro_RO"]
PER_LOCALE = 90
SEED = 20261203

# {P} full name, {F} first name, {L} surname, {DR} "Dr Surname", {I} "A. Surname", {C} "Surname, A.",
# {M} "First A. Last", {LC} a first name in lower case; {S} a street, {O} an organisation, {J} a job
# title, {W} a weekday, {N} a demonym, {X} a place: not people.
TEMPLATES = [
    "I spoke to {P} about the referral on {W}.",
    "{F} said the MARAC was the only place we all met.",
    "My colleague {F} told me the risk assessment was late.",
    "We rang {DR} at the surgery on {S}.",
    "The report by {C} and {C2} shows the same pattern.",
    "According to {I}, the pathway was never funded.",
    "{M} chaired the partnership board until last spring.",
    "honestly {LC} said it was the best support she had.",
    "Her partner {P} was arrested outside {O}.",
    "The {J} at {O} never returned my calls.",
    "{N} families in {X} were not referred at all.",
    "We met at the {X} MARAC every fortnight, with {P} in the chair.",
    "Detective Sergeants from {X} came once, then stopped.",
    "A&E staff saw her three times before anyone at {O} asked.",
    "Email's best for me, or a call on {W}.",
    "{L} was the one who made the partnership work.",
    "I think {F} and {F2} both left within a year.",
    "The Cashier and the Designer were the only ones who noticed.",
    "She lives on {S}, near the {X} Hub.",
    "When {P} moved on, the whole thing fell apart.",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
DEMONYMS = ["Icelandic", "Polish", "Somali", "Romanian", "Welsh", "Nigerian", "Icelander"]


def fill(template: str, fake: Faker, rng: random.Random) -> tuple[str, list[list[int]]]:
    first, first2, last, last2 = fake.first_name(), fake.first_name(), fake.last_name(), fake.last_name()
    values = {
        "P": (f"{first} {last}", True), "F": (first, True), "F2": (first2, True), "L": (last, True),
        "DR": (f"Dr {last}", "last"), "I": (f"{first[0]}. {last}", True), "C": (f"{last}, {first[0]}.", True),
        "C2": (f"{last2}, {first2[0]}.", True), "M": (f"{first} {first2[0]}. {last}", True),
        "LC": (first.lower(), True), "S": (fake.street_name(), False), "O": (fake.company(), False),
        "J": (fake.job(), False), "W": (rng.choice(WEEKDAYS), False), "N": (rng.choice(DEMONYMS), False),
        "X": (fake.city(), False),
    }
    text, persons, position = "", [], 0
    for match in re.finditer(r"\{(\w+)\}", template):
        text += template[position:match.start()]
        value, is_person = values[match.group(1)]
        start = len(text)
        text += value
        if is_person == "last":  # the title is not part of the name
            persons.append([start + len("Dr "), len(text)])
        elif is_person:
            persons.append([start, len(text)])
        position = match.end()
    return text + template[position:], persons


def main() -> None:
    rng = random.Random(SEED)
    lines = []
    for split, locales in (("dev", DEV_LOCALES), ("held_out", HELD_OUT_LOCALES)):
        for locale in locales:
            fake = Faker(locale)
            fake.seed_instance(rng.randrange(1 << 30))
            for _ in range(PER_LOCALE):
                text, persons = fill(rng.choice(TEMPLATES), fake, rng)
                lines.append({"split": split, "locale": locale, "text": text, "persons": persons})
    out = Path(__file__).with_name("devset.jsonl")
    out.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    print(f"wrote {out}: {len(lines)} sentences")


if __name__ == "__main__":
    main()
