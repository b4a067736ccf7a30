"""``cujeval score``: score recorded observations (e.g. logged production traffic, or labelled
data) without calling a target. Each input row carries golden-case fields and observation
fields; each output row is the input plus ``scores``.

Judge scorers (``llm_faithfulness``, ...) take a judge block: from the flags
(:func:`judge_from_flags`) or a suite's ``judge:`` (with its ``prices:``). The judge's account
(calls, failures by reason, tokens, cost, agreement with ``faithfulness``) goes to stderr."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from cujeval._util.redact import dumps
from cujeval._util.yamlsource import dotted
from cujeval.errors import DatasetError, InputError
from cujeval.scorers import base as registry
from cujeval.spec.records import GoldenCase, Observation

_OBS_FIELDS = set(Observation.model_fields)
_CASE_FIELDS = set(GoldenCase.model_fields)


def _split(path: Path, lineno: int, raw: Any) -> tuple[GoldenCase, Observation]:
    if not isinstance(raw, dict):
        raise DatasetError("a row must be a JSON object", file=path, line=lineno)
    case_part = {k: v for k, v in raw.items() if k in _CASE_FIELDS}
    case_part.setdefault("id", str(raw.get("id", lineno)))
    case_part.setdefault("input", raw.get("question", ""))
    case_part["id"] = str(case_part["id"])
    obs_part = {k: v for k, v in raw.items() if k in _OBS_FIELDS}
    if "contexts" in obs_part and isinstance(obs_part["contexts"], list):
        obs_part["contexts"] = [
            {"text": c, "rank": i + 1} if isinstance(c, str) else {"rank": i + 1, **c}
            for i, c in enumerate(obs_part["contexts"])
        ]
    try:
        return GoldenCase.model_validate(case_part), Observation.model_validate(obs_part)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = {"missing": "is required"}.get(err["type"], err["msg"])
        raise DatasetError(msg, file=path, line=lineno, field=dotted(err["loc"]) or None) from None


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise InputError("no such file", file=path, field="--input")
    with path.open(encoding="utf-8") as f:
        for lineno, text in enumerate(f, 1):
            if text.strip():
                try:
                    yield lineno, json.loads(text)
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"invalid JSON: {exc.msg}", file=path, line=lineno) from None


def judge_from_flags(
    *,
    url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
    suite: Path | None = None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The judge block and price table ``cujeval score`` scores with: the suite's ``judge:``
    and ``prices:`` when ``suite`` is given, the flags overriding its fields; else the flags
    alone (``--judge-url`` and ``--judge-model`` together). InputError naming the flag."""
    judge: dict[str, Any] | None = None
    prices: dict[str, Any] | None = None
    if suite is not None:
        from cujeval.spec.suite import load_suite

        loaded = load_suite(suite)
        if loaded.judge is None:
            raise InputError("the suite has no judge: block", file=suite, field="judge")
        judge = dict(loaded.judge)
        prices = dict(loaded.prices) or None
    flags = {"base_url": url, "model": model, "api_key_env": api_key_env}
    given = {k: v for k, v in flags.items() if v is not None}
    if judge is None and given:
        for key, flag in (("base_url", "--judge-url"), ("model", "--judge-model")):
            if key not in given:
                raise InputError(f"a judge needs {flag} too (or --suite)", field=flag)
        judge = {}
    if judge is None:
        return None, prices
    judge.update(given)
    from cujeval.spec.judge import JudgeConfig

    where = str(suite) if suite is not None else "--judge-url"
    JudgeConfig.from_mapping(judge, file=where)  # bad flags are bad input before any row
    return judge, prices


def score_file(
    path: Path,
    names: list[str],
    output: Path | None,
    *,
    judge: dict[str, Any] | None = None,
    prices: dict[str, Any] | None = None,
) -> int:
    """Score every row of ``path`` with the named scorers; returns the number of rows.
    ``judge`` (a judge block) and ``prices`` go to the scorers that take them."""
    from cujeval.engine.case import score_case

    context = {"judge": judge, "prices": prices}
    scorers = [registry.create(n, {}, context=context, file="--scorer") for n in names]
    rows = list(_rows(path))  # validate every row before scoring any
    parsed = [_split(path, lineno, raw) for lineno, raw in rows]
    scored: list[dict[str, Any]] = []

    async def main(out: IO[str]) -> None:
        sem = asyncio.Semaphore(8)

        async def one(case: GoldenCase, obs: Observation) -> dict[str, Any]:
            async with sem:
                scores, _ = await score_case(scorers, case, obs)
            return {k: v.to_dict() for k, v in scores.items()}

        try:
            results = await asyncio.gather(*(one(c, o) for c, o in parsed))
        finally:
            if judge is not None:
                from cujeval.scorers.judges.client import close_shared

                await close_shared()
        for (lineno, raw), scores in zip(rows, results, strict=True):
            out.write(dumps({**raw, "scores": scores}, ensure_ascii=False) + "\n")
            scored.append({"case_id": str(raw.get("id", lineno)), "scores": scores})

    if output is None:
        asyncio.run(main(sys.stdout))
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("w", encoding="utf-8") as f:
            asyncio.run(main(f))
    if judge is not None:
        from cujeval.scorers.judges.summary import describe, judge_summary

        line = describe(judge_summary(scored))
        if line:
            print(line, file=sys.stderr)
    return len(rows)


def _dig(row: Any, path: str) -> Any:
    node = row
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _label(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    return None


def calibrate_file(path: Path, *, label: str, score: str, rule: str) -> Any:
    """Choose a decision threshold on scored, labelled rows (``cujeval score`` output plus a
    label field). Returns a ``cujeval.grounding.calibrate.Calibration``."""
    from cujeval.grounding.calibrate import choose_threshold

    scores: list[float] = []
    labels: list[bool] = []
    for lineno, row in _rows(path):
        value = _label(_dig(row, label))
        if value is None:
            raise DatasetError(
                "needs a true/false label (true, false, 1 or 0)",
                file=path,
                line=lineno,
                field=label,
            )
        raw = _dig(row, score)
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise DatasetError(
                "needs a numeric score (run `cujeval score` on the rows first)",
                file=path,
                line=lineno,
                field=score,
            )
        scores.append(float(raw))
        labels.append(value)
    if not scores:
        raise DatasetError("no rows", file=path)
    if all(labels) or not any(labels):
        raise DatasetError("the labels must include both true and false rows", file=path)
    return choose_threshold(scores, labels, rule=rule)
