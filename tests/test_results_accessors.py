"""RunResult.slo() and SLOEntry.met: what a journey written in Python asserts on."""

from __future__ import annotations

import pytest

from cujeval.spec.results import DatasetEntry, GateEntry, JourneyResult, RunResult, SLOEntry


def entry(name: str, verdict: str = "MET") -> SLOEntry:
    return SLOEntry(
        name=name,
        kind="ratio",
        expression="error == false",
        verdict=verdict,  # type: ignore[arg-type]
        estimate=1.0,
        lower=0.9,
        upper=1.0,
        n=10,
    )


def journey(name: str, *slos: SLOEntry) -> JourneyResult:
    return JourneyResult(
        name=name,
        target="t",
        dataset=DatasetEntry(path="d", digest="sha256:0", n_cases=10),
        scorers=[],
        n_rows=10,
        n_errors=0,
        slis=[],
        slos=list(slos),
    )


RESULT = RunResult(
    run_id="r",
    suite="s",
    suite_path="s.yaml",
    started_at="",
    finished_at="",
    status="completed",
    cujeval_version="0",
    settings={},
    journeys=[
        journey("a", entry("up"), entry("grounded", "BREACHED")),
        journey("b", entry("up", "INCONCLUSIVE")),
    ],
    gate=GateEntry(passed=False, exit_code=1, policy="", blocking=[], warnings=[]),
)


def test_slo_by_name_and_journey() -> None:
    assert RESULT.slo("grounded").verdict == "BREACHED" and not RESULT.slo("grounded").met
    assert RESULT.slo("up", journey="a").met
    assert RESULT.slo("up", journey="b").verdict == "INCONCLUSIVE"


@pytest.mark.parametrize(
    ("name", "journey", "message"),
    [
        ("up", None, "SLO 'up' is in several journeys (a, b): pass journey="),
        ("nope", None, "no SLO 'nope'; the SLOs are: a/grounded, a/up, b/up"),
        ("grounded", "b", "no SLO 'grounded'; the SLOs are: b/up"),
        ("up", "c", "no journey 'c'; the journeys are: a, b"),
    ],
)
def test_a_missing_or_ambiguous_slo_says_what_there_is(
    name: str, journey: str | None, message: str
) -> None:
    with pytest.raises(KeyError) as caught:
        RESULT.slo(name, journey=journey)
    assert caught.value.args[0] == message
