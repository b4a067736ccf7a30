"""The registry of instruction ids: each id's kwargs and its check, plus kwargs validation.

A check is a pure function ``(text, kwargs, exchange) -> bool | Outcome``: ``text`` is the
response (or one of its loose variants), ``kwargs`` the validated kwargs with defaults filled
in, and ``exchange`` what else a check may consult (the user's prompt, the target's
observation). A check that can say what it saw returns an :class:`Outcome` (``missing
'refund'``, ``73 words``), which the reports show beside a failing case. Families register
their ids with :func:`instruction` when the package is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cujeval._util.registry import Registry
from cujeval.errors import InputError
from cujeval.scorers.instructions.params import Param
from cujeval.spec.records import Observation


@dataclass(frozen=True)
class Exchange:
    """What a check may look at besides the text under test."""

    prompt: str = ""
    obs: Observation | None = None


@dataclass(frozen=True)
class Outcome:
    """A check's verdict and what it found in the text, for a human reading a failure."""

    passed: bool
    found: str = ""

    def __bool__(self) -> bool:
        return self.passed


Check = Callable[[str, Mapping[str, Any], Exchange], bool | Outcome]
KwargsRule = Callable[[Mapping[str, Any]], str | None]


@dataclass(frozen=True)
class InstructionType:
    """A registered instruction id: its kwargs, its check, and whether the check is heavy
    (language models or tokenizers loaded on first use)."""

    id: str
    check: Check
    params: tuple[Param, ...]
    rule: KwargsRule | None = None
    heavy: bool = False

    @property
    def description(self) -> str:
        return (self.check.__doc__ or "").strip().split("\n")[0]


# the families register when the package is imported (no entry points of their own yet)
INSTRUCTIONS: Registry[InstructionType] = Registry("instruction id", "cujeval.instructions")


def instruction(
    id: str,
    *params: Param,
    rule: KwargsRule | None = None,
    heavy: bool = False,
    aliases: tuple[str, ...] = (),
) -> Callable[[Check], Check]:
    """Register ``check`` under ``id`` (and ``aliases``) with the kwargs ``params``.

    ``rule`` checks relations between kwargs and returns a problem message or None.
    """

    def register(check: Check) -> Check:
        INSTRUCTIONS.register(
            id,
            InstructionType(id=id, check=check, params=params, rule=rule, heavy=heavy),
            aliases=aliases,
        )
        return check

    return register


def known_ids() -> list[str]:
    """Every accepted instruction id, aliases included, sorted."""
    return INSTRUCTIONS.names()


def canonical_id(id: str) -> str:
    """The registered id an alias stands for; other ids unchanged."""
    return INSTRUCTIONS.canonical(id)


def lookup(id: str, *, file: str | Path | None = None, line: int | None = None) -> InstructionType:
    """The instruction type of ``id`` (or alias); UnknownNameError with suggestions if none."""
    return INSTRUCTIONS.require(
        id, file=str(file) if file is not None else None, line=line, field="instructions"
    )


def parse_kwargs(
    id: str,
    kwargs: Mapping[str, Any],
    *,
    file: str | Path | None = None,
    line: int | None = None,
) -> dict[str, Any]:
    """The kwargs of instruction ``id``, validated, with defaults filled in.

    A kwarg set to null counts as absent (the Hugging Face copy of IFEval pads every row's
    kwargs with nulls). Raises UnknownNameError for an unknown id and InputError naming the id
    and the kwarg for a missing, unknown or malformed kwarg.
    """
    spec = lookup(id, file=file, line=line)

    def bad(message: str) -> InputError:
        return InputError(
            f"instruction {id!r}: {message}", file=file, line=line, field="instructions"
        )

    if not isinstance(kwargs, Mapping):
        raise bad(f"kwargs must be an object, got {type(kwargs).__name__}")
    given = {k: v for k, v in kwargs.items() if v is not None}
    names = [p.name for p in spec.params]
    unknown = sorted(set(given) - set(names))
    if unknown:
        allowed = ", ".join(names) if names else "none"
        raise bad(f"unknown kwarg {unknown[0]!r} (allowed: {allowed})")
    parsed: dict[str, Any] = {}
    for param in spec.params:
        if param.name not in given:
            if param.required:
                raise bad(f"missing required kwarg {param.name!r}")
            parsed[param.name] = param.default
            continue
        try:
            parsed[param.name] = param.parse(given[param.name])
        except ValueError as exc:
            raise bad(f"kwarg {param.name!r}: {exc}") from None
    problem = spec.rule(parsed) if spec.rule else None
    if problem:
        raise bad(problem)
    return parsed


def validate_instruction(
    id: str,
    kwargs: Mapping[str, Any],
    *,
    file: str | None = None,
    line: int | None = None,
) -> None:
    """Raise UnknownNameError (unknown id, with suggestions) or InputError (bad kwargs)."""
    parse_kwargs(id, kwargs, file=file, line=line)
