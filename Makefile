# The two commands of the README: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
DEMO_ADDRESSES ?= 3000
# PostgreSQL database of `make bench`'s checkout benchmark (created if missing, its schema dropped).
BENCH_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/partnerdesk_bench
export FLASK_APP := app.py
# The local targets run with a development key; production sets SECRET_KEY (see README).
export PARTNERDESK_ENV ?= development

.PHONY: install run serve test test-sqlite test-postgres browser-deps lint bench mutation translations clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed translations

translations: $(BIN)/.installed
	$(BIN)/pybabel -q compile -d backoffice/translations -f

# The background-task worker runs next to the server and stops with it (Ctrl-C stops both).
WITH_WORKER = $(BIN)/flask tasks worker & worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT;

# Migrate, create roles, seed demo data on first start, then serve the Desk and run tasks.
run: install
	$(BIN)/flask partnerdesk setup --addresses $(DEMO_ADDRESSES)
	$(WITH_WORKER) $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

# Production-style server (see README): gunicorn with 2 workers, plus the task worker.
serve: install
	$(BIN)/flask partnerdesk setup --addresses $(DEMO_ADDRESSES)
	$(WITH_WORKER) $(BIN)/gunicorn --workers 2 --bind 127.0.0.1:$(PORT) 'app:create_app()'

browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: browser tests will be skipped (REQUIRE_BROWSER=1 makes that an error)"; fi; \
	fi

# All tests on SQLite; again on PostgreSQL when TEST_DATABASE_URL is set (REQUIRE_POSTGRES=1: must be).
test: install browser-deps
	$(BIN)/pytest --db sqlite $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL" ] || [ "$$REQUIRE_POSTGRES" = "1" ]; then \
	  $(BIN)/pytest --db postgres $(PYTEST_ARGS); \
	else echo "TEST_DATABASE_URL not set: PostgreSQL run skipped"; fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Every benchmark at a small size (full sizes and figures: benchmarks/RESULTS.md).
bench: install
	$(BIN)/python -m benchmarks.seed --addresses 20000
	$(BIN)/python -m benchmarks.downline --addresses 20000 --repeat 5
	$(BIN)/python -m benchmarks.directory --partners 5000 --repeat 50
	$(BIN)/python -m benchmarks.redemption --orders 100 --database $(BENCH_DATABASE_URL)
	$(BIN)/python -m benchmarks.imports --rows 20000
	$(BIN)/python -m benchmarks.marketplace --partners 2000 --history 10000
	$(BIN)/python -m benchmarks.messages --conversations 2000 --partners 200 --unread 2000 --repeat 20
	$(BIN)/python -m benchmarks.jobs --assignments 20000 --partners 200
	$(BIN)/python -m benchmarks.orders_offers --services 2000 --orders 500 --repeat 100 --accepts 20
	$(BIN)/python -m benchmarks.billing --partners 100 --charges 2000 --pdfs 2 --debits 100

# Mutation testing of the core rules against the tests that use them (not in CI: minutes per
# module, one core). MODULES=money values … picks modules, SAMPLE=12 bounds the mutants per module.
mutation: install
	$(BIN)/python -m tests.support.mutation $(MODULES) $(if $(SAMPLE),--sample $(SAMPLE))

clean:
	rm -rf $(VENV) instance .pytest_cache
