"""Agreement of our verdicts with the official IFEval checker's, on responses it has scored.

Input rows are JSON lines ``{key, prompt, instruction_id_list, kwargs, response, strict,
loose}`` (``strict`` and ``loose``: the official per-instruction verdicts). Agreement is the
share of instructions on which both verdicts are equal; accuracy is IFEval's prompt-level
(all instructions of a prompt followed) and instruction-level share.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cujeval.errors import DatasetError
from cujeval.scorers.instructions.evaluate import follow
from cujeval.scorers.instructions.registry import Exchange
from cujeval.spec.records import Instruction

_FIELDS = ("key", "prompt", "instruction_id_list", "kwargs", "response", "strict", "loose")


@dataclass(frozen=True)
class ScoredRow:
    """One prompt with a response and the official per-instruction verdicts."""

    key: int | str
    prompt: str
    instructions: tuple[Instruction, ...]
    response: str
    strict: tuple[bool, ...]
    loose: tuple[bool, ...]


@dataclass(frozen=True)
class Disagreement:
    """An instruction on which our verdict differs from the official one."""

    key: int | str
    id: str
    kwargs: dict[str, Any]
    ours: tuple[bool, bool]
    official: tuple[bool, bool]

    @property
    def cause(self) -> str:
        """The known reason for this kind of disagreement, if any."""
        letter = self.kwargs.get("letter")
        if (
            self.id == "keywords:letter_frequency"
            and isinstance(letter, str)
            and letter.lower() not in string.ascii_lowercase
        ):
            return (
                f"the released upstream checker replaces the non a-z letter {letter!r} by a"
                " random letter; ours counts the letter asked for, as upstream's current code"
                " does"
            )
        if self.id in (
            "language:response_language",
            "change_case:english_capital",
            "change_case:english_lowercase",
        ):
            return "upstream langdetect is unseeded; ours is seeded with 0"
        return "unexplained"


@dataclass(frozen=True)
class Accuracy:
    """IFEval's prompt-level and instruction-level accuracy."""

    prompt_level: float
    instruction_level: float


@dataclass(frozen=True)
class Conformance:
    """How our verdicts compare with the official ones, and the accuracies both imply."""

    prompts: int
    instructions: int
    strict_agreement: float
    loose_agreement: float
    disagreements: list[Disagreement] = field(default_factory=list)
    ours: dict[str, Accuracy] = field(default_factory=dict)
    official: dict[str, Accuracy] = field(default_factory=dict)


def load_scored(path: str | Path) -> list[ScoredRow]:
    """Rows of an official results file; DatasetError naming the line if one is malformed."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                missing = [f for f in _FIELDS if f not in raw]
                if missing:
                    raise ValueError(f"missing {', '.join(missing)}")
                instructions = tuple(
                    Instruction(id=i, kwargs={k: v for k, v in kw.items() if v is not None})
                    for i, kw in zip(raw["instruction_id_list"], raw["kwargs"], strict=True)
                )
                rows.append(
                    ScoredRow(
                        key=raw["key"],
                        prompt=raw["prompt"],
                        instructions=instructions,
                        response=raw["response"],
                        strict=tuple(bool(v) for v in raw["strict"]),
                        loose=tuple(bool(v) for v in raw["loose"]),
                    )
                )
            except (ValueError, TypeError, AttributeError) as exc:
                raise DatasetError(str(exc), file=path, line=number) from None
    return rows


def accuracy(verdicts: Sequence[Sequence[bool]]) -> Accuracy:
    """prompt-level = prompts with every instruction followed / prompts;
    instruction-level = instructions followed / instructions."""
    prompts = len(verdicts)
    total = sum(len(v) for v in verdicts)
    return Accuracy(
        prompt_level=sum(all(v) for v in verdicts) / prompts if prompts else 0.0,
        instruction_level=sum(sum(v) for v in verdicts) / total if total else 0.0,
    )


def compare(rows: Iterable[ScoredRow]) -> Conformance:
    """Run every row's instructions on its response and compare with the official verdicts."""
    ours_strict: list[list[bool]] = []
    ours_loose: list[list[bool]] = []
    official_strict: list[tuple[bool, ...]] = []
    official_loose: list[tuple[bool, ...]] = []
    disagreements = []
    strict_equal = loose_equal = total = 0
    for row in rows:
        verdicts = follow(row.instructions, row.response, Exchange(prompt=row.prompt))
        ours_strict.append([v.strict for v in verdicts])
        ours_loose.append([v.loose for v in verdicts])
        official_strict.append(row.strict)
        official_loose.append(row.loose)
        for item, verdict, strict, loose in zip(
            row.instructions, verdicts, row.strict, row.loose, strict=True
        ):
            total += 1
            strict_equal += verdict.strict == strict
            loose_equal += verdict.loose == loose
            if (verdict.strict, verdict.loose) != (strict, loose):
                disagreements.append(
                    Disagreement(
                        key=row.key,
                        id=item.id,
                        kwargs=dict(item.kwargs),
                        ours=(verdict.strict, verdict.loose),
                        official=(strict, loose),
                    )
                )
    return Conformance(
        prompts=len(ours_strict),
        instructions=total,
        strict_agreement=strict_equal / total if total else 1.0,
        loose_agreement=loose_equal / total if total else 1.0,
        disagreements=disagreements,
        ours={"strict": accuracy(ours_strict), "loose": accuracy(ours_loose)},
        official={"strict": accuracy(official_strict), "loose": accuracy(official_loose)},
    )
