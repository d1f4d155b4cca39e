# Two commands on a fresh Debian machine with Python 3.10+:
#   make demo   -- create .venv, install, transcribe the bundled sample offline, say where the output is
#   make test   -- create/update .venv, install what the tests need (Debian packages too when root), run the suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint mutation venv system-packages clean docs-images

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests use (a browser for the widget tests, ffmpeg for m4a/webm decoding, node for the
# recorder's resampler); only when we may install them. Tests fail, rather than skip, when one is missing.
system-packages: $(STAMP)
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  missing=""; \
	  for p in chromium ffmpeg nodejs; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  fi; \
	else echo "not root: install chromium, ffmpeg and nodejs yourself (the tests that need them fail without)"; fi
	@# real two-speaker recordings for the speaker tests (Debian's transcriber examples, GPL; not stored in the repo)
	$(PY) scripts/fetch_real_speech.py >/dev/null

demo: $(STAMP)
	$(PY) -m voxnb demo --out demo-output

test: $(STAMP) system-packages lint
	$(PY) -m pytest

# the README's pictures, drawn by the real code (scripts/docs_images.py; the widgets need chromium)
docs-images: $(STAMP) system-packages
	$(PY) scripts/docs_images.py --out docs/images

# mutation testing of the core modules (long: see docs/mutation.md); not part of `make test`.
# MUTATION_ARGS=--unkilled re-runs only what the last run did not kill; --report only reports.
mutation: $(STAMP)
	$(PY) scripts/mutation.py $(MUTATION_ARGS)

# style, formatting and types: part of `make test`
lint: $(STAMP)
	$(PY) -m ruff check voxnb tests benchmarks scripts
	$(PY) -m ruff format --check voxnb tests benchmarks scripts
	$(PY) -m mypy

clean:
	rm -rf $(VENV) demo-output .pytest_cache
