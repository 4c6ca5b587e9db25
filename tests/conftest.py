"""Shared paths and fixtures for the test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "datasets"
REFI = DATASETS / "refi"
SAMPLE = ROOT / "transcripts_sample"
DEFAULT_CODEBOOK = ROOT / "codebook" / "codebook.yaml"


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.exists():
        pytest.fail(f"the bundled datasets are missing: expected them at {DATASETS}")
    return DATASETS


@pytest.fixture(scope="session")
def pseudonymised(tmp_path_factory) -> Path:
    """The sample transcripts pseudonymised once per test session (key in its own folder)."""
    from qualcode.config import Settings
    from qualcode.pseudonymise import run_pseudonymise

    out, secure = tmp_path_factory.mktemp("pseudonymised"), tmp_path_factory.mktemp("secure")
    run_pseudonymise(SAMPLE, out, None, secure / "key.json", Settings(workers=1, quiet=True))
    return out
