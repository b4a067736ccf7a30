"""summary.md sized for a pull-request comment: under GitHub's 65,536 characters however many
journeys, SLOs and worst cases a run has, saying what it left out; worst cases show the start
of their answer, escaped."""

from __future__ import annotations

import json
from pathlib import Path

from cujeval.reporters import markdown
from cujeval.spec.results import (
    DatasetEntry,
    GateEntry,
    GateSLOEntry,
    JourneyResult,
    RunResult,
    SLOEntry,
)


def slo(name: str, cases: list[str]) -> SLOEntry:
    return SLOEntry(
        name=name,
        kind="ratio",
        expression="error == false",
        verdict="BREACHED",
        estimate=0.5,
        lower=0.4,
        upper=0.6,
        n=100,
        good=50,
        target=0.9,
        worst_cases=[{"case_id": c, "epoch": 0, "value": 1.0} for c in cases],
    )


def result(journeys: int, slos: int, case_id: str = "case-{}") -> RunResult:
    js = [
        JourneyResult(
            name=f"journey-{j}",
            target="http POST http://svc/answer",
            dataset=DatasetEntry(path="d.jsonl", digest="sha256:" + "0" * 64, n_cases=100),
            scorers=["error"],
            n_rows=100,
            n_errors=50,
            slis=[],
            slos=[slo(f"slo-{k}", [case_id.format(i) for i in range(5)]) for k in range(slos)],
        )
        for j in range(journeys)
    ]
    gate = [
        GateSLOEntry(journey=j.name, slo=s.name, verdict="BREACHED", action="block", reason="x")
        for j in js
        for s in j.slos
    ]
    return RunResult(
        run_id="r1",
        suite="big",
        suite_path="big.yaml",
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:01:00+00:00",
        status="completed",
        cujeval_version="0",
        settings={},
        journeys=js,
        gate=GateEntry(
            passed=False,
            exit_code=1,
            policy="gate=interval",
            blocking=[f"{g.journey}/{g.slo} BREACHED" for g in gate],
            warnings=[],
            slos=gate,
        ),
    )


def test_a_small_run_is_shown_whole() -> None:
    text = markdown.render(result(2, 3))
    assert "not shown" not in text
    assert text.count("| slo-") == 6 and text.count("- journey-1/slo-2: case-4 (1)") == 1
    assert text.count("<details>") == text.count("</details>") == 1


def test_a_huge_run_stays_under_the_comment_limit_and_says_what_it_left_out() -> None:
    long_id = "x" * 400 + "-{}"
    text = markdown.render(result(40, 60, long_id))
    assert len(text) <= markdown.LIMIT < 65_536
    assert "_… and " in text and "not shown (comment size limit): see report.html_" in text
    assert "x" * 400 not in text  # ids are cut to a cell's width
    assert text.count("<details>") == text.count("</details>")
    small = markdown.render(result(3, 5, long_id), limit=4000)
    assert len(small) <= 4000 and "more lines not shown" in small


def test_worst_cases_show_the_escaped_start_of_the_answer(tmp_path: Path) -> None:
    rows = [
        {
            "journey": "journey-0",
            "case_id": f"case-{i}",
            "observation": {"answer": "<script>alert(1)</script> " + "long " * 50},
        }
        for i in range(5)
    ]
    rows[1]["observation"] = {"status": "http_500", "error": "HTTP 500 | <b>down</b>"}
    (tmp_path / "journal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = markdown.render(result(1, 1), tmp_path)
    assert "- journey-0/slo-0: case-0 (1) — &lt;script&gt;alert(1)&lt;/script&gt; long" in text
    assert "- journey-0/slo-0: case-1 (1) — error: HTTP 500 \\| &lt;b&gt;down&lt;/b&gt;" in text
    assert "<script>" not in text
    line = next(x for x in text.splitlines() if x.startswith("- journey-0/slo-0: case-2"))
    assert line.endswith("…") and len(line) < 200
