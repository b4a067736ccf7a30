"""`cujeval score` then `cujeval calibrate` on real human-labelled rows (a RAGTruth QA slice)."""

from __future__ import annotations

import json
from pathlib import Path

from cujeval.grounding.labelled import load_ragtruth
from tests.helpers import cujeval

SLICE = Path(__file__).resolve().parent / "data" / "ragtruth_slice.jsonl"


def test_score_then_calibrate_on_labelled_rows(tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    with rows.open("w") as f:
        for r in load_ragtruth(SLICE):
            f.write(
                json.dumps(
                    {
                        "id": r.id,
                        "input": r.question,
                        "answer": r.answer,
                        "contexts": list(r.contexts),
                        "hallucinated": r.hallucinated,
                    }
                )
                + "\n"
            )
    scored = tmp_path / "scored.jsonl"
    r = cujeval("score", "--input", str(rows), "--scorer", "hallucination", "--output", str(scored))
    assert r.returncode == 0, r.stderr
    out = [json.loads(x) for x in scored.read_text().splitlines()]
    assert len(out) == 40
    assert all(isinstance(o["scores"]["hallucination"]["value"], bool) for o in out)
    assert all(0 <= o["scores"]["faithfulness"]["value"] <= 1 for o in out)

    r = cujeval("calibrate", "--input", str(scored), "--label", "hallucinated")
    assert r.returncode == 0, r.stderr
    assert "rule max_f1: threshold" in r.stdout and "on 40 rows (20 positive)" in r.stdout
    f1 = float(r.stdout.split("F1 ")[1].split()[0])
    assert f1 > 0.667  # better than flagging everything (F1 2/3 on a 50 % positive slice)

    r = cujeval("calibrate", "--input", str(scored), "--label", "id")
    assert r.returncode == 2 and f"{scored}:1: field 'id'" in r.stderr
