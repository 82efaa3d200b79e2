# The two commands of the README: `make reproduce` (the whole DAG at the default scale) and `make test`.
# Both create .venv (Python 3.11) and install the pinned package first; later calls reuse it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= all
SNAKEMAKE_ARGS ?=

.PHONY: reproduce test test-fast lint report bench rehearse venv clean-results

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

reproduce: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --cores $(CORES) --workflow-profile workflow/profiles/local $(SNAKEMAKE_ARGS)

test: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest

test-fast: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules

report: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --report results/report.html $(SNAKEMAKE_ARGS)

# Paper-scale rehearsal and cost model: results/rehearsal/cost.{md,csv,pdf} (docs/cluster.md)
rehearse: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --cores $(CORES) --workflow-profile workflow/profiles/local rehearse --config scale=paper $(SNAKEMAKE_ARGS)

bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m alttrain bench

clean-results:
	rm -rf results figures/fg figures/oialr figures/f3 paper/*/generated
