"""The Commons oral evidence sessions as qualcode input: ``Name: text`` transcripts and a register.

Contains Parliamentary information licensed under the Open Parliament Licence v3.0.
The tests and the benchmarks both use it, so the conversion lives in one place.
"""

from __future__ import annotations

import csv
from pathlib import Path

TITLES = {"mr", "mrs", "ms", "dr", "sir", "professor", "prof"}
CHAIR = "Chair"
DESCRIPTORS = {"member": "politician", "business": "business representative", "academic": "academic",
               "ngo": "third-sector representative", "government": "government official"}


def sessions(folder: Path) -> list[Path]:
    return sorted(folder.glob("oral_*.csv"))


def read_session(path: Path) -> list[tuple[str, str]]:
    """(speaker, text) rows of one session, without the published header lines."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    rows = csv.DictReader(lines, delimiter="|")
    return [(row["person"].strip(), " ".join(row["oralEvidence"].split())) for row in rows if row["oralEvidence"]]


def transcript_text(rows: list[tuple[str, str]]) -> str:
    return "\n".join(f"{speaker}: {text}" for speaker, text in rows) + "\n"


def write_transcripts(folder: Path, out: Path, copies: int = 1) -> list[Path]:
    """Write each session as a transcript (``copies`` times, for a bigger benchmark corpus)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for copy in range(copies):
        for session in sessions(folder):
            path = out / f"{session.stem}_{copy + 1}.txt"
            path.write_text(transcript_text(read_session(session)), encoding="utf-8")
            written.append(path)
    return written


def register_rows(folder: Path) -> list[dict[str, str]]:
    """persons.csv as a qualcode register: titles dropped for aliases, surname as an alias."""
    rows = []
    with (folder / "persons.csv").open(encoding="utf-8") as handle:
        for person in csv.DictReader(handle, delimiter="|"):
            parts = [part.strip() for part in person["description"].split(",")]
            label = person["person"].strip()
            name = parts[0] if label == CHAIR else label
            words = name.split()
            bare = [word for word in words if word.casefold().strip(".") not in TITLES]
            aliases = {" ".join(bare), bare[-1]} - {name}
            member = person["sector"] == "member"
            rows.append({
                "name": name, "aliases": ";".join(sorted(aliases)),
                "role": "Member of Parliament" if member else parts[0],
                "organisation": "" if member or len(parts) < 2 else parts[-1],
                "role_descriptor": DESCRIPTORS[person["sector"]], "organisation_type": person["sector"],
                "pseudonym": "", "speaker_label": label,
            })
    return rows


def write_register(folder: Path, path: Path) -> Path:
    rows = register_rows(folder)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path
