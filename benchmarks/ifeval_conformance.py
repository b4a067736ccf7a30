"""Agreement of cujeval's IFEval checks with the official checker, and GPT-4's accuracy.

Usage: .venv/bin/python benchmarks/ifeval_conformance.py [RESULTS.jsonl]

RESULTS is a file of official verdicts ({key, prompt, instruction_id_list, kwargs, response,
strict, loose} per line); default: the shared dev data, else the copy under tests/data.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from cujeval.scorers.instructions.conformance import Accuracy, compare, load_scored

SHARED = Path("/work/shared/data/ifeval/gpt4_responses_dev.jsonl")
BUNDLED = Path(__file__).parents[1] / "tests" / "data" / "ifeval_gpt4_responses_dev.jsonl"


def _pct(value: float) -> str:
    return f"{100 * value:.2f} %"


def _accuracy_line(name: str, accuracy: Accuracy) -> str:
    return (
        f"  {name:<7} prompt-level {_pct(accuracy.prompt_level):>8}   "
        f"instruction-level {_pct(accuracy.instruction_level):>8}"
    )


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else (SHARED if SHARED.exists() else BUNDLED)
    rows = load_scored(path)
    started = time.perf_counter()
    result = compare(rows)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    compare(rows)
    warm = time.perf_counter() - started
    n = result.instructions
    strict_equal = round(result.strict_agreement * n)
    loose_equal = round(result.loose_agreement * n)
    print(f"data: {path} ({result.prompts} prompts, {n} instructions)")
    print(
        f"checked in {cold:.2f} s cold (loads nltk, Punkt English, langdetect), {warm:.2f} s warm"
        f" ({1000 * warm / result.prompts:.1f} ms per response, strict + 8 loose variants)"
    )
    print(f"strict agreement: {_pct(result.strict_agreement)} ({strict_equal}/{n})")
    print(f"loose agreement:  {_pct(result.loose_agreement)} ({loose_equal}/{n})")
    print(f"disagreements: {len(result.disagreements)}")
    for d in result.disagreements:
        print(f"  key {d.key} {d.id} {d.kwargs}")
        print(f"    ours strict/loose {d.ours}, official {d.official}")
        print(f"    reason: {d.cause}")
    print("GPT-4 accuracy from our verdicts:")
    for name in ("strict", "loose"):
        print(_accuracy_line(name, result.ours[name]))
    print("GPT-4 accuracy from the official verdicts in the file:")
    for name in ("strict", "loose"):
        print(_accuracy_line(name, result.official[name]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
