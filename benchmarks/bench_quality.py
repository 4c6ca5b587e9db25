"""Coding quality on both real coded sets, against the targets of issue 10.

For the games-as-art answers (31 definition-only codes, multi-label) and the CI claims gold
coding (31 codes named only, single-label), in one run and on the same 5 folds (seed 0):

- qualcode zero-shot: ``qualcode code`` on the whole table, from the codebook alone;
- qualcode trained: per fold, ``qualcode train`` on the training rows, then ``qualcode code
  --model-dir`` on the held-out rows (the real commands' functions, through files);
- TF-IDF + logistic regression, TF-IDF cosine to the definitions, every code everywhere: the plain
  baselines of ``qualcode evaluate`` (:mod:`qualcode.learn.evaluate`).

Targets, on both sets: trained beats TF-IDF + LR by >= 0.03 micro and macro F1; zero-shot beats
TF-IDF cosine and every code everywhere on micro-F1, with micro precision >= 0.30. Also the two
human coders' agreement on the CI claims, for scale.

Run with ``make quality``. Prints the tables; writes ``benchmarks/results/quality.json``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from ci_claims import write_ci_claims  # noqa: E402
from games import write_games  # noqa: E402

from qualcode.code import run_code  # noqa: E402
from qualcode.codebook import load_codebook  # noqa: E402
from qualcode.coded import split_codes  # noqa: E402
from qualcode.config import Settings  # noqa: E402
from qualcode.features import coded_ids  # noqa: E402
from qualcode.learn import load_model, read_labelled, run_train  # noqa: E402
from qualcode.learn.evaluate import (BASELINE, COSINE, EVERYWHERE, FOLDS, TRAINED, ZERO_SHOT,  # noqa: E402
                                     baseline_decisions, cosine_decisions, score)
from qualcode.learn.labelled import label_matrix  # noqa: E402
from qualcode.learn.model import SEED, lemmas  # noqa: E402
from qualcode.nlp import DocCache, lemma_pipeline  # noqa: E402
from qualcode.reliability import compare, load_coder_table  # noqa: E402

DATASETS = ROOT / "datasets"
RESULTS = ROOT / "benchmarks" / "results"
SETS = {"games-as-art": (write_games, DATASETS / "games_as_art_coded"),
        "CI claims": (write_ci_claims, DATASETS / "ci_claims_two_coders")}
SETTINGS = Settings(quiet=True)


def coded_table(table: pd.DataFrame, codebook_path: Path, folder: Path, model_dir: Path | None = None) -> list:
    """``qualcode code`` (``--model-dir`` when given) on an ``id,text`` table: the codes per row."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "input.csv"
    table[["id", "text"]].to_csv(source, index=False)
    loader = None if model_dir is None else partial(load_model, model_dir)
    run_code(source, codebook_path, folder / "out", None, None, False, SETTINGS, load_model=loader)
    coded = pd.read_csv(folder / "out" / "coded_segments.csv", dtype=str, keep_default_na=False)
    by_id = dict(zip(coded["segment_id"], coded["codes"]))
    return [split_codes(by_id[segment_id]) for segment_id in table["id"]]


def evaluate_set(name: str, folder: Path, nlp) -> dict:
    writer, source = SETS[name]
    codebook_path, labelled_path, _gold = writer(source, folder)
    codebook = load_codebook(codebook_path)
    data = read_labelled(labelled_path, codebook)
    table = pd.read_csv(labelled_path, dtype=str, keep_default_na=False)
    ids = data.code_ids
    decisions = {ZERO_SHOT: label_matrix(coded_table(table, codebook_path, folder / "zero-shot"), ids),
                 TRAINED: np.zeros_like(data.labels), BASELINE: np.zeros_like(data.labels),
                 COSINE: cosine_decisions(codebook, list(table["text"])),
                 EVERYWHERE: np.tile(np.isin(ids, coded_ids(codebook)), (len(data), 1))}
    texts = lemmas(nlp, data.segments)
    from sklearn.model_selection import KFold

    for fold, (train, test) in enumerate(KFold(FOLDS, shuffle=True, random_state=SEED).split(texts)):
        fold_dir = folder / f"fold{fold}"
        fold_dir.mkdir()
        table.iloc[train].to_csv(fold_dir / "train.csv", index=False)
        run_train(fold_dir / "train.csv", codebook_path, fold_dir / "model", SETTINGS)
        decisions[TRAINED][test] = label_matrix(coded_table(table.iloc[test], codebook_path, fold_dir / "code",
                                                            fold_dir / "model"), ids)
        decisions[BASELINE][test] = baseline_decisions([texts[i] for i in train], data.labels[train],
                                                       [texts[i] for i in test])
    return {system: score(system, data.labels, decisions[system], ids) for system in decisions}


def targets(scores: dict) -> list[tuple[str, bool]]:
    trained, base = scores[TRAINED], scores[BASELINE]
    zero, cosine, everywhere = scores[ZERO_SHOT], scores[COSINE], scores[EVERYWHERE]
    return [("trained >= TF-IDF + LR + 0.03, micro F1", trained.micro_f1 >= base.micro_f1 + 0.03),
            ("trained >= TF-IDF + LR + 0.03, macro F1", trained.macro_f1 >= base.macro_f1 + 0.03),
            ("zero-shot > TF-IDF cosine, micro F1", zero.micro_f1 > cosine.micro_f1),
            ("zero-shot > every code everywhere, micro F1", zero.micro_f1 > everywhere.micro_f1),
            ("zero-shot micro precision >= 0.30", zero.micro_precision >= 0.30)]


def ci_claims_kappa() -> dict:
    folder = DATASETS / "ci_claims_two_coders"
    report = {}
    for a, b in (("annotator_1.csv", "annotator_2.csv"), ("annotator_1.csv", "gold.json"),
                 ("annotator_2.csv", "gold.json")):
        single = compare(load_coder_table(folder / a), load_coder_table(folder / b)).report.single_label
        report[f"{a} vs {b}"] = {"kappa": round(single.kappa, 3), "alpha": round(single.alpha, 3)}
    return report


def main() -> None:
    nlp = DocCache(lemma_pipeline(SETTINGS.model))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in SETS:
            scores = evaluate_set(name, Path(tmp) / name.replace(" ", "_"), nlp)
            print(f"\n{name}: {FOLDS}-fold cross-validation (seed {SEED}) and zero-shot, micro P / R / F1, macro F1")
            print(f"  {'coder':24} {'micro P':>8} {'micro R':>8} {'micro F1':>9} {'macro F1':>9}")
            for system in scores.values():
                print(f"  {system.name:24} {system.micro_precision:8.3f} {system.micro_recall:8.3f} "
                      f"{system.micro_f1:9.3f} {system.macro_f1:9.3f}")
            checks = targets(scores)
            for label, passed in checks:
                print(f"  {'PASS' if passed else 'FAIL'}  {label}")
            results[name] = {"systems": {system.name: {"micro_precision": round(system.micro_precision, 3),
                                                       "micro_recall": round(system.micro_recall, 3),
                                                       "micro_f1": round(system.micro_f1, 3),
                                                       "macro_f1": round(system.macro_f1, 3)}
                                         for system in scores.values()},
                             "targets": {label: passed for label, passed in checks}}
    kappas = ci_claims_kappa()
    print("\nCI claims, two human coders (single-label Cohen's kappa, Krippendorff's alpha):")
    for name, values in kappas.items():
        print(f"  {name:36} kappa {values['kappa']:.3f}  alpha {values['alpha']:.3f}")
    results["ci_claims_human_agreement"] = kappas
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "quality.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
