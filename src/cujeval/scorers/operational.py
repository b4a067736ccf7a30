"""Operational SLIs of the target: latency, time to first token, errors."""

from __future__ import annotations

from cujeval.scorers.base import Score, Scorer, Scores, scorer, single
from cujeval.spec.records import GoldenCase, Observation


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
        if obs.ttft_s is not None:
            return Score(value=float(obs.ttft_s))
        if obs.streamed:
            return Score.unscorable("no time to first token: no content was streamed")
        if not obs.ok:
            return Score.unscorable(f"target error ({obs.status})")
        return Score.unscorable("no time to first token: the response was not streamed")

    return single("ttft_s", score)


@scorer("finish_reason", needs=("finish_reason",), outputs=("cut_off", "content_filtered"))
def finish_reason() -> Scorer:
    """Why the answer ended: ``cut_off`` (finish_reason ``length``: cut at max_tokens) and
    ``content_filtered`` (``content_filter``), for SLOs such as ``cut_off == false``."""

    async def score(case: GoldenCase, obs: Observation) -> Scores:
        reason = obs.finish_reason
        if reason is None:
            why = (
                "the target reported no finish_reason" if obs.ok else f"target error ({obs.status})"
            )
            return {"cut_off": Score.unscorable(why), "content_filtered": Score.unscorable(why)}
        meta = {"finish_reason": reason}
        return {
            "cut_off": Score(value=reason == "length", explanation=reason, metadata=meta),
            "content_filtered": Score(
                value=reason == "content_filter", explanation=reason, metadata=meta
            ),
        }

    return score


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
