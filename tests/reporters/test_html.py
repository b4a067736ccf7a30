"""report.html: model output and dataset text shown as text (never markup), no script and no
network asset, and the sections a reviewer reads: the SLO plots, latency and TTFT histograms,
cost, per-instruction and per-slice breakdowns, the worst cases with answer, contexts and the
scorer's explanation."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from cujeval.pipeline import evaluate_sync
from cujeval.reporters import html
from cujeval.spec.options import RunOptions
from cujeval.spec.results import RunResult
from cujeval.spec.suite import load_suite

SCRIPT = "<script>alert(1)</script>"


def hostile(case: Any) -> dict[str, Any]:
    """Answers, contexts and usage that try to become markup; case c3 fails outright."""
    if case.id == "c3":
        raise RuntimeError(f"boom {SCRIPT}")
    words = "word " * (5 if case.id == "c1" else 60)
    return {
        "answer": f"{SCRIPT} <img src=x onerror=alert(2)> {words}",
        "contexts": [{"id": "<b>kb-1</b>", "text": f"context {SCRIPT} about it"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20},
        "model": "m<i>1</i>",
        "ttft_s": 0.001 * len(case.question),
    }


class Tags(HTMLParser):
    """Every start tag and attribute the browser would build."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def run(tmp_path: Path) -> tuple[RunResult, str]:
    rows = [
        {
            "id": f"c{i}" if i else "</details><script>x</script>",
            "input": f"question <b>{i}</b>",
            "relevant_ids": ["<b>kb-1</b>"],
            "tags": ["billing" if i % 2 else "<em>login</em>"],
            "instructions": [{"id": "product:max_words", "kwargs": {"max_words": 20}}],
        }
        for i in range(12)
    ]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    suite = {
        "name": "h",
        "targets": {"p": {"kind": "python", "callable": f"{__name__}:hostile"}},
        "prices": {"m<i>1</i>": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}},
        "settings": {"retries": 0},
        "journeys": [
            {
                "name": "j",
                "dataset": "d.jsonl",
                "target": "p",
                "scorers": [
                    "error",
                    "latency_s",
                    "ttft_s",
                    "precision@2",
                    "cost_usd",
                    "instruction_following",
                ],
                "slos": [
                    {"name": "<b>up</b>", "good": "error == false", "target": 0.99},
                    {"name": "short", "good": "instruction_following == true", "target": 0.5},
                    {"name": "fast", "objective": "p95(latency_s) <= 5"},
                    {"name": "first-token", "objective": "p50(ttft_s) <= 0.5"},
                    {"name": "both", "all_of": ["<b>up</b>", "short"], "target": 0.5},
                ],
            }
        ],
    }
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(suite))
    out = tmp_path / "o"
    loaded = load_suite(tmp_path / "s.yaml")
    # a journey name no suite file may give (load_suite refuses it), as a suite built in code
    # or an older results.json may hold: it must show as text all the same
    journey = loaded.journeys[0].model_copy(update={"name": "j<script>"})
    suite = loaded.model_copy(update={"journeys": (journey,)})
    result = evaluate_sync(suite, RunOptions(output_dir=out, progress=False, mlflow=False))
    return result, html.write(result, out).read_text(encoding="utf-8")


def test_untrusted_text_shows_as_text_and_nothing_runs_or_loads(tmp_path: Path) -> None:
    result, page = run(tmp_path)
    assert result.journeys[0].n_errors == 1
    parsed = Tags()
    parsed.feed(page)
    assert not {"script", "img", "b", "em", "i"} & set(parsed.tags)  # none of the report's own
    assert not [a for a in parsed.attrs if a.startswith("on") or a in ("src", "srcset")]
    assert not [t for t in parsed.tags if t in ("link", "iframe", "object", "embed", "base")]
    text = "".join(parsed.text)
    for shown in (
        SCRIPT,  # the answer, the context, the error, the journey name
        "<img src=x onerror=alert(2)>",
        "</details><script>x</script>",  # a case id
        "question <b>1</b>",
        "<b>kb-1</b>",
        "<em>login</em>",
        "m<i>1</i>",
        f"boom {SCRIPT}",
    ):
        assert shown in text, shown
    assert "default-src 'none'" in page and "http-equiv='Content-Security-Policy'" in page
    assert "https://" not in page and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", ""
    )


def test_the_sections_a_reviewer_reads(tmp_path: Path) -> None:
    result, page = run(tmp_path)
    journey = result.journeys[0]
    # one interval plot per SLO that has an estimate, each with its sentence as a tooltip
    assert page.count("<svg") == len(journey.slos) + 2  # and two histograms
    assert "target 99.0%" in page and "bound 5" in page
    # latency and time-to-first-token histograms from the journal (11 answered cases)
    assert "latency (s), 11 cases" in page and "time to first token (s), 11 cases" in page
    assert "objective 5 s" in page and "objective 0.5 s" in page
    # one p95 everywhere: the histogram's is the SLI table's (results.json)
    for sli in ("latency_s", "ttft_s"):
        entry = next(x for x in journey.slis if x.name == sli)
        assert entry.p95 is not None and f"p95 {entry.p95:.3g} s</title>" in page, sli
    # cost: 11 priced answers of 100 + 20 tokens at $1 and $2 per million
    assert "<h3>Cost</h3>" in page and "$0.00154" in page and "1,100" in page and "220" in page
    # per instruction: the one instruction, followed by c1 only among the answered cases
    assert "<code>product:max_words</code></td><td class='num'>9.1 %" in page
    # per slice: both tags, with the share of good rows per ratio SLO
    assert "<td>billing</td><td class='num'>6</td><td class='num'>1</td>" in page
    assert "&lt;em&gt;login&lt;/em&gt;" in page and "(5/6)" in page
    # worst cases of the SLOs that are not met, with the scorer's explanation and the contexts
    assert "<h3>Worst cases</h3>" in page
    assert "instruction_following = false" in page
    assert "contexts" in page and "context &lt;script&gt;alert(1)&lt;/script&gt; about it" in page
    assert f"boom {SCRIPT}".replace("<", "&lt;").replace(">", "&gt;") in page
    assert "All cases (12 rows)" in page


def test_a_journal_that_cannot_be_read_still_gives_a_report(tmp_path: Path) -> None:
    result, _ = run(tmp_path)
    journal = tmp_path / "o" / "journal.jsonl"
    lines = journal.read_text().splitlines()
    journal.write_text("\n".join(["{not json", *lines]) + "\n")
    page = html.render(result, tmp_path / "o")
    assert "the journal could not be read to the end" in page
    assert "<h2 id='j-j_script_'>" in page
