"""The games-as-art coded answers as qualcode input: a codebook and tables of answers.

From github.com/PerttuHamalainen/LLMCode (MIT), via datasets/games_as_art_coded.
The coding tests and the learning tests both use it, so the conversion lives in one place.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from qualcode.codebook import default_color, write_codebook
from qualcode.domain import Code, Codebook

GOLD_SPAN = re.compile(r"\*\*(.+?)\*\*<sup>(.*?)</sup>", re.DOTALL)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def gold_codes(coded_text: str) -> set[str]:
    """Answer-level gold ids: the union of the codes of every ``**span**<sup>a; b</sup>``."""
    spans = GOLD_SPAN.findall(coded_text)
    assert len(spans) == coded_text.count("<sup>"), coded_text  # every code list belongs to a span
    return {slug(code) for _, codes in spans for code in codes.split(";") if code.strip()}


def games_codebook(folder: Path) -> Codebook:
    """31 codes with their descriptions as definitions, and nothing else."""
    descriptions = pd.read_csv(folder / "code_descriptions.csv")
    codes = tuple(Code(id=slug(name), name=name, definition=definition, color=default_color(index))
                  for index, (name, definition) in enumerate(zip(descriptions["code"], descriptions["description"])))
    return Codebook("Games as art", "1", "", "turn", codes)


def write_games(folder: Path, out: Path) -> tuple[Path, Path, list[set[str]]]:
    """Write ``codebook.yaml`` and ``labelled.csv`` (id, text, codes); return them and the gold codes."""
    out.mkdir(parents=True, exist_ok=True)
    write_codebook(games_codebook(folder), out / "codebook.yaml")
    texts = pd.read_csv(folder / "coded_texts.csv")
    gold = [gold_codes(text) for text in texts["coded_text"]]
    pd.DataFrame({"id": [f"answer{number:03d}" for number in range(len(texts))], "text": texts["text"],
                  "codes": [";".join(sorted(codes)) for codes in gold]}).to_csv(out / "labelled.csv", index=False)
    return out / "codebook.yaml", out / "labelled.csv", gold
