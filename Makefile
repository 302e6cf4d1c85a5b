# Jizuo — two commands: `make demo` (start the platform) and `make test` (run every test).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSOLE := frontend/console
CONSOLE_BUILD := jizuo/web/console/index.html
CONSOLE_SOURCES := $(shell find $(CONSOLE)/src $(CONSOLE)/index.html $(CONSOLE)/vite.config.ts $(CONSOLE)/package-lock.json -type f 2>/dev/null)
RESIDENT := frontend/resident
RESIDENT_BUILD := jizuo/web/resident/index.html
RESIDENT_SOURCES := $(shell find $(RESIDENT)/src $(RESIDENT)/public $(RESIDENT)/index.html $(RESIDENT)/vite.config.ts $(RESIDENT)/package-lock.json -type f 2>/dev/null)

.PHONY: demo test install frontend browser lint test-python test-e2e test-postgres15 bench clean

demo: install frontend
	$(BIN)/jizuo demo

test: install frontend browser lint test-python

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

$(VENV)/.installed: $(BIN)/uv pyproject.toml requirements.lock
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

install: $(VENV)/.installed

$(CONSOLE)/node_modules/.package-lock.json: $(CONSOLE)/package-lock.json
	cd $(CONSOLE) && npm ci --no-audit --no-fund --loglevel=error

$(CONSOLE_BUILD): $(CONSOLE)/node_modules/.package-lock.json $(CONSOLE_SOURCES)
	cd $(CONSOLE) && npm run build --silent

# The resident H5 (/h5/), built beside the console.
$(RESIDENT)/node_modules/.package-lock.json: $(RESIDENT)/package-lock.json
	cd $(RESIDENT) && npm ci --no-audit --no-fund --loglevel=error

$(RESIDENT_BUILD): $(RESIDENT)/node_modules/.package-lock.json $(RESIDENT_SOURCES)
	cd $(RESIDENT) && npm run build --silent

frontend: $(CONSOLE_BUILD) $(RESIDENT_BUILD)

# Browser tests drive Debian's Chromium (no browser downloads); installed here when missing.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

lint: install
	$(BIN)/ruff check jizuo tests bench
	$(BIN)/mypy jizuo
	$(BIN)/lint-imports

# Python and browser tests (the browser tests are in tests/e2e and drive the built console).
test-python: install
	$(BIN)/python -m pytest

# The same database tests against a real PostgreSQL 15 server (Debian package), as CI does.
test-postgres15: install
	DATABASE_URL="$$(scripts/postgres15.sh start)" $(BIN)/python -m pytest -m "not e2e and not slow"

# bench/fhir_crud.py drives its load with wrk (Debian), installed here when missing.
bench: install
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) $(CONSOLE)/node_modules jizuo/web/console $(RESIDENT)/node_modules jizuo/web/resident .jizuo-test
