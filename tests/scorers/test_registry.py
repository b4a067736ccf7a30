"""The scorer registry: declared outputs, suite context, and the family index."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from cujeval.errors import UnknownNameError
from cujeval.scorers import base


def test_family_index_matches_what_each_module_registers() -> None:
    for module, names in base.BUILTIN_FAMILIES.items():
        importlib.import_module(module)
        registered = {
            n for n, i in base.SCORERS.items().items() if i.factory.__module__.startswith(module)
        }
        assert registered == set(names), module


def test_a_suite_imports_only_the_families_it_names() -> None:
    code = (
        "import sys; from cujeval.scorers import base; base.create('error'); "
        "base.create('precision@3'); "
        "print(sorted(m for m in sys.modules if m.startswith('cujeval.scorers.') and "
        "m.count('.') == 2))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert (
        out.stdout.strip() == "['cujeval.scorers.base', 'cujeval.scorers.operational', "
        "'cujeval.scorers.retrieval']"
    )


def test_built_scorers_carry_their_declared_outputs() -> None:
    assert base.create("precision@4").outputs == ("precision@4",)
    faith = base.create("faithfulness")
    assert set(faith.outputs) == {"faithfulness", "hallucination"}
    inst = base.create("instruction_following")
    assert inst.writes("instruction:punctuation:no_comma") and not inst.writes("other")


def test_unknown_scorer_suggests_names() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'latency_s'"):
        base.create("latncy_s")
