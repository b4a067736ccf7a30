"""Suite files as pytest items: a collector per file and per journey, an item for the run,
one per SLO and, with ``--cuj-case-items``, one per golden case.

A suite runs once per session, on the first of its items to run (journeys with no selected
item are left out); every item then reads the one gate decision of that run: block fails with
the verdict's sentence, warn passes with a :class:`~cujeval.pytest_plugin.CujevalWarning`, pass
passes. Imported when pytest collects a suite file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import ValidationError

from cujeval._util.paths import new_run_dir
from cujeval.engine.plan import validate
from cujeval.errors import InputError
from cujeval.pipeline import evaluate
from cujeval.pytest_plugin._session import (
    STATE,
    CujevalFailure,
    SuiteRun,
    in_thread,
    message,
    note_run,
    reports_dir,
    run_options,
    shown,
    warn,
)
from cujeval.reporters.format import sentence, slo_properties
from cujeval.spec.dataset import iter_cases
from cujeval.spec.journal import JournalRow, read_rows
from cujeval.spec.results import VERDICT_KINDS, RunResult
from cujeval.spec.suite import Journey, SLOSpec, Suite, load_suite
from cujeval.spec.targets import HttpTargetSpec, OpenAITargetSpec

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr


class SuiteFile(pytest.File):
    """A suite YAML file: its ``run`` item, then one collector per journey."""

    suite: Suite

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        state = self.config.stash[STATE]
        try:
            suite = _override_targets(load_suite(self.path), state.options.targets)
            validate(suite)
        except InputError as exc:
            raise self.CollectError(message(exc)) from None
        self.suite = suite
        names = {j.name for j in suite.journeys}
        yield RunItem.from_parent(self, name="run" if "run" not in names else "run-suite")
        for index, journey in enumerate(suite.journeys):
            yield JourneyNode.from_parent(self, name=journey.name, index=index)


def _override_targets(suite: Suite, overrides: Iterable[tuple[str | None, str, str]]) -> Suite:
    """``--cuj-target`` applied: the url (http) or base_url (openai) of the named target."""
    targets = dict(suite.targets)
    for only, name, url in overrides:
        if (only is not None and only != suite.name) or name not in targets:
            continue
        spec = targets[name]
        key = "url" if isinstance(spec, HttpTargetSpec) else "base_url"
        if not isinstance(spec, HttpTargetSpec | OpenAITargetSpec):
            raise InputError(f"--cuj-target {name}: a python target has no URL", file=suite.path)
        try:
            targets[name] = type(spec).model_validate({**spec.model_dump(), key: url})
        except ValidationError as exc:
            why = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise InputError(f"--cuj-target {name}: {why}", file=suite.path) from None
    return suite.model_copy(update={"targets": targets})


class JourneyNode(pytest.Collector):
    """One journey of a suite: an item per SLO, and per case with ``--cuj-case-items``."""

    def __init__(self, *, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.index = index

    @property
    def suite_file(self) -> SuiteFile:
        assert isinstance(self.parent, SuiteFile)
        return self.parent

    @property
    def journey(self) -> Journey:
        return self.suite_file.suite.journeys[self.index]

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        journey = self.journey
        for slo in journey.slos:
            yield SLOItem.from_parent(self, name=slo.name, spec=slo)
        state = self.config.stash[STATE]
        if state.options.case_items:
            suite = self.suite_file.suite
            limit = state.options.run.get("limit")
            seen: set[str] = set()
            for i, case in enumerate(iter_cases(suite.dataset_path(journey))):
                if limit is not None and i >= limit:
                    break
                if case.id not in seen:
                    seen.add(case.id)
                    yield CaseItem.from_parent(self, name=f"case[{case.id}]", case_id=case.id)


class _SuiteItem(pytest.Item):
    """An item whose outcome is read from its suite's one run."""

    journey_name: str | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.config.pluginmanager.hasplugin("xdist"):  # --dist loadgroup: one worker a suite
            self.add_marker(pytest.mark.xdist_group(name=self.suite_file.nodeid))

    @property
    def suite_file(self) -> SuiteFile:
        node = self.parent
        while node is not None and not isinstance(node, SuiteFile):
            node = node.parent
        assert node is not None
        return node

    def setup(self) -> None:
        run = _run_suite(self.suite_file, self)
        if run.error is not None:
            raise CujevalFailure(run.error)

    def result(self) -> tuple[RunResult, Path]:
        run = self.config.stash[STATE].runs[self.suite_file.path]
        assert run.result is not None and run.output is not None
        return run.result, run.output

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, CujevalFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)


class RunItem(_SuiteItem):
    """The suite's run: complete, and nothing outside the SLOs (scorer errors beyond the
    policy, an exhausted budget) blocks the gate."""

    def runtest(self) -> None:
        result, out = self.result()
        gate = result.gate
        self.user_properties += [
            ("gate", "passed" if gate.passed else "failed"),
            ("exit_code", gate.exit_code),
            ("results", shown(out / "results.json")),
            ("report", shown(out / "report.html")),
        ]
        ran = {j.name for j in result.journeys}
        mine = [r for r in gate.reasons if r.slo is None and (r.journey in ran or not r.journey)]
        blocking = [r.text for r in mine if r.action == "block"]
        if blocking:
            raise CujevalFailure(
                f"{result.suite}: gate failed (exit {gate.exit_code}): "
                + "; ".join(blocking)
                + f"\nreport: {shown(out / 'report.html')}"
            )
        for r in mine:
            warn(self, r.text)

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.path, None, f"{self.suite_file.suite.name}: run"


class SLOItem(_SuiteItem):
    """One SLO: failed when the gate blocks on it, passed with a warning when it warns."""

    def __init__(self, *, spec: SLOSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        assert isinstance(self.parent, JourneyNode)
        self.journey_name = self.parent.journey.name

    def runtest(self) -> None:
        spec = self.spec
        if spec.load_only:
            pytest.skip(
                f"judged under load only ({spec.objective or spec.good}): cujeval load"
                + (f" --rate {spec.at_rate:g}" if spec.at_rate is not None else "")
            )
        result, out = self.result()
        journey = str(self.journey_name)
        entry = result.slo(self.spec.name, journey=journey)
        gate = next(s for s in result.gate.slos if s.journey == journey and s.slo == entry.name)
        self.user_properties += slo_properties(entry, gate.action, gate.reason)
        self.user_properties.append(("results", shown(out / "results.json")))
        # what else the gate weighed for this SLO at the item's own action (a breach is not
        # also told it had a small sample; an INCONCLUSIVE item is told why it can never pass)
        extra = [
            r.short
            for r in result.gate.reasons_for(journey, entry.name)
            if r.action == gate.action and (r.kind not in VERDICT_KINDS or r.detail)
        ]
        text = sentence(journey, entry) + "".join(f"; gate: {x}" for x in extra)
        if gate.action == "block":
            raise CujevalFailure(f"{text}\nreport: {shown(out / 'report.html')}")
        if gate.action == "warn":
            warn(self, text)
        elif result.status == "aborted":
            warn(self, f"{text} (measured on an incomplete run)")

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        line = self.spec.line - 1 if self.spec.line else None
        return (
            self.path,
            line,
            f"{self.suite_file.suite.name}: {self.journey_name}/{self.spec.name}",
        )


@dataclass(frozen=True)
class CaseVerdict:
    bad: tuple[str, ...]  # SLOs this case is bad on (in some repeat)
    rows: tuple[JournalRow, ...]


class CaseItem(_SuiteItem):
    """One golden case: passed when good on every per-case SLO; a bad case fails when the
    gate blocks one of its SLOs and is xfail while they hold (an SLO allows some bad cases)."""

    def __init__(self, *, case_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case_id = case_id
        assert isinstance(self.parent, JourneyNode)
        self.journey_name = self.parent.journey.name

    def runtest(self) -> None:
        result, _ = self.result()
        journey = str(self.journey_name)
        verdicts = _case_verdicts(self.config.stash[STATE].runs[self.suite_file.path], journey)
        verdict = verdicts.get(self.case_id)
        if verdict is None:
            pytest.skip(f"case {self.case_id!r} was not run ({result.abort_reason or 'limit'})")
        if not verdict.bad:
            return
        blocked = [s for s in verdict.bad if result.gate.action(journey, s) == "block"]
        text = _case_text(self.case_id, verdict, self.parent_journey)
        if blocked:
            raise CujevalFailure(f"{text}\ngate blocks: {', '.join(blocked)}")
        pytest.xfail(f"{text}\nwithin its SLOs: {', '.join(verdict.bad)} still hold")

    @property
    def parent_journey(self) -> Journey:
        assert isinstance(self.parent, JourneyNode)
        return self.parent.journey

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.path, None, f"{self.suite_file.suite.name}: {self.journey_name}/{self.name}"


def _case_verdicts(run: SuiteRun, journey: str) -> dict[str, CaseVerdict]:
    """Per case of ``journey``: the ratio and journey SLOs it is bad on (as slo.py counts a
    row: unscorable is bad only where the SLO says so, or for journey success on an error)."""
    if journey in run.cases:
        return run.cases[journey]
    assert run.result is not None and run.output is not None
    assert run.suite is not None
    spec = next(j for j in run.suite.journeys if j.name == journey)
    ratio = {s.name: s for s in spec.slos if s.kind == "ratio"}
    rows: dict[str, list[JournalRow]] = {}
    for row in read_rows(run.output / run.result.journal):
        if row.journey == journey:
            rows.setdefault(row.case_id, []).append(row)
    out = {}
    for case_id, case_rows in rows.items():
        bad = [
            slo.name
            for slo in spec.slos
            if slo.kind != "aggregate" and any(_row_bad(slo, ratio, r) for r in case_rows)
        ]
        out[case_id] = CaseVerdict(tuple(bad), tuple(case_rows))
    run.cases[journey] = out
    return out


def _row_bad(slo: SLOSpec, ratio: Mapping[str, SLOSpec], row: JournalRow) -> bool:
    steps = [ratio[s] for s in slo.all_of or () if s in ratio] if slo.kind == "journey" else [slo]
    valid, good = False, True
    for step in steps:
        value = (row.scores.get(step.predicate.sli) or {}).get("value")
        counts_bad = value is None and (
            (not row.ok and slo.kind == "journey") or step.unscorable == "bad"
        )
        valid = valid or value is not None or counts_bad
        good = good and (step.predicate(value) if value is not None else not counts_bad)
    return valid and not good


def _case_text(case_id: str, verdict: CaseVerdict, journey: Journey) -> str:
    row = next((r for r in verdict.rows if not r.ok), verdict.rows[0])
    lines = [f"case {case_id} is bad on {', '.join(verdict.bad)}"]
    needs: dict[str, list[str]] = {}
    for slo in journey.slos:
        if slo.name in verdict.bad and slo.kind == "ratio":
            needs.setdefault(slo.predicate.sli, []).append(f"{slo.name}: {slo.good}")
    for sli, wants in needs.items():
        score = row.scores.get(sli) or {}
        lines.append(f"  {sli} = {score.get('value')} ({'; '.join(wants)})")
        if score.get("explanation") and row.ok:
            lines.append(f"    {_clip(str(score['explanation']))}")
    lines.append(f"  input: {_clip(row.input)}")
    if not row.ok:
        lines.append(f"  error: {_clip(str(row.observation.get('error') or row.status))}")
    else:
        lines.append(f"  answer: {_clip(str(row.observation.get('answer') or ''))}")
    return "\n".join(lines)


def _clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _run_suite(node: SuiteFile, item: pytest.Item | None = None) -> SuiteRun:
    """The suite's one run this session: started by its first item, then reused."""
    state = node.config.stash[STATE]
    run = state.runs.get(node.path)
    if run is not None:
        return run
    run = state.runs[node.path] = SuiteRun()
    suite = node.suite
    chosen = {
        i.journey_name
        for i in node.session.items
        if isinstance(i, _SuiteItem) and i.journey_name and i.path == node.path
    }
    if chosen:  # -k / -m deselected whole journeys: do not call their targets
        suite = suite.model_copy(
            update={"journeys": tuple(j for j in suite.journeys if j.name in chosen)}
        )
    run.suite = suite
    try:
        out = _suite_output(node, suite.name, item)
        run.result = _run_and_report(node.config, suite, out)
        run.output = out
    except InputError as exc:
        run.error = message(exc)
    except Exception as exc:
        run.error = f"the run of {suite.name} failed: {type(exc).__name__}: {exc}"
        raise
    return run


def _suite_output(node: SuiteFile, suite: str, item: pytest.Item | None = None) -> Path:
    config = node.config
    state = config.stash[STATE]
    suffix = ""
    worker = getattr(config, "workerinput", None)
    if worker is not None and not _one_worker_a_suite(node, worker.get("cujeval_dist")):
        suffix = f"-{worker['workerid']}"  # each worker that gets items runs the suite
        if not state.split_warned and isinstance(item, pytest.Item):
            state.split_warned = True
            warn(
                item,
                "a suite's items may run on several xdist workers, each running the suite: "
                "pass --dist loadfile to run each suite once",
            )
    if state.options.output is not None:
        return state.options.output / f"{suite}{suffix}"
    return Path(f"{new_run_dir(reports_dir(config), suite)}{suffix}")


def _one_worker_a_suite(node: SuiteFile, dist: str | None) -> bool:
    """Does xdist's ``--dist`` mode send all of a suite's items to one worker? loadfile
    does; loadgroup does when xdist could apply the items' ``xdist_group`` (their node ids
    then end in ``@group``; not so with pytest 9.2 and xdist 3.8)."""
    if dist == "loadfile":
        return True
    items = [i for i in node.session.items if isinstance(i, _SuiteItem) and i.path == node.path]
    return dist == "loadgroup" and all("@" in i.nodeid for i in items)


def _run_and_report(config: pytest.Config, suite: Suite, out: Path) -> RunResult:
    """Run ``suite`` through the pipeline into ``out`` on a fresh event loop in a worker
    thread (every report, MLflow as the options say) and note it for the terminal summary."""
    options = run_options(config, out)
    result = in_thread(lambda: evaluate(suite, options))
    note_run(config, result, out)
    return result
