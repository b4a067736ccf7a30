"""One case's path, the same on every executor (local, Ray) and in load and offline scoring:
call the target under the retry policy, judge an empty or cut answer, score, build the row."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from cujeval._util.retry import (
    AdaptiveLimit,
    GiveUp,
    RateLimit,
    RetryPolicy,
    target_retry_after,
    target_retryable,
)
from cujeval.errors import CujevalError, RunAborted, TargetError, TargetHTTPError, TargetTimeout
from cujeval.scorers.base import BuiltScorer, Score
from cujeval.spec.journal import case_hash
from cujeval.spec.records import GoldenCase, Observation
from cujeval.spec.suite import Settings
from cujeval.targets import Target


async def call_case(
    target: Target,
    case: GoldenCase,
    settings: Settings,
    rng: random.Random,
    *,
    limit: AdaptiveLimit | None = None,
    give_up: GiveUp | None = None,
    pace: RateLimit | None = None,
) -> Observation:
    """One case through the target under the retry policy. Auth refusals (401/403) and a
    target that gave up (see cujeval._util.retry.GiveUp) abort the run; any other final failure is
    recorded on the Observation, never raised. ``attempts`` counts the calls made."""
    attempts = 0

    async def once() -> Observation:
        nonlocal attempts
        attempts += 1
        if pace is not None:
            await pace.wait()
        if limit is None:
            return await target.call(case)
        async with limit:
            obs = await target.call(case)
        limit.success()
        return obs

    def failed(exc: BaseException) -> None:
        if isinstance(exc, TargetHTTPError):
            if exc.status in (401, 403):
                raise RunAborted(f"the target refused authorisation: {exc}")
            if exc.status == 429 and limit is not None:
                limit.throttled()
        if give_up is not None and isinstance(exc, TargetError):
            give_up.failure(exc)

    policy = RetryPolicy.from_settings(settings)
    try:
        async with asyncio.timeout(settings.case_deadline_s):
            obs = await policy.run(
                once,
                retryable=target_retryable,
                retry_after=target_retry_after,
                rng=rng,
                on_failure=failed,
            )
    except TimeoutError:
        err: TargetError = TargetTimeout(
            f"case {case.id!r}: no answer within the case deadline of "
            f"{settings.case_deadline_s:g} s ({attempts} attempts)"
        )
    except TargetError as exc:
        err = exc
    else:
        if give_up is not None:
            give_up.success()
        return obs if attempts == 1 else obs.model_copy(update={"attempts": attempts})
    kind = f"http_{err.status}" if isinstance(err, TargetHTTPError) else err.kind
    return Observation(status=kind, error=str(err), attempts=attempts)


async def score_case(
    scorers: list[BuiltScorer], case: GoldenCase, obs: Observation
) -> tuple[dict[str, Score], list[str]]:
    """Every scorer on one case, and the names of the scorers that failed on it.

    A scorer that raises is a *scorer error*: its declared SLIs are not scorable for the case,
    flagged ``scorer_error``, and counted apart from legitimately unscorable cases. So is a
    Score a scorer flags itself (a judge call that failed) and an SLI a scorer did not declare.
    Errors of cujeval's own tree (bad input met mid-run, an unreachable judge) propagate."""
    scores: dict[str, Score] = {}
    failed: list[str] = []
    for s in scorers:
        try:
            produced = await s(case, obs)
        except CujevalError:
            raise
        except Exception as exc:
            why = f"scorer {s.name} failed: {type(exc).__name__}: {exc}"[:500]
            for out in s.outputs:
                if not out.endswith("*"):
                    scores[out] = Score.unscorable(why, scorer_error=True)
            failed.append(s.name)
            continue
        for sli, score in produced.items():
            if not s.writes(sli):
                scores[sli] = Score.unscorable(
                    f"scorer {s.name} wrote the SLI {sli!r}, which it does not declare",
                    scorer_error=True,
                )
            else:
                scores[sli] = score
            if scores[sli].metadata.get("scorer_error") and s.name not in failed:
                failed.append(s.name)
    return scores, failed


def build_row(
    journey: str,
    case: GoldenCase,
    epoch: int,
    obs: Observation,
    scores: dict[str, Score],
    failed: list[str],
    digest: str,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "journey": journey,
        "case_id": case.id,
        "epoch": epoch,
        "case_hash": digest,
        "input": case.question,
        "tags": list(case.tags),
        "observation": obs.model_dump(mode="json", exclude_none=True),
        "scores": {k: v.to_dict() for k, v in scores.items()},
    }
    if case.cluster is not None:
        row["cluster"] = case.cluster
    if failed:
        row["scorer_errors"] = failed
    return row


async def case_row(
    journey: str,
    target: Target,
    scorers: list[BuiltScorer],
    case: GoldenCase,
    epoch: int,
    settings: Settings,
    rng: random.Random,
    *,
    limit: AdaptiveLimit | None = None,
    give_up: GiveUp | None = None,
    pace: RateLimit | None = None,
) -> dict[str, Any]:
    """One case's path, the same on every executor: call the target under the retry policy,
    judge an empty or cut answer as the settings say, score, and build the journal row."""
    obs = await call_case(target, case, settings, rng, limit=limit, give_up=give_up, pace=pace)
    obs = obs.judged(empty=settings.empty_answer, cut=settings.cut_answer)
    scores, failed = await score_case(scorers, case, obs)
    return build_row(journey, case, epoch, obs, scores, failed, case_hash(case))
