"""The judge's account of one journey, from the journal rows after the run.

The runner knows nothing of the judge: every judged Score carries its judgement's counts in
its metadata (:meth:`cujeval.scorers.judges.judgement.Judge.metadata`), and
:func:`judge_summary` adds them up, once per judge scorer and row. Its result is what
``results.json`` keeps per journey under ``judge`` (keys below); :func:`judge_metrics` flattens
the numbers for MLflow and :func:`describe` writes the console line.

    models, scorers     judge models seen; rows judged per judge scorer
    judgements          epochs judged (rows × judge scorers × epochs that reached the judge)
    failed, failures    failed epochs, and by reason (every reason of
                        :data:`cujeval.scorers.judges.failures.REASONS`, zeros included)
    causes              a message per reason that occurred, naming the cause ("judge output cut
                        at max_tokens=1024; raise judge.max_tokens or use a larger model")
    calls, cache_hits, retries
                        requests the server answered in this run, answers from the cache,
                        retried attempts
    prompt_tokens, completion_tokens, tokens, usage_missing
                        tokens of the calls made in this run (cached answers cost none);
                        answers that came without usage
    cost_usd            sum of the rows' judge_cost_usd (None when no row was priced);
                        cost_unpriced_rows: rows whose judge model had no price
    agreement           :func:`cujeval.scorers.judges.agreement.agreement`, when the journey
                        runs both ``faithfulness`` and ``llm_faithfulness``
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from cujeval.scorers.judges.agreement import agreement, cohen_kappa
from cujeval.scorers.judges.failures import REASONS
from cujeval.spec.results import JudgeAccount

_COUNTS = {
    "calls": "judge_calls",
    "cache_hits": "judge_cache_hits",
    "retries": "judge_retries",
    "prompt_tokens": "judge_prompt_tokens",
    "completion_tokens": "judge_completion_tokens",
    "usage_missing": "judge_usage_missing",
}

__all__ = ["agreement", "cohen_kappa", "describe", "judge_metrics", "judge_summary"]


def _scores(row: Any) -> Mapping[str, Any]:
    scores = row.get("scores") if isinstance(row, Mapping) else getattr(row, "scores", None)
    return scores if isinstance(scores, Mapping) else {}


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def judge_summary(rows: Iterable[Any]) -> dict[str, Any]:
    """The judge's calls, failures by reason, tokens, cost and agreement over one journey's
    journal rows (JournalRow objects or their dicts); ``{}`` when nothing was judged."""
    rows = list(rows)
    models: list[str] = []
    scorers: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    causes: dict[str, str] = {}
    judgements = 0
    cost: float | None = None
    unpriced = 0
    for row in rows:
        scores = _scores(row)
        seen: set[str] = set()
        for score in scores.values():
            meta = score.get("metadata") if isinstance(score, Mapping) else None
            name = meta.get("judge_scorer") if isinstance(meta, Mapping) else None
            if not isinstance(meta, Mapping) or not isinstance(name, str) or name in seen:
                continue
            seen.add(name)
            scorers[name] += 1
            model = meta.get("judge_model")
            if isinstance(model, str) and model not in models:
                models.append(model)
            judgements += max(1, _int(meta.get("epochs", 1)))
            for key, field in _COUNTS.items():
                counts[key] += _int(meta.get(field))
            for reason, n in (meta.get("judge_failures") or {}).items():
                failures[str(reason)] += _int(n)
            for reason, message in (meta.get("judge_causes") or {}).items():
                causes.setdefault(str(reason), str(message))
        spend = scores.get("judge_cost_usd")
        if isinstance(spend, Mapping):
            value = spend.get("value")
            if isinstance(value, int | float) and not isinstance(value, bool):
                cost = (cost or 0.0) + float(value)
            elif "no price" in str(spend.get("explanation", "")):
                unpriced += 1
    agreed = agreement(rows)
    if not scorers and not agreed:
        return {}
    out: dict[str, Any] = {
        "models": models,
        "scorers": dict(sorted(scorers.items())),
        "judgements": judgements,
        "failed": sum(failures.values()),
        "failures": {reason: failures.get(reason, 0) for reason in REASONS}
        | {k: v for k, v in failures.items() if k not in REASONS},
        "causes": {reason: causes[reason] for reason in sorted(causes)},
        **{key: counts.get(key, 0) for key in _COUNTS},
        "tokens": counts["prompt_tokens"] + counts["completion_tokens"],
        "cost_usd": cost,
        "cost_unpriced_rows": unpriced,
    }
    if agreed:
        out["agreement"] = agreed
    return out


def judge_metrics(
    summary: Mapping[str, Any] | JudgeAccount, prefix: str = "judge."
) -> dict[str, float]:
    """The summary's numbers as flat metric names (``judge.calls``,
    ``judge.failures.max_tokens``, ``judge.agreement.kappa``, ...) for MLflow."""
    out: dict[str, float] = {}
    for key in ("judgements", "failed", *_COUNTS, "tokens", "cost_usd", "cost_unpriced_rows"):
        value = summary.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[prefix + key] = float(value)
    for reason, n in (summary.get("failures") or {}).items():
        out[f"{prefix}failures.{reason}"] = float(n)
    agreed = summary.get("agreement") or {}
    for key in ("agreement", "kappa", "mean_abs_diff", "n_cases", "n_rows", "n_disagree"):
        value = agreed.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[f"{prefix}agreement.{key}"] = float(value)
    return out


def describe(summary: Mapping[str, Any] | JudgeAccount) -> str:
    """One line for the console: calls, failures with their causes, tokens, cost, agreement."""
    if not summary:
        return ""
    models = ", ".join(summary.get("models") or ()) or "judge"
    calls = summary.get("calls", 0)
    parts = [f"{calls} call{'s' if calls != 1 else ''}"]
    extra = []
    if summary.get("cache_hits"):
        extra.append(f"{summary['cache_hits']} cached")
    if summary.get("retries"):
        extra.append(f"{summary['retries']} retried")
    if extra:
        parts[0] += f" ({', '.join(extra)})"
    failed = summary.get("failed", 0)
    if summary.get("judgements"):
        text = f"{failed} of {summary['judgements']} judgements failed"
        if failed:
            reasons = [f"{r} {n}" for r, n in (summary.get("failures") or {}).items() if n]
            text += f" ({', '.join(reasons)})"
        parts.append(text)
    parts.append(f"{summary.get('tokens', 0):,} tokens")
    cost = summary.get("cost_usd")
    parts.append(f"${cost:.4g}" if isinstance(cost, int | float) else "cost unpriced")
    line = f"judge {models}: " + ", ".join(parts)
    agreed = summary.get("agreement")
    if agreed:
        share = agreed["agreement"]
        kappa = agreed.get("kappa")
        line += (
            f"; agrees with offline faithfulness on {share:.0%} of {agreed['n_cases']} cases"
            + (f" (kappa {kappa:.2f})" if isinstance(kappa, float) else "")
            + f", {agreed['n_disagree']} disagree"
        )
    for message in (summary.get("causes") or {}).values():
        line += f"\n  {message}"
    return line
