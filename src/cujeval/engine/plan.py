"""The run's checks: every journey's dataset, scorers, SLIs and target, built and validated
before a single call (bad input: InputError, exit 2)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cujeval.core.aggregate import Columns
from cujeval.errors import SuiteError, UnknownNameError
from cujeval.scorers import base as registry
from cujeval.scorers.base import BuiltScorer
from cujeval.spec import dataset
from cujeval.spec.options import RunOptions, effective_settings
from cujeval.spec.records import GoldenCase
from cujeval.spec.suite import Journey, Settings, Suite, load_plugins
from cujeval.targets import Target, build_target


@dataclass
class JourneyPlan:
    """One journey, ready to run: its dataset, target, scorers and what it has gathered."""

    journey: Journey
    info: dataset.DatasetInfo
    target: Target
    scorers: list[BuiltScorer]
    spec: Any = None  # the target's validated settings
    columns: Columns = field(default_factory=Columns)
    statuses: Counter[str] = field(default_factory=Counter)
    scorer_errors: Counter[str] = field(default_factory=Counter)
    first_error: str | None = None


def build_scorers(suite: Suite, journey: Journey, judge_epochs: int | None) -> list[BuiltScorer]:
    """The journey's scorers, given the suite-level settings each one declares it takes."""
    load_plugins(suite)
    judge = dict(suite.judge) if suite.judge else None
    if judge is not None and judge_epochs is not None:
        judge["epochs"] = judge_epochs
    context: dict[str, Any] = {
        "prices": suite.prices or None,
        "judge": judge,
        "instructions": list(journey.instructions) or None,
    }
    return [
        registry.create(
            spec.name, spec.options, context=context, file=str(suite.path), line=spec.line
        )
        for spec in journey.scorers
    ]


def check_slis(suite: Suite, index: int, journey: Journey, scorers: list[BuiltScorer]) -> None:
    """Every SLI an SLO names is written by one of the journey's scorers, and no two scorers
    write the same SLI. Otherwise bad input naming the suite line."""
    owner: dict[str, str] = {}
    for s, spec in zip(scorers, journey.scorers, strict=True):
        for out in s.outputs:
            if out in s.shared:
                continue
            if out in owner:
                raise SuiteError(
                    f"scorer {s.name!r} writes the SLI {out!r}, which scorer {owner[out]!r} "
                    "writes too; keep one of them",
                    file=suite.path,
                    line=spec.line,
                    field=f"journeys[{index}].scorers",
                )
            owner[out] = s.name
    known = sorted({o for s in scorers for o in s.outputs})
    for j, slo in enumerate(journey.slos):
        if slo.kind == "journey":
            continue
        if slo.saturation:
            continue  # scraped from the target's /metrics under load (cujeval.load.engine)
        sli = slo.sli or ""
        if not any(s.writes(sli) for s in scorers):
            form = "objective" if slo.kind == "aggregate" else "good"
            raise UnknownNameError(
                "SLI",
                sli,
                known,
                file=suite.path,
                line=slo.line,
                field=f"journeys[{index}].slos[{j}].{form}",
            )


def prepare(suite: Suite, options: RunOptions) -> tuple[Settings, list[JourneyPlan]]:
    """Validate everything that can be wrong before a single call: datasets, scorers, SLIs,
    targets. Raises InputError (exit 2)."""
    settings = effective_settings(suite, options)
    plans = []
    for i, journey in enumerate(suite.journeys):
        info = inspect_dataset(suite, i)
        scorers = build_scorers(suite, journey, options.judge_epochs)
        check_slis(suite, i, journey, scorers)
        target = build_target(
            journey.target, suite.targets[journey.target], concurrency=settings.concurrency
        )
        plans.append(
            JourneyPlan(
                journey=journey,
                info=info,
                target=target,
                scorers=scorers,
                spec=suite.targets[journey.target],
            )
        )
    return settings, plans


def inspect_dataset(suite: Suite, index: int) -> dataset.DatasetInfo:
    """The journey's dataset, checked; a missing one names the suite line that points at it."""
    journey = suite.journeys[index]
    path = suite.dataset_path(journey)
    if not path.exists():
        raise SuiteError(
            f"dataset {journey.dataset!r} not found (looked for {path})",
            file=suite.path,
            line=journey.dataset_line,
            field=f"journeys[{index}].dataset",
        )
    return dataset.inspect(path, check=check_instructions)


def check_instructions(case: GoldenCase, path: Path, line: int) -> None:
    """A case's instruction ids and kwargs, against the instruction registry."""
    if not case.instructions:
        return
    from cujeval.scorers.instructions import validate_instruction

    for ins in case.instructions:
        validate_instruction(ins.id, ins.kwargs, file=str(path), line=line)


def validate(suite: Suite) -> None:
    """Check datasets, scorers and SLIs without building targets or calling anything."""
    for i, journey in enumerate(suite.journeys):
        inspect_dataset(suite, i)
        check_slis(suite, i, journey, build_scorers(suite, journey, None))
