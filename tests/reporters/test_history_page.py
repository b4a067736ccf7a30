"""The history page's pictures, read back as Chromium renders them: every run's estimate where
the scale puts it, on the right side of the target line; the budget's runs, what each spent
and what was left; untrusted names shown as text, nothing loaded, no script."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.chromium import charts, dump_dom
from tests.reporters.test_html import Tags

from cujeval.core.budget import RunCount, compute
from cujeval.reporters.history import Burn, History, Trend, render, section
from cujeval.reporters.svg import Mark, Spend
from cujeval.spec.budget import BudgetPolicy

EVIL = "<script>alert('x')</script>"


def history() -> History:
    marks = [
        Mark("r1", "2026-01-01 02:00", 0.95, 0.83, 0.99, "INCONCLUSIVE"),
        Mark(f"r2{EVIL}", "2026-01-02 02:00", 0.5, 0.3, 0.7, "BREACHED"),
        Mark("r3", "2026-01-03 02:00", 1.0, 0.92, 1.0, "MET", current=True),
    ]
    latency = [
        Mark("r1", "", 0.8, 0.7, None, "INCONCLUSIVE"),
        Mark("r2", "", 2.5, 2.1, None, "BREACHED"),
    ]
    counts = [RunCount("r1", 20, 19), RunCount(f"r2{EVIL}", 20, 10), RunCount("r3", 20, 20)]
    policy = BudgetPolicy()
    state = compute(f"j{EVIL}", "no-errors", 0.9, counts, policy)
    spends = [Spend(c.run_id, "", c.n, c.bad) for c in counts]
    return History(
        suite=f"s{EVIL}",
        source="MLflow at sqlite:///x.db",
        runs=3,
        policy=policy,
        trends=[
            Trend(f"j{EVIL}", "no-errors", "error == false in ≥ 90 %", 0.9, True, marks),
            Trend(f"j{EVIL}", "latency", "p95(latency_s) <= 1.5", 1.5, False, latency),
        ],
        burns=[Burn(state, spends)],
    )


def test_the_page_is_self_contained_and_shows_names_as_text(tmp_path: Path) -> None:
    page = render(history())
    parsed = Tags()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert not [a for a in parsed.attrs if a.startswith("on") or a in ("src", "href")]
    assert EVIL in "".join(parsed.text)
    assert "default-src 'none'" in page and "https://" not in page
    one = section(None, "History not shown: MLflow at http://127.0.0.1:9 is unreachable")
    assert one.count("<p") == 1 and "unreachable" in one


def test_numbers_read_off_the_rendered_page(tmp_path: Path) -> None:
    page = tmp_path / "history.html"
    page.write_text(render(history()), encoding="utf-8")
    drawn = charts(dump_dom(page))
    trend = drawn[f"trend:j{EVIL}/no-errors"]
    target_y = float(trend.lines["target"]["y1"])
    assert target_y == pytest.approx(trend.y_of(0.9), abs=0.05)
    by_run = {m["data-run"]: m for m in trend.marks}
    assert list(by_run) == ["r1", f"r2{EVIL}", "r3"]  # oldest first
    faulted = by_run[f"r2{EVIL}"]
    assert float(faulted["data-estimate"]) == 0.5 and faulted["data-verdict"] == "BREACHED"
    # drawn where its value is, below the target line (larger y is lower on the screen)
    assert float(faulted["circle.cy"]) == pytest.approx(trend.y_of(0.5), abs=0.05)
    assert float(faulted["circle.cy"]) > target_y > float(by_run["r3"]["circle.cy"])
    assert by_run["r3"]["data-current"] == "true"
    latency = drawn[f"trend:j{EVIL}/latency"]
    assert [m["data-verdict"] for m in latency.marks] == ["INCONCLUSIVE", "BREACHED"]
    assert float(latency.marks[1]["circle.cy"]) < float(latency.lines["target"]["y1"])

    burn = drawn[f"burndown:j{EVIL}/no-errors"]
    assert float(burn.attrs["data-budget"]) == pytest.approx(6.0)  # 10 % of 60 cases
    spent = {m["data-run"]: m for m in burn.marks}
    assert float(spent[f"r2{EVIL}"]["data-bad"]) == 10
    assert float(spent[f"r2{EVIL}"]["data-spent"]) == pytest.approx(10 / 6, abs=1e-5)
    assert float(spent["r3"]["data-left"]) == pytest.approx(1 - 11 / 6, abs=1e-5)
    bars = {k: float(m["rect.height"]) for k, m in spent.items()}
    assert max(bars, key=lambda k: bars[k]) == f"r2{EVIL}" and bars["r3"] == 0
    fast = float(burn.lines["fast"]["y1"])
    assert fast == pytest.approx(burn.y_of(0.10), abs=0.05)  # the fast alert's 10 %
