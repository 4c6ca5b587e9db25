"""The CI claims gold coding as qualcode input: a codebook and a table of claims.

From github.com/moaathalshaikh/llm-confidence-routing-for-deductive-coding (MIT), via
datasets/ci_claims_two_coders. The taxonomy has no definitions beyond the codes' own names
("CI IS ASSOCIATED WITH DEFECTS REDUCTION"), so each code's definition is its name: a short
definition, as a new team's first codebook often is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from games import slug
from qualcode.codebook import default_color, write_codebook
from qualcode.domain import Code, Codebook


def sentence(text: str) -> str:
    """``"CI IS RELATED TO ..."`` -> ``"CI is related to ..."``."""
    words = text.lower().split()
    return " ".join(["CI", *words[1:]]) if words and words[0] == "ci" else text.capitalize()


def write_ci_claims(folder: Path, out: Path) -> tuple[Path, Path, list[set[str]]]:
    """Write ``codebook.yaml`` and ``labelled.csv`` (id, text, codes); return them and the gold codes."""
    out.mkdir(parents=True, exist_ok=True)
    records = json.loads((folder / "gold.json").read_text(encoding="utf-8"))
    names = sorted({record["labels"]["code"] for record in records})
    codes = tuple(Code(id=slug(name), name=sentence(name), definition=sentence(name) + ".", color=default_color(i))
                  for i, name in enumerate(names))
    write_codebook(Codebook("CI claims", "1", "", "turn", codes), out / "codebook.yaml")
    gold = [{slug(record["labels"]["code"])} for record in records]
    pd.DataFrame({"id": [record["paper_id"] for record in records],
                  "text": [record["input"]["claim"] for record in records],
                  "codes": [";".join(sorted(codes)) for codes in gold]}).to_csv(out / "labelled.csv", index=False)
    return out / "codebook.yaml", out / "labelled.csv", gold
