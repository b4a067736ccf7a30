"""Load and validate a suite YAML into frozen objects.

A suite names its targets, its journeys (each a dataset, a target, scorers and SLOs) and its
settings. Every error names the file, the line and the field.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cujeval._util.plugins import load_plugin
from cujeval._util.yamlsource import LineList, LineMap, dotted, line_of, load_yaml
from cujeval.errors import SuiteError
from cujeval.spec.budget import BudgetPolicy
from cujeval.spec.degradations import Degradation
from cujeval.spec.predicates import (
    SATURATION,
    Objective,
    ObjectiveText,
    Predicate,
    parse_objective,
    parse_predicate,
)
from cujeval.spec.targets import TargetSpec

ARM = "@baseline"  # a canary journey's baseline arm is the journey JOURNEY@baseline


def arm_name(journey: str) -> str:
    """The name of a canary journey's baseline arm (cujeval.engine.canary)."""
    return journey + ARM


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Settings(_Frozen):
    """Run settings: the suite's ``settings:`` block, overridden by flags (cujeval.spec.options)."""

    concurrency: int = Field(8, ge=1, le=4096)
    # retry policy of the calls to targets (cujeval._util.retry); the judge has its own
    # (judge.max_retries)
    retries: int = Field(3, ge=0, le=20)
    backoff_s: float = Field(0.5, ge=0)
    max_backoff_s: float = Field(20.0, ge=0)
    max_retry_after_s: float = Field(30.0, ge=0)
    case_deadline_s: float | None = Field(None, gt=0)
    max_duration_s: float | None = Field(None, gt=0)
    give_up_after_s: float = Field(60.0, gt=0)
    epochs: int = Field(1, ge=1, le=100)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    # gate policy (cujeval.core.gate)
    gate: Literal["interval", "point"] = "interval"
    strict: bool = False
    no_data: Literal["block", "warn"] = "block"
    max_unscorable_share: float = Field(0.5, ge=0, le=1)
    empty_answer: Literal["error", "ok"] = "error"
    cut_answer: Literal["error", "ok"] = "error"  # finish_reason length: cut at max_tokens
    max_scorer_errors: int = Field(0, ge=0)
    bootstrap_resamples: int = Field(2000, ge=100)
    seed: int = 0
    worst_cases: int = Field(5, ge=0)
    # where cases run (cujeval.engine.executors): this process, or a Ray cluster (cujeval[ray]) at
    # ray_address (none: a local Ray that starts and stops with the run)
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = Field(None, min_length=1)


class SLOSpec(_Frozen):
    """One SLO: exactly one of ``good`` (ratio), ``objective`` (aggregate), ``all_of``
    (journey success: every named ratio SLO's predicate good in the same case)."""

    name: str
    description: str = ""
    good: str | None = None
    objective: ObjectiveText = None
    all_of: tuple[str, ...] | None = None
    target: float | None = Field(None, gt=0, le=1)
    blocking: bool = True
    unscorable: Literal["skip", "bad"] = "skip"
    # with --epochs K, what makes a case good: its share of good repeats (default), all K
    # repeats good (pass^k), or any repeat good (pass@k)
    repeats: Literal["share", "all", "any"] = "share"
    # each case must be good (a unit test's assertion): the first bad case breaches, at any n
    every_case: bool = False
    line: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _every_case_target(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("every_case") is True and "target" not in value:
            return {**value, "target": 1.0}
        return value

    @field_validator("good")
    @classmethod
    def _good(cls, value: str | None) -> str | None:
        if value is not None:
            parse_predicate(value)
        return value

    @model_validator(mode="after")
    def _one_form(self) -> SLOSpec:
        forms = [f for f in ("good", "objective", "all_of") if getattr(self, f) is not None]
        if len(forms) != 1:
            raise ValueError("give exactly one of 'good', 'objective' or 'all_of'")
        if self.objective is not None:
            if self.target is not None:
                raise ValueError("'target' goes with 'good' or 'all_of', not with 'objective'")
            if self.every_case:
                raise ValueError("'every_case' goes with 'good' or 'all_of', not with 'objective'")
        elif self.every_case and self.target != 1.0:
            raise ValueError("'every_case: true' means a target of 1.0: leave 'target' out")
        elif self.target is None:
            raise ValueError(
                "a ratio SLO needs 'target' (e.g. 0.95: good in 95 % of cases), or "
                "'every_case: true' (each case must be good)"
            )
        return self

    @property
    def kind(self) -> Literal["ratio", "aggregate", "journey"]:
        if self.objective is not None:
            return "aggregate"
        return "journey" if self.all_of is not None else "ratio"

    @property
    def predicate(self) -> Predicate:
        return parse_predicate(self.good or "")

    @property
    def parsed_objective(self) -> Objective:
        return parse_objective(self.objective or "")

    @property
    def sli(self) -> str | None:
        """The SLI a ratio or aggregate SLO reads (None for a journey SLO)."""
        if self.kind == "journey":
            return None
        return self.parsed_objective.sli if self.kind == "aggregate" else self.predicate.sli

    @property
    def series(self) -> str | None:
        """The series a saturation SLO reads, as scraped from the target's /metrics during
        `cujeval load` (``NAME``, or ``NAME:rate`` for a counter); None for any other SLO."""
        sli = self.sli or ""
        return sli.removeprefix(SATURATION) if sli.startswith(SATURATION) else None

    @property
    def saturation(self) -> bool:
        """On a series scraped from the target's /metrics during `cujeval load`."""
        return self.series is not None

    @property
    def at_rate(self) -> float | None:
        """The load rate an objective is judged at (``... at 20/s``)."""
        return self.parsed_objective.at_rate if self.kind == "aggregate" else None

    @property
    def load_only(self) -> bool:
        """Judged only under `cujeval load`: at a rate, or on saturation."""
        return self.saturation or self.at_rate is not None


class ScorerSpec(_Frozen):
    name: str
    options: dict[str, Any] = Field(default_factory=dict)
    line: int | None = None


NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"  # suite and journey names: they name files and runs


class Journey(_Frozen):
    name: str  # checked against NAME where a suite file is read (load_suite)
    description: str = ""
    dataset: str
    target: str
    # a same-run canary (cujeval.engine.canary): this target answers every case too, interleaved
    # with ``target``, and each SLO is also judged as a paired comparison against it
    baseline_target: str | None = None
    scorers: tuple[ScorerSpec, ...]
    slos: tuple[SLOSpec, ...] = ()
    instructions: tuple[dict[str, Any], ...] = ()
    dataset_line: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _lines(cls, value: Any) -> Any:
        if isinstance(value, LineMap) and "dataset" in value.lines:
            return {**value, "dataset_line": value.lines["dataset"]}
        return value

    @field_validator("scorers", mode="before")
    @classmethod
    def _scorers(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        out: list[Any] = []
        for i, item in enumerate(value):
            line = value.lines[i] if isinstance(value, LineList) else None
            if isinstance(item, str):
                out.append({"name": item, "line": line})
            elif isinstance(item, dict) and len(item) == 1:
                ((name, options),) = item.items()
                out.append({"name": name, "options": options or {}, "line": line})
            else:
                out.append(item)
        return out

    @field_validator("slos", mode="before")
    @classmethod
    def _slo_lines(cls, value: Any) -> Any:
        if not isinstance(value, LineList):
            return value
        return [
            {**item, "line": line} if isinstance(item, dict) and "line" not in item else item
            for item, line in zip(value, value.lines, strict=True)
        ]

    @model_validator(mode="after")
    def _slo_names(self) -> Journey:
        names = [s.name for s in self.slos]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate SLO names: {', '.join(sorted(dupes))}")
        ratio = {
            s.name for s in self.slos if s.kind == "ratio" and not s.saturation
        }  # a case is good or bad on these; saturation SLOs count scrapes, not cases
        counted = ratio | {s.name for s in self.slos if s.kind == "journey"}
        for slo in self.slos:
            success = slo.parsed_objective.success if slo.kind == "aggregate" else None
            if success is not None and success not in counted:
                known = ", ".join(sorted(counted)) or "none"
                raise ValueError(
                    f"SLO {slo.name!r}: per_success names {success!r}, which is not a ratio or "
                    f"journey SLO of this journey (they are: {known})"
                )
            for step in slo.all_of or ():
                if step not in ratio:
                    raise ValueError(
                        f"SLO {slo.name!r}: all_of names {step!r}, which is not a ratio SLO "
                        f"of this journey (ratio SLOs: {', '.join(sorted(ratio)) or 'none'})"
                    )
        return self


class Suite(_Frozen):
    version: Literal[1] = 1
    name: str = Field(pattern=NAME)
    description: str = ""
    # variables whose ${VAR} values may be shown; every other one is a secret (yamlsource)
    public_env: tuple[str, ...] = ()
    # Python files or modules, relative to the suite, whose scorers and target kinds the suite
    # uses (cujeval._util.plugins); imported before the rest of the suite is validated
    plugins: tuple[str, ...] = ()
    targets: dict[str, TargetSpec]
    journeys: tuple[Journey, ...] = Field(min_length=1)
    settings: Settings = Settings()
    prices: dict[str, dict[str, float]] = Field(default_factory=dict)
    judge: dict[str, Any] | None = None
    budget: BudgetPolicy | None = None
    degradations: tuple[Degradation, ...] = ()  # `cujeval scenarios` (cujeval.scenarios.engine)
    path: Path = Path("suite.yaml")

    def dataset_path(self, journey: Journey) -> Path:
        """Dataset paths are relative to the suite file."""
        p = Path(journey.dataset)
        return p if p.is_absolute() else (self.path.parent / p)


def load_suite(path: str | Path) -> Suite:
    """Parse and validate ``path``. Raises SuiteError naming file:line and field."""
    path = Path(path)
    if not path.exists():
        raise SuiteError("no such suite file", file=path)
    tree = load_yaml(path)
    if not isinstance(tree, LineMap):
        raise SuiteError("a suite is a mapping with 'name', 'targets' and 'journeys'", file=path)
    _plugins(tree, path)
    try:
        suite = Suite.model_validate({**tree, "path": path})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc: list[str | int] = [
            p for p in err["loc"] if not (isinstance(p, str) and p in _UNION_TAGS)
        ]
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] in ("union_tag_invalid", "union_tag_not_found", "unknown_target_kind"):
            loc.append("kind")
        if err["type"] == "missing":
            msg = "is required"
        elif err["type"] == "extra_forbidden":
            msg = "is not a known field"
        raise SuiteError(
            msg + _more(exc), file=path, line=line_of(tree, loc), field=dotted(loc) or None
        ) from None
    _check_references(suite, tree)
    register_secrets(suite)
    return suite


def _plugins(tree: LineMap, path: Path) -> None:
    """Import the suite's ``plugins:`` (their target kinds are needed to validate the rest)."""
    entries = tree.get("plugins")
    if entries is None:
        return
    if not isinstance(entries, list) or not all(isinstance(e, str) and e for e in entries):
        raise SuiteError(
            "must be a list of Python files (checks.py) or modules, relative to the suite",
            file=path,
            line=tree.lines.get("plugins"),
            field="plugins",
        )
    lines = entries.lines if isinstance(entries, LineList) else [None] * len(entries)
    for entry, line in zip(entries, lines, strict=True):
        load_plugin(entry, base=path.parent, file=path, line=line)


def load_plugins(suite: Suite) -> None:
    """Import the suite's plugins in this process (done once; a Ray worker, or a suite built
    in Python rather than read from a file, needs it before building scorers)."""
    for entry in suite.plugins:
        load_plugin(entry, base=suite.path.parent, file=suite.path)


def register_secrets(suite: Suite) -> None:
    """Register (cujeval._util.redact) what the suite's targets and judge hold that no writer may
    show: the values of their ``api_key_env`` variables, URL passwords and non-public query
    values. Values taken from the environment were registered as the file was read."""
    from cujeval._util.redact import register, register_url

    for spec in suite.targets.values():
        env = getattr(spec, "api_key_env", None)
        if env and os.environ.get(env):
            register(os.environ[env])
        public = getattr(spec, "public_params", ())
        for url in (getattr(spec, "url", None), getattr(spec, "base_url", None)):
            if isinstance(url, str):
                register_url(url, public)
        agent = getattr(spec, "agent", None)
        for url in (getattr(agent, "tools_url", None), getattr(agent, "state_url", None)):
            if url:
                register_url(url, public)
    judge = suite.judge or {}
    if isinstance(judge.get("api_key_env"), str) and os.environ.get(judge["api_key_env"]):
        register(os.environ[judge["api_key_env"]])
    if isinstance(judge.get("base_url"), str):
        register_url(judge["base_url"])


def _check_references(suite: Suite, tree: LineMap) -> None:
    if suite.judge is not None:
        from cujeval.spec.judge import JudgeConfig

        block = tree.get("judge", suite.judge)  # the LineMap, so errors point at the key's line
        JudgeConfig.from_mapping(block, file=suite.path, line=tree.lines.get("judge"))

    def bad(i: int, key: str, message: str) -> SuiteError:
        loc: list[str | int] = ["journeys", i, key]
        return SuiteError(message, file=suite.path, line=line_of(tree, loc), field=dotted(loc))

    names = [j.name for j in suite.journeys]
    for i, journey in enumerate(suite.journeys):
        if not re.fullmatch(NAME, journey.name):
            raise bad(
                i,
                "name",
                f"journey name {journey.name!r}: use letters, digits, '_', '.' and '-', "
                "starting with a letter or digit (it names files and MLflow runs)",
            )
        if journey.name in names[:i]:
            raise bad(i, "name", f"duplicate journey name {journey.name!r}")
        for key in ("target", "baseline_target"):
            name = getattr(journey, key)
            if name is not None and name not in suite.targets:
                defined = ", ".join(sorted(suite.targets)) or "none"
                raise bad(i, key, f"names target {name!r}; defined targets: {defined}")
        if journey.baseline_target is not None and arm_name(journey.name) in names:
            raise bad(
                i,
                "baseline_target",
                f"the baseline arm of journey {journey.name!r} is called "
                f"{arm_name(journey.name)!r}, which another journey is called already",
            )


_UNION_TAGS = {"openai", "http", "python", "plugin", "function-after[_one_form(), SLOSpec]"}


def _more(exc: ValidationError) -> str:
    n = exc.error_count()
    return f" (and {n - 1} more problem{'s' if n > 2 else ''})" if n > 1 else ""
