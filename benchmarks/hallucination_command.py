"""`cujeval score --scorer hallucination` as a user runs it: whole-command wall time and quality.

Writes RAGTruth QA dev (or its first N rows) as score rows (question, answer, contexts = the
row's passages), runs the command once in a fresh process (start-up, model loads and all), and
reads its output back: responses per second over the whole command, and precision / recall /
F1 against the human labels at the shipped threshold. On dev this F1 is in-sample for the
shipped model (it was calibrated there): the honest figure is scorer_quality.py's nested row;
this one shows that the command gives what the benchmarks measure, at what speed.

    .venv/bin/python benchmarks/hallucination_command.py [--rows N] [--before SRC]

``--before SRC`` also runs the command with ``PYTHONPATH=SRC`` (an older checkout's src), in the
same run, for a before/after ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAGTRUTH = Path("/work/shared/data/ragtruth_qa/dev.jsonl")


def write_rows(path: Path, limit: int | None) -> list[bool]:
    from cujeval.grounding.labelled import load_ragtruth

    rows = load_ragtruth(RAGTRUTH)[:limit]
    with path.open("w", encoding="utf-8") as handle:
        for r in rows:
            row = {"id": r.id, "question": r.question, "answer": r.answer, "contexts": r.contexts}
            handle.write(json.dumps(row) + "\n")
    return [r.hallucinated for r in rows]


def run(src: str, rows: Path, out: Path) -> float:
    env = {**os.environ, "PYTHONPATH": src, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-m", "cujeval.cli", "score", "--input", str(rows)]
    command += ["--scorer", "hallucination", "--output", str(out)]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def quality(out: Path, labels: list[bool]) -> tuple[float, float, float]:
    decided = []
    for line in out.read_text(encoding="utf-8").splitlines():
        score = json.loads(line)["scores"]["hallucination"]
        decided.append(bool(score["value"]))
    tp = sum(d and y for d, y in zip(decided, labels, strict=True))
    fp = sum(d and not y for d, y in zip(decided, labels, strict=True))
    fn = sum(y and not d for d, y in zip(decided, labels, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--before", default=None, help="an older tree's src folder")
    args = parser.parse_args(argv)
    here = str(Path(__file__).resolve().parents[1] / "src")
    trees = [("before", args.before)] if args.before else []
    trees.append(("after", here))
    with tempfile.TemporaryDirectory() as tmp:
        rows = Path(tmp) / "rows.jsonl"
        labels = write_rows(rows, args.rows)
        print(f"{len(labels)} RAGTruth QA dev responses ({sum(labels)} hallucinated)")
        print("| tree | wall s | responses/s | precision % | recall % | F1 % |")
        print("|---|---|---|---|---|---|")
        for name, src in trees:
            out = Path(tmp) / f"{name}.jsonl"
            wall = run(src or here, rows, out)
            p, r, f1 = quality(out, labels)
            print(
                f"| {name} | {wall:.1f} | {len(labels) / wall:.2f} | {100 * p:.1f} | "
                f"{100 * r:.1f} | {100 * f1:.1f} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
