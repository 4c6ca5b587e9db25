"""What the README promises, each with a test that fails if it breaks (issue 13): generic public
bodies kept while the register's own organisations are replaced, a progress bar on stderr that
``--quiet`` hides, ``--model`` naming a model folder, and CSV quoting of awkward fields."""

from __future__ import annotations

import csv
import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT, SAMPLE
from qualcode.config import DEFAULT_MODEL, Settings
from qualcode.fsutil import csv_text
from qualcode.pseudonymise import LOG_FILENAME, parse_log, run_pseudonymise

SETTINGS = Settings(workers=1, quiet=True)


def test_generic_bodies_are_kept_and_the_registers_organisations_replaced(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    (source / "participants.csv").write_text(
        "name,aliases,organisation,organisation_type\nLisa Hammond,Lisa,Harrowfield Police,police force\n",
        encoding="utf-8")
    (source / "one.txt").write_text(
        "Interviewer: Who was at the table?\n"
        "P1: The CPS, the MARAC meeting and Harrowfield Police. We used Clare's Law twice, and the CPS agreed.\n",
        encoding="utf-8")
    out, key = tmp_path / "out", tmp_path / "secure" / "key.json"
    run_pseudonymise(source, out, None, key, SETTINGS)
    text = (out / "one.txt").read_text(encoding="utf-8")
    assert "The CPS, the MARAC meeting" in text and "Clare's Law twice, and the CPS agreed" in text
    assert "Harrowfield" not in text and "[police force]" in text
    originals = {row["original"] for row in parse_log((key.parent / LOG_FILENAME).read_text(encoding="utf-8"))}
    assert "Harrowfield Police" in originals and not originals & {"CPS", "MARAC", "Clare", "Clare's Law"}


def run_with_terminal(*args: str) -> tuple[int, str]:
    """Run ``qualcode`` with stderr on a pseudo-terminal, as a researcher's shell has it; return
    the exit status and what the terminal showed."""
    main, replica = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "qualcode", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=replica, stdin=subprocess.DEVNULL)
    os.close(replica)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    return process.wait(), shown.decode("utf-8", "replace")


@pytest.mark.slow
def test_a_progress_bar_on_stderr_and_quiet_hides_it(tmp_path, pseudonymised):
    status, shown = run_with_terminal("code", str(pseudonymised), "--out", str(tmp_path / "a"))
    assert status == 0, shown
    assert "coding" in shown and "[" in shown and "#" in shown  # click's bar: label  [####----]  n/m
    status, quiet = run_with_terminal("code", str(pseudonymised), "--out", str(tmp_path / "b"), "--quiet")
    assert status == 0 and "coding" not in quiet and "#" not in quiet


@pytest.mark.slow
def test_model_names_a_model_folder(tmp_path):
    import spacy

    folder = tmp_path / "my model"
    spacy.load(DEFAULT_MODEL).to_disk(folder)
    source = tmp_path / "source"
    source.mkdir()
    (source / "one.txt").write_text((SAMPLE / "interview_01_police.txt").read_text(encoding="utf-8"), encoding="utf-8")
    by_name = run_pseudonymise(source, tmp_path / "a", None, tmp_path / "s1" / "key.json", SETTINGS)
    by_folder = run_pseudonymise(source, tmp_path / "b", None, tmp_path / "s2" / "key.json",
                                 Settings(workers=1, quiet=True, model=str(folder)))
    assert by_folder.replacements == by_name.replacements > 0
    assert (tmp_path / "a" / "one.txt").read_bytes() == (tmp_path / "b" / "one.txt").read_bytes()
    missing = subprocess.run([sys.executable, "-m", "qualcode", "pseudonymise", str(source), "--out",
                              str(tmp_path / "c"), "--key", str(tmp_path / "s3" / "key.json"), "--model",
                              str(tmp_path / "no such model"), "--quiet"], cwd=ROOT, capture_output=True, text=True)
    assert missing.returncode == 1 and len(missing.stderr.splitlines()) == 1 and not (tmp_path / "c").exists()


AWKWARD = ["a, comma", 'a "quote"', "a\nnewline", "both, \"and\"\nmore", " padded ", "plain"]


def test_csv_fields_with_commas_quotes_and_newlines_round_trip():
    text = csv_text(["id", "text"], [[str(index), value] for index, value in enumerate(AWKWARD)])
    assert [row[1] for row in csv.reader(io.StringIO(text, newline=""))][1:] == AWKWARD
    assert list(pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)["text"]) == AWKWARD
