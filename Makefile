# qualcode: `make run` runs the whole pipeline on transcripts_sample/, `make test` runs the tests.
# Both build .venv from pyproject.toml first when it is missing or older than pyproject.toml.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
QUALCODE := $(PY) -m qualcode
STAMP := $(VENV)/.installed

SOURCE ?= transcripts_sample
OUT ?= outputs
SECURE ?= secure
CODEBOOK ?= codebook/codebook.yaml
PSEUDONYMISED := $(OUT)/pseudonymised
CODED := $(OUT)/coded_segments.xlsx

.PHONY: run test pseudonymise bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: pseudonymise

pseudonymise: $(STAMP)
	$(QUALCODE) pseudonymise $(SOURCE) --out $(PSEUDONYMISED) --key $(SECURE)/key.json

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/bench_pipeline.py

clean:
	rm -rf $(OUT)/* $(VENV) .pytest_cache build *.egg-info
	touch $(OUT)/.gitkeep
