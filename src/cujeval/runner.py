"""Orchestration only: cases -> target -> scorers -> rows, with bounded concurrency, retries
with backoff and jitter, a journal written as each case finishes, and resume."""

from __future__ import annotations

import asyncio
import inspect as pyinspect
import random
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cujeval import __version__, dataset
from cujeval.aggregate import Columns, summarise
from cujeval.errors import (
    CujevalError,
    RunAborted,
    TargetConnectError,
    TargetError,
    TargetHTTPError,
)
from cujeval.journal import Journal, RowKey, row_key
from cujeval.records import GoldenCase, Observation
from cujeval.results import (
    DatasetEntry,
    GateEntry,
    JourneyResult,
    RunResult,
    SLOEntry,
)
from cujeval.scorers import base as registry
from cujeval.scorers.base import Score, Scorer
from cujeval.slo import SLOResult, decide, evaluate_journey
from cujeval.suite import Journey, Settings, Suite
from cujeval.targets import Target, build_target

ABORT_AFTER_CONNECT_FAILURES = 5


@dataclass(frozen=True)
class RunOptions:
    output_dir: Path
    resume: bool = False
    concurrency: int | None = None
    epochs: int | None = None
    strict: bool | None = None
    gate: str | None = None
    judge_epochs: int | None = None
    trigger: str = "manual"
    progress: bool = True
    limit: int | None = None


@dataclass
class _JourneyPlan:
    journey: Journey
    info: dataset.DatasetInfo
    target: Target
    scorers: list[tuple[str, Scorer]]
    columns: Columns = field(default_factory=Columns)


def effective_settings(suite: Suite, options: RunOptions) -> Settings:
    overrides: dict[str, Any] = {}
    if options.concurrency is not None:
        overrides["concurrency"] = options.concurrency
    if options.epochs is not None:
        overrides["epochs"] = options.epochs
    if options.strict is not None:
        overrides["strict"] = options.strict
    if options.gate is not None:
        overrides["gate"] = options.gate
    return suite.settings.model_copy(update=overrides)


def build_scorers(
    suite: Suite, journey: Journey, judge_epochs: int | None
) -> list[tuple[str, Scorer]]:
    """Scorers of a journey, with suite-level context (prices, judge, instructions) passed to
    the factories that take it."""
    judge = dict(suite.judge) if suite.judge else None
    if judge is not None and judge_epochs is not None:
        judge["epochs"] = judge_epochs
    context: dict[str, Any] = {
        "prices": suite.prices or None,
        "judge": judge,
        "instructions": list(journey.instructions) or None,
    }
    known = registry.available()
    out = []
    for spec in journey.scorers:
        options = dict(spec.options)
        info = known.get(registry._split_name(spec.name)[0]) or known.get(spec.name)
        if info is not None:
            params = pyinspect.signature(info.factory).parameters
            for key, value in context.items():
                if value is not None and key in params and key not in options:
                    options[key] = value
        out.append(
            (spec.name, registry.create(spec.name, options, file=str(suite.path), line=spec.line))
        )
    return out


def _git_commit(cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


async def call_with_retries(
    target: Target, case: GoldenCase, settings: Settings, rng: random.Random
) -> Observation:
    """One case through the target: retries on timeouts, connection faults, 429 (honouring
    Retry-After), 5xx and malformed bodies, with exponential backoff and full jitter.
    Auth refusals (401/403) abort the run. The final failure is recorded, not raised."""
    attempts = settings.retries + 1
    last: TargetError | None = None
    for attempt in range(attempts):
        try:
            obs = await target.call(case)
            return obs.model_copy(update={"attempts": attempt + 1}) if attempt else obs
        except TargetHTTPError as exc:
            if exc.status in (401, 403):
                raise RunAborted(f"the target refused authorisation: {exc}") from None
            last = exc
            if exc.status != 429 and exc.status < 500 and exc.status != 408:
                break
            wait = exc.retry_after_s
        except TargetError as exc:
            last = exc
            wait = None
        if attempt + 1 < attempts:
            if wait is None:
                wait = rng.uniform(0, min(settings.max_backoff_s, settings.backoff_s * 2**attempt))
            await asyncio.sleep(min(wait, 60.0))
    assert last is not None
    kind = last.kind if not isinstance(last, TargetHTTPError) else f"http_{last.status}"
    return Observation(status=kind, error=str(last), attempts=attempts)


async def score_case(
    scorers: list[tuple[str, Scorer]], case: GoldenCase, obs: Observation
) -> dict[str, Score]:
    """Every scorer on one case; a failing scorer yields an unscorable score, never a crash."""
    scores: dict[str, Score] = {}
    for name, fn in scorers:
        try:
            scores.update(await fn(case, obs))
        except CujevalError:
            raise
        except Exception as exc:
            scores[name] = Score.unscorable(
                f"scorer {name} failed: {type(exc).__name__}: {exc}", scorer_error=True
            )
    return scores


def _row(
    journey: str, case: GoldenCase, epoch: int, obs: Observation, scores: dict[str, Score]
) -> dict[str, Any]:
    return {
        "journey": journey,
        "case_id": case.id,
        "epoch": epoch,
        "input": case.question,
        "tags": list(case.tags),
        "observation": obs.model_dump(mode="json", exclude_none=True),
        "scores": {k: v.to_dict() for k, v in scores.items()},
    }


def _feed(columns: Columns, row: dict[str, Any]) -> None:
    ok = row.get("observation", {}).get("status", "ok") == "ok"
    values = {k: (s or {}).get("value") for k, s in row.get("scores", {}).items()}
    columns.add(str(row["case_id"]), int(row.get("epoch", 0)), ok, values)


async def _run_journey(
    plan: _JourneyPlan,
    settings: Settings,
    journal: Journal,
    done: set[RowKey],
    tick: Callable[[], None],
    limit: int | None,
) -> None:
    rng = random.Random(settings.seed)
    consecutive_connect_failures = 0
    name = plan.journey.name

    def work() -> Iterator[tuple[GoldenCase, int]]:
        for i, case in enumerate(dataset.iter_cases(plan.info.path)):
            if limit is not None and i >= limit:
                return
            for epoch in range(settings.epochs):
                if (name, case.id, epoch) not in done:
                    yield case, epoch

    items = work()

    async def worker() -> None:
        nonlocal consecutive_connect_failures
        for case, epoch in items:
            obs = await call_with_retries(plan.target, case, settings, rng)
            if obs.status == TargetConnectError.kind:
                consecutive_connect_failures += 1
                if consecutive_connect_failures >= ABORT_AFTER_CONNECT_FAILURES:
                    raise RunAborted(f"target unreachable: {obs.error}")
            else:
                consecutive_connect_failures = 0
            scores = await score_case(plan.scorers, case, obs)
            row = _row(name, case, epoch, obs, scores)
            journal.append(row)
            _feed(plan.columns, row)
            tick()

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(settings.concurrency):
                group.create_task(worker())
    except* CujevalError as eg:  # RunAborted, or an input error met mid-stream
        raise eg.exceptions[0] from None


def _entry(r: SLOResult) -> SLOEntry:
    return SLOEntry.model_validate({**asdict(r), "verdict": r.verdict.value})


def validate(suite: Suite) -> None:
    """Check datasets and scorers without building targets or calling anything."""
    for journey in suite.journeys:
        dataset.inspect(suite.dataset_path(journey))
        build_scorers(suite, journey, None)


def prepare(suite: Suite, options: RunOptions) -> tuple[Settings, list[_JourneyPlan]]:
    """Validate everything that can be wrong before a single call: datasets, scorers, targets.
    Raises InputError (exit 2)."""
    settings = effective_settings(suite, options)
    plans = []
    for journey in suite.journeys:
        info = dataset.inspect(suite.dataset_path(journey))
        scorers = build_scorers(suite, journey, options.judge_epochs)
        target = build_target(
            journey.target, suite.targets[journey.target], concurrency=settings.concurrency
        )
        plans.append(_JourneyPlan(journey=journey, info=info, target=target, scorers=scorers))
    return settings, plans


def run_suite(suite: Suite, options: RunOptions) -> RunResult:
    """Run every journey of ``suite``; write the journal and results.json to the output dir."""
    settings, plans = prepare(suite, options)
    out = options.output_dir
    out.mkdir(parents=True, exist_ok=True)
    journal = Journal(out / "journal.jsonl")
    done: set[RowKey] = set()
    by_name = {p.journey.name: p for p in plans}
    if options.resume:
        for row in journal.read():
            plan = by_name.get(str(row.get("journey")))
            if plan is None or row_key(row) in done:
                continue
            done.add(row_key(row))
            _feed(plan.columns, row)
    elif (out / "journal.jsonl").exists():
        (out / "journal.jsonl").unlink()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    total = sum(
        min(p.info.n_cases, options.limit or p.info.n_cases) * settings.epochs for p in plans
    )
    abort_reason: str | None = None

    from cujeval.progress import progress_bar

    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _sigterm)
    try:
        with progress_bar(total, initial=len(done), enabled=options.progress) as tick:

            async def main() -> None:
                try:
                    for plan in plans:
                        await _run_journey(plan, settings, journal, done, tick, options.limit)
                finally:
                    for plan in plans:
                        await plan.target.aclose()

            asyncio.run(main())
    except RunAborted as exc:
        abort_reason = str(exc)
    except KeyboardInterrupt:
        abort_reason = "interrupted"
    finally:
        signal.signal(signal.SIGTERM, previous)
        journal.close()
    return finish(suite, options, settings, plans, started, abort_reason)


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def finish(
    suite: Suite,
    options: RunOptions,
    settings: Settings,
    plans: list[_JourneyPlan],
    started: str,
    abort_reason: str | None,
) -> RunResult:
    """SLO verdicts, the gate, and results.json from the journeys' columns."""
    verdicts = {p.journey.name: evaluate_journey(p.journey, p.columns, settings) for p in plans}
    gate = decide(verdicts, strict=settings.strict, aborted=abort_reason is not None)
    from cujeval.scorers.cost import price_table_info

    journeys = [
        JourneyResult(
            name=p.journey.name,
            description=p.journey.description,
            target=p.target.description,
            dataset=DatasetEntry(
                path=str(p.info.path), digest=p.info.digest, n_cases=p.info.n_cases
            ),
            scorers=[name for name, _ in p.scorers],
            n_rows=len(p.columns),
            n_errors=len(p.columns) - sum(p.columns.ok),
            slis=summarise(p.columns),
            slos=[_entry(r) for r in verdicts[p.journey.name]],
        )
        for p in plans
    ]
    policy = f"gate={settings.gate}" + (", strict" if settings.strict else "")
    result = RunResult(
        run_id=options.output_dir.name,
        suite=suite.name,
        suite_path=str(suite.path),
        started_at=started,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        status="aborted" if abort_reason else "completed",
        abort_reason=abort_reason,
        cujeval_version=__version__,
        git_commit=_git_commit(suite.path.parent.resolve()),
        trigger=options.trigger,
        settings=settings.model_dump(),
        price_table=price_table_info(),
        journeys=journeys,
        gate=GateEntry(
            passed=gate.passed,
            exit_code=gate.exit_code,
            policy=policy,
            blocking=gate.blocking,
            warnings=gate.warnings,
        ),
    )
    result.write(options.output_dir)
    return result


__all__ = ["RunOptions", "call_with_retries", "prepare", "replace", "run_suite", "score_case"]
