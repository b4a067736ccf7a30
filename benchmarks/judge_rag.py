"""The LLM judge on the bundled RAG cases: what a small local model scores, and how long it takes.

Starts the reference RAG service and a llama.cpp server (Gemma 3 270M base GGUF, see
tests/judge_server.py), runs the `grounded-answer` journey of suites/support_rag.yaml on its
first N cases with both `faithfulness` (offline) and `llm_faithfulness` (the judge, fresh
cache), and prints: seconds per case, the judge's account (calls, failures by reason with
their causes, tokens), the share of cases the judge left unscorable, and its agreement with
the offline scorer on the cases both scored. The base model's verdicts mean little; this
measures the plumbing on real cases, not judge quality.

    .venv/bin/python benchmarks/judge_rag.py --n 10

Measured here (2 cores shared with a test run; stopped after 5 cases in 35 minutes): the
judge left all 5 unscorable, 3 with "judge output cut at max_tokens=1024; raise
judge.max_tokens or use a larger model" (the base model loops on ragas's few-shot example) and
2 with no answer within judge.timeout_s=120 s over 4 attempts; the offline faithfulness scorer
judged the same 5 (all supported). About 7 minutes a case: the 270M base model is plumbing,
not a judge.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SUITE = """\
version: 1
name: judge_rag_bench
targets:
  helpcentre:
    kind: http
    url: {rag_url}/answer
    request: {{question: "{{{{question}}}}"}}
    response: {{answer: answer, contexts: contexts, usage: usage, model: model}}
    timeout_s: 30
judge: {{base_url: "{judge_url}", model: gemma, cache_dir: "{cache}", max_tokens: {max_tokens},
        max_concurrency: {judge_concurrency}}}
settings: {{concurrency: 2, confidence: 0.95}}
journeys:
  - name: grounded-answer
    dataset: {dataset}
    target: helpcentre
    scorers: [error, faithfulness, llm_faithfulness]
    slos:
      - name: answers-grounded
        good: faithfulness >= 0.8
        target: 0.85
      - name: judge-grounded
        good: llm_faithfulness >= 0.8
        target: 0.85
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="cases (of 122)")
    parser.add_argument("--max-tokens", type=int, default=1024, help="judge.max_tokens")
    parser.add_argument(
        "--judge-concurrency",
        type=int,
        default=1,
        help="judge.max_concurrency: llama.cpp's server answers one request at a time, so more"
        " only queue and time out",
    )
    args = parser.parse_args()

    from tests.judge_server import llama_server

    from cujeval.reference.launch import start_rag_service

    with tempfile.TemporaryDirectory() as tmp, start_rag_service() as rag, llama_server() as url:
        suite = Path(tmp) / "suite.yaml"
        suite.write_text(
            SUITE.format(
                rag_url=rag.url,
                judge_url=url,
                cache=Path(tmp) / "cache",
                max_tokens=args.max_tokens,
                judge_concurrency=args.judge_concurrency,
                dataset=ROOT / "datasets" / "support_rag.jsonl",
            ),
            encoding="utf-8",
        )
        out = Path(tmp) / "out"
        command = [str(Path(sys.executable).parent / "cujeval"), "run", str(suite)]
        command += ["--limit", str(args.n), "--no-mlflow", "--output", str(out)]
        env = {**os.environ, "RAGAS_DO_NOT_TRACK": "true", "NO_COLOR": "1"}
        start = time.perf_counter()
        proc = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        print(proc.stdout[-4000:], proc.stderr[-2000:], sep="\n")
        results = json.loads((out / "results.json").read_text(encoding="utf-8"))
        journey = results["journeys"][0]
        judge = journey.get("judge") or {}
        rows = [json.loads(line) for line in (out / results["journal"]).open(encoding="utf-8")]
        values = [(r["scores"].get("llm_faithfulness") or {}).get("value") for r in rows]
        offline = [(r["scores"].get("faithfulness") or {}).get("value") for r in rows]
    n = len(rows)
    unscorable = sum(v is None for v in values)
    print(f"exit {proc.returncode}; {n} cases in {wall:.0f} s: {wall / max(n, 1):.1f} s per case")
    print(f"judge unscorable: {unscorable} of {n} ({unscorable / max(n, 1):.0%})")
    print(f"offline faithfulness unscorable: {sum(v is None for v in offline)} of {n}")
    keys = ("calls", "judgements", "failed", "failures", "causes", "retries", "tokens")
    print("judge account:", json.dumps({k: judge.get(k) for k in keys}, indent=1))
    agreed = judge.get("agreement") or {}
    print("agreement:", json.dumps({k: v for k, v in agreed.items() if k != "cases"}, indent=1))
    for slo in journey["slos"]:
        print(f"  {slo['name']}: {slo['verdict']} n={slo['n']} estimate={slo.get('estimate')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
