# Every target bootstraps .venv from nothing: a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# make install: digest for everyday use, like pipx does it: its own venv (a copy, not the clone,
# so the clone can move or go) with a link on your PATH. PREFIX=/opt/digest or BINDIR=... move it.
PREFIX  ?= $(HOME)/.local
BINDIR  ?= $(PREFIX)/bin
VENVDIR ?= $(PREFIX)/share/digest/venv

.PHONY: demo test lint format bench clean install uninstall

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
	$(BIN)/python bench/bench_unsubscribe.py
	$(BIN)/python bench/bench_group.py

## install: `digest` on your PATH as $(BINDIR)/digest, a link into its own venv $(VENVDIR).
## Run it again after a git pull to update. It never replaces a digest it did not put there.
## pip is upgraded first: the pip a new venv gets (23.2 with Python 3.11) drops lxml's html-clean
## extra, and trafilatura then fails to import.
install:
	@if { [ -e "$(BINDIR)/digest" ] || [ -L "$(BINDIR)/digest" ]; } && [ "$$(readlink "$(BINDIR)/digest")" != "$(VENVDIR)/bin/digest" ]; then \
	    echo "make install: $(BINDIR)/digest exists and is not digest's link; remove it or set BINDIR=..." >&2; \
	    exit 1; \
	fi
	test -x "$(VENVDIR)/bin/python" || $(PYTHON) -m venv "$(VENVDIR)"
	"$(VENVDIR)/bin/python" -m pip install --quiet --upgrade pip
	"$(VENVDIR)/bin/python" -m pip install --quiet "$(CURDIR)"
	mkdir -p "$(BINDIR)"
	ln -sfn "$(VENVDIR)/bin/digest" "$(BINDIR)/digest"
	@"$(BINDIR)/digest" --version
	@case ":$$PATH:" in \
	    *":$(BINDIR):"*) \
	        found=$$(command -v digest); \
	        if [ "$$found" != "$(BINDIR)/digest" ]; then \
	            echo "Note: $$found comes first on your PATH; $(BINDIR)/digest is the new one."; \
	        else echo "Installed: digest runs $(BINDIR)/digest. Try: digest --help"; fi ;; \
	    *) echo "Installed $(BINDIR)/digest, but $(BINDIR) is not on your PATH. For this shell:"; \
	       echo '    export PATH="$(BINDIR):$$PATH"'; \
	       echo "and to keep it, add that line to ~/.bashrc (or ~/.zshrc, ~/.profile)." ;; \
	esac

## uninstall: remove what make install made (same PREFIX/BINDIR); newsletters are untouched.
uninstall:
	@if [ "$$(readlink "$(BINDIR)/digest")" = "$(VENVDIR)/bin/digest" ]; then \
	    rm -f "$(BINDIR)/digest"; echo "removed $(BINDIR)/digest"; fi
	@if [ -x "$(VENVDIR)/bin/digest" ]; then \
	    rm -rf "$(VENVDIR)"; echo "removed $(VENVDIR)"; \
	    rmdir "$$(dirname "$(VENVDIR)")" 2>/dev/null || true; fi

clean:
	rm -rf $(VENV) preview .pytest_cache .ruff_cache
