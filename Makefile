# Two commands: `make book` and `make test`. Both set up .venv from constraints.txt first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP_VERSION := 26.3
# Strict Sphinx: warnings are errors, nitpicky references, report every problem; --all
# re-reads (so re-executes) every page, not only those Sphinx thinks changed.
BOOK_FLAGS := -W -n --keep-going --all

# Execution cache (jupyter-cache, `execute_notebooks: cache` in _config.yml). jupyter-cache
# re-executes a notebook whose code changed; the Makefile adds everything else a notebook's
# outputs depend on: beamkit's source, the shipped data and the pinned environment. Their hash
# is kept in $(CACHE_KEY_FILE); when it differs the cache is wiped before the build.
CACHE_DIR      := _build/.jupyter_cache
CACHE_KEY_FILE := _build/.cache-key
CACHE_INPUTS   := lib data pyproject.toml constraints.txt
cache_key = $(shell find $(CACHE_INPUTS) -type f -not -path '*/__pycache__/*' -not -name '*.pyc' \
	| LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)

.PHONY: help setup lint book fresh-book browser test unit bench clean

help:
	@echo "make book   set up .venv and build the executed book into _build/html (cached execution)"
	@echo "make test   set up .venv, lint, run the unit tests, execute every notebook from clean,"
	@echo "            build with -W, then check every page in headless Chromium (make browser)"
	@echo "make lint   ruff (rules in pyproject.toml): fast, the first step of make test"
	@echo "make fresh-book  build with an empty execution cache (every notebook executed)"
	@echo "make browser     check the built _build/html in headless Chromium, screenshots in"
	@echo "                 _build/screenshots/ (skips with a message if no Chromium; CI=1: error)"
	@echo "make bench  run the benchmarks in benchmarks/ (ratios against a baseline)"
	@echo "make clean  remove _build (keep .venv)"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "pip==$(PIP_VERSION)"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[book,test]"
	touch $(STAMP)

setup: $(STAMP)

# Cached execution: unchanged notebooks are not re-executed (see CACHE_* above).
book: $(STAMP)
	@key=$(cache_key); mkdir -p _build; \
	if [ "$$(cat $(CACHE_KEY_FILE) 2>/dev/null)" != "$$key" ]; then \
		echo "execution cache: beamkit, data or pins changed (key $$key): clearing $(CACHE_DIR)"; \
		rm -rf $(CACHE_DIR); echo "$$key" > $(CACHE_KEY_FILE); \
	fi
	$(BIN)/jupyter-book build . $(BOOK_FLAGS)
	@echo "Book built: open _build/html/index.html"

# Every notebook executed from clean (what `make test` and CI build).
fresh-book: $(STAMP)
	rm -rf $(CACHE_DIR) $(CACHE_KEY_FILE)
	$(MAKE) book

# Every page of _build/html in headless Chromium (tests/test_browser.py, marker `browser`).
browser: $(STAMP)
	$(BIN)/python -m pytest -m browser tests/test_browser.py

unit: $(STAMP)
	$(BIN)/python -m pytest -m "not browser"

# ruff first: it takes a second and catches what would fail later.
lint: $(STAMP)
	$(BIN)/ruff check lib tests benchmarks tools

test: lint unit fresh-book browser

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf _build
