# Two commands on a fresh machine: `make repro` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup repro test lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml requirements/cpu.txt
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements/cpu.txt torch
	$(BIN)/pip install -q -c requirements/cpu.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

repro: setup
	@test -d .dvc || $(BIN)/dvc init -q
	@start=$$(date +%s); PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dvc repro && \
	  echo "dvc repro took $$(( $$(date +%s) - start )) s"

test: setup
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check voc stages tests benchmarks

clean:
	rm -rf $(VENV)
