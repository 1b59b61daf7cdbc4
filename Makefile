# Two commands: `make book` and `make test`. Both set up .venv from constraints.txt first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP_VERSION := 26.3
# Strict Sphinx: warnings are errors, nitpicky references, report every problem; --all
# re-reads (so re-executes) every page, not only those Sphinx thinks changed.
BOOK_FLAGS := -W -n --keep-going --all

.PHONY: help setup lint book test unit bench clean

help:
	@echo "make book   set up .venv and build the executed book into _build/html"
	@echo "make lint   ruff (rules in pyproject.toml): fast, the first step of make test"
	@echo "make test   set up .venv, lint, run the unit tests, execute every notebook, build with -W"
	@echo "make bench  run the benchmarks in benchmarks/ (ratios against a baseline)"
	@echo "make clean  remove _build (keep .venv)"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "pip==$(PIP_VERSION)"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[book,test]"
	touch $(STAMP)

setup: $(STAMP)

# Notebooks are executed on every build (execute_notebooks: force in _config.yml).
book: $(STAMP)
	$(BIN)/jupyter-book build . $(BOOK_FLAGS)
	@echo "Book built: open _build/html/index.html"

unit: $(STAMP)
	$(BIN)/python -m pytest

# ruff first: it takes a second and catches what would fail later.
lint: $(STAMP)
	$(BIN)/ruff check lib tests benchmarks

test: lint unit book

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf _build
