"""The run stage of the pipeline (cujeval.pipeline): cases -> target -> scorers -> rows, with
bounded (adaptive) concurrency, the retry policy of cujeval._util.retry, a journal written as each
case finishes, resume, and each journey's SLO verdicts from its rows.

:class:`CaseEngine` is the engine of ``cujeval run`` (and of every door that runs the golden
set once); ``cujeval load`` has its own (cujeval.load.engine). Neither installs signal handlers nor
decides the gate: the pipeline holds the verdicts against the ledger and decides it once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cujeval.engine.execution import Execution, slo_entry
from cujeval.engine.explain import explain_worst
from cujeval.engine.plan import JourneyPlan, prepare
from cujeval.errors import (
    DeadlineExceeded,
    InputError,
    RunAborted,
)
from cujeval.scorers import base as registry
from cujeval.spec import dataset
from cujeval.spec.journal import JOURNAL_NAME, Journal, JournalRow, RowKey, case_hash, read_rows
from cujeval.spec.options import RunOptions
from cujeval.spec.records import ANSWERED, GoldenCase
from cujeval.spec.results import (
    DatasetEntry,
    JourneyResult,
)
from cujeval.spec.suite import Settings, Suite

if TYPE_CHECKING:
    from cujeval.engine.executors import Executor

REPORT_FILES = ("results.json", "junit.xml", "summary.md", "report.html")


def _feed(plan: JourneyPlan, row: dict[str, Any]) -> None:
    """Add one finished row (the journal's fields, as written or read back) to the plan's
    columns and counters. Takes the plain mapping: this runs once per case."""
    scores: dict[str, dict[str, Any]] = row.get("scores") or {}
    errored = [k for k, s in scores.items() if (s.get("metadata") or {}).get("scorer_error")]
    obs = row.get("observation") or {}
    status = str(obs.get("status", "ok"))
    plan.columns.add(
        str(row["case_id"]),
        int(row.get("epoch", 0)),
        status == "ok",
        {k: s.get("value") for k, s in scores.items()},
        cluster=row.get("cluster"),
        scorer_errors=errored,
    )
    plan.statuses[status] += 1
    for name in row.get("scorer_errors") or ():
        plan.scorer_errors[name] += 1
    if status != "ok" and plan.first_error is None:
        plan.first_error = str(obs.get("error") or status)


async def _run_journey(
    group: list[JourneyPlan],
    settings: Settings,
    journal: Journal,
    done: set[RowKey],
    tick: Callable[[], None],
    limit: int | None,
    executor: Executor,
) -> None:
    """One journey's cases through the executor; a canary journey and its baseline arm (a
    group of two, same dataset) case by case together (cujeval.engine.canary)."""
    names = [p.journey.name for p in group]

    def todo(case: GoldenCase, epoch: int) -> tuple[int, ...]:
        return tuple(k for k, n in enumerate(names) if (n, case.id, epoch) not in done)

    def work() -> Iterator[tuple[GoldenCase, int, tuple[int, ...]]]:
        for i, case in enumerate(dataset.iter_cases(group[0].info.path)):
            if limit is not None and i >= limit:
                return
            for epoch in range(settings.epochs):
                arms = todo(case, epoch)
                if arms:
                    yield case, epoch, arms

    def emitter(plan: JourneyPlan) -> Callable[[dict[str, Any]], None]:
        name = plan.journey.name

        def emit(row: dict[str, Any]) -> None:
            key = (name, str(row["case_id"]), int(row.get("epoch", 0)))
            if key in done:  # a shard retried elsewhere: the first finished row is kept
                return
            done.add(key)
            journal.append(row)
            _feed(plan, row)
            tick()

        return emit

    if len(group) == 1:
        items = ((case, epoch) for case, epoch, _ in work())
        await executor.run(group[0], items, settings, emitter(group[0]))
    else:
        paired: Any = executor  # LocalExecutor: run() checked it has run_paired
        await paired.run_paired(group, work(), settings, [emitter(p) for p in group])
    for plan in group:
        n = len(plan.columns)
        if n and not any(plan.statuses[s] for s in ANSWERED):
            raise RunAborted(
                f"target {plan.target.name!r} answered no call of journey "
                f"{plan.journey.name!r} ({n} of {n} failed); first: {plan.first_error}"
            )


def _resume(
    plans: list[JourneyPlan], journal: Journal, options: RunOptions
) -> tuple[set[RowKey], list[str]]:
    """Rows already finished, fed to the plans; rows of removed or changed cases dropped (and
    the journal rewritten without them). Returns the finished keys and what was done."""
    by_name = {p.journey.name: p for p in plans}
    hashes: dict[str, dict[str, str]] = {}
    for p in plans:
        hashes[p.journey.name] = {c.id: case_hash(c) for c in dataset.iter_cases(p.info.path)}
    kept: list[JournalRow] = []
    changed: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    done: set[RowKey] = set()
    for row in read_rows(journal.path, repair=True):
        current = hashes.get(row.journey, {})
        if row.journey not in by_name or row.case_id not in current:
            removed[row.journey] += 1
        elif row.case_hash is not None and row.case_hash != current[row.case_id]:
            changed[row.journey] += 1
        elif row.key not in done:
            done.add(row.key)
            kept.append(row)
    notes = [
        f"resume: journey {j!r}: {changed[j]} row(s) of changed cases will be run again"
        for j in sorted(changed)
    ] + [f"resume: journey {j!r}: dropped {removed[j]} row(s) of removed cases" for j in removed]
    if notes and options.resume_strict:
        raise InputError(
            "the dataset changed since the run started (" + "; ".join(notes) + "); "
            "resume without --resume-strict to re-run the changed cases",
            file=journal.path,
        )
    if notes:
        journal.rewrite(kept)
    for row in kept:
        _feed(by_name[row.journey], row.model_dump())
    if kept:
        notes.insert(0, f"resume: {len(kept)} finished row(s) kept from {journal.path}")
    return done, notes


def _clear_output(out: Path) -> None:
    """A fresh run into an existing folder: no earlier run's files may look current."""
    for name in (*REPORT_FILES, JOURNAL_NAME):
        (out / name).unlink(missing_ok=True)


@dataclass
class PlannedRun:
    """A run checked and ready: bad input has been raised already."""

    suite: Suite
    settings: Settings
    plans: list[JourneyPlan]

    def case_counts(self, limit: int | None) -> dict[str, int]:
        """Golden cases each journey will be judged on."""
        return {p.journey.name: min(p.info.n_cases, limit or p.info.n_cases) for p in self.plans}


class CaseEngine:
    """The golden set through each journey's target once (``epochs`` times per case), on the
    local executor or a Ray cluster, each finished case appended to the journal."""

    name = "run"
    ledger = True

    def plan(self, suite: Suite, options: RunOptions) -> PlannedRun:
        """Everything that can be wrong, checked before a single call (InputError)."""
        from cujeval.engine.canary import arms, with_arms

        suite = with_arms(suite)
        executor = options.executor or suite.settings.executor
        if arms(suite) and executor != "local":
            raise InputError(
                f"journeys {', '.join(map(repr, arms(suite)))} are canaries (baseline_target): "
                "they run on the local executor, which sends each case to both targets at once",
                field="--executor",
            )
        if executor == "ray":  # before the run's folder exists
            from cujeval.engine.executors.ray import require_ray

            require_ray()
        settings, plans = prepare(suite, options)
        return PlannedRun(suite, settings, plans)

    async def execute(
        self,
        planned: PlannedRun,
        options: RunOptions,
        *,
        on_start: Callable[[str], None] | None = None,
    ) -> Execution:
        """Run every journey; a run that cannot complete (target unreachable, auth refused,
        judge unavailable, the deadline, cancellation) ends early with ``abort_reason`` set,
        holding every case that finished. ``on_start`` is told the run's start (the journal
        holds the rows of a resume by then, and gains a row as each case finishes)."""
        from cujeval.engine.executors import build_executor

        suite, settings, plans = planned.suite, planned.settings, planned.plans
        out = options.output_dir
        out.mkdir(parents=True, exist_ok=True)
        journal = Journal(out / JOURNAL_NAME)
        notes: list[str] = []
        executor = None
        try:
            if options.resume:
                done, notes = _resume(plans, journal, options)
            else:
                _clear_output(out)
                done = set()
            executor = build_executor(
                options.executor or suite.settings.executor,
                suite,
                address=options.ray_address or suite.settings.ray_address,
                judge_epochs=options.judge_epochs,
            )
            started = datetime.now(UTC).isoformat(timespec="seconds")
            if on_start is not None:
                on_start(started)
            total = sum(planned.case_counts(options.limit).values()) * settings.epochs
            abort_reason = await self._calls(planned, options, journal, done, total, executor)
        finally:
            journal.close()
            if executor is not None:
                await executor.aclose()
            for plan in plans:
                await plan.target.aclose()
        return judge(suite, options, settings, plans, started, abort_reason, notes)

    @staticmethod
    async def _calls(
        planned: PlannedRun,
        options: RunOptions,
        journal: Journal,
        done: set[RowKey],
        total: int,
        executor: Executor,
    ) -> str | None:
        from cujeval._util.progress import progress_bar
        from cujeval.engine.canary import groups

        settings = planned.settings
        try:
            with progress_bar(total, initial=len(done), enabled=options.progress) as tick:
                async with asyncio.timeout(settings.max_duration_s):
                    by_name = {p.journey.name: p for p in planned.plans}
                    for names in groups(by_name, planned.suite):
                        group = [by_name[n] for n in names]
                        await _run_journey(
                            group, settings, journal, done, tick, options.limit, executor
                        )
        except TimeoutError:
            return str(
                DeadlineExceeded(f"the run's deadline of {settings.max_duration_s:g} s passed")
            )
        except RunAborted as exc:
            return str(exc)
        except asyncio.CancelledError:
            return "interrupted"
        return None


def judge(
    suite: Suite,
    options: RunOptions,
    settings: Settings,
    plans: list[JourneyPlan],
    started: str,
    abort_reason: str | None,
    notes: list[str] | None = None,
) -> Execution:
    """Each journey's SLO verdicts, counts and SLI summaries, from its columns."""
    from cujeval.core.aggregate import summarise
    from cujeval.core.slo import evaluate_journey, under_rate
    from cujeval.engine.canary import arms

    notes = list(notes or [])
    baseline_arms = set(arms(suite).values())
    for p in plans:
        if p.journey.name in baseline_arms:
            continue  # its canary journey says it
        for s in p.journey.slos:
            if s.load_only:
                notes.append(
                    f"{p.journey.name}/{s.name} is judged under load only "
                    f"({s.objective or s.good}): cujeval load --journey {p.journey.name}"
                    + (f" --rate {s.at_rate:g}" if s.at_rate is not None else "")
                )
    prices: dict[str, Any] = {}
    if any(s.name == "cost_usd" for p in plans for s in p.scorers):
        from cujeval.scorers.cost import price_table_info

        prices = price_table_info()
    journeys = []
    for p in plans:
        verdicts = evaluate_journey(under_rate(p.journey, None), p.columns, settings)
        journeys.append(
            JourneyResult(
                name=p.journey.name,
                description=p.journey.description,
                target=p.target.description,
                dataset=DatasetEntry(
                    path=str(p.info.path), digest=p.info.digest, n_cases=p.info.n_cases
                ),
                scorers=[s.name for s in p.scorers],
                n_rows=len(p.columns),
                n_errors=len(p.columns) - p.statuses["ok"],
                n_cases=len(set(p.columns.case_ids)),
                errors_by_status={k: v for k, v in sorted(p.statuses.items()) if k != "ok"},
                scorer_errors=dict(sorted(p.scorer_errors.items())),
                judge=_judge_account(p, options.output_dir / JOURNAL_NAME),
                slis=summarise(p.columns),
                slos=[slo_entry(r) for r in verdicts],
            )
        )
    explain_worst(journeys, (p.journey for p in plans), options.output_dir / JOURNAL_NAME)
    return Execution(
        suite=suite,
        settings=settings,
        started=started,
        journeys=journeys,
        abort_reason=abort_reason,
        notes=notes,
        price_table=prices,
    )


def _judge_account(plan: JourneyPlan, journal: Path) -> dict[str, Any] | None:
    """The LLM judge's calls, failures by reason, tokens and cost for a journey that has a
    judge scorer (read back from the journal's score metadata); None otherwise."""
    judges = registry.BUILTIN_FAMILIES["cujeval.scorers.judges"]
    if not any(s.name in judges for s in plan.scorers):
        return None
    from cujeval.scorers.judges.summary import judge_summary

    name = plan.journey.name
    return judge_summary(r for r in read_rows(journal) if r.journey == name) or None


__all__ = ["CaseEngine", "PlannedRun", "judge"]
