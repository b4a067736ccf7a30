"""Graceful-degradation scenarios: a suite's ``degradations:``, each switched on, run, judged
against the SLOs that must still hold (targets possibly relaxed), and switched off.

```yaml
degradations:
  - name: retriever-down
    description: The retriever fails; the assistant says it cannot find the answer.
    journey: grounded-answer               # default: the suite's only journey
    faults: {retriever_down: 1.0}          # the reference service's knobs (POST /admin/faults)
    # faults_url: http://127.0.0.1:8000/admin/faults   (default: the target's origin)
    # or your own switch, POSTed before and after the scenario:
    # hook: {on: "http://127.0.0.1:9000/chaos/on", off: "http://127.0.0.1:9000/chaos/off"}
    must_hold:
      - no-errors                          # as the journey declares it
      - {slo: retrieval-hit, target: 0.5}  # a ratio SLO with a relaxed target
      - {slo: latency-p95, objective: "p95(latency_s) <= 3"}   # an aggregate, relaxed
```

Each scenario is an ordinary run of the journey (the golden set once, or open-loop load) in
which the must-hold SLOs block and every other SLO is informational (it warns): its gate is
the scenario's verdict. The model is cujeval.spec.degradations; the switch is
cujeval.scenarios.switch; this module checks a scenario against its suite and runs it as the
pipeline's run stage (:class:`ScenarioEngine`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cujeval.scenarios.switch import Switch, faults_url_of
from cujeval.spec.predicates import parse_objective

if TYPE_CHECKING:
    from cujeval.engine.execution import Execution
    from cujeval.spec.degradations import Degradation
    from cujeval.spec.options import RunOptions
    from cujeval.spec.suite import Journey, SLOSpec, Suite


def _error(suite: Suite, message: str, line: int | None, field: str) -> Exception:
    from cujeval.errors import SuiteError

    return SuiteError(message, file=suite.path, line=line, field=field)


def journey_of(suite: Suite, index: int, scenario: Degradation) -> Journey:
    if scenario.journey is None:
        if len(suite.journeys) > 1:
            raise _error(
                suite,
                "the suite has several journeys: name one with 'journey' "
                f"({', '.join(j.name for j in suite.journeys)})",
                scenario.line,
                f"degradations[{index}].journey",
            )
        return suite.journeys[0]
    for j in suite.journeys:
        if j.name == scenario.journey:
            return j
    raise _error(
        suite,
        f"names journey {scenario.journey!r}; the journeys are: "
        f"{', '.join(j.name for j in suite.journeys)}",
        scenario.line,
        f"degradations[{index}].journey",
    )


def scenario_journey(suite: Suite, index: int, scenario: Degradation) -> Journey:
    """The journey as the scenario judges it: must-hold SLOs blocking (relaxed where said),
    every other SLO informational. SuiteError (exit 2) naming the line of a bad reference."""
    journey = journey_of(suite, index, scenario)
    by_name = {s.name: s for s in journey.slos}
    relaxed: dict[str, SLOSpec] = {}
    for j, hold in enumerate(scenario.must_hold):
        where = f"degradations[{index}].must_hold[{j}]"
        spec = by_name.get(hold.slo)
        if spec is None:
            raise _error(
                suite,
                f"names SLO {hold.slo!r}, which journey {journey.name!r} does not have "
                f"(its SLOs: {', '.join(by_name) or 'none'})",
                hold.line,
                where,
            )
        changes: dict[str, Any] = {"blocking": True}
        if hold.target is not None:
            if spec.kind == "aggregate":
                raise _error(
                    suite,
                    f"{hold.slo!r} is an aggregate SLO: relax it with 'objective'",
                    hold.line,
                    where,
                )
            changes["target"] = hold.target
        if hold.objective is not None:
            if spec.kind != "aggregate":
                raise _error(
                    suite,
                    f"{hold.slo!r} is a {spec.kind} SLO: relax it with 'target'",
                    hold.line,
                    where,
                )
            old, new = spec.parsed_objective, parse_objective(hold.objective)
            if new.sli != old.sli:
                raise _error(
                    suite,
                    f"the relaxed objective judges {new.sli!r}; {hold.slo!r} judges {old.sli!r}",
                    hold.line,
                    where,
                )
            changes["objective"] = hold.objective
        relaxed[hold.slo] = spec.model_copy(update=changes)
    slos = tuple(
        relaxed.get(s.name) or s.model_copy(update={"blocking": False}) for s in journey.slos
    )
    return journey.model_copy(update={"slos": slos})


def check(suite: Suite) -> None:
    """Every scenario's references, before anything runs (exit 2 on a bad one)."""
    names = [d.name for d in suite.degradations]
    for i, scenario in enumerate(suite.degradations):
        if names.count(scenario.name) > 1:
            raise _error(
                suite,
                f"duplicate scenario name {scenario.name!r}",
                scenario.line,
                f"degradations[{i}].name",
            )
        journey = scenario_journey(suite, i, scenario)
        if scenario.faults is not None:
            faults_url_of(suite, journey, scenario)


class ScenarioEngine:
    """The run stage of one scenario: switch it on, run its journey through ``inner`` (the
    golden set once, or load), switch it off whatever happened. A switch that fails makes
    the run incomplete (exit 3). A degraded run is judged on its own: no budget, no
    baseline."""

    ledger = False

    def __init__(self, index: int, inner: Any) -> None:
        self.index = index
        self.inner = inner
        self.name = f"scenario ({inner.name})"

    def plan(self, suite: Suite, options: RunOptions) -> Any:
        scenario = suite.degradations[self.index]
        journey = scenario_journey(suite, self.index, scenario)
        self.switch = Switch(suite, journey, scenario)
        one = suite.model_copy(update={"journeys": (journey,), "degradations": ()})
        return self.inner.plan(one, options)

    async def execute(self, planned: Any, options: RunOptions) -> Execution:
        import asyncio

        from cujeval.errors import RunAborted

        name = self.switch.scenario.name
        try:
            await self.switch.on()
        except RunAborted as exc:
            why = f"scenario {name!r} could not be switched on: {exc}"
            return await _not_run(planned, options, why)
        try:
            if self.switch.scenario.settle_s:
                await asyncio.sleep(self.switch.scenario.settle_s)
            execution: Execution = await self.inner.execute(planned, options)
        finally:
            try:
                await self.switch.off()
            except RunAborted as exc:
                off_error: str | None = str(exc)
            else:
                off_error = None
        if off_error:
            note = f"scenario {name!r} could not be switched off: {off_error}"
            execution.abort_reason = execution.abort_reason or note
            execution.notes.append(note)
        return execution


async def _not_run(planned: Any, options: RunOptions, reason: str) -> Execution:
    """A scenario that never ran: incomplete, every SLO NO_DATA."""
    from datetime import UTC, datetime

    from cujeval.engine.run import judge

    plans = planned.plans if hasattr(planned, "plans") else [planned.plan]
    for plan in plans:
        await plan.target.aclose()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    return judge(planned.suite, options, planned.settings, plans, started, reason)
