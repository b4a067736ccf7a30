"""A BERT cross-encoder on the NumPy encoder: a (first, second) text pair in, one logit out.

Built as a delta over a base model: the base weights (the shipped MiniLM) with some tensors
replaced by the delta file's (the fine-tuned top layers), and a linear head over the
mean-pooled last hidden states. The delta file is safetensors; its metadata say how many tokens
a pair may take. The same arithmetic as the torch module that trained it
(benchmarks/train_grounding_model.py), checked by tests/models/test_cross_encoder.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cujeval.models.bert import Bert, BertConfig, mean_pool
from cujeval.models.minilm import MODEL_DIR, load_tokenizer, load_weights

if TYPE_CHECKING:
    import numpy as np
    from tokenizers import Encoding

HEAD = ("head.weight", "head.bias")


class CrossEncoder:
    """``logits(firsts, seconds)``: one number per pair; higher means the head's positive class."""

    def __init__(self, delta: str | Path, base: str | Path = MODEL_DIR) -> None:
        from safetensors import safe_open

        base = Path(base)
        with safe_open(str(delta), framework="numpy") as handle:
            meta = handle.metadata() or {}
        self.max_tokens = int(meta.get("max_tokens", "128"))
        weights = load_weights(base / "model.safetensors")
        changes = load_weights(delta)
        unknown = [k for k in changes if k not in weights and k not in HEAD]
        if unknown or any(k not in changes for k in HEAD):
            raise ValueError(f"{delta}: not a cross-encoder delta over {base} ({unknown[:3]})")
        weights.update({k: v for k, v in changes.items() if k not in HEAD})
        config = json.loads((base / "config.json").read_text(encoding="utf-8"))
        self.bert = Bert(BertConfig.from_dict(config), weights)
        self.head_weight = changes["head.weight"].reshape(-1)
        self.head_bias = float(changes["head.bias"].reshape(-1)[0])
        self.tokenizer = load_tokenizer(base / "tokenizer.json", self.max_tokens)
        self.info = {k: v for k, v in meta.items() if k != "format"}

    def tokenize(self, firsts: Sequence[str], seconds: Sequence[str]) -> list[Encoding]:
        """Pair encodings, truncated (longest text first) to ``max_tokens``."""
        if len(firsts) != len(seconds):
            raise ValueError("one second text per first text")
        return list(self.tokenizer.encode_batch(list(zip(firsts, seconds, strict=True))))

    def logits(
        self, firsts: Sequence[str], seconds: Sequence[str], *, batch_size: int = 32
    ) -> np.ndarray:
        """The head's logit for each pair, float64, shape (len(firsts),)."""
        import numpy as np

        encodings = self.tokenize(firsts, seconds)
        out = np.zeros(len(encodings), dtype=np.float64)
        order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in chosen)
            ids = np.zeros((len(chosen), width), dtype=np.int64)
            types = np.zeros((len(chosen), width), dtype=np.int64)
            mask = np.zeros((len(chosen), width), dtype=np.int64)
            for row, i in enumerate(chosen):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                types[row, :n] = encodings[i].type_ids
                mask[row, :n] = 1
            pooled = mean_pool(self.bert(ids, mask, types), mask)
            out[chosen] = pooled.astype(np.float64) @ self.head_weight + self.head_bias
        return out
