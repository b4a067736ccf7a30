# Two commands do all set-up on a fresh clone:
#   make demo   creates .venv, installs cujeval, runs the main job on embedded defaults
#   make test   creates .venv, installs cujeval and the test tools, runs lint, types and tests
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LLAMA  := $(VENV)/.llama-cpp

.PHONY: demo test lint typecheck pytest install clean benchmarks

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[reference,judge,ray,dev]'
	@touch $(STAMP)

$(LLAMA): $(STAMP) scripts/install_llama_cpp.sh
	bash scripts/install_llama_cpp.sh $(PY)
	@touch $(LLAMA)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/cujeval demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy src

pytest: $(STAMP) $(LLAMA)
	$(PY) -m pytest -q

test: lint typecheck pytest

benchmarks: $(STAMP)
	$(PY) benchmarks/runner_overhead.py

clean:
	rm -rf $(VENV) reports/*/ mlflow.db mlruns .cujeval
