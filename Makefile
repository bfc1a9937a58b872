# sipflow: `make run` serves the demo at http://127.0.0.1:5000, `make test` runs everything CI runs.
# Every step checks first, so on a machine that has it all a step costs well under a second.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
FLASK := $(VENV)/bin/flask --app wsgi
PYTEST := $(PY) -m pytest
RUFF := $(VENV)/bin/ruff
LINT_IMPORTS := $(VENV)/bin/lint-imports
PYBABEL := $(VENV)/bin/pybabel
PG_TEST_URL := postgresql+psycopg://sipflow:sipflow@127.0.0.1:5432/sipflow_test
# The Debian packages the tests use, by the command each one provides.
SYSTEM_COMMANDS := chromium:chromium pdftotext:poppler-utils pg_ctlcluster:postgresql
# ... and by a file, for packages without a command (the PDFs embed DejaVu Sans, and Symbola for emoji).
SYSTEM_FILES := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core \
	/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf:fonts-symbola

.PHONY: help run test test-sqlite test-postgres lint system-packages translations

help:
	@echo "make run    serve the demo at http://127.0.0.1:5000 (creates .venv, migrates, loads demo data)"
	@echo "make test   install what the tests need (as root), lint, the whole suite on SQLite, its db tests on PostgreSQL"
	@echo "make lint   ruff check, ruff format --check and the import contracts (.importlinter)"

$(PY):
	python3 -m venv $(VENV)

# Stamps: pip runs again only when a requirements file changed (or the venv is new).
$(VENV)/.runtime-installed: requirements.txt | $(PY)
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

translations:
	$(PYBABEL) -q compile -d sipflow/translations

run: $(VENV)/.runtime-installed translations
	$(FLASK) sipflow db upgrade
	$(FLASK) sipflow demo
	$(FLASK) sipflow scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null || true; wait $$scheduler 2>/dev/null || true' EXIT; \
	$(FLASK) run --host 127.0.0.1 --port 5000

# Debian 12 as root: apt-get only when a command is missing, and the package lists only then too.
system-packages:
	@missing=""; \
	for pair in $(SYSTEM_COMMANDS); do \
		command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair#*:}"; \
	done; \
	for pair in $(SYSTEM_FILES); do \
		[ -e "$${pair%%:*}" ] || missing="$$missing $${pair#*:}"; \
	done; \
	[ -e $(PY) ] || python3 -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq; \
		apt-get install -y -qq $$missing >/dev/null; \
	fi

# The lint checks as one command, so `test` (and so CI) runs exactly what `lint` runs.
# lint-imports checks the direction of imports that .importlinter states (views above services above
# models, no area imports another's views, the foundation modules import no area, ...).
RUN_LINT := $(RUFF) check sipflow tests && $(RUFF) format --check sipflow tests && $(LINT_IMPORTS)

lint: $(VENV)/.dev-installed
	$(RUN_LINT)

# The two runs as single commands, so `test` can run both and report each before failing.
# PostgreSQL runs again only the tests marked `db` (tests/conftest.py marks every test whose fixtures reach
# the database); the others cannot behave differently on another database.
# Each run spreads its tests over one pytest-xdist worker per core (`-n auto`); every worker has a database
# of its own (tests/conftest.py: a SQLite file, or a PostgreSQL database it creates beside sipflow_test and
# drops at the end), so runs of several worktrees on one server never meet.
XDIST := -n auto
# Compiled modules are kept between runs in .pycache/ even where the environment sets PYTHONDONTWRITEBYTECODE:
# otherwise every worker (and every subprocess a test starts) compiles sipflow and rewrites the tests again,
# about 5 s of CPU per worker.
BYTECODE := PYTHONPYCACHEPREFIX=$(CURDIR)/.pycache
# Hypothesis draws some texts from string constants it collects in set order, which follows the hash seed:
# a fixed seed makes the fuzzer's examples (and so a failure) the same from run to run and machine to machine.
HASHSEED := PYTHONHASHSEED=0
RUN_SQLITE := env -u PYTHONDONTWRITEBYTECODE -u SIPFLOW_TEST_DATABASE_URL $(BYTECODE) $(HASHSEED) $(PYTEST) -q $(XDIST)
RUN_POSTGRES := scripts/postgres-test-db.sh >/dev/null && env -u PYTHONDONTWRITEBYTECODE $(BYTECODE) $(HASHSEED) \
	SIPFLOW_TEST_DATABASE_URL=$(PG_TEST_URL) $(PYTEST) -q $(XDIST) -m db

test-sqlite: $(VENV)/.dev-installed translations
	$(RUN_SQLITE)

test-postgres: system-packages $(VENV)/.dev-installed translations
	$(RUN_POSTGRES)

# Both runs always happen; either one failing fails the target.
test: system-packages $(VENV)/.dev-installed translations
	$(RUN_LINT)
	@failed=""; \
	echo "== the whole suite on SQLite"; start=$$(date +%s); \
	$(RUN_SQLITE) || failed="$$failed SQLite"; \
	echo "== SQLite run: $$(( $$(date +%s) - start )) s"; \
	echo "== the database tests on PostgreSQL"; start=$$(date +%s); \
	( $(RUN_POSTGRES) ) || failed="$$failed PostgreSQL"; \
	echo "== PostgreSQL run: $$(( $$(date +%s) - start )) s"; \
	if [ -n "$$failed" ]; then echo "FAILED on:$$failed" >&2; exit 1; fi
