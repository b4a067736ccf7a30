"""JudgeConfig: which OpenAI-compatible server judges, and how hard it may be pushed.

Built from a suite's ``judge:`` block by a frozen pydantic model (unknown keys refused, no
coercion: ``"4"`` is not an integer, ``true`` not a number). The API key is never part of it:
``api_key_env`` names an environment variable that is read when the first call is made.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from cujeval._util.paths import default_cache_dir
from cujeval._util.yamlsource import LineMap, line_of
from cujeval.errors import InputError

PriceTable = Mapping[str, Mapping[str, float]]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class JudgePrice(BaseModel):
    """USD per million tokens of one judge model."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    input_per_mtok: float = Field(ge=0, allow_inf_nan=False)
    output_per_mtok: float = Field(ge=0, allow_inf_nan=False)


class JudgeConfig(BaseModel):
    """Settings of the LLM judge; ``epochs`` > 1 judges each case K times.

    ``cache_dir`` (None: no cache) defaults to the user's cache directory
    (:func:`cujeval._util.paths.default_cache_dir`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    base_url: Text
    model: Text
    api_key_env: str | None = None
    max_concurrency: int = Field(4, ge=1)
    timeout_s: float = Field(120.0, gt=0, allow_inf_nan=False)
    max_retries: int = Field(3, ge=0)
    epochs: int = Field(1, ge=1)
    cache_dir: Text | None = Field(default_factory=default_cache_dir)
    temperature: float = Field(0.0, ge=0, le=2, allow_inf_nan=False)
    prices: dict[str, JudgePrice] | None = None
    max_tokens: int = Field(1024, ge=1)

    @field_validator("base_url", "model", mode="before")
    @classmethod
    def _required(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise PydanticCustomError("missing", "is required")
        return value

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise PydanticCustomError("url", "must start with http:// or https://")
        return value

    @field_validator("api_key_env", mode="before")
    @classmethod
    def _env_name(cls, value: Any) -> Any:
        if value is not None and not (isinstance(value, str) and _ENV_NAME.fullmatch(value)):
            # the value is never echoed: it may be the key itself, pasted by mistake
            raise PydanticCustomError(
                "env_name",
                "must be the NAME of an environment variable holding the key "
                "(letters, digits, underscore), never the key itself",
            )
        return value

    @classmethod
    def from_mapping(
        cls, data: Any, *, file: str | Path | None = None, line: int | None = None
    ) -> JudgeConfig:
        """Validate a ``judge:`` mapping; InputError names the offending ``judge.<field>``.

        ``line`` is the block's line; when ``data`` was loaded by cujeval._util.yamlsource (a
        LineMap), an error points at the line of the offending key itself."""
        if not isinstance(data, Mapping):
            raise InputError(
                f"must be a mapping with base_url and model, got {type(data).__name__}",
                file=file,
                line=line,
                field="judge",
            )
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            errors = exc.errors()
            # a misspelt key first: "modle: did you mean 'model'?" explains "model is required"
            err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
            loc = tuple(str(p) for p in err["loc"])
            found = line_of(data, loc) if isinstance(data, LineMap) else None
            more = exc.error_count() - 1
            extra = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
            raise InputError(
                _message(err, loc) + extra,
                file=file,
                line=found or line,
                field=".".join(("judge", *loc)),
            ) from None

    @property
    def price_table(self) -> dict[str, dict[str, float]] | None:
        """``prices`` as plain mappings, the shape cujeval.scorers.cost takes."""
        if self.prices is None:
            return None
        return {model: price.model_dump() for model, price in self.prices.items()}

    def public(self) -> dict[str, Any]:
        """The settings safe to log (MLflow params, reports): URL redacted, no key, no prices."""
        from cujeval._util.redact import redact_url

        return {
            "base_url": redact_url(self.base_url),
            "model": self.model,
            "epochs": self.epochs,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }


_BOUNDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}
_BOUND_KEYS = {"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt"}


def _message(err: ErrorDetails, loc: tuple[str, ...]) -> str:
    """cujeval's wording for one pydantic error (pydantic's own for the rare others). Only
    numbers are echoed back: a string might be a secret."""
    kind = err["type"]
    got = type(err.get("input")).__name__
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        known = list(JudgePrice.model_fields if len(loc) > 2 else JudgeConfig.model_fields)
        close = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
        return "unknown setting" + hint
    if kind == "missing":
        return "is required"
    if kind in ("int_type", "int_from_float"):
        return f"must be an integer, got {got}"
    if kind in ("float_type", "finite_number"):
        return f"must be a number, got {got}" if kind == "float_type" else "must be finite"
    if kind in ("string_type", "string_too_short"):
        return f"must be a non-empty string, got {got}"
    if kind in ("dict_type", "model_type"):
        what = "{input_per_mtok, output_per_mtok}" if len(loc) > 1 else "model names to prices"
        return f"must be a mapping of {what}, got {got}"
    if kind in _BOUNDS:
        bound = ctx.get(_BOUND_KEYS.get(kind, "le"))
        return f"must be {_BOUNDS[kind]} {bound}, got {err.get('input')}"
    return str(err["msg"]).removeprefix("Value error, ")
