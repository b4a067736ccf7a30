"""The suite's SLOs as OpenSLO v1 documents (``cujeval slo export``, and an MLflow artifact).

One ``Service`` (the suite), one ``SLO`` per journey SLO, and the two burn-rate alert
conditions of cujeval's budget policy with the ``AlertPolicy`` that binds them. Ratio and
journey-success SLOs are ``ratioMetric`` indicators (good cases over judged cases);
aggregate objectives are ``thresholdMetric`` ones (``p95(latency_s) <= 1.5`` is op ``lte``,
value 1.5, and for a quantile the target share 0.95). Windows are counted in runs; with one
run a day (nightly) a window of W runs is the rolling ``Wd`` OpenSLO asks for, and the exact
count travels as the annotation ``cujeval/window-runs``.

Fast burn as a rate: one run spends ≥ f of a window's budget when its burn rate is ≥ f·W
(runs of equal size), so the fast condition is ``burnrate ≥ f·W`` over one run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cujeval.core.budget import quantile_target
from cujeval.spec.budget import DEFAULT_POLICY, BudgetPolicy

if TYPE_CHECKING:
    from cujeval.spec.results import RunResult
    from cujeval.spec.suite import Suite

API_VERSION = "openslo/v1"
_OPS = {"<=": "lte", "<": "lt", ">=": "gte", ">": "gt", "==": "eq", "!=": "neq"}


@dataclass(frozen=True)
class SLODescriptor:
    journey: str
    name: str
    description: str
    kind: str  # ratio | journey | aggregate
    expression: str  # predicate, "all of: a, b", or objective
    target: float | None


def from_suite(suite: Suite) -> list[SLODescriptor]:
    out = []
    for j in suite.journeys:
        for s in j.slos:
            if s.kind == "aggregate":
                expression = s.objective or ""
            elif s.kind == "journey":
                expression = "all of: " + ", ".join(s.all_of or ())
            else:
                expression = s.good or ""
            out.append(SLODescriptor(j.name, s.name, s.description, s.kind, expression, s.target))
    return out


def from_result(result: RunResult) -> list[SLODescriptor]:
    return [
        SLODescriptor(j.name, s.name, s.description, s.kind, s.expression, s.target)
        for j in result.journeys
        for s in j.slos
    ]


def name_of(*parts: str) -> str:
    """A DNS-label name (lowercase letters, digits, '-', at most 63 characters)."""
    text = re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-") or "slo"
    if len(text) <= 63:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{text[:54].rstrip('-')}-{digest}"


def documents(
    suite_name: str,
    slos: list[SLODescriptor],
    *,
    description: str = "",
    policy: BudgetPolicy | None = None,
) -> list[dict[str, Any]]:
    """OpenSLO v1 documents for ``slos`` of the suite called ``suite_name``."""
    policy = policy or DEFAULT_POLICY
    service = name_of(suite_name)
    window = f"{policy.window}d"
    fast_name = name_of(suite_name, "fast-burn")
    slow_name = name_of(suite_name, "slow-burn")
    alert_name = name_of(suite_name, "burn-rate")
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": API_VERSION,
            "kind": "Service",
            "metadata": {"name": service, "displayName": suite_name},
            "spec": {"description": description or f"cujeval suite {suite_name}"},
        },
        _condition(
            fast_name,
            f"the last run alone spends >= {policy.fast_share:.0%} of the budget of "
            f"{policy.window} runs (and its bad rate's lower bound exceeds the allowed rate)",
            "page",
            round(policy.fast_share * policy.window, 6),
            "1d",
        ),
        _condition(
            slow_name,
            f"burn rate >= {policy.slow_burn:g} over the last {policy.slow_window} runs",
            "ticket",
            policy.slow_burn,
            f"{policy.slow_window}d",
        ),
        {
            "apiVersion": API_VERSION,
            "kind": "AlertPolicy",
            "metadata": {"name": alert_name},
            "spec": {
                "description": "cujeval's multi-window burn-rate alerts, counted in runs",
                "alertWhenBreaching": True,
                "alertWhenResolved": False,
                "alertWhenNoData": False,
                "conditions": [{"conditionRef": fast_name}, {"conditionRef": slow_name}],
                "notificationTargets": [],
            },
        },
    ]
    for slo in slos:
        doc = _slo(service, suite_name, slo, window, policy)
        if doc is not None:
            if slo.target is not None or quantile_target(slo.expression) is not None:
                doc["spec"]["alertPolicies"] = [alert_name]
            docs.append(doc)
    return docs


def _condition(
    name: str, description: str, severity: str, threshold: float, lookback: str
) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "AlertCondition",
        "metadata": {"name": name},
        "spec": {
            "description": description,
            "severity": severity,
            "condition": {
                "kind": "burnrate",
                "op": "gte",
                "threshold": threshold,
                "lookbackWindow": lookback,
                "alertAfter": "0m",
            },
        },
    }


def _source(journey: str, **spec: Any) -> dict[str, Any]:
    return {"metricSource": {"type": "cujeval", "spec": {"journey": journey, **spec}}}


def _slo(
    service: str, suite_name: str, slo: SLODescriptor, window: str, policy: BudgetPolicy
) -> dict[str, Any] | None:
    name = name_of(suite_name, slo.journey, slo.name)
    objective: dict[str, Any] = {"displayName": slo.name}
    if slo.kind == "aggregate":
        from cujeval.spec.predicates import parse_objective

        obj = parse_objective(slo.expression)
        extra = {} if obj.success is None else {"success_slo": obj.success}
        indicator: dict[str, Any] = {
            "thresholdMetric": _source(slo.journey, sli=obj.sli, statistic=obj.statistic, **extra)
        }
        objective.update({"op": _OPS[obj.op], "value": obj.bound})
        q = quantile_target(slo.expression)
        if q is not None:
            objective["target"] = q[0]
    else:
        good = slo.expression
        indicator = {
            "ratioMetric": {
                "counter": True,
                "good": _source(slo.journey, query=good),
                "total": _source(slo.journey, query="cases judged"),
            }
        }
        objective["target"] = slo.target
    return {
        "apiVersion": API_VERSION,
        "kind": "SLO",
        "metadata": {
            "name": name,
            "displayName": f"{slo.journey}/{slo.name}",
            "annotations": {
                "cujeval/journey": slo.journey,
                "cujeval/slo": slo.name,
                "cujeval/expression": slo.expression,
                "cujeval/window-runs": str(policy.window),
            },
        },
        "spec": {
            "description": slo.description or slo.expression,
            "service": service,
            "indicator": {"metadata": {"name": f"{name[:59]}-sli"}, "spec": indicator},
            "timeWindow": [{"duration": window, "isRolling": True}],
            "budgetingMethod": "Occurrences",
            "objectives": [objective],
        },
    }


def to_yaml(docs: list[dict[str, Any]]) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when there: 20x faster
    return yaml.dump_all(docs, Dumper=dumper, sort_keys=False, allow_unicode=True)


def export_suite(suite: Suite) -> str:
    return to_yaml(
        documents(suite.name, from_suite(suite), description=suite.description, policy=suite.budget)
    )


def export_result(result: RunResult, policy: BudgetPolicy | None = None) -> str:
    return to_yaml(documents(result.suite, from_result(result), policy=policy))
