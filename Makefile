# Set-up, checks and demo. `make setup && make test` on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup test lint typecheck unit integration bench demo clean probe-servers

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# Servers the probe check tests start on free ports (PostgreSQL, Redis and NATS come with the machine).
PROBE_SERVERS := postgresql redis-server nats-server clickhouse-server
probe-servers:
	@missing=$$(for p in $(PROBE_SERVERS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; fi

lint: setup
	$(BIN)/ruff check sre tests bench
	$(BIN)/ruff format --check sre tests bench

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

demo: setup
	$(BIN)/sre inventory show

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build
