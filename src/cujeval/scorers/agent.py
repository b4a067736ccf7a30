"""Agent SLIs: did the agent do the right thing, the right way, at what cost and latency.

Notation: E is the case's ``expected_tool_calls``, A the calls the agent made (in order).
A call *matches* an expected call when the names are equal and the arguments agree:

- argument modes: ``exact`` (the same keys, each value agreeing), ``subset`` (every expected
  key present and agreeing; extra keys allowed; the default), ``ignore`` (names only);
- comparators, per argument (``argument_match`` of the expected call) or for all (the scorer's
  ``comparator``): ``exact`` (JSON equality, 1 == 1.0), ``case_insensitive`` (strings equal
  after case folding and collapsing whitespace), ``numeric`` / ``numeric:TOL`` (numbers, or
  numeric strings, within TOL, default 1e-9), ``contains`` (the expected string occurs in the
  actual one, case-insensitive), ``any`` (the key is present).

A call whose arguments were not JSON (the target maps them to ``{"_raw": ...}``) matches
nothing; a call of a tool the case does not know (``tools`` of the case or of the scorer)
matches nothing. Both are the agent's fault and score as wrong calls, with the reason in the
explanation. A trajectory that cannot be read is *not scorable*: a failed target call, no
``tool_calls`` reported at all, or a call without a name.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any, get_args

from cujeval.scorers.base import Score, Scorer, scorer, single
from cujeval.spec.records import (
    ArgumentMode,
    ExpectedOutcome,
    ExpectedToolCall,
    GoldenCase,
    Observation,
    ToolCall,
    TrajectoryMode,
    check_comparator,
)

RAW_ARGUMENTS = "_raw"  # how the target keeps arguments that were not JSON
TRAJECTORY_MODES: tuple[str, ...] = get_args(TrajectoryMode)
ARGUMENT_MODES: tuple[str, ...] = get_args(ArgumentMode)
STEP_STATS = ("max", "mean", "sum")
_NUMERIC_TOL = 1e-9
_SPACE = re.compile(r"\s+")
_TRAJECTORY_NEEDS = ("expected_tool_calls", "tool_calls")


# ---- comparing values --------------------------------------------------------------------


def _number(x: Any) -> float | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, int | float):
        return float(x)
    if isinstance(x, str):
        try:
            return float(x.strip())
        except ValueError:
            return None
    return None


def json_equal(expected: Any, actual: Any) -> bool:
    """JSON equality: numbers by value (``1 == 1.0``; booleans are not numbers), objects key
    by key, arrays element by element."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return float(expected) == float(actual)
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return expected.keys() == actual.keys() and all(
            json_equal(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        return len(expected) == len(actual) and all(
            json_equal(e, a) for e, a in zip(expected, actual, strict=True)
        )
    return bool(expected == actual)


def _fold(text: str) -> str:
    return _SPACE.sub(" ", text.strip()).casefold()


def compare(spec: str, expected: Any, actual: Any) -> bool:
    """Does ``actual`` agree with ``expected`` under the comparator ``spec``?"""
    check_comparator(spec)
    name, _, tol = spec.partition(":")
    if name == "any":
        return True
    if name == "case_insensitive":
        if isinstance(expected, str) and isinstance(actual, str):
            return _fold(expected) == _fold(actual)
        return json_equal(expected, actual)
    if name == "contains":
        if isinstance(expected, str) and isinstance(actual, str):
            return _fold(expected) in _fold(actual)
        return json_equal(expected, actual)
    if name == "numeric":
        e, a = _number(expected), _number(actual)
        if e is None or a is None or not math.isfinite(a):
            return False
        return abs(a - e) <= (float(tol) if tol else _NUMERIC_TOL)
    return json_equal(expected, actual)


def has_raw_arguments(call: ToolCall) -> bool:
    """The target could not parse this call's arguments as JSON."""
    return set(call.arguments) == {RAW_ARGUMENTS}


def call_matches(
    expected: ExpectedToolCall,
    call: ToolCall,
    *,
    arguments: str = "subset",
    comparator: str = "exact",
) -> bool:
    """Names equal and arguments agreeing under the argument mode (see the module doc)."""
    if expected.name != call.name or has_raw_arguments(call):
        return False
    if arguments == "ignore":
        return True
    if arguments == "exact" and set(expected.arguments) != set(call.arguments):
        return False
    return all(
        key in call.arguments
        and compare(expected.argument_match.get(key, comparator), value, call.arguments[key])
        for key, value in expected.arguments.items()
    )


# ---- matching trajectories -----------------------------------------------------------------


def max_matching(n_left: int, n_right: int, fits: Callable[[int, int], bool]) -> int:
    """Size of a maximum one-to-one matching between ``range(n_left)`` and ``range(n_right)``
    where ``fits(i, j)`` (augmenting paths; the inputs are small)."""
    edges = [[j for j in range(n_right) if fits(i, j)] for i in range(n_left)]
    owner: list[int | None] = [None] * n_right

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j in seen:
                continue
            seen.add(j)
            current = owner[j]
            if current is None or augment(current, seen):
                owner[j] = i
                return True
        return False

    return sum(1 for i in range(n_left) if augment(i, set()))


Match = Callable[[ExpectedToolCall, ToolCall], bool]


def matched_count(
    expected: Sequence[ExpectedToolCall], actual: Sequence[ToolCall], match: Match
) -> int:
    """m: the most calls of A that can be paired one-to-one with calls of E they match."""
    return max_matching(len(expected), len(actual), lambda i, j: match(expected[i], actual[j]))


def precision(m: int, n_expected: int, n_actual: int) -> float:
    """P = m / |A|; with |A| = 0, 1.0 when |E| = 0 too, else 0.0 (doing nothing is not precise
    when something was expected)."""
    if n_actual == 0:
        return 1.0 if n_expected == 0 else 0.0
    return m / n_actual


def recall(m: int, n_expected: int, n_actual: int) -> float:
    """R = m / |E|; with |E| = 0, 1.0 (nothing to find)."""
    return 1.0 if n_expected == 0 else m / n_expected


def f1(p: float, r: float) -> float:
    """F1 = 2PR / (P + R), 0.0 when P + R = 0."""
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def is_subsequence(
    expected: Sequence[ExpectedToolCall], actual: Sequence[ToolCall], match: Match
) -> bool:
    """E occurs in A in order (other calls may come between); earliest-match scan."""
    i = 0
    for call in actual:
        if i < len(expected) and match(expected[i], call):
            i += 1
    return i == len(expected)


def trajectory_matches(
    expected: Sequence[ExpectedToolCall], actual: Sequence[ToolCall], mode: str, match: Match
) -> bool:
    """The trajectory modes, with m the maximum one-to-one matching:

    - ``exact``: |A| = |E| and A[i] matches E[i] for every i;
    - ``unordered``: |A| = |E| = m (the same calls, any order);
    - ``in_order``: E is a subsequence of A (every expected call, in order; extra calls
      allowed): the in-order subset mode;
    - ``superset`` (alias ``any_order``): m = |E| (every expected call, any order, extras
      allowed): the any-order subset mode;
    - ``subset``: m = |A| (every call made was expected; some may be missing).
    """
    if mode == "exact":
        return len(expected) == len(actual) and all(
            match(e, a) for e, a in zip(expected, actual, strict=True)
        )
    if mode == "in_order":
        return is_subsequence(expected, actual, match)
    m = matched_count(expected, actual, match)
    if mode == "unordered":
        return len(expected) == len(actual) == m
    if mode in ("superset", "any_order"):
        return m == len(expected)
    if mode == "subset":
        return m == len(actual)
    raise ValueError(f"unknown trajectory mode {mode!r}; use one of {', '.join(TRAJECTORY_MODES)}")


# ---- reading a case and an observation ---------------------------------------------------


def _check_choice(option: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{option} must be one of {', '.join(choices)}, got {value!r}")


def _check_tools(tools: Sequence[str] | None) -> tuple[str, ...] | None:
    if tools is None:
        return None
    if isinstance(tools, str) or not all(isinstance(t, str) and t for t in tools):
        raise ValueError(f"tools must be a list of tool names, got {tools!r}")
    return tuple(tools)


def unreadable(obs: Observation) -> str | None:
    """Why the trajectory cannot be scored, or None."""
    if not obs.ok:
        return f"target error ({obs.status})"
    if obs.tool_calls is None:
        return "the target reported no tool_calls (check the response mapping)"
    for i, call in enumerate(obs.tool_calls, start=1):
        if not call.name.strip():
            return f"tool call {i} has no name: the trajectory cannot be read"
    return None


def _defects(
    case: GoldenCase, calls: Sequence[ToolCall], tools: tuple[str, ...] | None
) -> list[str]:
    """What makes calls of A wrong whatever E says: unknown tools, arguments not JSON."""
    known = case.tools if case.tools is not None else tools
    out = []
    for i, call in enumerate(calls, start=1):
        if known is not None and call.name not in known:
            out.append(f"call {i} names unknown tool {call.name!r}")
        if has_raw_arguments(call):
            out.append(f"call {i} ({call.name}) has arguments that are not JSON")
    return out


class _Trajectory:
    """The settings shared by the trajectory scorers, and what they read from a case."""

    def __init__(self, arguments: str, comparator: str, tools: Sequence[str] | None) -> None:
        _check_choice("arguments", arguments, ARGUMENT_MODES)
        check_comparator(comparator)
        self.arguments = arguments
        self.comparator = comparator
        self.tools = _check_tools(tools)

    def read(
        self, case: GoldenCase, obs: Observation
    ) -> tuple[str, None, None] | tuple[None, tuple[ExpectedToolCall, ...], tuple[ToolCall, ...]]:
        reason = unreadable(obs)
        if reason is None and case.expected_tool_calls is None:
            reason = "the golden case has no expected_tool_calls"
        known = case.tools if case.tools is not None else self.tools
        if reason is None and known is not None:
            missing = [e.name for e in case.expected_tool_calls or () if e.name not in known]
            if missing:
                reason = f"the case expects tools that are not in its tools list: {missing}"
        if reason is not None:
            return reason, None, None
        return None, tuple(case.expected_tool_calls or ()), tuple(obs.tool_calls or ())

    def matcher(self, case: GoldenCase) -> Match:
        arguments = (case.tool_match.arguments if case.tool_match else None) or self.arguments
        known = case.tools if case.tools is not None else self.tools

        def match(expected: ExpectedToolCall, call: ToolCall) -> bool:
            if known is not None and call.name not in known:
                return False
            return call_matches(expected, call, arguments=arguments, comparator=self.comparator)

        return match

    def explain(self, case: GoldenCase, calls: Sequence[ToolCall], summary: str) -> str:
        defects = _defects(case, calls, self.tools)
        return "; ".join([summary, *defects])


def _names(calls: Sequence[ToolCall | ExpectedToolCall]) -> list[str]:
    return [c.name for c in calls]


def _ratio_scorer(sli: str, arguments: str, comparator: str, tools: Sequence[str] | None) -> Scorer:
    shared = _Trajectory(arguments, comparator, tools)

    async def score(case: GoldenCase, obs: Observation) -> Score:
        reason, expected, actual = shared.read(case, obs)
        if reason is not None or expected is None or actual is None:
            return Score.unscorable(reason or "unreadable trajectory")
        m = matched_count(expected, actual, shared.matcher(case))
        p = precision(m, len(expected), len(actual))
        r = recall(m, len(expected), len(actual))
        value = {"tool_call_precision": p, "tool_call_recall": r}.get(sli, f1(p, r))
        summary = f"{m} of {len(actual)} calls matched {len(expected)} expected"
        return Score(
            value=value,
            explanation=shared.explain(case, actual, summary),
            metadata={
                "matched": m,
                "expected": _names(expected),
                "actual": _names(actual),
                "precision": p,
                "recall": r,
            },
        )

    return single(sli, score)


@scorer("tool_call_precision", needs=_TRAJECTORY_NEEDS)
def tool_call_precision(
    *, arguments: str = "subset", comparator: str = "exact", tools: Sequence[str] | None = None
) -> Scorer:
    """Share of the agent's calls that were expected: m / |A| (m: one-to-one matches)."""
    return _ratio_scorer("tool_call_precision", arguments, comparator, tools)


@scorer("tool_call_recall", needs=_TRAJECTORY_NEEDS)
def tool_call_recall(
    *, arguments: str = "subset", comparator: str = "exact", tools: Sequence[str] | None = None
) -> Scorer:
    """Share of the expected calls the agent made: m / |E|."""
    return _ratio_scorer("tool_call_recall", arguments, comparator, tools)


@scorer("tool_call_f1", needs=_TRAJECTORY_NEEDS)
def tool_call_f1(
    *, arguments: str = "subset", comparator: str = "exact", tools: Sequence[str] | None = None
) -> Scorer:
    """Harmonic mean of tool-call precision and recall: 2PR / (P + R)."""
    return _ratio_scorer("tool_call_f1", arguments, comparator, tools)


@scorer(
    "trajectory_match",
    needs=_TRAJECTORY_NEEDS,
    description="True when the calls match the expected ones under a mode (exact, in_order, ...).",
)
def trajectory_match(
    *,
    mode: str = "exact",
    arguments: str = "subset",
    comparator: str = "exact",
    tools: Sequence[str] | None = None,
) -> Scorer:
    """True when the calls match the expected ones under the mode (exact, unordered,
    in_order, superset/any_order, subset); a case's ``tool_match`` overrides the options."""
    _check_choice("mode", mode, TRAJECTORY_MODES)
    shared = _Trajectory(arguments, comparator, tools)

    async def score(case: GoldenCase, obs: Observation) -> Score:
        reason, expected, actual = shared.read(case, obs)
        if reason is not None or expected is None or actual is None:
            return Score.unscorable(reason or "unreadable trajectory")
        used = (case.tool_match.mode if case.tool_match else None) or mode
        ok = trajectory_matches(expected, actual, used, shared.matcher(case))
        summary = f"{used}: {'matches' if ok else 'does not match'} {_names(expected)}"
        return Score(
            value=ok,
            explanation=shared.explain(case, actual, f"{summary}, got {_names(actual)}"),
            metadata={"mode": used, "expected": _names(expected), "actual": _names(actual)},
        )

    return single("trajectory_match", score)


@scorer("steps", needs=("tool_calls",))
def steps() -> Scorer:
    """Number of tool calls the agent made for the task: |A|."""

    async def score(case: GoldenCase, obs: Observation) -> Score:
        if not obs.ok:
            return Score.unscorable(f"target error ({obs.status})")
        if obs.tool_calls is None:
            return Score.unscorable(
                "the target reported no tool_calls (check the response mapping)"
            )
        return Score(value=float(len(obs.tool_calls)))

    return single("steps", score)


def _patterns(raw: Sequence[Any] | None) -> tuple[ExpectedToolCall, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raise ValueError(f"forbidden must be a list of tool names or calls, got {raw!r}")
    return tuple(
        ExpectedToolCall(name=p) if isinstance(p, str) else ExpectedToolCall.model_validate(p)
        for p in raw
    )


@scorer(
    "forbidden_action",
    needs=("forbidden_tool_calls", "tool_calls"),
    description="True when the agent attempted any forbidden tool call.",
)
def forbidden_action(
    *, forbidden: Sequence[Any] | None = None, comparator: str = "exact"
) -> Scorer:
    """True when any call the agent made (attempted, failed or not) matches a forbidden call of
    the case or of the scorer's ``forbidden`` list (name, then arguments as a subset). A call
    whose arguments were not JSON matches a forbidden pattern by name alone."""
    check_comparator(comparator)
    journey = _patterns(forbidden)

    async def score(case: GoldenCase, obs: Observation) -> Score:
        if not obs.ok:
            return Score.unscorable(f"target error ({obs.status})")
        if obs.tool_calls is None:
            return Score.unscorable(
                "the target reported no tool_calls (check the response mapping)"
            )
        patterns = (*case.forbidden_tool_calls, *journey)
        hits = []
        for i, call in enumerate(obs.tool_calls, start=1):
            for pattern in patterns:
                by_name = has_raw_arguments(call) and call.name == pattern.name
                if by_name or call_matches(pattern, call, comparator=comparator):
                    hits.append(f"call {i}: {call.name}({_short(call.arguments)})")
                    break
        if hits:
            return Score(
                value=True, explanation="forbidden: " + "; ".join(hits), metadata={"calls": hits}
            )
        if any(not c.name.strip() for c in obs.tool_calls):
            return Score.unscorable("a tool call has no name: cannot tell whether it was forbidden")
        why = "no forbidden call" if patterns else "nothing is forbidden for this case"
        return Score(value=False, explanation=why)

    return single("forbidden_action", score)


def _short(arguments: Mapping[str, Any]) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
    return text if len(text) <= 120 else text[:117] + "..."


def call_failed(call: ToolCall) -> bool:
    """A call failed when it carries an ``error``, or its result is an object with a non-empty
    ``error`` (the usual way tools report failures to the model)."""
    if call.error:
        return True
    return isinstance(call.result, Mapping) and bool(call.result.get("error"))


@scorer(
    "tool_error_rate",
    needs=("tool_calls",),
    description="Share of the agent's tool calls that failed.",
)
def tool_error_rate() -> Scorer:
    """Failed calls / |A| (see :func:`call_failed`); no calls cannot be rated."""

    async def score(case: GoldenCase, obs: Observation) -> Score:
        reason = unreadable(obs)
        if reason is not None:
            return Score.unscorable(reason)
        calls = obs.tool_calls or ()
        if not calls:
            return Score.unscorable("the agent made no tool calls")
        failed = [f"{i}: {c.name}" for i, c in enumerate(calls, start=1) if call_failed(c)]
        return Score(
            value=len(failed) / len(calls),
            explanation=f"{len(failed)} of {len(calls)} calls failed",
            metadata={"failed": failed},
        )

    return single("tool_error_rate", score)


@scorer("task_latency_s", needs=("latency_s",))
def task_latency_s() -> Scorer:
    """Wall-clock seconds of the whole task, as the target call measured it."""

    async def score(case: GoldenCase, obs: Observation) -> Score:
        if not obs.ok:
            return Score.unscorable(f"target error ({obs.status})")
        if obs.latency_s is None:
            return Score.unscorable("the target call reported no latency")
        return Score(value=float(obs.latency_s))

    return single("task_latency_s", score)


@scorer(
    "step_latency_s",
    needs=("tool_calls",),
    description="Max (or mean, sum) seconds of the agent's tool calls.",
)
def step_latency_s(*, stat: str = "max") -> Scorer:
    """Per-step latency: the ``stat`` (max, mean or sum) of the calls' ``latency_s``; not
    scorable without calls or when any call reports no latency."""
    _check_choice("stat", stat, STEP_STATS)
    reducers: dict[str, Callable[[list[float]], float]] = {
        "max": lambda v: max(v),
        "mean": statistics.fmean,
        "sum": math.fsum,
    }
    reduce = reducers[stat]

    async def score(case: GoldenCase, obs: Observation) -> Score:
        reason = unreadable(obs)
        if reason is not None:
            return Score.unscorable(reason)
        calls = obs.tool_calls or ()
        if not calls:
            return Score.unscorable("the agent made no tool calls")
        missing = [i for i, c in enumerate(calls, start=1) if c.latency_s is None]
        if missing:
            return Score.unscorable(
                f"{len(missing)} of {len(calls)} tool calls report no latency_s"
            )
        values = [float(c.latency_s or 0.0) for c in calls]
        return Score(value=reduce(values), metadata={"per_step": values})

    return single("step_latency_s", score)


@scorer("tokens_per_task", needs=("usage",))
def tokens_per_task() -> Scorer:
    """Prompt + completion tokens the target reported for the whole task."""

    async def score(case: GoldenCase, obs: Observation) -> Score:
        if not obs.ok:
            return Score.unscorable(f"target error ({obs.status})")
        if obs.usage is None:
            return Score.unscorable("the target reported no usage")
        return Score(
            value=float(obs.usage.total_tokens),
            metadata={"prompt": obs.usage.prompt_tokens, "completion": obs.usage.completion_tokens},
        )

    return single("tokens_per_task", score)


# ---- task success --------------------------------------------------------------------------


def state_mismatches(expected: Any, actual: Any, path: str = "state") -> list[str]:
    """Where ``actual`` does not contain ``expected``: objects by key (extra keys allowed),
    arrays of the same length whose elements pair up one-to-one in any order, other values by
    JSON equality. Empty when it does."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return [f"{path}: expected an object, got {_show(actual)}"]
        out = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{path}.{key}: missing")
            else:
                out += state_mismatches(value, actual[key], f"{path}.{key}")
        return out
    if isinstance(expected, list | tuple):
        if not isinstance(actual, list | tuple):
            return [f"{path}: expected an array, got {_show(actual)}"]
        if len(expected) != len(actual):
            return [f"{path}: expected {len(expected)} item(s), got {len(actual)}"]
        m = max_matching(
            len(expected),
            len(actual),
            lambda i, j: not state_mismatches(expected[i], actual[j]),
        )
        if m < len(expected):
            return [f"{path}: {len(expected) - m} expected item(s) not found in {_show(actual)}"]
        return []
    if not json_equal(expected, actual):
        return [f"{path}: expected {_show(expected)}, got {_show(actual)}"]
    return []


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def outcome_failures(outcome: ExpectedOutcome, obs: Observation) -> list[str]:
    """Every check of ``outcome`` the observation fails (state, then answer)."""
    failures = state_mismatches(outcome.state, obs.state or {}) if outcome.state else []
    answer = _fold(obs.answer or "")
    failures += [f"answer lacks {p!r}" for p in outcome.answer_contains if _fold(p) not in answer]
    failures += [f"answer contains {p!r}" for p in outcome.answer_excludes if _fold(p) in answer]
    return failures


@scorer(
    "task_success",
    needs=("expected_outcome", "state", "answer"),
    description="True when the final state and answer meet the expected outcome.",
)
def task_success() -> Scorer:
    """True when the expected outcome is met: the final state contains ``expected_outcome.state``
    and the answer holds every ``answer_contains`` and no ``answer_excludes``."""

    async def score(case: GoldenCase, obs: Observation) -> Score:
        if not obs.ok:
            return Score.unscorable(f"target error ({obs.status})")
        outcome = case.expected_outcome
        if outcome is None:
            return Score.unscorable("the golden case has no expected_outcome")
        if isinstance(outcome, str):
            return Score.unscorable("the expected_outcome is free text: only a judge can check it")
        if outcome.state and obs.state is None:
            return Score.unscorable("the target reported no final state to check")
        failures = outcome_failures(outcome, obs)
        return Score(
            value=not failures,
            explanation="; ".join(failures) if failures else "outcome met",
            metadata={"failed": failures},
        )

    return single("task_success", score)
