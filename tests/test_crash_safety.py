"""Crash safety: a run killed at any point leaves either the old outputs or the new ones, never a mix.

Two kinds of kill. Real runs of ``python -m qualcode pseudonymise`` and ``code`` on a copy of
``transcripts_sample`` get SIGKILL after a delay (early, while loading and analysing, and late,
near where they write). Those rarely land on the few milliseconds of writing, so a small driver
also kills :func:`~qualcode.fsutil.staged_dir` at each of its renames and removals in turn.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from conftest import DEFAULT_CODEBOOK, SAMPLE
from qualcode.fsutil import OUTPUT_MARKER

Snapshot = dict[str, bytes]
KILL_AFTER = (0.5, 1.5, 3.0)  # seconds: loading the model, analysing
KILL_NEAR_END = (0.85, 0.95)  # fractions of a complete run's time: planning, writing


def qualcode(*args: str) -> list[str]:
    return [sys.executable, "-m", "qualcode", *args, "--quiet"]


def run_complete(command: list[str]) -> float:
    """Run to the end; returns how long it took."""
    started = time.monotonic()
    subprocess.run(command, check=True, capture_output=True)
    return time.monotonic() - started


def run_killed(command: list[str], delay: float) -> None:
    """Start a run in its own process group and SIGKILL the group (workers too) after ``delay``."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def snapshot(folder: Path, names: set[str] | None = None) -> Snapshot | None:
    """Every file of ``folder`` (or only ``names``) with its bytes; None if the folder is absent."""
    if not folder.exists():
        return None
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())
            if path.is_file() and (names is None or path.name in names)}


def visible(folder: Path) -> set[str]:
    """What a researcher sees as outputs: names that do not start with a dot."""
    return {path.name for path in folder.iterdir() if not path.name.startswith(".")}


def kill_at_several_points(command: list[str], complete_time: float,
                           state: Callable[[], Snapshot | None]) -> list[Snapshot | None]:
    """The state after each kill: a few fixed delays, then late ones scaled to a complete run."""
    states = []
    for delay in (*KILL_AFTER, *(fraction * complete_time for fraction in KILL_NEAR_END)):
        run_killed(command, delay)
        states.append(state())
    return states


@pytest.fixture
def sample(tmp_path) -> Path:
    return Path(shutil.copytree(SAMPLE, tmp_path / "src"))


def test_a_killed_pseudonymise_leaves_the_old_or_the_new_outputs(tmp_path, sample):
    out, secure = tmp_path / "outputs" / "pseudonymised", tmp_path / "secure"

    def pseudonymise(style: str) -> list[str]:
        return qualcode("pseudonymise", str(sample), "--out", str(out), "--key", str(secure / f"{style}.json"),
                        "--style", style, "--workers", "1")

    run_complete(pseudonymise("label"))
    old = snapshot(out)
    new_run = pseudonymise("realistic")
    states = kill_at_several_points(new_run, run_complete(new_run), lambda: snapshot(out))
    new = snapshot(out)

    assert old != new and {OUTPUT_MARKER, "cases.csv", "interview_01_police.txt"} <= set(new)
    assert all(state in (old, new) for state in states), [sorted(state or ()) for state in states]
    assert visible(out.parent) == {"pseudonymised"}
    for folder in (out.parent, secure):  # the last run removed what the killed ones left, key copies too
        assert [path.name for path in folder.iterdir() if path.name.startswith(".")] == []


def test_a_killed_code_leaves_the_old_or_the_new_set_of_tables(tmp_path, sample):
    out = tmp_path / "outputs"
    pair = {"coded_segments.csv", "coded_segments.xlsx", "coded_segments_evidence.csv"}  # written together

    def code(*options: str) -> list[str]:
        return qualcode("code", str(sample), "--codebook", str(DEFAULT_CODEBOOK), "--out", str(out), *options)

    run_complete(code("--threshold", "0.9"))
    old = snapshot(out, pair)
    new_run = code()
    states = kill_at_several_points(new_run, run_complete(new_run), lambda: snapshot(out, pair))
    new = snapshot(out, pair)

    assert old != new and set(new) == pair
    assert all(state in (old, new) for state in states), [sorted(state or ()) for state in states]
    assert visible(out) == pair
    assert [path.name for path in out.iterdir() if path.name.startswith(".")] == []


# -- every step of the swap, deterministically -----------------------------------------------------

DRIVER = """
import os, shutil, signal, sys
from pathlib import Path
from qualcode.fsutil import staged_dir, write_text

out, version, kill_at = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
steps = 0

def step(real):
    def counted(*args, **kwargs):
        global steps
        steps += 1
        if steps == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return counted

os.replace, shutil.rmtree = step(os.replace), step(shutil.rmtree)
with staged_dir(out) as staging:
    for name in ("a.txt", "b.txt", "cases.csv"):
        write_text(staging / name, f"{version} {name}\\n")
    if version == "fail":
        raise SystemExit("bad input found late: nothing may change")
print(steps)
"""


def drive(out: Path, version: str, kill_at: int = 0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", DRIVER, str(out), version, str(kill_at)], capture_output=True,
                          text=True, check=False)  # the caller checks how it ended


def test_a_kill_at_each_step_of_the_swap_leaves_old_or_new_and_the_next_run_tidies_up(tmp_path):
    out = tmp_path / "pseudonymised"
    drive(out, "new")
    new = snapshot(out)
    drive(out, "old")
    old = snapshot(out)
    steps = int(drive(out, "old").stdout)
    assert steps == 6 and old != new  # three files staged; old folder aside, new one in, old one removed

    for kill_at in range(1, steps + 1):
        drive(out, "old")
        assert drive(out, "new", kill_at).returncode == -signal.SIGKILL
        state = snapshot(out)
        leftovers = [path for path in tmp_path.iterdir() if path.name.startswith(".")]
        assert state in (old, new) or state is None and any((path / out.name).is_dir() for path in leftovers)
        assert drive(out, "fail").returncode == 1  # a later run that stops early ...
        assert snapshot(out) == (state or old)  # ... puts back the previous outputs if the kill took them
        assert [path.name for path in tmp_path.iterdir()] == [out.name]  # and leaves nothing else behind
