# EduAI developer commands. On a fresh machine with Python 3.11:
#   make demo            set up .venv, migrate, load the demo data, serve on 127.0.0.1:8000
#   make demo PORT=8001  the same on another port
#   make test            set up the same way and run every test suite
#   make check           lint, format check, types, import layers, migrations, deploy check
# Nothing else is needed: SQLite and in-process tasks unless DATABASE_URL / CELERY_BROKER_URL say otherwise.

PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Re-installs whenever a requirements file is newer than the last install.
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

# A production-like environment for `check --deploy`: a fresh random key each run, so no secret
# lives in this file; the database URL is only parsed, never connected to.
DEPLOY_ENV = EDUAI_ENV=production DEBUG=0 ALLOWED_HOSTS=example.org \
	DATABASE_URL=postgres://eduai@db.example.org:5432/eduai CELERY_BROKER_URL=redis://redis.example.org:6379/0 \
	SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(64))')"

.PHONY: help venv demo migrate test test-unit test-integration lint format typecheck imports migrations-check deploy-check check clean

help:
	@sed -n '1,7p' Makefile

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo
	@echo "EduAI demo: http://127.0.0.1:$(PORT)/  (accounts and passwords: printed by load_demo above)"
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Two pytest runs: everything but the integration suite in the embedded setup (SQLite, eager
# tasks), then the integration suite in its own process against PostgreSQL, Redis and a real
# Celery worker (tests/integration/run.py; it says loudly when those services are missing).
test: test-unit test-integration

# The unit suites always run in the embedded set-up, whatever database or broker the shell
# points at. pytest exits 5 when it collected no test: a broken collection, never a pass.
UNIT_ENV = env -u DATABASE_URL -u CELERY_BROKER_URL -u CELERY_RESULT_BACKEND -u EDUAI_ENV -u DEBUG
test-unit: $(STAMP)
	@rc=0; $(UNIT_ENV) $(BIN)/python -m pytest -m "not integration" $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc = 5 ]; then echo "!! pytest collected NO tests: failing the run"; fi; exit $$rc

test-integration: $(STAMP)
	$(BIN)/python tests/integration/run.py $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy eduai grading assessment recommender

imports: $(STAMP)
	$(BIN)/lint-imports

migrations-check: $(STAMP)
	$(BIN)/python manage.py makemigrations --check --dry-run

deploy-check: $(STAMP)
	$(DEPLOY_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING

check: lint typecheck imports migrations-check deploy-check

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles test-artifacts
