"""Paired comparison against a baseline: McNemar and the paired bootstrap on rows built here,
checked against values worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from cujeval.core.compare import compare
from cujeval.core.paired import bootstrap_cases_needed, mcnemar_cases_needed, pair
from cujeval.spec.budget import BudgetPolicy
from cujeval.spec.journal import JournalRow
from cujeval.spec.suite import Journey, Settings, SLOSpec

JOURNEY = Journey(
    name="j",
    dataset="cases.jsonl",
    target="svc",
    scorers=(),
    slos=(
        SLOSpec(name="no-errors", good="error == false", target=0.9),
        SLOSpec(name="fast", objective="p95(latency_s) <= 5"),
    ),
)


def rows(errors: set[int], n: int = 20, latency: float = 0.1, **extra: Any) -> list[JournalRow]:
    out = []
    for i in range(n):
        bad = i in errors
        out.append(
            JournalRow(
                journey="j",
                case_id=f"c{i:04d}",
                case_hash=extra.get("hashes", {}).get(i, f"h{i}"),
                observation={"status": "http_500" if bad else "ok"},
                scores={
                    "error": {"value": bad},
                    "latency_s": {"value": latency + i / 1000},
                },
            )
        )
    return out


def by_name(items: list[Any]) -> dict[str, Any]:
    return {c.slo: c for c in items}


def test_same_rows_on_few_pairs_are_inconclusive() -> None:
    """20 identical pairs cannot show a 5-point drop (about 400 would): not NO CHANGE."""
    base = rows({0})
    got = by_name(compare(base, base, JOURNEY, Settings()))
    c = got["no-errors"]
    assert c.change == "INCONCLUSIVE" and c.p_value == 1.0 and c.worse == c.better == 0
    assert c.diff == 0 and not c.blocks and c.test == "mcnemar" and c.n_paired == 20
    assert c.cases_needed is not None and c.cases_needed > 20
    assert "too few pairs to detect a drop of 5.0 points" in c.note
    fast = got["fast"]
    assert fast.change == "INCONCLUSIVE" and fast.baseline == fast.candidate is not None
    assert fast.note == "too few pairs: 20 paired case(s), a bound of p95 needs 59"
    same = by_name(compare(rows({0}, n=60), rows({0}, n=60), JOURNEY, Settings()))["fast"]
    assert same.change == "NO CHANGE" and same.diff == 0  # identical values: any change shows


def test_a_quantile_is_not_compared_on_fewer_cases_than_its_bound_needs() -> None:
    # p95 at 95 %: 59 cases, as for the SLO's own verdict; 58 paired cases of a 1 s slowdown
    # say nothing yet, 59 say REGRESSED
    for n, change in ((58, "INCONCLUSIVE"), (59, "REGRESSED")):
        base, cand = rows(set(), n=n), rows(set(), n=n, latency=1.1)
        c = by_name(compare(base, cand, JOURNEY, Settings()))["fast"]
        assert c.change == change, n
        assert c.cases_needed == (59 if n == 58 else c.cases_needed)


def test_more_errors_regress_by_mcnemar() -> None:
    base = rows({0})  # question 0 fails in both
    cand = rows({0, 2, 4, 6, 8, 10, 12, 14, 16, 18})  # 9 cases go good -> bad
    c = by_name(compare(base, cand, JOURNEY, Settings()))["no-errors"]
    assert (c.worse, c.better) == (9, 0)
    assert c.p_value == pytest.approx(2 * 0.5**9)  # 0.0039
    assert c.change == "REGRESSED" and c.blocks
    assert c.baseline == pytest.approx(19 / 20) and c.candidate == pytest.approx(10 / 20)
    assert c.diff == pytest.approx(-9 / 20) and c.drop == pytest.approx(0.45)
    assert c.lower is not None and c.upper is not None and c.lower <= c.diff <= c.upper < 0
    # a drop within what the policy allows is still REGRESSED but does not block
    lenient = BudgetPolicy(slos={"no-errors": {"max_drop": 0.5}})  # type: ignore[dict-item]
    c = by_name(compare(base, cand, JOURNEY, Settings(), policy=lenient))["no-errors"]
    assert c.change == "REGRESSED" and not c.blocks and c.max_drop == 0.5
    # the other way round it improved
    c = by_name(compare(cand, base, JOURNEY, Settings()))["no-errors"]
    assert c.change == "IMPROVED" and not c.blocks and (c.worse, c.better) == (0, 9)


def test_few_discordant_pairs_are_inconclusive_not_no_change() -> None:
    # 5 go bad, 0 go good: p = 2 * 0.5^5 = 0.0625 >= 0.05, the best 5 pairs can show
    c = by_name(compare(rows(set()), rows({1, 2, 3, 4, 5}), JOURNEY, Settings()))["no-errors"]
    assert c.p_value == pytest.approx(0.0625) and c.change == "INCONCLUSIVE" and not c.blocks


def test_a_collapse_of_five_cases_is_not_no_change() -> None:
    base, cand = rows(set(), n=5), rows({0, 1, 2, 3, 4}, n=5)  # 5 of 5 good -> 0 of 5
    c = by_name(compare(base, cand, JOURNEY, Settings()))["no-errors"]
    assert (c.baseline, c.candidate) == (1.0, 0.0)
    assert c.change == "INCONCLUSIVE" and c.worse == 5


def test_slower_candidate_regresses_on_the_aggregate() -> None:
    base, cand = rows(set(), n=60), rows(set(), n=60, latency=1.1)  # every case 1 s slower
    c = by_name(compare(base, cand, JOURNEY, Settings()))["fast"]
    assert c.test == "bootstrap" and not c.higher_is_better
    assert c.diff == pytest.approx(1.0) and c.lower == pytest.approx(1.0)
    assert c.change == "REGRESSED" and c.worse == 60
    p95 = 0.1 + 0.95 * 59 / 1000  # numpy's linear interpolation over 0.100 .. 0.159
    assert c.baseline == pytest.approx(p95) and c.drop == pytest.approx(1.0 / p95)
    assert c.blocks  # default allowed drop 0


def test_pairing_drops_changed_and_unmatched_cases() -> None:
    base = rows({0}, n=20)
    cand = rows({0}, n=22, hashes={3: "other"})
    p = pair(base, cand)
    assert (len(p.common), p.only_baseline, p.only_candidate, p.changed) == (19, 0, 2, 1)
    c = by_name(compare(base, cand, JOURNEY, Settings()))["no-errors"]
    assert c.n_paired == 19


def test_epochs_use_the_bootstrap_of_shares() -> None:
    def two_epochs(bad_second: set[int]) -> list[JournalRow]:
        out = []
        for r in rows(set()):
            out.append(r)
            i = int(r.case_id[1:])
            second = r.model_copy(
                update={"epoch": 1, "scores": {**r.scores, "error": {"value": i in bad_second}}}
            )
            out.append(second)
        return out

    c = by_name(compare(two_epochs(set()), two_epochs(set(range(20))), JOURNEY, Settings()))
    assert c["no-errors"].test == "bootstrap" and c["no-errors"].p_value is None
    assert c["no-errors"].diff == pytest.approx(-0.5) and c["no-errors"].change == "REGRESSED"


def test_power() -> None:
    # Connor: psi = max(0, 0.05); n = (1.96 * sqrt(.05) + 0.8416 * sqrt(.05 - .0025))^2 / .0025
    assert mcnemar_cases_needed(0.05, 0.0, 0.05) == 155
    # psi 0.2: (1.96 * 0.4472 + 0.8416 * 0.4444)^2 / .0025 = 625.6
    assert mcnemar_cases_needed(0.05, 0.2, 0.05) == 626
    assert mcnemar_cases_needed(0.0, 0.2, 0.05) is None
    # se 0.02 at 100 cases, detect 0.05: 100 * ((1.96 + 0.8416) * 0.02 / 0.05)^2 = 125.6
    assert bootstrap_cases_needed(100, 0.02, 0.05, 0.05) == 126
    assert bootstrap_cases_needed(100, 0.0, 0.05, 0.05) is None


def test_cases_that_got_worse_come_with_both_answers() -> None:
    """The cases a regression is made of, each with its input and both answers, in the
    comparison's files (compare.json, compare.md), the typed results section and the HTML."""
    import json

    from cujeval.core.compare import Report, changed_cases
    from cujeval.reporters.history import changed_table
    from cujeval.spec.results import ComparisonSection

    def answered(items: list[JournalRow]) -> list[JournalRow]:
        return [
            r.model_copy(
                update={
                    "input": f"question {r.case_id}",
                    "observation": {**r.observation, "answer": f"<b>answer</b> {r.case_id}"}
                    if r.ok
                    else {**r.observation, "error": "HTTP 500 from svc"},
                }
            )
            for r in items
        ]

    base, cand = answered(rows({0})), answered(rows({0, 3, 5, 7, 9, 11, 13, 15}))
    found = compare(base, cand, JOURNEY, Settings())
    assert by_name(found)["no-errors"].worse_cases == [
        f"c{i:04d}" for i in (3, 5, 7, 9, 11, 13, 15)
    ]
    changed = changed_cases(found, base, cand)
    assert [c.case_id for c in changed] == [f"c{i:04d}" for i in (3, 5, 7, 9, 11, 13, 15)]
    first = changed[0]
    assert (first.input, first.baseline) == ("question c0003", "<b>answer</b> c0003")
    assert first.candidate == "[http_500] HTTP 500 from svc"
    assert first.change == "good → bad on no-errors"

    report = Report("base", "cand", "r1", "r2", found, changed=changed)
    doc = json.loads(json.dumps(report.to_dict()))
    assert Report.from_dict(doc).changed == changed
    assert ComparisonSection.model_validate(doc).changed_cases[0].case_id == "c0003"
    md = report.to_markdown()
    assert "Cases that got worse (7)" in md and "| j/c0003<br>good → bad on no-errors |" in md
    page = changed_table(changed)
    assert "&lt;b&gt;answer&lt;/b&gt; c0003" in page and "<b>answer" not in page
