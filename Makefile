# asc-evidence: two commands on a fresh machine.
#   make report   builds the processed data (and the national evidence tables the reports read)
#                 and writes the benchmarking report for COUNCIL (default Swindon)
#   make test     runs the whole test suite (pytest + nbval on the stored notebooks)
# Both create the project virtual environment (.venv) from pyproject.toml when needed.
# The official-file mirror is found through ASC_EVIDENCE_MIRROR; when unset and ../shared/data/raw
# exists (the offline mirror beside this checkout), that folder is used.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
COUNCIL ?= Swindon
OUT ?= reports

ifeq ($(origin ASC_EVIDENCE_MIRROR), undefined)
  ifneq ($(wildcard ../shared/data/raw/MANIFEST.csv),)
    export ASC_EVIDENCE_MIRROR := $(abspath ../shared/data/raw)
  endif
endif

.PHONY: report report-all test data evidence lint bench bench-all clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# processed tables, then the national evidence tables (each rebuilt only when its inputs or code change)
data: $(BIN)/.installed
	$(BIN)/asc-evidence data build

evidence: $(BIN)/.installed
	$(BIN)/asc-evidence data evidence

report: data
	$(BIN)/asc-evidence report --council "$(COUNCIL)" --out "$(OUT)"

report-all: data
	$(BIN)/asc-evidence report --all --out "$(OUT)"

test: data
	$(BIN)/python -m pytest -n 2 tests
	$(BIN)/python -m pytest --nbval --nbval-sanitize-with notebooks/nbval_sanitize.cfg notebooks

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests scripts notebooks

# trivial notebook, one council cold and warm (ratio), a sample of --all extrapolated, peak memory,
# cold and warm data build; bench-all runs every council instead of a sample (about an hour here)
bench: data
	$(BIN)/python scripts/bench_stats.py
	$(BIN)/python scripts/bench_report.py --all-sample 12

bench-all: data
	$(BIN)/python scripts/bench_report.py --all

clean:
	rm -rf data/processed/*.parquet data/processed/manifest.json data/processed/evidence reports
