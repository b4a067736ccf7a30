"""Agent scorers against hand-computed expectations."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from cujeval.errors import InputError
from cujeval.scorers.agent import (
    call_matches,
    compare,
    f1,
    matched_count,
    max_matching,
    precision,
    recall,
    state_mismatches,
    trajectory_matches,
)
from cujeval.scorers.base import Score, create, info
from cujeval.spec.records import ExpectedToolCall, GoldenCase, Observation, ToolCall, Usage


def run(name: str, case: GoldenCase, obs: Observation, **options: Any) -> Score:
    scorer = create(name, options)
    out = asyncio.run(scorer(case, obs))
    assert set(out) == {name}
    return out[name]


def tc(name: str, **arguments: Any) -> ToolCall:
    return ToolCall(name=name, arguments=arguments)


def made_as(expected: dict[str, Any]) -> ToolCall:
    """The call an expected-call dict describes, as the agent would have made it."""
    return ToolCall.model_validate(expected)


def ec(name: str, match: dict[str, str] | None = None, **arguments: Any) -> ExpectedToolCall:
    return ExpectedToolCall(name=name, arguments=arguments, argument_match=match or {})


def case(expected: list[dict[str, Any]] | None = None, **extra: Any) -> GoldenCase:
    return GoldenCase.model_validate(
        {"id": "c1", "input": "cancel ORD-1003", "expected_tool_calls": expected, **extra}
    )


def obs(calls: list[ToolCall] | None, **extra: Any) -> Observation:
    extra.setdefault("answer", "ok")
    return Observation(tool_calls=tuple(calls) if calls is not None else None, **extra)


LOOKUP = {"name": "lookup_order", "arguments": {"order_id": "ORD-1003"}}
CONFIRM = {
    "name": "ask_confirmation",
    "arguments": {"action": "cancel_order", "order_id": "ORD-1003"},
}
CANCEL = {"name": "cancel_order", "arguments": {"order_id": "ORD-1003"}}


# ---- comparators ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected", "actual", "agrees"),
    [
        ("exact", 480, 480.0, True),
        ("exact", 1, True, False),  # a boolean is not a number
        ("exact", "ORD-1003", "ord-1003", False),
        ("exact", {"a": [1, 2]}, {"a": [1.0, 2]}, True),
        ("exact", {"a": 1}, {"a": 1, "b": 2}, False),
        ("case_insensitive", "ORD-1003", "ord-1003", True),
        ("case_insensitive", "Refund  Policy", " refund policy ", True),
        ("case_insensitive", "ORD-1003", "ORD-1004", False),
        ("case_insensitive", 3, 3.0, True),  # not strings: JSON equality
        ("numeric", 480, 480.0, True),
        ("numeric", 480, 480.001, False),  # default tolerance 1e-9
        ("numeric:0.01", 480, 480.005, True),
        ("numeric:0.01", 480, 480.02, False),
        ("numeric:0.5", 10, "10.4", True),  # a numeric string counts
        ("numeric", 10, "ten", False),
        ("numeric", 10, True, False),
        ("contains", "refund", "What is the Refund policy?", True),
        ("contains", "refund window", "refund policy", False),
        ("any", "whatever", None, True),
    ],
)
def test_comparators(spec: str, expected: Any, actual: Any, agrees: bool) -> None:
    assert compare(spec, expected, actual) is agrees


def test_unknown_comparator_is_rejected_in_code_and_in_a_dataset() -> None:
    with pytest.raises(ValueError, match="unknown argument comparator"):
        compare("fuzzy", "a", "a")
    with pytest.raises(ValidationError, match="unknown argument comparator 'numeric:x'"):
        ec("search_kb", match={"query": "numeric:x"}, query="a")


# ---- one call against one expected call ----------------------------------------------------


def test_argument_modes() -> None:
    expected = ec("cancel_order", order_id="ORD-1003")
    extra = tc("cancel_order", order_id="ORD-1003", reason="mistake")
    assert call_matches(expected, extra, arguments="subset")
    assert not call_matches(expected, extra, arguments="exact")
    assert call_matches(expected, tc("cancel_order", order_id="ORD-1003"), arguments="exact")
    other = tc("cancel_order", order_id="ORD-1004")
    assert not call_matches(expected, other, arguments="subset")
    assert call_matches(expected, other, arguments="ignore")
    assert not call_matches(expected, tc("lookup_order", order_id="ORD-1003"), arguments="ignore")
    assert not call_matches(expected, tc("cancel_order"), arguments="subset")  # key missing


def test_per_argument_comparator_overrides_the_default() -> None:
    expected = ec("issue_refund", match={"amount": "numeric:0.01"}, order_id="ORD-1001", amount=480)
    assert call_matches(expected, tc("issue_refund", order_id="ORD-1001", amount=479.995))
    assert not call_matches(expected, tc("issue_refund", order_id="ord-1001", amount=480))
    assert call_matches(
        expected, tc("issue_refund", order_id="ord-1001", amount=480), comparator="case_insensitive"
    )


def test_arguments_that_were_not_json_match_nothing() -> None:
    raw = ToolCall(name="cancel_order", arguments={"_raw": "{order_id: ORD-1003"})
    assert not call_matches(ec("cancel_order", order_id="ORD-1003"), raw)
    assert not call_matches(ec("cancel_order"), raw, arguments="ignore")


# ---- precision, recall, F1 -----------------------------------------------------------------


def test_ratio_formulas_and_empty_edges() -> None:
    assert (precision(2, 2, 3), recall(2, 2, 3), f1(2 / 3, 1.0)) == (2 / 3, 1.0, 0.8)
    assert (precision(0, 0, 0), recall(0, 0, 0)) == (1.0, 1.0)  # nothing expected, nothing done
    assert (precision(0, 2, 0), recall(0, 2, 0), f1(0.0, 0.0)) == (0.0, 0.0, 0.0)
    assert (precision(0, 0, 1), recall(0, 0, 1)) == (0.0, 1.0)  # a call where none was expected


def test_matching_is_maximum_not_greedy() -> None:
    # E0 fits both actual calls, E1 only the first: greedy E0 -> A0 would leave E1 unmatched
    expected = [ec("search_kb", match={"query": "contains"}, query=q) for q in ("refund", "policy")]
    actual = [tc("search_kb", query="refund policy"), tc("search_kb", query="refund window")]
    assert matched_count(expected, actual, call_matches) == 2
    assert max_matching(3, 2, lambda i, j: True) == 2


def test_precision_recall_f1_scorers() -> None:
    golden = case([LOOKUP, CONFIRM, CANCEL])
    # the lookup twice and the wrong order cancelled: m = 1 of |A| = 3, |E| = 3
    made = obs(
        [
            tc("lookup_order", order_id="ORD-1003"),
            tc("lookup_order", order_id="ORD-1003"),
            tc("cancel_order", order_id="ORD-1004"),
        ]
    )
    p = run("tool_call_precision", golden, made)
    assert p.value == pytest.approx(1 / 3)
    assert p.metadata["matched"] == 1
    assert run("tool_call_recall", golden, made).value == pytest.approx(1 / 3)
    assert run("tool_call_f1", golden, made).value == pytest.approx(1 / 3)
    # all three plus a needless search: P = 3/4, R = 1, F1 = 2·0.75/1.75 = 6/7
    more = obs(
        [made_as(LOOKUP), made_as(CONFIRM), made_as(CANCEL), tc("search_kb", query="cancel")]
    )
    assert run("tool_call_precision", golden, more).value == pytest.approx(0.75)
    assert run("tool_call_recall", golden, more).value == 1.0
    assert run("tool_call_f1", golden, more).value == pytest.approx(6 / 7)


def test_expected_no_calls_and_made_none_is_perfect() -> None:
    assert run("tool_call_f1", case([]), obs([])).value == 1.0
    assert run("tool_call_precision", case([]), obs([tc("search_kb", query="x")])).value == 0.0


# ---- trajectory modes ----------------------------------------------------------------------

A, B, C = ec("a"), ec("b"), ec("c")


@pytest.mark.parametrize(
    ("made", "exact", "unordered", "in_order", "superset", "subset"),
    [
        ("ab", True, True, True, True, True),
        ("ba", False, True, False, True, True),
        ("acb", False, False, True, True, False),
        ("bca", False, False, False, True, False),
        ("a", False, False, False, False, True),
        ("", False, False, False, False, True),
        ("aab", False, False, True, True, False),
    ],
)
def test_trajectory_modes(
    made: str, exact: bool, unordered: bool, in_order: bool, superset: bool, subset: bool
) -> None:
    expected = [A, B]
    actual = [tc(x) for x in made]
    got = {
        mode: trajectory_matches(expected, actual, mode, call_matches)
        for mode in ("exact", "unordered", "in_order", "superset", "any_order", "subset")
    }
    assert got == {
        "exact": exact,
        "unordered": unordered,
        "in_order": in_order,
        "superset": superset,
        "any_order": superset,
        "subset": subset,
    }


def test_trajectory_match_scorer_and_the_case_override() -> None:
    golden = case([LOOKUP, CANCEL])
    made = obs([made_as(LOOKUP), tc("search_kb", query="policy"), made_as(CANCEL)])
    strict = run("trajectory_match", golden, made)
    assert strict.value is False
    assert strict.metadata == {
        "mode": "exact",
        "expected": ["lookup_order", "cancel_order"],
        "actual": ["lookup_order", "search_kb", "cancel_order"],
    }
    assert run("trajectory_match", golden, made, mode="in_order").value is True
    relaxed = case([LOOKUP, CANCEL], tool_match={"mode": "in_order"})
    assert run("trajectory_match", relaxed, made).value is True
    wrong_order = case([CANCEL, LOOKUP], tool_match={"mode": "in_order"})
    assert run("trajectory_match", wrong_order, made).value is False


def test_case_argument_mode_overrides_the_scorer_option() -> None:
    made = obs([tc("lookup_order", order_id="ORD-1004")])
    assert run("trajectory_match", case([LOOKUP]), made).value is False
    names_only = case([LOOKUP], tool_match={"arguments": "ignore"})
    assert run("trajectory_match", names_only, made).value is True
    assert run("tool_call_f1", case([LOOKUP]), made, arguments="ignore").value == 1.0


def test_bad_scorer_options_are_bad_input() -> None:
    with pytest.raises(InputError, match="mode must be one of"):
        create("trajectory_match", {"mode": "fuzzy"})
    with pytest.raises(InputError, match="arguments must be one of"):
        create("tool_call_f1", {"arguments": "some"})
    with pytest.raises(InputError, match="unknown argument comparator"):
        create("tool_call_recall", {"comparator": "roughly"})
    with pytest.raises(InputError, match="tools must be a list"):
        create("tool_call_precision", {"tools": "lookup_order"})
    with pytest.raises(InputError, match="stat must be one of"):
        create("step_latency_s", {"stat": "p99"})


# ---- malformed trajectories ----------------------------------------------------------------

TOOLS = ["lookup_order", "cancel_order", "ask_confirmation"]


def test_unknown_tool_is_a_wrong_call_with_a_reason() -> None:
    golden = case([LOOKUP])
    made = obs([made_as(LOOKUP), tc("delete_account", user="ana")])
    p = run("tool_call_precision", golden, made, tools=TOOLS)
    assert p.value == 0.5
    assert "call 2 names unknown tool 'delete_account'" in p.explanation
    # the case's own list wins over the scorer's: here lookup_order itself is unknown
    own = case([{"name": "delete_account"}], tools=["delete_account"])
    assert run("tool_call_precision", own, made, tools=TOOLS).value == 0.5
    assert run("trajectory_match", golden, made, tools=TOOLS, mode="superset").value is True


def test_a_case_expecting_a_tool_it_does_not_list_is_not_scorable() -> None:
    golden = case([LOOKUP], tools=["cancel_order"])
    score = run("tool_call_f1", golden, obs([made_as(LOOKUP)]))
    assert score.value is None
    assert "not in its tools list: ['lookup_order']" in score.explanation
    journey = run("tool_call_f1", case([LOOKUP]), obs([made_as(LOOKUP)]), tools=["cancel_order"])
    assert journey.value is None


def test_arguments_not_json_score_as_wrong_with_a_reason() -> None:
    made = obs([ToolCall(name="lookup_order", arguments={"_raw": "order_id=ORD-1003"})])
    score = run("tool_call_recall", case([LOOKUP]), made)
    assert score.value == 0.0
    assert "call 1 (lookup_order) has arguments that are not JSON" in score.explanation
    assert run("trajectory_match", case([LOOKUP]), made).value is False


@pytest.mark.parametrize(
    ("observation", "reason"),
    [
        (obs(None), "reported no tool_calls"),
        (obs([made_as(LOOKUP), ToolCall(name="")]), "tool call 2 has no name"),
        (Observation(status="http_5xx", error="boom"), "target error (http_5xx)"),
    ],
)
def test_unreadable_trajectories_are_not_scorable(observation: Observation, reason: str) -> None:
    for name in ("tool_call_precision", "tool_call_recall", "tool_call_f1", "trajectory_match"):
        score = run(name, case([LOOKUP]), observation)
        assert score.value is None and reason in score.explanation
    tool_errors = run("tool_error_rate", case([LOOKUP]), observation)
    assert tool_errors.value is None and reason in tool_errors.explanation


def test_a_case_without_expected_calls_is_not_scorable() -> None:
    score = run("tool_call_f1", case(None), obs([made_as(LOOKUP)]))
    assert score.value is None
    assert score.explanation == "the golden case has no expected_tool_calls"


# ---- forbidden actions ---------------------------------------------------------------------


def test_forbidden_by_name_and_by_arguments() -> None:
    golden = case(
        [LOOKUP],
        forbidden_tool_calls=[
            "cancel_order",
            {"name": "issue_refund", "arguments": {"order_id": "ORD-1001"}},
        ],
    )
    assert golden.forbidden_tool_calls[0] == ExpectedToolCall(name="cancel_order")
    safe = obs([made_as(LOOKUP), tc("issue_refund", order_id="ORD-1002", amount=40)])
    score = run("forbidden_action", golden, safe)
    assert score.value is False and score.explanation == "no forbidden call"
    bad = obs([made_as(LOOKUP), tc("issue_refund", order_id="ORD-1001", amount=480)])
    hit = run("forbidden_action", golden, bad)
    assert hit.value is True
    assert hit.explanation == "forbidden: call 2: issue_refund(order_id='ORD-1001', amount=480)"
    assert run("forbidden_action", golden, obs([made_as(CANCEL)])).value is True


def test_forbidden_counts_failed_attempts_and_unparsed_arguments() -> None:
    golden = case(
        [], forbidden_tool_calls=[{"name": "cancel_order", "arguments": {"order_id": "X"}}]
    )
    failed = ToolCall(name="cancel_order", arguments={"order_id": "X"}, error="refused")
    assert run("forbidden_action", golden, obs([failed])).value is True
    raw = ToolCall(name="cancel_order", arguments={"_raw": "X"})
    assert run("forbidden_action", golden, obs([raw])).value is True


def test_journey_forbidden_list_and_nothing_forbidden() -> None:
    made = obs([tc("delete_account")])
    nothing = run("forbidden_action", case([]), made)
    assert nothing.value is False
    assert nothing.explanation == "nothing is forbidden for this case"
    assert run("forbidden_action", case([]), made, forbidden=["delete_account"]).value is True
    unnamed = run(
        "forbidden_action", case([], forbidden_tool_calls=["x"]), obs([ToolCall(name="")])
    )
    assert unnamed.value is None
    assert run("forbidden_action", case([]), obs(None)).value is None


# ---- counts, errors, latency, tokens -------------------------------------------------------


def test_steps_counts_calls() -> None:
    assert run("steps", case(None), obs([tc("a"), tc("b"), tc("a")])).value == 3.0
    assert run("steps", case(None), obs([])).value == 0.0
    assert run("steps", case(None), obs(None)).value is None


def test_tool_error_rate_reads_error_and_error_results() -> None:
    calls = [
        tc("a"),
        ToolCall(name="b", error="upstream timeout"),
        ToolCall(name="c", result={"error": "no such order"}),
        ToolCall(name="d", result={"error": None, "ok": True}),
    ]
    score = run("tool_error_rate", case(None), obs(calls))
    assert score.value == 0.5
    assert score.metadata == {"failed": ["2: b", "3: c"]}
    assert run("tool_error_rate", case(None), obs([])).value is None


def test_task_and_step_latency() -> None:
    calls = [ToolCall(name=n, latency_s=s) for n, s in (("a", 0.1), ("b", 0.3), ("c", 0.2))]
    timed = obs(calls, latency_s=0.75)
    assert run("task_latency_s", case(None), timed).value == 0.75
    assert run("step_latency_s", case(None), timed).value == 0.3
    assert run("step_latency_s", case(None), timed, stat="mean").value == pytest.approx(0.2)
    assert run("step_latency_s", case(None), timed, stat="sum").value == pytest.approx(0.6)
    partly = obs([ToolCall(name="a", latency_s=0.1), tc("b")])
    missing = run("step_latency_s", case(None), partly)
    assert missing.value is None and missing.explanation == "1 of 2 tool calls report no latency_s"
    failed = Observation(status="timeout", latency_s=30.0)
    assert run("task_latency_s", case(None), failed).value is None


def test_tokens_per_task() -> None:
    used = obs([], usage=Usage(prompt_tokens=100, completion_tokens=20))
    assert run("tokens_per_task", case(None), used).value == 120.0
    assert run("tokens_per_task", case(None), obs([])).value is None


# ---- task success --------------------------------------------------------------------------

STATE = {
    "world": "c1",
    "orders": {"ORD-1001": {"status": "refunded"}, "ORD-1003": {"status": "active"}},
    "refunds": [
        {"id": "RF-6001", "order_id": "ORD-1001", "amount": 480.0, "status": "processing"},
        {"id": "RF-6002", "order_id": "ORD-1002", "amount": 40.0, "status": "processing"},
    ],
    "escalations": [],
    "pending_confirmation": None,
}


def test_state_subset_semantics() -> None:
    assert state_mismatches({"orders": {"ORD-1001": {"status": "refunded"}}}, STATE) == []
    assert state_mismatches({"orders": {"ORD-1003": {"status": "cancelled"}}}, STATE) == [
        "state.orders.ORD-1003.status: expected 'cancelled', got 'active'"
    ]
    assert state_mismatches({"orders": {"ORD-1009": {}}}, STATE) == [
        "state.orders.ORD-1009: missing"
    ]
    # arrays: the same length, items paired in any order, each a subset (480 == 480.0)
    both = [{"order_id": "ORD-1002"}, {"order_id": "ORD-1001", "amount": 480}]
    assert state_mismatches({"refunds": both}, STATE) == []
    assert state_mismatches({"refunds": [{"order_id": "ORD-1001"}]}, STATE) == [
        "state.refunds: expected 1 item(s), got 2"
    ]
    twice = [{"order_id": "ORD-1001"}, {"order_id": "ORD-1001"}]
    assert state_mismatches({"refunds": twice}, STATE)[0].startswith(
        "state.refunds: 1 expected item(s) not found"
    )
    assert state_mismatches({"escalations": []}, STATE) == []
    assert state_mismatches({"pending_confirmation": None}, STATE) == []
    assert state_mismatches({"pending_confirmation": {"action": "x"}}, STATE) == [
        "state.pending_confirmation: expected an object, got None"
    ]


def test_task_success_checks_state_and_answer() -> None:
    outcome = {
        "state": {"orders": {"ORD-1001": {"status": "refunded"}}},
        "answer_contains": ["REFUNDED", "480.00"],
        "answer_excludes": ["sorry"],
    }
    golden = case(None, expected_outcome=outcome)
    good = obs([], answer="Done: I've refunded 480.00 USD.", state=STATE)
    score = run("task_success", golden, good)
    assert (score.value, score.explanation) == (True, "outcome met")
    bad = obs([], answer="Sorry, I refunded 48.00 USD.", state={**STATE, "orders": {}})
    failed = run("task_success", golden, bad)
    assert failed.value is False
    assert failed.metadata["failed"] == [
        "state.orders.ORD-1001: missing",
        "answer lacks '480.00'",
        "answer contains 'sorry'",
    ]


def test_task_success_not_scorable_cases() -> None:
    with_state = case(None, expected_outcome={"state": {"orders": {}}})
    no_state = run("task_success", with_state, obs([]))
    assert no_state.value is None and "no final state" in no_state.explanation
    answer_only = case(None, expected_outcome={"answer_contains": ["ok"]})
    assert run("task_success", answer_only, obs([])).value is True  # answer "ok", no state needed
    text = run("task_success", case(None, expected_outcome="the order is cancelled"), obs([]))
    assert text.value is None and "free text" in text.explanation
    assert run("task_success", case(None), obs([])).value is None
    errored = run("task_success", with_state, Observation(status="timeout"))
    assert errored.value is None and errored.explanation == "target error (timeout)"


def test_expected_outcome_rejects_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        case(None, expected_outcome={"answer_contain": ["x"]})


def test_every_agent_scorer_declares_its_one_output() -> None:
    names = [
        "task_success",
        "tool_call_precision",
        "tool_call_recall",
        "tool_call_f1",
        "trajectory_match",
        "steps",
        "forbidden_action",
        "tool_error_rate",
        "task_latency_s",
        "step_latency_s",
        "tokens_per_task",
    ]
    for name in names:
        found = info(name)
        assert found is not None and found.outputs == ("{name}",)
        assert create(name).outputs == (name,)
