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
CASES := $(PSEUDONYMISED)/cases.csv
CODED := $(OUT)/coded_segments.xlsx
REVIEWED ?= reviews_sample/coded_segments_reviewed.xlsx
CI_CLAIMS ?= datasets/ci_claims_two_coders
MODEL_DIR ?= $(OUT)/model
LABELLED ?= $(REVIEWED)

.PHONY: run test pseudonymise code matrices report qdpx qdc review agreement agreement-ci train evaluate bench bench-register bench-scaling quality quality-detection clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: pseudonymise code matrices report qdpx qdc

pseudonymise: $(STAMP)
	$(QUALCODE) pseudonymise $(SOURCE) --out $(PSEUDONYMISED) --key $(SECURE)/key.json --keep-format

code: $(STAMP)
	$(QUALCODE) code $(PSEUDONYMISED) --codebook $(CODEBOOK) --out $(OUT)

matrices: $(STAMP)
	$(QUALCODE) matrices $(CODED) --out $(OUT) --cases $(CASES) --codebook $(CODEBOOK)

report: $(STAMP)
	$(QUALCODE) report $(CODED) --out $(OUT) --codebook $(CODEBOOK)

qdpx: $(STAMP)
	$(QUALCODE) export-qdpx $(CODED) --transcripts $(PSEUDONYMISED) --codebook $(CODEBOOK) --out $(OUT)/project.qdpx

qdc: $(STAMP)
	$(QUALCODE) export-qdc --codebook $(CODEBOOK) --out $(OUT)/codebook.qdc

# the review loop: automatic codes vs the analyst's review_codes, then what to change in the codebook
review: agreement
	$(QUALCODE) codebook report $(REVIEWED) --codebook $(CODEBOOK) --out $(OUT)/review

agreement: $(STAMP)
	$(QUALCODE) agreement $(REVIEWED) $(REVIEWED) --out $(OUT)/review

# a coder that learns from the reviewed codes, and how far to trust it (k-fold cross-validation)
train: $(STAMP)
	$(QUALCODE) train $(LABELLED) --codebook $(CODEBOOK) --model-dir $(MODEL_DIR)

evaluate: $(STAMP)
	$(QUALCODE) evaluate $(LABELLED) --codebook $(CODEBOOK) --folds 5 --out $(OUT)/evaluation

# the human baseline on the real two-coder data set
agreement-ci: $(STAMP)
	$(QUALCODE) agreement $(CI_CLAIMS)/annotator_1.csv $(CI_CLAIMS)/annotator_2.csv --out $(OUT)/agreement_ci

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/bench_pipeline.py --section pseudonymise --section coding

# issue 11: a run's cost grows linearly with its input (1, 2, 4, 8 MB; takes about half an hour)
bench-scaling: $(STAMP)
	$(PY) benchmarks/bench_scaling.py

# issue 11: pseudonymising with a register of 10,000 people costs at most 1.5x a register of 10
bench-register: $(STAMP)
	$(PY) benchmarks/bench_pipeline.py --section register_scale --words 40000

# coding quality on the real data sets, against the figures in the issues
quality: $(STAMP)
	$(PY) benchmarks/bench_quality.py
	$(PY) benchmarks/bench_detection.py --ablation

# issue 12: person detection without a register, against plain Presidio on the same model
quality-detection: $(STAMP)
	$(PY) benchmarks/bench_detection.py --ablation

clean:
	rm -rf $(OUT)/* $(VENV) .pytest_cache build *.egg-info
	touch $(OUT)/.gitkeep
