# Two commands matter: `make run` and `make test`. Everything else installs what they need.
SHELL := /bin/bash
PYTHON ?= python3
# uv from PATH, or the copy pip installs into this Python (works without a shell rehash).
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := false

.PHONY: help uv install run test test-fast lint typecheck bench e2e clean

help:
	@echo "make run    - install what is missing, start emulator + API + portal with demo data"
	@echo "make test   - the whole suite (lint, types, unit, store on SQLite+PostgreSQL, browser)"
	@echo "make bench  - performance figures"

uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv

install: uv
	$(UV) sync --frozen

run: install
	bash scripts/run.sh

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run lint-imports

typecheck: install
	$(UV) run mypy my-dev-portal-api/portal_api stripe-emulator/stripe_emulator my-dev-portal/my_dev_portal my-dev-portal/rxconfig.py

test-fast: install
	$(UV) run pytest -q -m "not e2e"

test: install lint typecheck
	bash scripts/test.sh

bench: install
	bash scripts/install-wrk.sh
	$(UV) run python bench/run_all.py

clean:
	rm -rf .venv .run .tools my-dev-portal/.web .pytest_cache .mypy_cache .ruff_cache
