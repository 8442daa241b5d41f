# Two commands on a fresh machine: `make repro` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup browser repro test lint clean

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

# Headless Chromium from Debian's packages, for the offline plots-page test (tests/integration/test_plots_html.py).
# Installed only when missing: about a minute, package-list update included.
browser:
	@test -x /usr/bin/chromium || ! command -v apt-get >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: setup browser
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check voc stages tests benchmarks

clean:
	rm -rf $(VENV)
