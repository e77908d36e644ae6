# The store's commands. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.DEFAULT_GOAL := help
.PHONY: help run serve test lint check-migrations install install-dev bench clean-data

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed ## create .venv and install the runtime dependencies

install-dev: $(VENV)/.installed-dev ## also install the test and lint tools

run: install ## the store on http://127.0.0.1:$PORT/ (development), with Celery; Ctrl-C stops it all
	$(PY) -m store.launcher run

serve: install ## the store as production runs it: DEBUG off, gunicorn, Celery; Ctrl-C stops it all
	$(PY) -m store.launcher serve

lint: install-dev ## ruff and the import contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

test: install-dev ## the whole suite: ruff, import contracts, migrations check, pytest (own database and Redis)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	STORE_DATA_DIR=$${STORE_DATA_DIR:-.data/test} $(PY) -m store.launcher exec -- \
	  bash -c '$(PY) manage.py makemigrations --check --dry-run >/dev/null && $(PY) -m pytest $(PYTEST_ARGS)'

bench: install-dev ## the catalogue page benchmark against a separate bare Django project (README: Benchmarks; bench/RESULTS.md)
	$(PY) bench/pages.py

clean-data: ## delete .data/ (the development database, Redis, media) after stopping its servers
	-$(PY) -m store.embedded stop
	rm -rf .data
