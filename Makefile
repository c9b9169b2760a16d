# Etude: `make run` starts the whole product on embedded defaults; `make test` runs the suite
# on SQLite and on a throwaway PostgreSQL server.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres browser install lint check clean \
	bench-api bench-reflection bench-scheduler bench-dashboards bench-audit prod-check

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	DEBUG=$${DEBUG:-1} scripts/run

test: check test-sqlite test-postgres

# The browser tests drive Debian's Chromium (installed here when missing), never a download.
browser:
	@scripts/ensure-chromium

test-sqlite: $(STAMP) browser
	@mkdir -p var
	DEBUG=0 SECRET_KEY=test-only-secret-key-000000000000000000 \
	  DATABASE_URL=sqlite:///$(CURDIR)/var/test.sqlite3 \
	  $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(STAMP) browser
	DEBUG=0 SECRET_KEY=test-only-secret-key-000000000000000000 \
	  scripts/with-postgres $(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: $(STAMP)
	@mkdir -p var
	DEBUG=1 $(BIN)/python manage.py check
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var/test.sqlite3

# Benchmarks: printed figures against a baseline measured in the same run (see README).
bench-api: $(STAMP)
	$(BIN)/python bench/api.py

bench-reflection: $(STAMP)
	$(BIN)/python bench/reflection.py

bench-scheduler: $(STAMP)
	$(BIN)/python bench/scheduler.py

bench-dashboards: $(STAMP)
	$(BIN)/python bench/dashboards.py

bench-audit: $(STAMP)
	$(BIN)/python bench/audit.py

# The production profile on loopback: PostgreSQL, Redis, gunicorn (2), 2 Celery workers, beat,
# and a smoke through HTTP.
prod-check: $(STAMP)
	scripts/prod-check
