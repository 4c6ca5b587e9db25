"""Shared paths and fixtures for the test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATASETS = SHARED / "datasets"
REFI = SHARED / "refi"
SAMPLE = ROOT / "transcripts_sample"
DEFAULT_CODEBOOK = ROOT / "codebook" / "codebook.yaml"


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.exists():
        pytest.fail(f"the shared datasets are missing: expected them at {DATASETS}")
    return DATASETS
