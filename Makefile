# Reflex template: development commands. `make` alone lists them.
.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
# `pip install uv` puts uv in $(PYTHON)'s scripts folder, which may not be on PATH:
# append it, so that every command below (rendered projects' Makefiles too) finds uv.
export PATH := $(PATH):$(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
UV ?= $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
# Two workers halve the suite's time on a 2-core machine (README.md has the figures).
# The slowest tests are collected first (tests/conftest.py) and handed out one at a
# time, so the two workers share them and the short tests fill the gaps at the end.
# (Not `--dist loadgroup`: pytest-xdist 3.8's groups do nothing under pytest 9.2,
# pytest-dev/pytest-xdist#1386; no test relies on them.)
PYTEST_WORKERS ?= 2
PYTEST_XDIST := -n $(PYTEST_WORKERS) --dist load --maxschedchunk 1

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: uv
uv: # Install uv with pip when it is missing (a fresh machine has only Python)
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv

.PHONY: install
install: uv ## Create .venv with the locked development dependencies
	$(UV) sync --locked --group dev

.PHONY: test
test: install ## Run the whole suite: unit tests and rendered projects (slow)
	$(UV) run --locked pytest $(PYTEST_XDIST) --durations=10

.PHONY: test-unit
test-unit: install ## Run the fast unit tests only
	$(UV) run --locked pytest $(PYTEST_XDIST) tests/unit

.PHONY: lint
lint: install ## Check lint, formatting and types
	$(UV) run --locked ruff check .
	$(UV) run --locked ruff format --check .
	$(UV) run --locked mypy

.PHONY: format
format: install ## Format the code and apply safe lint fixes
	$(UV) run --locked ruff check --fix .
	$(UV) run --locked ruff format .

.PHONY: demo
demo: install ## Render the default project and run it end to end
	$(UV) run --locked python scripts/demo.py

.PHONY: bench
bench: install ## Benchmark the generated project's event store
	$(UV) run --locked python scripts/bench.py

.PHONY: clean
clean: ## Remove test renders, the shared uv cache and tool caches (keeps .venv)
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
	find . -path ./.venv -prune -o -type d -name __pycache__ -exec rm -rf {} +
