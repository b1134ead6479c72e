# The two commands: `make run` and `make test`. Both create or reuse .venv/ in the project root.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app namalms
PORT ?= 5000
HOST ?= 127.0.0.1
# Printed into certificates (QR code, verification link); set it to the public address in production.
export NAMALMS_PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: run test check bench clean-venv

$(VENV)/.installed: setup.cfg
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(PY) -c "from namalms.config import ensure_secret_key_file; ensure_secret_key_file('instance')"
	$(FLASK) db upgrade
	$(FLASK) content sync
	$(FLASK) demo
	@echo "namalms läuft auf http://$(HOST):$(PORT) – beenden mit Strg+C"
	$(VENV)/bin/gunicorn --workers 2 --bind $(HOST):$(PORT) --access-logfile - wsgi:app

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

# Benchmarks print `name: value unit` lines; they are not tests. BENCH_ARGS="--postgresql URL" for PostgreSQL.
bench: $(VENV)/.installed
	$(PY) -m tests.bench.bench_pages
	$(PY) -m tests.bench.bench_office $(BENCH_ARGS)

check: $(VENV)/.installed
	$(FLASK) content check

clean-venv:
	rm -rf $(VENV)
