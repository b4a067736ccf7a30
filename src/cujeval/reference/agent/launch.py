"""Start the reference agent service as a subprocess on a free 127.0.0.1 port, and stop it.

with start_agent_service(faults={"wrong_tool": 0.5}) as service:
    ...  # POST f"{service.url}/agent"
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from cujeval.reference.agent.config import AGENT_RATE_NAMES
from cujeval.reference.launch import RunningService, fault_args, start_service

AGENT_FAULT_FLAGS = {
    **{name: f"--{name.replace('_', '-')}" for name in AGENT_RATE_NAMES},
    "latency_ms": "--latency-ms",
    "seed": "--seed",
}


def agent_command(*, faults: Mapping[str, float] | None = None) -> list[str]:
    """The argv that runs the agent service with ``faults`` (host and port added at spawn)."""
    flags = fault_args(faults, flags=AGENT_FAULT_FLAGS, rates=AGENT_RATE_NAMES)
    return [sys.executable, "-m", "cujeval.reference.agent", *flags]


def start_agent_service(
    *,
    faults: Mapping[str, float] | None = None,
    port: int | None = None,
    ready_timeout_s: float = 60,
) -> RunningService:
    """Start ``python -m cujeval.reference.agent`` and wait until ``/healthz`` answers.

    ``faults``: any of :data:`AGENT_FAULT_FLAGS` (rates in 0..1, ``latency_ms``, ``seed``);
    unknown names or bad values raise InputError before anything starts. Raises RunAborted,
    with the tail of the service's output, if it exits or is not ready in ``ready_timeout_s``.
    """
    return start_service(
        agent_command(faults=faults),
        port=port,
        ready_timeout_s=ready_timeout_s,
        health_path="/healthz",
        label="reference agent service",
    )
