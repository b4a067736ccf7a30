"""Cost per inference: token usage × price per million tokens.

Prices come from the suite's ``prices`` table when it names the model, else from the price data
bundled with the installed genai-prices (its network updater is never started, and a snapshot
another library installed is ignored, so a run's prices depend only on the installed version
and the pricing date).

cost = (prompt_tokens · input_per_mtok + completion_tokens · output_per_mtok) / 10⁶ USD
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from cujeval.records import GoldenCase, Observation
from cujeval.scorers.base import Score, Scorer, scorer, single

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


def price_table_info(at: datetime | None = None) -> dict[str, Any]:
    """Which price data a run used: source, genai-prices version, and the table's date.

    The bundled data carries no generation date, so ``date`` is the newest dated price change
    in effect on the pricing day (``priced_at``, today in UTC unless ``at`` is given); the
    version pins the table exactly.
    """
    day = (at or datetime.now(UTC)).astimezone(UTC).date()
    effective = _effective_date(day)
    return {
        "source": "genai-prices",
        "version": _genai_prices_version(),
        "date": effective.isoformat() if effective else None,
        "priced_at": day.isoformat(),
        "auto_update": False,
    }


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
        meta = {"source": "suite", "date": None, "model": model, **tokens}
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
        "date": info["date"],
        "model": calc.model.id,
        "provider": calc.provider.id,
        **tokens,
        "input_usd": float(calc.input_price),
        "output_usd": float(calc.output_price),
    }


@scorer("cost_usd", needs=("usage", "model"), context=("prices",))
def cost_usd(*, prices: PriceTable | None = None, provider: str | None = None) -> Scorer:
    """USD cost of the target call from its token usage and the model's price."""
    table = validate_prices(prices)

    async def score(case: GoldenCase, obs: Observation) -> Score:
        if obs.usage is None:
            return Score.unscorable("the target reported no token usage")
        if not obs.model:
            return Score.unscorable("the target reported no model name to price")
        u = obs.usage
        priced = _priced(obs.model, u.prompt_tokens, u.completion_tokens, table, provider, None)
        if priced is None:
            where = f" for provider {provider!r}" if provider else ""
            return Score.unscorable(
                f"no price for model {obs.model!r}{where}: neither the suite's prices "
                "nor genai-prices know it",
                model=obs.model,
            )
        usd, meta = priced
        return Score(value=usd, metadata=meta)

    return single("cost_usd", score)
