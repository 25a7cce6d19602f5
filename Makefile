# gridroll — two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
# The demo's settings (DEBUG, a built-in key, plain http) for everything run from here; production
# refuses them (docs/deployment.md).
export GRIDROLL_DEMO ?= 1

.PHONY: demo serve test test-postgres lint format check-migrations bench messages clean help

help:
	@echo "make demo    build the demo district in SQLite and serve it on http://$(HOST):$(PORT)"
	@echo "make test    run the test suite (SQLite; set DATABASE_URL=postgres://... for PostgreSQL)"
	@echo "make lint    ruff, mypy, Django's system checks"
	@echo "make bench   benchmarks (see bench/README.md); never part of make test"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "gridroll needs Python 3.11 or newer")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,reconcile]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py runserver $(HOST):$(PORT)

serve: $(STAMP)
	$(PY) manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	$(PY) -m pytest $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m mypy
	$(PY) manage.py check --fail-level WARNING

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

check-migrations: $(STAMP)
	$(PY) manage.py makemigrations --check --dry-run

bench: $(STAMP)
	$(PY) bench/run.py $(ARGS)

messages: $(STAMP)
	cd gridroll && ../$(PY) ../manage.py makemessages -l zh_Hans --no-obsolete
	$(PY) scripts/check_messages.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
