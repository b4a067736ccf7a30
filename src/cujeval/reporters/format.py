"""Shared wording of verdicts for every reporter (console, Markdown, JUnit)."""

from __future__ import annotations

from cujeval.spec.results import SLOEntry


def number(x: float | None, *, ratio: bool) -> str:
    if x is None:
        return "–"
    if ratio:
        return f"{100 * x:.1f} %"
    return f"{x:.4g}"


def interval(slo: SLOEntry) -> str:
    """``[lower, upper]``; a bound the cases cannot give shows as ``–``."""
    ratio = slo.kind != "aggregate"
    if slo.lower is None and slo.upper is None:
        return "–"
    return f"[{number(slo.lower, ratio=ratio)}, {number(slo.upper, ratio=ratio)}]"


def objective(slo: SLOEntry) -> str:
    if slo.kind == "aggregate":
        return slo.expression
    return f"{slo.expression} in ≥ {number(slo.target, ratio=True)}"


WHY = 300  # characters of a worst case's reason in a one-line verdict


def worst(slo: SLOEntry, k: int = 3, *, why: bool = True) -> str:
    """The first ``k`` worst cases: id, value and (``why``) what made each bad, cases with the
    same reason together, e.g. ``c3 (0), c7 (0): product:required_phrases(phrases=['refund']):
    missing 'refund' | c9 (0): ...``."""
    groups: list[tuple[str, list[str]]] = []  # (reason, case labels), in order
    for w in slo.worst_cases[:k]:
        v = w.get("value")
        label = f"{w['case_id']}" + (f" ({v:.3g})" if isinstance(v, float) else "")
        reason = " ".join(str(w.get("why") or "").split()) if why else ""
        if len(reason) > WHY:
            reason = reason[: WHY - 1] + "…"
        if groups and groups[-1][0] == reason:
            groups[-1][1].append(label)
        else:
            groups.append((reason, [label]))
    parts = [", ".join(labels) + (f": {reason}" if reason else "") for reason, labels in groups]
    return (" | " if any(reason for reason, _ in groups) else ", ").join(parts)


def stat_of(slo: SLOEntry) -> str:
    return slo.expression.split("(")[0] if slo.kind == "aggregate" else "the share"


def sentence(journey: str, slo: SLOEntry) -> str:
    """One line that reads like a verdict, e.g.
    ``grounded/answers-grounded BREACHED: 86.0 % good [80.1 %, 90.4 %] < 95.0 %; worst: q-3``."""
    ratio = slo.kind != "aggregate"
    head = f"{journey}/{slo.name} {slo.verdict}"
    if slo.estimate is None:
        why = f"{slo.n_unscorable} case(s) not scorable"
        if slo.n_scorer_errors:
            why += f", {slo.n_scorer_errors} scorer error(s)"
        return f"{head}: no valid case, nothing measured ({why}) [{slo.expression}]"
    if ratio:
        rel = {"MET": "≥", "BREACHED": "<"}.get(slo.verdict, "vs")
        good = f"{slo.good:g}" if slo.good is not None else "?"
        body = (
            f"{number(slo.estimate, ratio=True)} good ({good}/{slo.n}) {interval(slo)} "
            f"{rel} target {number(slo.target, ratio=True)} [{slo.expression}]"
        )
        if slo.design_effect:
            body += f"; clustered cases, design effect {slo.design_effect:.2f}"
        if slo.pass_all_k is not None and slo.pass_any_k is not None:
            body += (
                f"; pass^k {number(slo.pass_all_k, ratio=True)}, "
                f"pass@k {number(slo.pass_any_k, ratio=True)}"
            )
    else:
        stat = slo.expression.partition(")")[0] + ")"  # p95(latency_s), per_success(a, b)
        body = (
            f"{stat} = {number(slo.estimate, ratio=False)} {interval(slo)}; "
            f"objective {slo.expression}"
        )
    if slo.verdict == "INCONCLUSIVE" and slo.min_cases and slo.n < slo.min_cases:
        body += f"; needs {slo.min_cases} cases for a bound of {stat_of(slo)} (has {slo.n})"
    elif slo.verdict == "INCONCLUSIVE" and slo.cases_to_decide:
        body += f"; about {slo.cases_to_decide} more cases would decide it"
    if slo.n_unscorable or slo.n_scorer_errors:
        body += f"; {slo.n_unscorable} not scorable"
        if slo.n_scorer_errors:
            body += f" ({slo.n_scorer_errors} scorer errors)"
    w = worst(slo)
    if w and slo.verdict != "MET":
        body += f"; worst cases: {w}"
    return f"{head}: {body}"


def slo_properties(entry: SLOEntry, action: str, reason: str) -> list[tuple[str, object]]:
    """An SLO's figures as JUnit properties, the same in cujeval's junit.xml and in pytest's
    ``--junitxml``: verdict, the gate's action (pass, warn, block) and why, the numbers."""
    props: list[tuple[str, object]] = [
        ("verdict", entry.verdict),
        ("action", action),
        ("reason", reason),
        ("objective", objective(entry)),
    ]
    for name in ("estimate", "lower", "upper", "n", "good", "target", "bound"):
        value = getattr(entry, name)
        if value is not None:
            props.append((name, value))
    return props
