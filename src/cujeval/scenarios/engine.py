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

Each scenario is an ordinary run of the journey (``cujeval.engine.run.run``, or open-loop load)
in which the must-hold SLOs block and every other SLO is informational (it warns): its gate is
the scenario's verdict. The model lives here, apart from the running, so ``cujeval.spec.suite``
imports nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cujeval._util.yamlsource import LineList, LineMap
from cujeval.spec.predicates import parse_objective

if TYPE_CHECKING:
    from cujeval.engine.run import Execution
    from cujeval.load.engine import LoadProfile
    from cujeval.spec.options import RunOptions
    from cujeval.spec.results import RunResult
    from cujeval.spec.suite import Journey, SLOSpec, Suite


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Hook(_Frozen):
    """A user's switch: ``on`` is POSTed before the scenario, ``off`` after (always)."""

    on: str
    off: str
    body: Any = None  # JSON sent with both (default: {"scenario": NAME, "state": "on"/"off"})
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(10.0, gt=0)

    @field_validator("on", "off")
    @classmethod
    def _url(cls, value: str) -> str:
        from cujeval.spec.targets import _http_url

        return _http_url(value)


class MustHold(_Frozen):
    """An SLO of the journey that must still hold, optionally with a relaxed ``target``
    (ratio and journey SLOs) or ``objective`` (aggregate SLOs)."""

    slo: str
    target: float | None = Field(None, gt=0, le=1)
    objective: str | None = None
    line: int | None = None

    @field_validator("objective")
    @classmethod
    def _objective(cls, value: str | None) -> str | None:
        if value is not None:
            parse_objective(value)
        return value

    @model_validator(mode="after")
    def _one(self) -> MustHold:
        if self.target is not None and self.objective is not None:
            raise ValueError(
                "relax with 'target' (ratio SLOs) or 'objective' (aggregate), not both"
            )
        return self


class Degradation(_Frozen):
    """One scenario: how to switch it on and which SLOs must still hold."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    description: str = ""
    journey: str | None = None
    faults: dict[str, Any] | None = None
    faults_url: str | None = None
    hook: Hook | None = None
    must_hold: tuple[MustHold, ...] = Field(min_length=1)
    settle_s: float = Field(0.0, ge=0, le=600)  # wait after switching on, before the run
    line: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _line(cls, value: Any) -> Any:
        if isinstance(value, LineMap) and "line" not in value:
            return {**value, "line": value.lines.get("name", value.line or None)}
        return value

    @field_validator("must_hold", mode="before")
    @classmethod
    def _items(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        lines = value.lines if isinstance(value, LineList) else [None] * len(value)
        out: list[Any] = []
        for item, line in zip(value, lines, strict=True):
            if isinstance(item, str):
                out.append({"slo": item, "line": line})
            elif isinstance(item, dict) and "line" not in item:
                out.append({**item, "line": line})
            else:
                out.append(item)
        return out

    @field_validator("faults_url")
    @classmethod
    def _faults_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from cujeval.spec.targets import _http_url

        return _http_url(value)

    @model_validator(mode="after")
    def _switch(self) -> Degradation:
        if (self.faults is None) == (self.hook is None):
            raise ValueError("switch a scenario on with exactly one of 'faults' or 'hook'")
        if self.faults_url is not None and self.faults is None:
            raise ValueError("'faults_url' goes with 'faults'")
        names = [m.slo for m in self.must_hold]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"must_hold names {', '.join(dupes)} more than once")
        return self


# ---------------------------------------------------------------------------------------------
# checking a scenario against its suite


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


def faults_url_of(suite: Suite, journey: Journey, scenario: Degradation) -> str:
    if scenario.faults_url:
        return scenario.faults_url
    from cujeval.load.engine import metrics_url_of

    url = metrics_url_of(suite.targets[journey.target])
    if url is None:
        from cujeval.errors import InputError

        raise InputError(
            f"scenario {scenario.name!r}: the target has no URL to find the faults endpoint "
            "at; give 'faults_url'",
            file=suite.path,
            line=scenario.line,
        )
    return url.removesuffix("/metrics") + "/admin/faults"


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


# ---------------------------------------------------------------------------------------------
# switching


async def _post(url: str, body: Any, headers: dict[str, str], timeout_s: float) -> Any:
    import json

    import aiohttp

    from cujeval._util.redact import redact_url
    from cujeval.errors import RunAborted

    shown = redact_url(url)
    try:
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with (
            aiohttp.ClientSession(timeout=timeout, trust_env=False) as session,
            session.post(
                url,
                data=json.dumps(body),
                headers={"Content-Type": "application/json", **headers},
                allow_redirects=False,
            ) as resp,
        ):
            text = await resp.content.read(64 * 1024)
            if resp.status >= 300:
                snippet = " ".join(text.decode("utf-8", "replace").split())[:200]
                raise RunAborted(f"{shown} answered HTTP {resp.status}: {snippet}")
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            return None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise RunAborted(f"cannot reach {shown}: {type(exc).__name__}: {exc}"[:300]) from None


async def _get_json(url: str, timeout_s: float = 10.0) -> Any:
    import aiohttp

    from cujeval._util.redact import redact_url
    from cujeval.errors import RunAborted

    try:
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with (
            aiohttp.ClientSession(timeout=timeout, trust_env=False) as session,
            session.get(url, allow_redirects=False) as resp,
        ):
            if resp.status != 200:
                raise RunAborted(f"{redact_url(url)} answered HTTP {resp.status}")
            return await resp.json(content_type=None)
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        raise RunAborted(f"cannot read {redact_url(url)}: {type(exc).__name__}") from None


class Switch:
    """Turns one scenario on and back off. Reference faults: the knobs in force are read
    first and the changed ones restored after; a hook: ``on`` then ``off`` is POSTed."""

    def __init__(self, suite: Suite, journey: Journey, scenario: Degradation) -> None:
        self.scenario = scenario
        self.url = faults_url_of(suite, journey, scenario) if scenario.faults else None
        self._saved: dict[str, Any] | None = None

    async def on(self) -> None:
        s = self.scenario
        if s.hook is not None:
            body = s.hook.body if s.hook.body is not None else {"scenario": s.name, "state": "on"}
            await _post(s.hook.on, body, s.hook.headers, s.hook.timeout_s)
            return
        assert self.url is not None and s.faults is not None
        current = await _get_json(self.url)
        if isinstance(current, dict):
            self._saved = {k: current[k] for k in s.faults if k in current}
        await _post(self.url, dict(s.faults), {}, 10.0)

    async def off(self) -> None:
        s = self.scenario
        if s.hook is not None:
            body = s.hook.body if s.hook.body is not None else {"scenario": s.name, "state": "off"}
            await _post(s.hook.off, body, s.hook.headers, s.hook.timeout_s)
            return
        assert self.url is not None
        if self._saved:
            await _post(self.url, self._saved, {}, 10.0)
        else:
            await _post(self.url + "/reset", {}, {}, 10.0)


# ---------------------------------------------------------------------------------------------
# running


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


async def run_scenario(
    suite: Suite, index: int, options: RunOptions, *, load: LoadProfile | None = None
) -> RunResult:
    """Scenario ``index`` through the pipeline: the golden set once, or under ``load``."""
    from cujeval.pipeline import evaluate

    if load is not None:
        from cujeval.load.engine import LoadEngine

        inner: Any = LoadEngine(load)
    else:
        from cujeval.engine.run import CaseEngine

        inner = CaseEngine()
    return await evaluate(suite, options, engine=ScenarioEngine(index, inner))


async def _not_run(planned: Any, options: RunOptions, reason: str) -> Execution:
    """A scenario that never ran: incomplete, every SLO NO_DATA."""
    from datetime import UTC, datetime

    from cujeval.engine.run import judge

    plans = planned.plans if hasattr(planned, "plans") else [planned.plan]
    for plan in plans:
        await plan.target.aclose()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    return judge(planned.suite, options, planned.settings, plans, started, reason)


def table(suite: Suite, results: dict[str, RunResult]) -> dict[str, Any]:
    """Scenario × SLO: each cell the verdict, whether the SLO had to hold, and the gate's
    action; per scenario HELD (every must-hold SLO passed), BROKEN or INCOMPLETE."""
    rows = []
    for i, scenario in enumerate(suite.degradations):
        if scenario.name not in results:
            continue
        result = results[scenario.name]
        must = {m.slo for m in scenario.must_hold}
        cells = []
        for journey in result.journeys:
            for slo in journey.slos:
                cells.append(
                    {
                        "slo": slo.name,
                        "journey": journey.name,
                        "verdict": slo.verdict,
                        "estimate": slo.estimate,
                        "lower": slo.lower,
                        "upper": slo.upper,
                        "n": slo.n,
                        "expression": slo.expression,
                        "target": slo.target,
                        "must_hold": slo.name in must,
                        "action": result.gate.action(journey.name, slo.name),
                    }
                )
        if result.status == "aborted":
            outcome = "INCOMPLETE"
        elif result.gate.passed:
            outcome = "HELD"
        else:
            outcome = "BROKEN"
        rows.append(
            {
                "scenario": scenario.name,
                "description": scenario.description,
                "journey": scenario_journey(suite, i, scenario).name,
                "switch": scenario.faults if scenario.faults is not None else "hook",
                "outcome": outcome,
                "exit_code": result.gate.exit_code,
                "blocking": result.gate.blocking,
                "abort_reason": result.abort_reason,
                "load": _load_brief(result),
                "slos": cells,
            }
        )
    from cujeval.core.gate import worst

    exit_code = worst(r.gate.exit_code for r in results.values())
    return {"suite": suite.name, "scenarios": rows, "exit_code": exit_code}


def _load_brief(result: RunResult) -> dict[str, Any] | None:
    if not result.load:
        return None
    signals = result.load["golden_signals"]
    cost = (result.load["steps"][0].get("cost") or {}) if result.load["steps"] else {}
    return {
        "achieved_rate": signals["traffic"]["achieved_rate"],
        "error_rate": signals["errors"]["rate"],
        "p99_s": signals["latency"].get("p99"),
        "cost_per_success_usd": cost.get("cost_per_success_usd"),
    }


def render(report: dict[str, Any]) -> str:
    """Markdown: one row per scenario, one column per SLO; ``*`` marks the SLOs that must
    hold, ``!`` those that broke the scenario."""
    rows = report["scenarios"]
    if not rows:
        return "No scenario ran.\n"
    slos: list[str] = []
    for row in rows:
        for cell in row["slos"]:
            if cell["slo"] not in slos:
                slos.append(cell["slo"])
    lines = [
        f"# Degradation scenarios: {report['suite']}",
        "",
        "`*` must hold (blocks), `!` broke the scenario; other SLOs are informational.",
        "",
        "| scenario | outcome | " + " | ".join(slos) + " |",
        "|---|---|" + "---|" * len(slos),
    ]
    for row in rows:
        by = {c["slo"]: c for c in row["slos"]}
        cells = []
        for name in slos:
            c = by.get(name)
            if c is None:
                cells.append("")
                continue
            mark = ("*" if c["must_hold"] else "") + ("!" if c["action"] == "block" else "")
            est = "" if c["estimate"] is None else f" {c['estimate']:.3g}"
            cells.append(f"{c['verdict']}{mark}{est}")
        lines.append(f"| {row['scenario']} | {row['outcome']} | " + " | ".join(cells) + " |")
    lines.append("")
    for row in rows:
        if row["outcome"] != "HELD":
            why = row["abort_reason"] or "; ".join(row["blocking"])
            lines.append(f"- {row['scenario']}: {row['outcome']}: {why}")
        brief = row.get("load")
        if brief:
            cps = brief.get("cost_per_success_usd")
            lines.append(
                f"- {row['scenario']} under load: achieved {brief['achieved_rate']:.2f}/s, "
                f"errors {(brief['error_rate'] or 0):.1%}, p99 "
                f"{(brief['p99_s'] or 0) * 1000:.0f} ms"
                + (f", cost per successful journey ${cps:.6f}" if cps is not None else "")
            )
    lines.append("")
    return "\n".join(lines)


__all__ = [
    "Degradation",
    "Hook",
    "MustHold",
    "check",
    "render",
    "run_scenario",
    "scenario_journey",
    "table",
]
