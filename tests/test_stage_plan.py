"""The planning steps of the pseudonymise stage, one by one (pure functions over detections)."""

from __future__ import annotations

from qualcode.pseudonymise.analyse import Detection
from qualcode.pseudonymise.key import PseudonymKey
from qualcode.pseudonymise.recognizers import PERSON, GenericBodies, shipped_generic_bodies, shipped_role_lexicon
from qualcode.pseudonymise.stage import Replacer, assign_people
from qualcode.register import Register


def test_a_first_name_shares_the_pseudonym_of_its_only_full_name():
    key = PseudonymKey()
    assign_people(key, Register(), [(PERSON, "Carl Miller"), (PERSON, "Carl")], [])
    assert key.replacement(PERSON, "Carl", Register()) == key.replacement(PERSON, "Carl Miller", Register())


def test_an_ambiguous_first_name_gets_its_own_pseudonym():
    key = PseudonymKey()
    assign_people(key, Register(), [(PERSON, "David Smith"), (PERSON, "David Jones")], ["David"])
    pseudonyms = {key.replacement(PERSON, name, Register()) for name in ("David Smith", "David Jones", "David")}
    assert len(pseudonyms) == 3


def test_the_replacer_keeps_neighbours_apart_and_logs_in_reading_order():
    key = PseudonymKey()
    replacer = Replacer(key, Register(), shipped_role_lexicon(), GenericBodies(shipped_generic_bodies(), Register()), [])
    text = "Ann Lee Bo Chan met the CPS."
    detected = [Detection(0, 7, PERSON, "ner", 0.85), Detection(8, 15, PERSON, "ner", 0.85)]
    replaced, spans, replacements = replacer.replace(text, detected)
    assert replacements == ["[Person 1]", "[Person 2]"]
    assert replaced == "[Person 1] [Person 2] met the CPS."
    assert [(s.start, s.end) for s in spans] == [(0, 7), (8, 15)]
