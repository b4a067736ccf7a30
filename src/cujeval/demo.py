"""The main job on embedded defaults: the bundled reference RAG service on a free port, the
bundled suite against it, the reports, the gate's exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from cujeval.errors import InputError, UnknownNameError
from cujeval.paths import project_root

FAULTS = ("latency_ms", "error_rate", "hallucination_rate", "drop_contexts")
RATES = ("error_rate", "hallucination_rate", "drop_contexts")
DEMO_SUITE = "suites/support_rag.yaml"
URL_VARIABLE = "CUJEVAL_RAG_URL"


def parse_faults(text: str | None) -> dict[str, float]:
    """``'error_rate=0.5,latency_ms=200'`` -> {"error_rate": 0.5, "latency_ms": 200.0}."""
    out: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if name not in FAULTS:
            raise UnknownNameError("fault", name, FAULTS, field="--faults")
        try:
            number = float(value)
        except ValueError:
            raise InputError(
                f"{name}={value!r}: the value must be a number", field="--faults"
            ) from None
        if not sep or number < 0 or (name in RATES and number > 1):
            raise InputError(
                f"{name}: expected {name}=VALUE with "
                + ("0 <= VALUE <= 1" if name in RATES else "VALUE >= 0"),
                field="--faults",
            )
        out[name] = number
    return out


def run_demo(faults: dict[str, float], run: Callable[[Path], int]) -> int:
    import importlib.util

    from cujeval.reference.launch import start_rag_service
    from cujeval.runner import validate
    from cujeval.suite import load_suite

    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        raise InputError(
            "cujeval demo needs the reference services' extra: pip install 'cujeval[reference]'"
        )
    suite = project_root() / DEMO_SUITE
    if not suite.exists():
        raise InputError("the bundled demo suite is missing", file=suite)
    validate(load_suite(suite))  # bad input fails before the service spends time starting
    shown = ", ".join(f"{k}={v:g}" for k, v in faults.items()) or "none"
    print(f"starting the reference RAG service (faults: {shown}) ...", file=sys.stderr)
    with start_rag_service(faults=faults) as service:
        print(f"reference RAG service at {service.url}", file=sys.stderr)
        previous = os.environ.get(URL_VARIABLE)
        os.environ[URL_VARIABLE] = service.url
        try:
            return run(suite)
        finally:
            if previous is None:
                os.environ.pop(URL_VARIABLE, None)
            else:
                os.environ[URL_VARIABLE] = previous
