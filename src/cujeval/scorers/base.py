"""The scorer protocol, the Score it returns, and the registry by name.

A scorer is a stateless async callable ``(case, observation) -> {sli_name: Score}``.
Most scorers produce one SLI named like the scorer; some produce several (``hallucination``
also yields ``faithfulness``; ``instruction_following`` yields one SLI per instruction too).
Thresholds never live in scorers: they belong to SLOs.

Scorers are registered with :func:`scorer`, a decorator on a *factory* that takes the
scorer's options as keyword arguments and returns the async callable. Third parties register
through the ``cujeval.scorers`` entry-point group, loaded lazily on a registry miss.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol

from cujeval.errors import InputError, UnknownNameError
from cujeval.records import GoldenCase, Observation

Value = float | bool | None


@dataclass(frozen=True)
class Score:
    """One SLI value for one case.

    ``value`` is None when the case is *not scorable* by this scorer (no contexts returned is
    not a faithfulness of 0; a target error is not a latency). ``explanation`` is for humans,
    ``metadata`` for machines (must be JSON-serialisable).
    """

    value: Value
    explanation: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def scorable(self) -> bool:
        return self.value is not None

    @classmethod
    def unscorable(cls, reason: str, **metadata: Any) -> Score:
        return cls(value=None, explanation=reason, metadata=metadata)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value}
        if self.explanation:
            out["explanation"] = self.explanation
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        return out


Scores = dict[str, Score]


class Scorer(Protocol):
    """What the runner calls. Built by a registered factory."""

    async def __call__(self, case: GoldenCase, obs: Observation) -> Scores: ...


ScorerFactory = Callable[..., Scorer]


@dataclass(frozen=True)
class ScorerInfo:
    name: str
    factory: ScorerFactory
    description: str
    needs: tuple[str, ...]  # golden/observation fields it needs, for docs and `--help`


_REGISTRY: dict[str, ScorerInfo] = {}
_BUILTIN_MODULES = (
    "cujeval.scorers.operational",
    "cujeval.scorers.retrieval",
    "cujeval.scorers.cost",
    "cujeval.scorers.similarity",
    "cujeval.scorers.faithfulness",
    "cujeval.scorers.instructions",
    "cujeval.scorers.judges",
)
_loaded_builtins = False
ENTRY_POINT_GROUP = "cujeval.scorers"


def scorer(
    name: str, *, description: str = "", needs: tuple[str, ...] = ()
) -> Callable[[ScorerFactory], ScorerFactory]:
    """Register a scorer factory under ``name``."""

    def register(factory: ScorerFactory) -> ScorerFactory:
        _REGISTRY[name] = ScorerInfo(
            name=name,
            factory=factory,
            description=description or (factory.__doc__ or "").strip().split("\n")[0],
            needs=needs,
        )
        return factory

    return register


def single(name: str, fn: Callable[[GoldenCase, Observation], Awaitable[Score]]) -> Scorer:
    """Wrap an async ``(case, obs) -> Score`` into a Scorer producing the SLI ``name``."""

    async def run(case: GoldenCase, obs: Observation) -> Scores:
        return {name: await fn(case, obs)}

    return run


def _load_builtins() -> None:
    global _loaded_builtins
    if _loaded_builtins:
        return
    _loaded_builtins = True
    for module in _BUILTIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a family not built yet must not break the others
            if exc.name != module:
                raise


def _load_entry_point(name: str) -> bool:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            obj = ep.load()
            if name not in _REGISTRY:
                scorer(name)(obj)
            return True
    return False


def _split_name(name: str) -> tuple[str, dict[str, Any]]:
    """``precision@5`` -> (``precision@k``, {"k": 5}); other names unchanged."""
    base, sep, suffix = name.partition("@")
    if sep and suffix.isdigit():
        return f"{base}@k", {"k": int(suffix)}
    return name, {}


def available() -> dict[str, ScorerInfo]:
    """Every registered scorer, built-ins and entry points, by name."""
    _load_builtins()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _REGISTRY:
            _load_entry_point(ep.name)
    return dict(sorted(_REGISTRY.items()))


def create(
    name: str,
    options: Mapping[str, Any] | None = None,
    *,
    file: str | None = None,
    line: int | None = None,
) -> Scorer:
    """Build the scorer registered as ``name`` with ``options``.

    Raises UnknownNameError (with suggestions) or InputError for bad options.
    """
    _load_builtins()
    key, implied = _split_name(name)
    if key not in _REGISTRY and name in _REGISTRY:
        key, implied = name, {}
    if key not in _REGISTRY and not _load_entry_point(key):
        raise UnknownNameError("scorer", name, _REGISTRY, file=file, line=line, field="scorers")
    kwargs = {**implied, **dict(options or {})}
    try:
        return _REGISTRY[key].factory(**kwargs)
    except (TypeError, ValueError) as exc:
        raise InputError(f"scorer {name!r}: {exc}", file=file, line=line, field="scorers") from None
