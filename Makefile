# gsr-eda developer entry points. `make demo` and `make test` work on a fresh machine:
# they create .venv, install the CPU build of torch (no multi-GB CUDA wheels), then the
# project itself (its C++/CUDA core is compiled by CMake through scikit-build-core).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0
STAMP  := $(VENV)/.gsr-eda-installed
CORE_SOURCES := $(shell find cpp -type f) CMakeLists.txt pyproject.toml
# Pinned so that `make lint` gives the same verdict on every machine.
LINT_TOOLS := ruff==0.17.5 clang-format==23.1.3
LINT_STAMP := $(VENV)/.lint-tools
CPP_FILES := $(shell find cpp -name '*.h' -o -name '*.cpp' -o -name '*.cuh' -o -name '*.cu')

.PHONY: setup test demo lint clean router-tools

setup: router-tools $(STAMP)

# Debian's qrouter (`gsr-eda route`) and the OSU 0.18 um library its tests route with. Installed
# when missing and make runs as root (CI); otherwise make says what to install and carries on.
ROUTER_PACKAGES := qrouter graywolf yosys qflow qflow-tech-osu018
OSU018_LEF := /usr/share/qflow/tech/osu018/osu018_stdcells.lef
router-tools:
	@if command -v qrouter >/dev/null 2>&1 && [ -f $(OSU018_LEF) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "qrouter missing: installing $(ROUTER_PACKAGES)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(ROUTER_PACKAGES)) \
	    || echo "warning: apt-get failed; gsr-eda route and its tests will skip"; \
	else echo "note: qrouter not found; for gsr-eda route (and its tests) run as root: apt-get install -y $(ROUTER_PACKAGES)"; fi

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

# torch first and pinned: a bare `torch` requirement would pull the CUDA build on a CPU machine.
$(STAMP): $(VENV)/bin/python $(CORE_SOURCES)
	$(PY) -m pip install "torch==$(TORCH_VERSION)"
	$(PY) -m pip install "scikit-build-core>=0.10" "pybind11>=2.12"
	$(PY) -m pip install --no-build-isolation -e ".[test]"
	touch $@

test: setup
	$(PY) -m pytest -q

demo: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/demo.sh

$(LINT_STAMP): $(VENV)/bin/python
	$(PY) -m pip install $(LINT_TOOLS)
	touch $@

# Style gate: ruff (lint and format, configured in pyproject.toml) and clang-format (.clang-format).
lint: $(LINT_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/clang-format --dry-run --Werror $(CPP_FILES)

clean:
	rm -rf build $(VENV) demo_out
