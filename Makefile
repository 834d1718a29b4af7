# Every target bootstraps .venv from nothing: a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## demo: the whole job on the bundled example, from scratch (no account, no network): preview
## the next issue into preview/, then send it to the example's readers through the outbox.
## --since reaches back to the example feed's items, which are dated November 2026.
demo: $(STAMP)
	rm -rf .digest outbox preview
	$(BIN)/digest preview --list daily --out preview --since 2026-11-01
	$(BIN)/digest send --list daily --since 2026-11-01

## test: lint, format check and the test suite
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python bench/bench_render.py
	$(BIN)/python bench/bench_subscribers.py
	$(BIN)/python bench/bench_gather.py
	$(BIN)/python bench/bench_send.py

clean:
	rm -rf $(VENV) preview .pytest_cache .ruff_cache
