# The two commands: `make run` and `make test`. Both create or reuse .venv/ in the project root.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app namalms
PORT ?= 5000
HOST ?= 127.0.0.1
CONSTRAINTS := .ci/constraints.txt
# Test tools from the npm registry, installed into .venv/node/ (never loaded from a CDN):
# axe-core for the accessibility suite, vnu-jar (the W3C HTML checker, runs on Java 17+).
NODE_DIR := $(VENV)/node
NODE_PACKAGES := axe-core@4.14.1 vnu-jar@26.9.27
# Printed into certificates (QR code, verification link); set it to the public address in production.
export NAMALMS_PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
# Python's bytecode caches (__pycache__/, ignored by git) are written even where the shell
# turns them off: without them every test worker and every server or CLI process a test starts
# compiles the app and rewrites the tests from source again (4 s per process here).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-fast check bench constraints clean-venv screenshots node-tools

# Installs the versions in .ci/constraints.txt; pip's own chatter goes to .venv/install.log
# and is shown only when the installation fails.
$(VENV)/.installed: setup.cfg $(CONSTRAINTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Richte die Python-Umgebung in $(VENV)/ ein (Protokoll: $(VENV)/install.log) …"
	@$(PY) -m pip install --upgrade pip > $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@$(PY) -m pip install -c $(CONSTRAINTS) -e '.[test]' >> $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@touch $@

# --ignore-scripts: vnu-jar's install script would download a Java runtime; the machine's Java is used.
$(NODE_DIR)/.installed: Makefile
	@command -v npm >/dev/null || { echo "Hinweis: npm fehlt (Debian-Paket npm) – ohne axe-core und vnu-jar überspringen die Tests die Barrierefreiheits- und HTML-Prüfung"; exit 0; }
	@mkdir -p $(NODE_DIR)
	@echo "Installiere $(NODE_PACKAGES) in $(NODE_DIR)/ …"
	@npm install --prefix $(NODE_DIR) --no-save --ignore-scripts --no-audit --no-fund $(NODE_PACKAGES) > $(NODE_DIR)/install.log 2>&1 || { cat $(NODE_DIR)/install.log; exit 1; }
	@touch $@

node-tools: $(NODE_DIR)/.installed

run: $(VENV)/.installed
	@$(PY) -c "from namalms.config import ensure_secret_key_file; ensure_secret_key_file('instance')"
	@$(PY) -c "from namalms.keys import ensure_signing_keys; ensure_signing_keys('instance')"
	@echo "Datenbank in instance/ auf den neuesten Stand bringen …"
	@$(FLASK) db upgrade
	@$(FLASK) content sync
	@$(FLASK) demo
	@echo "namalms läuft auf http://$(HOST):$(PORT) – beenden mit Strg+C"
	@$(VENV)/bin/gunicorn -c python:namalms.gunicorn_conf --bind $(HOST):$(PORT) wsgi:app

# One pytest worker per CPU core (pytest-xdist). Tests are dealt out one by one, so one long file
# does not keep a core busy alone at the end; tests that share something (Chromium, a Redis
# database) stay on one worker (SAME_WORKER in tests/conftest.py). PYTEST_WORKERS=0 runs
# everything in one process.
PYTEST_WORKERS ?= auto
test: $(VENV)/.installed $(NODE_DIR)/.installed
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# PNGs of the main pages of each role at 1280 and 390 px in screenshots/ (demo data, headless Chromium).
screenshots: $(VENV)/.installed
	$(PY) -m tests.browser.screenshots screenshots

# For development: unit and web tests on SQLite only, no browser (about a minute).
test-fast: $(VENV)/.installed
	env -u NAMALMS_TEST_DATABASE_URL $(PY) -m pytest tests/unit tests/web -m "not browser" $(PYTEST_ARGS)

# Benchmarks print `name: value unit` lines; they are not tests. BENCH_ARGS="--postgresql URL" for PostgreSQL.
# The page benchmark drives gunicorn with wrk (apt install wrk), about three minutes;
# BENCH_PAGES_ARGS="--duration 10 --rounds 5" for steadier figures.
bench: $(VENV)/.installed
	@command -v wrk > /dev/null || { echo "make bench needs wrk (apt install wrk)"; exit 1; }
	$(PY) -m tests.bench.bench_pages $(BENCH_PAGES_ARGS)
	$(PY) -m tests.bench.bench_office $(BENCH_ARGS)

check: $(VENV)/.installed
	$(FLASK) content check

# Record the installed versions as the new constraints (after changing setup.cfg and testing).
constraints: $(VENV)/.installed
	@{ echo "# Versions the test suite last passed with; 'make' installs exactly these (setup.cfg keeps the ranges)."; \
	   echo "# Refresh with: make constraints"; \
	   $(PY) -m pip freeze --exclude-editable 2>/dev/null | grep -v '^namalms'; } > $(CONSTRAINTS)

clean-venv:
	rm -rf $(VENV)
