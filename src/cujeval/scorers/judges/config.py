"""JudgeConfig: which OpenAI-compatible server judges, and how hard it may be pushed.

Built from a suite's ``judge:`` block. The API key is never part of it: ``api_key_env`` names
an environment variable that is read when the first call is made.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from cujeval.errors import InputError
from cujeval.yamlsource import LineMap, line_of

PriceTable = Mapping[str, Mapping[str, float]]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PRICE_KEYS = frozenset({"input_per_mtok", "output_per_mtok"})


@dataclass(frozen=True)
class JudgeConfig:
    """Settings of the LLM judge; ``epochs`` > 1 judges each case K times."""

    base_url: str
    model: str
    api_key_env: str | None = None
    max_concurrency: int = 4
    timeout_s: float = 120.0
    max_retries: int = 3
    epochs: int = 1
    cache_dir: str | None = ".cujeval/cache/judge"
    temperature: float = 0.0
    prices: PriceTable | None = None
    max_tokens: int = 1024

    @classmethod
    def from_mapping(
        cls, data: Any, *, file: str | Path | None = None, line: int | None = None
    ) -> JudgeConfig:
        """Validate a ``judge:`` mapping; InputError names the offending ``judge.<field>``.

        ``line`` is the block's line; when ``data`` was loaded by cujeval.yamlsource (a LineMap),
        an error points at the line of the offending key itself."""
        return _Parser(file, line, data).parse(data)

    def public(self) -> dict[str, Any]:
        """The settings safe to log (MLflow params, reports): URL redacted, no key, no prices."""
        from cujeval.targets.base import redact_url

        return {
            "base_url": redact_url(self.base_url),
            "model": self.model,
            "epochs": self.epochs,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }


class _Parser:
    def __init__(self, file: str | Path | None, line: int | None, tree: Any = None) -> None:
        self.file = file
        self.line = line
        self.tree = tree

    def fail(self, name: str | tuple[str, ...], message: str) -> InputError:
        loc = (name,) if isinstance(name, str) else name
        line = line_of(self.tree, loc) if isinstance(self.tree, LineMap) else None
        return InputError(
            message, file=self.file, line=line or self.line, field="judge." + ".".join(loc)
        )

    def parse(self, data: Any) -> JudgeConfig:
        if not isinstance(data, Mapping):
            raise InputError(
                f"must be a mapping with base_url and model, got {type(data).__name__}",
                file=self.file,
                line=self.line,
                field="judge",
            )
        known = [f.name for f in fields(JudgeConfig)]
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
                raise self.fail(str(key), f"unknown setting{hint}")
        for required in ("base_url", "model"):
            if data.get(required) in (None, ""):
                raise self.fail(required, "is required")
        base_url = self.text(data, "base_url")
        if not base_url.startswith(("http://", "https://")):
            raise self.fail("base_url", "must start with http:// or https://")
        default = JudgeConfig(base_url="http://x", model="x")
        return JudgeConfig(
            base_url=base_url,
            model=self.text(data, "model"),
            api_key_env=self.env_name(data.get("api_key_env")),
            max_concurrency=self.integer(data, "max_concurrency", default.max_concurrency, 1),
            timeout_s=self.number(data, "timeout_s", default.timeout_s, low=0, open_low=True),
            max_retries=self.integer(data, "max_retries", default.max_retries, 0),
            epochs=self.integer(data, "epochs", default.epochs, 1),
            cache_dir=self.optional_text(data, "cache_dir", default.cache_dir),
            temperature=self.number(data, "temperature", default.temperature, low=0, high=2),
            prices=self.prices(data.get("prices")),
            max_tokens=self.integer(data, "max_tokens", default.max_tokens, 1),
        )

    def text(self, data: Mapping[str, Any], name: str) -> str:
        value = data[name]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, f"must be a non-empty string, got {type(value).__name__}")
        return value.strip()

    def optional_text(self, data: Mapping[str, Any], name: str, default: str | None) -> str | None:
        if name not in data:
            return default
        if data[name] is None:
            return None
        return self.text(data, name)

    def env_name(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
            # the value is never echoed: it may be the key itself, pasted by mistake
            raise self.fail(
                "api_key_env",
                "must be the NAME of an environment variable holding the key "
                "(letters, digits, underscore), never the key itself",
            )
        return value

    def integer(self, data: Mapping[str, Any], name: str, default: int, low: int) -> int:
        value = data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, f"must be an integer, got {type(value).__name__}")
        if value < low:
            raise self.fail(name, f"must be >= {low}, got {value}")
        return value

    def number(
        self,
        data: Mapping[str, Any],
        name: str,
        default: float,
        *,
        low: float,
        high: float | None = None,
        open_low: bool = False,
    ) -> float:
        value = data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(name, f"must be a number, got {type(value).__name__}")
        if value < low or (open_low and value == low) or (high is not None and value > high):
            bound = f"> {low}" if open_low else f">= {low}"
            if high is not None:
                bound += f" and <= {high}"
            raise self.fail(name, f"must be {bound}, got {value}")
        return float(value)

    def prices(self, value: Any) -> dict[str, dict[str, float]] | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail("prices", "must map model names to {input_per_mtok, output_per_mtok}")
        table: dict[str, dict[str, float]] = {}
        for model, row in value.items():
            where = ("prices", str(model))
            if not isinstance(row, Mapping) or set(row) != _PRICE_KEYS:
                raise self.fail(where, "must have exactly input_per_mtok and output_per_mtok")
            entry: dict[str, float] = {}
            for key in sorted(_PRICE_KEYS):
                price = row[key]
                if isinstance(price, bool) or not isinstance(price, int | float) or price < 0:
                    raise self.fail((*where, key), "must be a number >= 0")
                entry[key] = float(price)
            table[str(model)] = entry
        return table
