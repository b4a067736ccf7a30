"""Cost per inference: token usage × price per million tokens.

Prices come from the suite's ``prices`` table when it names the model, else from the price data
bundled with the installed genai-prices (its network updater is never started, and a snapshot
another library installed is ignored, so a run's prices depend only on the installed version
and the pricing date).

cost = (prompt_tokens · input_per_mtok + completion_tokens · output_per_mtok) / 10⁶ USD

Every priced Score says which table priced it (``metadata.price_table``: ``suite`` or
``genai-prices``); :func:`price_sources` gathers that per model from a run's rows for
``results.json``'s ``price_table``.

A target that reports no usage (a streamed target whose server sends none) leaves the case not
scorable, ``metadata.reason = "no_usage"``, unless the suite names a tokenizer
(``cost_usd: {tokenizer: all-minilm-l6-v2}``, see :mod:`cujeval.scorers.tokenizer`): then the
tokens are counted (question, returned contexts and answer; the target's own system prompt and
chat template are not seen) and the Score is marked ``metadata.estimated = true``.
:func:`cost_summary` and :func:`cost_note` count both per journey.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from cujeval.scorers.base import Score, Scorer, scorer, single
from cujeval.spec.records import GoldenCase, Observation

PriceTable = Mapping[str, Mapping[str, float]]
_PRICE_KEYS = frozenset({"input_per_mtok", "output_per_mtok"})
_MTOK = 1_000_000


def validate_prices(prices: PriceTable | None) -> dict[str, tuple[float, float]]:
    """``{model: {input_per_mtok, output_per_mtok}}`` as ``{model: (in, out)}``; ValueError
    naming the model and key when an entry is malformed."""
    out: dict[str, tuple[float, float]] = {}
    for model, entry in (prices or {}).items():
        if not isinstance(entry, Mapping) or set(entry) != _PRICE_KEYS:
            raise ValueError(
                f"prices[{model!r}] must have exactly the keys input_per_mtok and output_per_mtok"
            )
        values = []
        for key in ("input_per_mtok", "output_per_mtok"):
            v = entry[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ValueError(f"prices[{model!r}].{key} must be a number, got {v!r}")
            if v < 0:
                raise ValueError(f"prices[{model!r}].{key} must be >= 0, got {v}")
            values.append(float(v))
        out[str(model)] = (values[0], values[1])
    return out


def _suite_price(
    table: Mapping[str, tuple[float, float]], model: str
) -> tuple[float, float] | None:
    if model in table:
        return table[model]
    lowered = {name.lower(): price for name, price in table.items()}
    return lowered.get(model.lower())


@lru_cache(maxsize=1)
def _snapshot() -> Any:
    """The bundled genai-prices data; never the auto-updated one."""
    from genai_prices.data import providers
    from genai_prices.data_snapshot import DataSnapshot

    return DataSnapshot(providers=providers, from_auto_update=False)


@lru_cache(maxsize=8)
def _effective_date(day: date) -> date | None:
    """The newest dated price change in the bundled data that is in effect on ``day``."""
    from genai_prices.types import StartDateConstraint

    newest: date | None = None
    for provider in _snapshot().providers:
        for model in provider.models:
            conditional = model.prices if isinstance(model.prices, list) else []
            for entry in [*conditional, *(model.price_variants or ())]:
                c = entry.constraint
                if isinstance(c, StartDateConstraint) and c.start_date <= day:
                    newest = c.start_date if newest is None else max(newest, c.start_date)
    return newest


@lru_cache(maxsize=1)
def _genai_prices_version() -> str:
    from importlib.metadata import version

    return version("genai-prices")


def price_table_info(
    at: datetime | None = None, *, models: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """Which price data a run used: source, genai-prices version, and the table's date.

    The bundled data carries no generation date, so ``date`` is the newest dated price change
    in effect on the pricing day (``priced_at``, today in UTC unless ``at`` is given); the
    version pins the table exactly. ``models`` (:func:`price_sources` of the run's rows) adds
    which table priced each model: ``{model: {"table": "suite" | "genai-prices", ...}}``.
    """
    day = (at or datetime.now(UTC)).astimezone(UTC).date()
    effective = _effective_date(day)
    info: dict[str, Any] = {
        "source": "genai-prices",
        "version": _genai_prices_version(),
        "date": effective.isoformat() if effective else None,
        "priced_at": day.isoformat(),
        "auto_update": False,
    }
    if models is not None:
        info["models"] = {name: dict(entry) for name, entry in sorted(models.items())}
    return info


def _check_tokens(prompt_tokens: int, completion_tokens: int) -> None:
    for name, v in (("prompt_tokens", prompt_tokens), ("completion_tokens", completion_tokens)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {v!r}")


def usage_cost(
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    *,
    prices: PriceTable | None = None,
    provider: str | None = None,
    at: datetime | None = None,
) -> tuple[float, dict[str, Any]] | None:
    """USD cost of one call and where its price came from; None when the model has no price.

    ``prices`` (the suite's table, matched exactly, then case-insensitively) wins over
    genai-prices; ``provider`` is a genai-prices provider id hint (e.g. "openai", "azure");
    ``at`` is the pricing instant for dated prices (default: now).
    """
    _check_tokens(prompt_tokens, completion_tokens)
    return _priced(model, prompt_tokens, completion_tokens, validate_prices(prices), provider, at)


def _priced(
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    table: Mapping[str, tuple[float, float]],
    provider: str | None,
    at: datetime | None,
) -> tuple[float, dict[str, Any]] | None:
    tokens = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
    own = _suite_price(table, model)
    if own is not None:
        usd = (prompt_tokens * own[0] + completion_tokens * own[1]) / _MTOK
        meta = {"source": "suite", "price_table": "suite", "date": None, "model": model, **tokens}
        return usd, {**meta, "input_per_mtok": own[0], "output_per_mtok": own[1]}
    from genai_prices import Usage

    when = at or datetime.now(UTC)
    usage = Usage(input_tokens=prompt_tokens, output_tokens=completion_tokens)
    try:
        calc = _snapshot().calc(usage, model, provider, None, when)
    except (LookupError, ValueError):
        return None
    info = price_table_info(when)
    return float(calc.total_price), {
        "source": f"genai-prices {info['version']}",
        "price_table": "genai-prices",
        "date": info["date"],
        "model": calc.model.id,
        "provider": calc.provider.id,
        **tokens,
        "input_usd": float(calc.input_price),
        "output_usd": float(calc.output_price),
    }


NO_USAGE = "no_usage"


@scorer("cost_usd", needs=("usage", "model"), context=("prices",))
def cost_usd(
    *,
    prices: PriceTable | None = None,
    provider: str | None = None,
    tokenizer: str | None = None,
) -> Scorer:
    """USD cost of the target call from its token usage and the model's price."""
    table = validate_prices(prices)
    counter = None
    if tokenizer is not None:
        if not isinstance(tokenizer, str):
            raise ValueError(f"tokenizer must be a name, got {type(tokenizer).__name__}")
        from cujeval.scorers.tokenizer import load_tokenizer

        counter = load_tokenizer(tokenizer)

    async def score(case: GoldenCase, obs: Observation) -> Score:
        if obs.usage is None and (counter is None or not obs.ok):
            hint = (
                f"; name a tokenizer to estimate it (cost_usd: {{tokenizer: {_MINILM}}})"
                if counter is None
                else ""
            )
            return Score(
                None,
                "no usage: the target reported no token usage (a streamed target's server "
                f"must send it, e.g. for stream_options.include_usage){hint}",
                {"reason": NO_USAGE},
            )
        if not obs.model:
            return Score.unscorable("the target reported no model name to price")
        estimated = obs.usage is None
        if obs.usage is not None:
            prompt_tokens, completion_tokens = obs.usage.prompt_tokens, obs.usage.completion_tokens
        else:
            assert counter is not None
            prompt_tokens, completion_tokens = _estimate(counter, case, obs)
        priced = _priced(obs.model, prompt_tokens, completion_tokens, table, provider, None)
        if priced is None:
            where = f" for provider {provider!r}" if provider else ""
            return Score.unscorable(
                f"no price for model {obs.model!r}{where}: neither the suite's prices "
                "nor genai-prices know it",
                model=obs.model,
            )
        usd, meta = priced
        if not estimated:
            return Score(value=usd, metadata=meta)
        assert counter is not None
        explanation = (
            f"estimated: the target reported no usage; {prompt_tokens} prompt + "
            f"{completion_tokens} completion tokens counted with tokenizer {counter.name} "
            "(question, returned contexts and answer; the target's system prompt is not seen)"
        )
        return Score(
            value=usd,
            explanation=explanation,
            metadata={**meta, "estimated": True, "tokenizer": counter.name, "reason": NO_USAGE},
        )

    return single("cost_usd", score)


_MINILM = "all-minilm-l6-v2"


def _estimate(counter: Any, case: GoldenCase, obs: Observation) -> tuple[int, int]:
    """Prompt and completion tokens of what cujeval saw of the call."""
    prompt = [m["content"] for m in case.messages()]
    prompt += [c.text for c in obs.contexts or ()]
    completion = [obs.answer or ""]
    completion += [f"{t.name} {t.arguments}" for t in obs.tool_calls or ()]
    return (
        sum(counter.count(text) for text in prompt),
        sum(counter.count(text) for text in completion if text),
    )


def _scores(row: Any) -> Mapping[str, Any]:
    scores = row.get("scores") if isinstance(row, Mapping) else getattr(row, "scores", None)
    return scores if isinstance(scores, Mapping) else {}


def price_sources(rows: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Which table priced each model in a run's rows (journal rows or their dicts), from
    ``cost_usd`` and ``judge_cost_usd``: ``{model: {"table": "suite" | "genai-prices",
    "role": "target" | "judge", "matched": <genai-prices model id>, "provider": ...}}``."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        scores = _scores(row)
        cost = scores.get("cost_usd") or {}
        meta = cost.get("metadata") or {}
        table = meta.get("price_table")
        if cost.get("value") is not None and table:
            obs = row.get("observation") if isinstance(row, Mapping) else row.observation
            name = str((obs or {}).get("model") or meta.get("model"))
            if name not in out:
                entry = {"table": table, "role": "target"}
                if table == "genai-prices":
                    entry.update(matched=meta.get("model"), provider=meta.get("provider"))
                out[name] = entry
        judge = (scores.get("judge_cost_usd") or {}).get("metadata") or {}
        for model, used in (judge.get("price_table") or {}).items():
            out.setdefault(str(model), {"table": used, "role": "judge"})
    return out


def cost_summary(rows: Iterable[Any]) -> dict[str, int]:
    """Per journey: rows with a ``cost_usd`` score, how many were priced from reported usage,
    estimated from a tokenizer, and how many had no usage at all."""
    out = {"rows": 0, "priced": 0, "estimated": 0, "no_usage": 0, "unpriced": 0}
    for row in rows:
        cost = _scores(row).get("cost_usd")
        if not cost:
            continue
        meta = cost.get("metadata") or {}
        out["rows"] += 1
        if cost.get("value") is None:
            out["no_usage" if meta.get("reason") == NO_USAGE else "unpriced"] += 1
        elif meta.get("estimated"):
            out["estimated"] += 1
        else:
            out["priced"] += 1
    return out


def cost_note(journey: str, rows: Iterable[Any]) -> str | None:
    """The one sentence a run says about a journey whose target reported no usage (None when
    every call reported it)."""
    counts = cost_summary(rows)
    missing = counts["no_usage"] + counts["estimated"]
    if not missing:
        return None
    note = (
        f"{journey}: the target reported no token usage on {missing} of {counts['rows']} "
        "calls (a streamed target's server must send usage)"
    )
    if counts["estimated"]:
        note += f"; cost_usd estimated from a tokenizer on {counts['estimated']}"
    if counts["no_usage"]:
        note += (
            f"; cost_usd not scorable on {counts['no_usage']} "
            f"(name a tokenizer to estimate: cost_usd: {{tokenizer: {_MINILM}}})"
        )
    return note
