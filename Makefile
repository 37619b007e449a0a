# gsr-eda developer entry points. `make demo` and `make test` work on a fresh machine:
# they create .venv, install the CPU build of torch (no multi-GB CUDA wheels), then the
# project itself (its C++/CUDA core is compiled by CMake through scikit-build-core).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0
STAMP  := $(VENV)/.gsr-eda-installed
CORE_SOURCES := $(shell find cpp -type f) CMakeLists.txt pyproject.toml

.PHONY: setup test demo bench clean

setup: $(STAMP)

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

clean:
	rm -rf build $(VENV) demo_out
