# The single source of commands: CI and contributors call these targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --disable-pip-version-check -q

.PHONY: run test test-fast lint format bench clean

# Core install (stamp files make re-runs instant; editing pyproject.toml re-installs).
$(VENV)/.core: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $@

# The report's extras (matplotlib, lightgbm): what `make run` needs to end with the realism report.
$(VENV)/.report: pyproject.toml $(VENV)/.core
	$(PIP) -e ".[report]"
	touch $@

# Dev install: core + torch (pinned CPU build) + polars + dask + report + compare + test tools.
$(VENV)/.dev: pyproject.toml $(VENV)/.core
	$(PIP) -e ".[dev]"
	touch $@

# A small default world (100 consumers, 2010-2020), its TabFormer CSV, a summary and the realism report.
run: $(VENV)/.report
	$(BIN)/cardworld generate --consumers 100 --start 2010-01-01 --end 2020-12-31 --seed 0 \
		--out out/world --workers 2 --overwrite
	$(BIN)/cardworld export out/world --format tabformer --out out/card_transaction.csv \
		--users-csv out/sd254_users.csv --cards-csv out/sd254_cards.csv --overwrite
	$(BIN)/cardworld summary out/world
	$(BIN)/cardworld report out/world --out out/report.html --overwrite

test: $(VENV)/.dev
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/python -m pytest -q

# The inner loop: lint, then every test not marked slow (world-generating end-to-end runs are slow).
test-fast: $(VENV)/.dev
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

format: $(VENV)/.dev
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

# The bar tables (2 runs x best of 3 each, about 2 + 6 minutes on 2 cores), then their Markdown for the README.
bench: $(VENV)/.dev
	$(BIN)/cardworld bench targets --json benchmarks/targets.json
	$(BIN)/cardworld bench world --json benchmarks/world.json
	$(BIN)/cardworld bench table benchmarks/targets.json benchmarks/world.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
