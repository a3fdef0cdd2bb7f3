# Parley — two commands from a fresh clone:  make up   |   make test
SHELL := /bin/bash
PYTHON ?= python3
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
VENV := .venv
export UV_PYTHON_DOWNLOADS := never

.PHONY: help install web up test test-fast lint format eval bench clean

help:
	@echo "make up      install what is needed and run the whole platform at http://127.0.0.1:8080"
	@echo "make test    install what is needed and run every test"
	@echo "make lint    ruff + mypy;  make eval  retrieval evaluation;  make bench  benchmarks"

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

$(VENV)/.installed: $(UV) pyproject.toml uv.lock $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
	bash scripts/system-deps.sh
	$(UV) sync --all-packages --python '>=3.11'
	@touch $@

install: $(VENV)/.installed

# The console: packages from the lockfile, rebuilt when a source changed (Node from scripts/node.sh).
web: install
	bash scripts/web.sh build

up: install web
	$(VENV)/bin/python -m parley_devstack up

test: install web
	bash scripts/system-deps.sh test
	$(VENV)/bin/ruff check .
	bash scripts/web.sh test
	$(VENV)/bin/pytest -q --durations=15

test-fast: install
	$(VENV)/bin/pytest -q -m "not slow" -x

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy libs services

eval: install
	$(VENV)/bin/python -m rag.eval

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(VENV)/bin/python $$script || exit 1; done

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
