# Support Pulse — every target works from a clean clone: the venv is created on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint typecheck unit integration bench dashboards up down clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## The main job: embedded broker + Redis + worker + simulated Black Friday, live board.
demo: $(STAMP)
	$(BIN)/supportpulse demo

## Lint, types and the whole test suite (unit, component, integration on real servers).
test: lint typecheck
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit tests/component

integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

dashboards: $(STAMP)
	$(BIN)/python grafana/dashboards.py --write

up:
	docker compose up -d --build

down:
	docker compose down -v

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache data
