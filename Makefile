# Two commands do all set-up on a fresh clone:
#   make demo   creates .venv, installs cujeval, runs the main job on embedded defaults
#   make test   creates .venv, installs cujeval with every extra and the test tools (the dev
#               extra, torch included), runs lint, types and tests
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LLAMA  := $(VENV)/.llama-cpp
# MLflow's newest client beside the pinned stack, for the interoperation tests only: mlflow
# 3.18.0 needs mlflow-tracing 3.18.0, which the index does not serve; mlflow-skinny 3.18.0
# (the same client code) installs into a folder of its own and is put first on PYTHONPATH.
MLFLOW_NEXT := $(VENV)/mlflow-3.18

.PHONY: demo test lint typecheck pytest install clean benchmarks

# torch comes with the dev extra only (cujeval runs MiniLM in NumPy). PyPI's Linux torch is the
# CUDA build, with 3 GB more of NVIDIA libraries;
#   make install TORCH_INDEX=https://download.pytorch.org/whl/cpu
# first takes the CPU build of the version constraints.txt pins from PyTorch's index.
TORCH_INDEX ?=

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(if $(TORCH_INDEX),$(PY) -m pip install --quiet -c constraints.txt torch --index-url $(TORCH_INDEX))
	$(PY) -m pip install --quiet -c constraints.txt -e '.[all,dev]'
	@touch $(STAMP)

$(LLAMA): $(STAMP) scripts/install_llama_cpp.sh
	bash scripts/install_llama_cpp.sh $(PY)
	@touch $(LLAMA)

$(MLFLOW_NEXT)/.installed: $(STAMP)
	$(PY) -m pip install --quiet --no-deps --target $(MLFLOW_NEXT) mlflow-skinny==3.18.0
	@touch $(MLFLOW_NEXT)/.installed

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/cujeval demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy src
	$(VENV)/bin/lint-imports --no-cache

# one worker a core (at most 4: the end-to-end tests start services of their own); an idle
# worker takes tests queued for a busy one, so a long test at the end does not hold the run
pytest: $(STAMP) $(LLAMA) $(MLFLOW_NEXT)/.installed
	$(PY) -m pytest -q -n auto --maxprocesses 4 --dist worksteal --durations 10

test: lint typecheck pytest

benchmarks: $(STAMP)
	$(PY) benchmarks/runner_overhead.py

clean:
	rm -rf $(VENV) reports/*/ mlflow.db mlruns .cujeval
