# Set-up, checks and demo. `make setup && make test` on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup test lint typecheck unit integration bench bench-deps demo clean dashboards

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

lint: setup
	$(BIN)/ruff check sre tests bench
	$(BIN)/ruff format --check sre tests bench
	$(BIN)/ruff check dashboards
	$(BIN)/ruff format --check dashboards

typecheck: setup
	$(BIN)/mypy sre

unit: setup
	$(BIN)/pytest -q -m "not integration"

integration: setup
	$(BIN)/pytest -q -m integration

test: lint typecheck
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python bench/run.py

dashboards: setup
	$(BIN)/sre dashboards build --out build/dashboards
	$(BIN)/sre dashboards lint

# Debian servers the benchmarks drive (nginx, blackbox_exporter) and promtool for the exposition test.
bench-deps:
	apt-get install -y --no-install-recommends nginx-light prometheus-blackbox-exporter prometheus

demo: setup
	$(BIN)/sre inventory show

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build
