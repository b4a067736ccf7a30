"""Operational SLIs of the target: latency, time to first token, errors."""

from __future__ import annotations

from cujeval.records import GoldenCase, Observation
from cujeval.scorers.base import Score, Scorer, scorer, single


@scorer("latency_s", needs=("latency_s",))
def latency_s() -> Scorer:
    """Wall-clock seconds of the target call; a failed call has no latency to judge."""

    async def score(case: GoldenCase, obs: Observation) -> Score:
        if not obs.ok:
            return Score.unscorable(f"target error ({obs.status})")
        if obs.latency_s is None:
            return Score.unscorable("the target call reported no latency")
        return Score(value=float(obs.latency_s))

    return single("latency_s", score)


@scorer("ttft_s", needs=("ttft_s",))
def ttft_s() -> Scorer:
    """Seconds to the first streamed token; only streamed responses have one."""

    async def score(case: GoldenCase, obs: Observation) -> Score:
        if obs.ttft_s is None:
            return Score.unscorable("no time to first token (the response was not streamed)")
        return Score(value=float(obs.ttft_s))

    return single("ttft_s", score)


@scorer("error", needs=("status",))
def error() -> Scorer:
    """True when the target call failed (status other than "ok"); always scorable."""

    async def score(case: GoldenCase, obs: Observation) -> Score:
        return Score(
            value=not obs.ok,
            explanation="" if obs.ok else (obs.error or obs.status),
            metadata={"status": obs.status, "error": obs.error},
        )

    return single("error", score)
