# One entry point for people and CI. `make run` and `make check` set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run serve check lint test setup

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The demo: a synthetic city and its outbreak replayed through every service, then the dashboard.
run: $(STAMP)
	$(BIN)/xietong demo

# The system on your own database (XIETONG_DATABASE_URL), for production use.
serve: $(STAMP)
	$(BIN)/xietong serve

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(STAMP)
	$(BIN)/pytest -n 2 -q

check: lint test
