from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cujeval.spec.predicates import parse_objective, parse_predicate

sli_names = st.from_regex(r"[a-z_][a-z0-9_@:.\-]{0,20}", fullmatch=True)
ops = st.sampled_from([">=", ">", "<=", "<", "==", "!="])
numbers = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(sli=sli_names, op=ops, value=numbers)
def test_predicate_round_trips(sli: str, op: str, value: float) -> None:
    p = parse_predicate(f"{sli} {op} {value!r}")
    assert (p.sli, p.op, p.value) == (sli, op, value)
    assert parse_predicate(str(p)).op == op


@given(text=st.text(max_size=40))
def test_predicate_parser_never_crashes(text: str) -> None:
    try:
        parse_predicate(text)
    except ValueError as exc:
        assert "expected" in str(exc)


def test_predicate_semantics() -> None:
    p = parse_predicate("faithfulness >= 0.8")
    assert p(0.8) and p(1.0) and not p(0.79)
    err = parse_predicate("error == false")
    assert err(False) and not err(True)
    assert parse_predicate("instruction:punctuation:no_comma == true")(True)


def test_objective() -> None:
    o = parse_objective("p95(latency_s) <= 2.0")
    assert (o.statistic, o.sli, o.op, o.bound) == ("p95", "latency_s", "<=", 2.0)
    assert o.holds(1.9) and not o.holds(2.1) and not o.higher_is_better
    assert parse_objective("mean(precision@5) >= 0.6").higher_is_better


@pytest.mark.parametrize(
    "text",
    [
        "latency_s <= 2",
        "p95 latency_s <= 2",
        "avg(latency_s) <= 2",
        "p100(x) < 1",
        "mean(x) <= abc",
        "__import__('os')",
    ],
)
def test_objective_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_objective(text)
