"""Instruction following: Google's IFEval verifiable instructions (strict and loose, as the
official checker decides them) and product constraints (``product:*``) in one registry.

Importing the package registers every instruction id and the ``instruction_following`` scorer.
"""

import importlib

from cujeval.scorers.instructions.evaluate import Verdict, follow
from cujeval.scorers.instructions.registry import (
    Check,
    Exchange,
    InstructionType,
    canonical_id,
    instruction,
    known_ids,
    lookup,
    parse_kwargs,
    validate_instruction,
)
from cujeval.scorers.instructions.scorer import instruction_following

__all__ = [
    "Check",
    "Exchange",
    "InstructionType",
    "Verdict",
    "canonical_id",
    "follow",
    "instruction",
    "instruction_following",
    "known_ids",
    "lookup",
    "parse_kwargs",
    "validate_instruction",
]

FAMILIES = (
    "ifeval_change_case",
    "ifeval_combination",
    "ifeval_content",
    "ifeval_format",
    "ifeval_keywords",
    "ifeval_language",
    "ifeval_length",
    "ifeval_punctuation",
    "ifeval_startend",
    "product",
    "product_citations",
    "product_pii",
)
for _family in FAMILIES:
    importlib.import_module(f"{__name__}.{_family}")
