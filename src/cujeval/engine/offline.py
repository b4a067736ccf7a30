"""``cujeval score``: score recorded observations (e.g. logged production traffic, or labelled
data) without calling a target. Each input row carries golden-case fields and observation
fields; each output row is the input plus ``scores``.

Judge scorers (``llm_faithfulness``, ``rubric``, ...) take a judge block: from the flags
(:func:`judge_from_flags`) or a suite's ``judge:`` (with its ``prices:``). A scorer's options
follow its name (``rubric={name: polite, criteria: ...}``). Progress (rows, judge calls and
failures so far) and the judge's account (calls, failures by reason, tokens, cost, agreement
with ``faithfulness``) go to stderr."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
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


# What a judge on this machine (llama.cpp, Ollama, vLLM on localhost) gets unless told
# otherwise: one call at a time (such a server usually serves one, and queued calls only time
# out), short answers, one retry. A remote API keeps JudgeConfig's defaults.
LOCAL_DEFAULTS: dict[str, Any] = {
    "max_concurrency": 1,
    "max_tokens": 512,
    "timeout_s": 180.0,
    "max_retries": 1,
}
_LOOPBACK = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def is_local(url: str) -> bool:
    """Is the judge at ``url`` on this machine?"""
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    return host in _LOOPBACK or host.startswith("127.")


def judge_from_flags(
    *,
    url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
    suite: Path | None = None,
    settings: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The judge block and price table ``cujeval score`` scores with: the suite's ``judge:``
    and ``prices:`` when ``suite`` is given, the flags overriding its fields; else the flags
    alone (``--judge-url`` and ``--judge-model`` together). ``settings`` are the judge's other
    flags (``max_tokens``, ``timeout_s``, ``max_concurrency``, ...). A judge on this machine
    gets :data:`LOCAL_DEFAULTS` for what neither the suite nor a flag sets. InputError naming
    the flag."""
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
    tuned = {k: v for k, v in (settings or {}).items() if v is not None}
    if judge is None and (given or tuned):
        for key, flag in (("base_url", "--judge-url"), ("model", "--judge-model")):
            if key not in given:
                raise InputError(f"a judge needs {flag} too (or --suite)", field=flag)
        judge = {}
    if judge is None:
        return None, prices
    judge.update(given)
    judge.update(tuned)
    if isinstance(judge.get("base_url"), str) and is_local(judge["base_url"]):
        for key, value in LOCAL_DEFAULTS.items():
            judge.setdefault(key, value)
    from cujeval.spec.judge import JudgeConfig

    where = str(suite) if suite is not None else "--judge-url"
    JudgeConfig.from_mapping(judge, file=where)  # bad flags are bad input before any row
    return judge, prices


def parse_scorer(text: str) -> tuple[str, dict[str, Any]]:
    """``NAME`` or ``NAME={options}`` (a YAML flow mapping, as in a suite:
    ``rubric={name: polite, criteria: "The answer is polite."}``); InputError otherwise."""
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep:
        return name, {}
    import yaml

    try:
        options = yaml.safe_load(rest)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{name}: options are not YAML: {problem}", field="--scorer") from None
    if not isinstance(options, dict):
        raise InputError(
            f"{name}: options must be a mapping, e.g. {name}={{key: value}}", field="--scorer"
        )
    return name, options


def score_file(
    path: Path,
    names: list[str],
    output: Path | None,
    *,
    judge: dict[str, Any] | None = None,
    prices: dict[str, Any] | None = None,
    progress: bool = False,
    plugins: Iterable[str] = (),
) -> int:
    """Score every row of ``path`` with the named scorers (``NAME`` or ``NAME={options}``);
    returns the number of rows. ``judge`` (a judge block) and ``prices`` go to the scorers
    that take them; ``plugins`` (files or modules, relative to the working directory) are
    imported first. Rows are written in input order as soon as they and those before them
    are scored, so an interrupted run keeps what finished. ``progress``: rows, judge calls and
    failures so far on stderr (:class:`cujeval._util.progress.Ticker`)."""
    from cujeval._util.plugins import load_plugin
    from cujeval._util.progress import Ticker
    from cujeval.engine.case import score_case

    for entry in plugins:
        load_plugin(entry, base=Path.cwd(), file="--plugin")
    context = {"judge": judge, "prices": prices}
    scorers = []
    for text in names:
        name, options = parse_scorer(text)
        scorers.append(registry.create(name, options, context=context, file="--scorer"))
    rows = list(_rows(path))  # validate every row before scoring any
    parsed = [_split(path, lineno, raw) for lineno, raw in rows]
    scored: list[dict[str, Any]] = []
    failed_rows = 0

    def status() -> str:
        parts = [f"{failed_rows} with scorer errors"] if failed_rows else []
        if judge is not None:
            from cujeval.scorers.judges.client import describe_stats, shared_stats

            parts.insert(0, describe_stats(shared_stats()))
        return "; ".join(parts)

    async def main(out: IO[str], ticker: Ticker) -> None:
        nonlocal failed_rows
        sem = asyncio.Semaphore(8)

        async def one(case: GoldenCase, obs: Observation) -> dict[str, Any]:
            nonlocal failed_rows
            async with sem:
                scores, failed = await score_case(scorers, case, obs)
            failed_rows += bool(failed)
            ticker.tick()
            return {k: v.to_dict() for k, v in scores.items()}

        tasks = [asyncio.ensure_future(one(c, o)) for c, o in parsed]
        try:
            for (lineno, raw), task in zip(rows, tasks, strict=True):
                scores = await task
                out.write(dumps({**raw, "scores": scores}, ensure_ascii=False) + "\n")
                out.flush()
                scored.append({"case_id": str(raw.get("id", lineno)), "scores": scores})
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if judge is not None:
                from cujeval.scorers.judges.client import close_shared

                await close_shared()

    if judge is not None and progress:
        print(_judge_line(judge, names), file=sys.stderr)
    with Ticker(len(rows), label="rows", status=status, enabled=progress) as ticker:
        if output is None:
            asyncio.run(main(sys.stdout, ticker))
        else:
            output.parent.mkdir(parents=True, exist_ok=True)
            with output.open("w", encoding="utf-8") as f:
                asyncio.run(main(f, ticker))
    if judge is not None:
        from cujeval.scorers.judges.summary import describe, judge_summary

        line = describe(judge_summary(scored))
        if line:
            print(line, file=sys.stderr)
    return len(rows)


def _judge_line(judge: Mapping[str, Any], names: list[str]) -> str:
    """What the judge runs with, said before the first call (the settings a slow run needs)."""
    from cujeval._util.redact import redact_url
    from cujeval.spec.judge import JudgeConfig

    config = JudgeConfig.from_mapping(judge)
    local = (
        " (on this machine: local defaults for what is not set)"
        if is_local(config.base_url)
        else ""
    )
    return (
        f"judge {config.model} at {redact_url(config.base_url)}{local}: "
        f"max_tokens {config.max_tokens}, timeout {config.timeout_s:g} s, "
        f"concurrency {config.max_concurrency}, retries {config.max_retries}, "
        f"epochs {config.epochs} (--judge-max-tokens, --judge-timeout, --judge-concurrency, "
        "--judge-retries, --judge-epochs to change)"
    )


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
