# oauthkit: `make demo` runs the example project, `make test` runs the checks and the tests.
# A fresh machine needs only python3 (3.11+) with venv; everything else goes into .venv.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Touched after `pip install`; pip runs again only when pyproject.toml is newer.
STAMP := $(VENV)/.oauthkit-installed
# The PostgreSQL run uses DATABASE_URL when it is set, else this URL when a server answers.
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
BENCH_ARGS ?=

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help
.PHONY: help install demo test bench lint format clean chromium

help:
	@echo "make demo     install into $(VENV), migrate, seed demo data, serve http://127.0.0.1:8000"
	echo "make test     ruff format --check, ruff check, pytest on SQLite (and PostgreSQL if there)"
	echo "make bench    benchmarks/run.py: throughput and per-request cost (BENCH_ARGS=--quick)"
	echo "make format   ruff format and ruff check --fix"
	echo "make clean    remove caches and build files (keeps $(VENV) and db.sqlite3)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@

install: $(STAMP)

# seed_demo also creates the signing key when there is none, so rotatekeys is not needed.
demo: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Is a PostgreSQL server answering on 127.0.0.1:5432? pg_isready when installed, else a socket.
define pg_answers
if command -v pg_isready >/dev/null 2>&1; then
	pg_isready -q -h 127.0.0.1 -p 5432
else
	$(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2).close()" 2>/dev/null
fi
endef

# Is Redis answering on 127.0.0.1:6379? Then the Redis-backed tests run too.
define redis_answers
$(BIN)/python -c "import socket; s = socket.create_connection(('127.0.0.1', 6379), 2); s.sendall(b'PING\r\n'); assert s.recv(16).startswith(b'+PONG')" 2>/dev/null
endef

# The browser tests need Debian's Chromium; install it when missing and we may (root),
# else they are skipped with the reason.
chromium:
	@if [ -x /usr/bin/chromium ]; then exit 0; fi
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then
		echo "==> installing Debian's chromium for the browser tests"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } ||
			echo "==> chromium could not be installed; the browser tests are skipped"
	else
		echo "==> /usr/bin/chromium is missing; the browser tests are skipped (apt-get install chromium)"
	fi

test: lint chromium
	@passed=(); failed=()
	if [ -z "$${REDIS_URL:-}" ] && ( $(redis_answers) ); then export REDIS_URL=redis://127.0.0.1:6379/0; fi
	if [ -n "$${REDIS_URL:-}" ]; then echo "==> Redis-backed tests use $$REDIS_URL"; else echo "==> Redis-backed tests skipped: REDIS_URL is unset and nothing answers on 127.0.0.1:6379"; fi
	echo "==> pytest on SQLite"
	if env -u DATABASE_URL $(BIN)/pytest $(PYTEST_ARGS); then passed+=(SQLite); else failed+=(SQLite); fi
	if [ -n "$${DATABASE_URL:-}" ]; then
		pg_url="$$DATABASE_URL"; skipped=""
	elif ( $(pg_answers) ); then
		pg_url="$(PG_URL)"; skipped=""
	else
		pg_url=""; skipped="PostgreSQL not run: DATABASE_URL is unset and nothing answers on 127.0.0.1:5432"
	fi
	if [ -n "$$pg_url" ]; then
		# Never print a password.
		shown=$$(sed -E 's#//([^:/@]*):[^@]*@#//\1:***@#' <<<"$$pg_url")
		case "$$pg_url" in postgres*) label="PostgreSQL ($$shown)";; *) label="$$shown";; esac
		echo "==> pytest on $$label"
		if DATABASE_URL="$$pg_url" $(BIN)/pytest $(PYTEST_ARGS); then
			passed+=("$$label"); else failed+=("$$label"); fi
	fi
	echo
	join() { local out; out=$$(printf '%s, ' "$$@"); out="$${out%, }"; echo "$${out:-none}"; }
	echo "==> Tests passed on: $$(join "$${passed[@]}")"
	if [ $${#failed[@]} -gt 0 ]; then echo "==> Tests FAILED on: $$(join "$${failed[@]}")"; fi
	if [ -n "$$skipped" ]; then echo "==> $$skipped"; fi
	[ $${#failed[@]} -eq 0 ]

clean:
	rm -rf .pytest_cache .ruff_cache build dist *.egg-info .tox
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
