"""The main job on embedded defaults: the bundled reference services (RAG and agent) on free
ports, the bundled suites against them, the reports, and the gate's exit code (the worse of
the two runs: 3 over 1 over 0)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cujeval._util.paths import project_root
from cujeval.errors import InputError, UnknownNameError


@dataclass(frozen=True)
class DemoJourney:
    key: str  # rag | agent
    suite: str  # relative to the bundled root
    url_variable: str
    faults: tuple[str, ...]  # knobs only this service has
    rates: tuple[str, ...]


SHARED_FAULTS = ("latency_ms", "seed")  # both services have them; `rag.`/`agent.` picks one
RAG = DemoJourney(
    "rag",
    "suites/support_rag.yaml",
    "CUJEVAL_RAG_URL",
    ("error_rate", "hallucination_rate", "drop_contexts"),
    ("error_rate", "hallucination_rate", "drop_contexts"),
)
AGENT = DemoJourney(
    "agent",
    "suites/support_agent.yaml",
    "CUJEVAL_AGENT_URL",
    (
        "wrong_tool",
        "wrong_argument",
        "skip_confirmation",
        "extra_steps",
        "tool_errors",
        "forbidden_refund",
    ),
    (
        "wrong_tool",
        "wrong_argument",
        "skip_confirmation",
        "extra_steps",
        "tool_errors",
        "forbidden_refund",
    ),
)
DEMOS = {d.key: d for d in (RAG, AGENT)}
FAULTS = (*SHARED_FAULTS, *RAG.faults, *AGENT.faults)
DEMO_SUITE = RAG.suite  # kept for callers that name the RAG suite
URL_VARIABLE = RAG.url_variable


def parse_faults(text: str | None) -> dict[str, dict[str, float]]:
    """``'error_rate=0.5,wrong_tool=0.3,agent.latency_ms=200'`` -> knobs per service.

    A knob only one service has goes to it; ``latency_ms`` and ``seed`` go to both unless
    prefixed ``rag.`` or ``agent.``."""
    out: dict[str, dict[str, float]] = {key: {} for key in DEMOS}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        service, dot, knob = name.partition(".")
        targets = [service] if dot and service in DEMOS else list(DEMOS)
        knob = knob if dot and service in DEMOS else name
        known = [k for k in targets if knob in (*SHARED_FAULTS, *DEMOS[k].faults)]
        if not known:
            choices = [*FAULTS, *(f"{k}.{s}" for k in DEMOS for s in SHARED_FAULTS)]
            raise UnknownNameError("fault", name, choices, field="--faults")
        try:
            number = float(value)
        except ValueError:
            raise InputError(
                f"{name}={value!r}: the value must be a number", field="--faults"
            ) from None
        is_rate = any(knob in DEMOS[k].rates for k in known)
        if not sep or number < 0 or (is_rate and number > 1):
            raise InputError(
                f"{name}: expected {name}=VALUE with "
                + ("0 <= VALUE <= 1" if is_rate else "VALUE >= 0"),
                field="--faults",
            )
        for key in known:
            out[key][knob] = number
    return out


def run_demo(
    faults: dict[str, dict[str, float]],
    run: Callable[[Path], int],
    *,
    journeys: tuple[str, ...] = ("rag", "agent"),
) -> int:
    """Start each chosen reference service, run its bundled suite through ``run`` (which
    returns the exit code), stop the service; return the worst exit code."""
    from cujeval._util.extras import missing
    from cujeval.engine.plan import validate
    from cujeval.spec.suite import load_suite

    if hint := missing("reference", "cujeval demo", "fastapi", "uvicorn"):
        raise InputError(hint)
    chosen = [DEMOS[k] for k in journeys]
    suites = {}
    for demo in chosen:  # bad input fails before any service spends time starting
        path = project_root() / demo.suite
        if not path.exists():
            raise InputError("the bundled demo suite is missing", file=path)
        validate(load_suite(path))
        suites[demo.key] = path
    codes = []
    for demo in chosen:
        knobs = faults.get(demo.key, {})
        shown = ", ".join(f"{k}={v:g}" for k, v in knobs.items()) or "none"
        print(f"starting the reference {demo.key} service (faults: {shown}) ...", file=sys.stderr)
        with _service(demo, knobs) as url, _env(demo.url_variable, url):
            print(f"reference {demo.key} service at {url}", file=sys.stderr)
            codes.append(run(suites[demo.key]))
    from cujeval.core.gate import worst

    return worst(codes)


@contextmanager
def _service(demo: DemoJourney, knobs: dict[str, float]) -> Iterator[str]:
    if demo.key == "agent":
        from cujeval.reference.agent import start_agent_service

        with start_agent_service(faults=knobs) as service:
            yield service.url
    else:
        from cujeval.reference.launch import start_rag_service

        with start_rag_service(faults=knobs) as service:
            yield service.url


@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous
