#!/usr/bin/env bash
# Install llama-cpp-python[server] into a Python environment, building the wheel only once.
#
# Usage: scripts/install_llama_cpp.sh [PYTHON]
#   PYTHON               interpreter of the target venv (default: .venv/bin/python, else python3)
#   CUJEVAL_WHEEL_CACHE  where the built wheel is kept (default: ~/.cache/cujeval/wheels)
#
# The wheel is built without AMX (the VM faults on AMX although the CPU advertises it) and
# with --no-cache-dir so pip never reuses a wheel built with other flags. Later runs install
# from the cached wheel; a run with the package already installed does nothing.
set -euo pipefail

VERSION="0.3.36"
PYTHON="${1:-}"
if [[ -z "${PYTHON}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=".venv/bin/python"; else PYTHON="python3"; fi
fi
CACHE="${CUJEVAL_WHEEL_CACHE:-${HOME}/.cache/cujeval/wheels}"
CACHE="${CACHE}/llama-cpp-python-${VERSION}-noamx"

installed="$("${PYTHON}" -c 'import importlib.metadata as m
try:
    print(m.version("llama-cpp-python"))
except m.PackageNotFoundError:
    print("")' 2>/dev/null || true)"
if [[ "${installed}" == "${VERSION}" ]] && "${PYTHON}" -c 'import llama_cpp.server' 2>/dev/null; then
  exit 0
fi

mkdir -p "${CACHE}"
if ! compgen -G "${CACHE}/llama_cpp_python-${VERSION}-*.whl" >/dev/null; then
  echo "building llama-cpp-python ${VERSION} (a few minutes) into ${CACHE}" >&2
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_BMI2=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" \
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    "${PYTHON}" -m pip wheel --quiet --no-cache-dir --no-deps \
      -w "${CACHE}" "llama-cpp-python==${VERSION}"
fi

"${PYTHON}" -m pip install --quiet --disable-pip-version-check \
  --only-binary llama-cpp-python --find-links "${CACHE}" "llama-cpp-python[server]==${VERSION}"
"${PYTHON}" -c 'import llama_cpp.server' >/dev/null
