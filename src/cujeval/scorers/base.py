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

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from cujeval._util.registry import SCORER_ENTRY_POINTS, Registry
from cujeval.errors import InputError, UnknownNameError
from cujeval.spec.records import GoldenCase, Observation, Value


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


SUITE_CONTEXT = ("prices", "judge", "instructions")


@dataclass(frozen=True)
class ScorerInfo:
    """A registered scorer family.

    ``outputs``: the SLIs it writes; ``{name}`` stands for the name as written in the suite
    (``precision@4``), ``{opt:KEY}`` for the value of its option KEY (a rubric's
    ``rubric:{opt:name}``) and a trailing ``*`` for a family of SLIs (``instruction:*``).
    ``shared``: outputs several scorers may write for the same case (a case total, such as the
    judge's spend); any other output written by two scorers of a journey is bad input.
    ``context``: the suite-level settings (of :data:`SUITE_CONTEXT`) its factory takes.
    """

    name: str
    factory: ScorerFactory
    description: str
    needs: tuple[str, ...]  # golden/observation fields it needs, for docs and `--help`
    outputs: tuple[str, ...] = ("{name}",)
    shared: tuple[str, ...] = ()
    context: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuiltScorer:
    """A scorer built for one journey: the callable and the SLIs it declares."""

    name: str
    fn: Scorer
    outputs: tuple[str, ...]
    shared: tuple[str, ...] = ()

    async def __call__(self, case: GoldenCase, obs: Observation) -> Scores:
        return await self.fn(case, obs)

    def writes(self, sli: str) -> bool:
        """Does this scorer declare ``sli`` (exactly or through a ``prefix*`` family)?"""
        return any(
            sli.startswith(out[:-1]) if out.endswith("*") else sli == out for out in self.outputs
        )


# Which built-in module registers which names, so a suite imports only the families it uses
# (start-up time); tests/scorers/test_registry.py checks it against what the modules register.
BUILTIN_FAMILIES: dict[str, tuple[str, ...]] = {
    "cujeval.scorers.operational": ("error", "finish_reason", "latency_s", "ttft_s"),
    "cujeval.scorers.retrieval": (
        "hit_rate@k",
        "mrr",
        "mrr@k",
        "ndcg@k",
        "precision@k",
        "recall@k",
    ),
    "cujeval.scorers.cost": ("cost_usd",),
    "cujeval.scorers.similarity": ("answer_similarity", "token_f1"),
    "cujeval.scorers.faithfulness": ("faithfulness", "hallucination"),
    "cujeval.scorers.instructions": ("instruction_following",),
    "cujeval.scorers.judges": (
        "answer_relevancy",
        "context_precision",
        "context_recall",
        "llm_faithfulness",
        "rubric",
    ),
    "cujeval.scorers.agent": (
        "forbidden_action",
        "step_latency_s",
        "steps",
        "task_latency_s",
        "task_success",
        "tokens_per_task",
        "tool_call_f1",
        "tool_call_precision",
        "tool_call_recall",
        "tool_error_rate",
        "trajectory_match",
    ),
}


def _from_entry_point(name: str, factory: Any) -> ScorerInfo:
    """A scorer published under the ``cujeval.scorers`` entry points as a bare factory."""
    return _info(name, factory)


SCORERS: Registry[ScorerInfo] = Registry(
    "scorer", SCORER_ENTRY_POINTS, families=BUILTIN_FAMILIES, adapt=_from_entry_point
)


def _first_paragraph(doc: str) -> str:
    """A docstring's first paragraph on one line (what ``cujeval scorers`` lists)."""
    return " ".join(doc.strip().split("\n\n")[0].split())


def _info(
    name: str,
    factory: ScorerFactory,
    *,
    description: str = "",
    needs: tuple[str, ...] = (),
    outputs: tuple[str, ...] = ("{name}",),
    shared: tuple[str, ...] = (),
    context: tuple[str, ...] = (),
) -> ScorerInfo:
    return ScorerInfo(
        name=name,
        factory=factory,
        description=description or _first_paragraph(factory.__doc__ or ""),
        needs=needs,
        outputs=outputs,
        shared=shared,
        context=context,
    )


def scorer(
    name: str,
    *,
    description: str = "",
    needs: tuple[str, ...] = (),
    outputs: tuple[str, ...] = ("{name}",),
    shared: tuple[str, ...] = (),
    context: tuple[str, ...] = (),
) -> Callable[[ScorerFactory], ScorerFactory]:
    """Register a scorer factory under ``name``, declaring what it writes and takes."""
    unknown = set(context) - set(SUITE_CONTEXT)
    if unknown:
        raise ValueError(f"scorer {name!r}: unknown context {sorted(unknown)}; use {SUITE_CONTEXT}")

    def register(factory: ScorerFactory) -> ScorerFactory:
        SCORERS.register(
            name,
            _info(
                name,
                factory,
                description=description,
                needs=needs,
                outputs=outputs,
                shared=shared,
                context=context,
            ),
        )
        return factory

    return register


def single(name: str, fn: Callable[[GoldenCase, Observation], Awaitable[Score]]) -> Scorer:
    """Wrap an async ``(case, obs) -> Score`` into a Scorer producing the SLI ``name``."""

    async def run(case: GoldenCase, obs: Observation) -> Scores:
        return {name: await fn(case, obs)}

    return run


def _split_name(name: str) -> tuple[str, dict[str, Any]]:
    """``precision@5`` -> (``precision@k``, {"k": 5}); other names unchanged."""
    base, sep, suffix = name.partition("@")
    if sep and suffix.isdigit():
        return f"{base}@k", {"k": int(suffix)}
    return name, {}


def available() -> dict[str, ScorerInfo]:
    """Every registered scorer, built-ins and entry points, by name."""
    return SCORERS.items()


def info(name: str) -> ScorerInfo | None:
    """The registered family of ``name`` (``precision@4`` -> ``precision@k``), or None."""
    key, _ = _split_name(name)
    return SCORERS.get(key) or (SCORERS.get(name) if key != name else None)


def create(
    name: str,
    options: Mapping[str, Any] | None = None,
    *,
    context: Mapping[str, Any] | None = None,
    file: str | None = None,
    line: int | None = None,
) -> BuiltScorer:
    """Build the scorer registered as ``name`` with ``options``; ``context`` holds the suite's
    prices, judge and journey instructions, passed to the factories that declare them.

    Raises UnknownNameError (with suggestions) or InputError for bad options.
    """
    found = info(name)
    if found is None:
        raise UnknownNameError(
            "scorer", name, SCORERS.names(), file=file, line=line, field="scorers"
        )
    key, implied = _split_name(name)
    if key != found.name:
        implied = {}
    kwargs = {**implied, **dict(options or {})}
    for item in found.context:
        value = (context or {}).get(item)
        if value is not None and item not in kwargs:
            kwargs[item] = value
    try:
        fn = found.factory(**kwargs)
    except (TypeError, ValueError) as exc:
        raise InputError(f"scorer {name!r}: {exc}", file=file, line=line, field="scorers") from None
    outputs = tuple(_fill(o, name, kwargs) for o in found.outputs)
    return BuiltScorer(name=name, fn=fn, outputs=outputs, shared=found.shared)


_OPTION = re.compile(r"\{opt:(\w+)\}")


def _fill(template: str, name: str, options: Mapping[str, Any]) -> str:
    """An output's name: ``{name}`` and ``{opt:KEY}`` replaced (the factory checked them)."""
    return _OPTION.sub(lambda m: str(options.get(m.group(1), "")), template.replace("{name}", name))
