"""A BERT encoder forward pass in NumPy: inference only, float32, no torch.

Follows Hugging Face ``BertModel`` (post-layer-norm, exact GELU, absolute positions) closely
enough that all-MiniLM-L6-v2 embeddings agree with sentence-transformers' to about 1e-6 cosine
(tests/models). Weights are a flat ``name -> array`` mapping with the Hugging Face names,
without the ``bert.`` prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

# Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, far below float32 noise after a layer norm.
_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
_P = 0.3275911
_ROWS = 512  # tokens per feed-forward block


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise (NumPy has none; scipy would cost start-up time)."""
    import numpy as np

    a = np.abs(x)
    t = a * _P
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * _A[4]
    for coefficient in (_A[3], _A[2], _A[1], _A[0]):
        poly += coefficient
        poly *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a
    np.subtract(1.0, poly, out=poly)
    poly *= np.sign(x)
    out: np.ndarray = poly
    return out


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU as BERT uses it, x · Φ(x) with the exact (erf) normal CDF; overwrites ``x``."""
    phi = erf(x * 0.7071067811865476)
    phi += 1.0
    phi *= 0.5
    x *= phi
    return x


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """Layer normalisation over the last axis; overwrites ``x``."""
    import numpy as np

    x -= x.mean(axis=-1, keepdims=True)
    scale = np.square(x).mean(axis=-1, keepdims=True)
    scale += eps
    np.sqrt(scale, out=scale)
    x /= scale
    x *= weight
    x += bias
    return x


@dataclass(frozen=True)
class BertConfig:
    """The shape of a BERT encoder (the fields of its config.json that inference reads)."""

    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    layer_norm_eps: float = 1e-12

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> BertConfig:
        def number(name: str) -> float:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"config field {name!r} must be a number, got {value!r}")
            return value

        if data.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"unsupported hidden_act {data.get('hidden_act')!r}")
        if data.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are supported")
        return cls(
            hidden_size=int(number("hidden_size")),
            num_hidden_layers=int(number("num_hidden_layers")),
            num_attention_heads=int(number("num_attention_heads")),
            intermediate_size=int(number("intermediate_size")),
            max_position_embeddings=int(number("max_position_embeddings")),
            layer_norm_eps=float(number("layer_norm_eps")),
        )


class Bert:
    """The encoder: token ids in, last hidden states out. Stateless after construction, so one
    instance may serve many threads (NumPy releases the GIL inside its matrix products)."""

    def __init__(self, config: BertConfig, weights: Mapping[str, np.ndarray]) -> None:
        import numpy as np

        self.config = config
        missing = [k for k in self._required() if k not in weights]
        if missing:
            raise ValueError(f"weights lack {len(missing)} tensors, e.g. {missing[0]!r}")
        w = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
        # matrices stored as (in, out) so that a product is x @ W; one fused Q/K/V product
        self._qkv: list[tuple[np.ndarray, np.ndarray]] = []
        for i in range(config.num_hidden_layers):
            p = f"encoder.layer.{i}.attention.self."
            names = [p + n for n in ("query", "key", "value")]
            fused = np.concatenate([w.pop(n + ".weight") for n in names])
            bias = np.concatenate([w.pop(n + ".bias") for n in names])
            self._qkv.append((np.ascontiguousarray(fused.T), bias))
        for k in [k for k in w if k.startswith("encoder.") and k.endswith("dense.weight")]:
            w[k] = np.ascontiguousarray(w[k].T)
        self._w = w

    def _required(self) -> list[str]:
        names = [
            "embeddings.word_embeddings.weight",
            "embeddings.position_embeddings.weight",
            "embeddings.token_type_embeddings.weight",
            "embeddings.LayerNorm.weight",
            "embeddings.LayerNorm.bias",
        ]
        for i in range(self.config.num_hidden_layers):
            p = f"encoder.layer.{i}."
            for part in (
                "attention.self.query",
                "attention.self.key",
                "attention.self.value",
                "attention.output.dense",
                "intermediate.dense",
                "output.dense",
            ):
                names += [p + part + ".weight", p + part + ".bias"]
            for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
                names += [p + norm + ".weight", p + norm + ".bias"]
        return names

    def embed(self, input_ids: np.ndarray, token_type_ids: np.ndarray | None = None) -> np.ndarray:
        """The embedding layer's output, (batch, tokens, hidden)."""
        import numpy as np

        w = self._w
        _, length = input_ids.shape
        if length > self.config.max_position_embeddings:
            raise ValueError(
                f"{length} tokens exceed the model's {self.config.max_position_embeddings}"
            )
        x = w["embeddings.word_embeddings.weight"][input_ids]
        x = x + w["embeddings.position_embeddings.weight"][:length][None, :, :]
        types = w["embeddings.token_type_embeddings.weight"]
        x += types[0] if token_type_ids is None else types[np.asarray(token_type_ids)]
        return layer_norm(
            x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self._eps
        )

    @property
    def _eps(self) -> float:
        return self.config.layer_norm_eps

    def layer(self, index: int, x: np.ndarray, mask_bias: np.ndarray) -> np.ndarray:
        """One encoder layer on hidden states ``x`` (batch, tokens, hidden); ``mask_bias`` is
        :func:`attention_bias` of the attention mask. Does not modify ``x``."""
        import numpy as np

        w, p = self._w, f"encoder.layer.{index}."
        batch, length, hidden = x.shape
        heads = self.config.num_attention_heads
        size = hidden // heads
        flat = x.reshape(-1, hidden)
        qkv_w, qkv_b = self._qkv[index]
        qkv = flat @ qkv_w
        qkv += qkv_b
        qkv = np.ascontiguousarray(
            qkv.reshape(batch, length, 3, heads, size).transpose(2, 0, 3, 1, 4)
        )
        q, k, v = qkv[0], qkv[1], qkv[2]
        q *= np.float32(1.0 / np.sqrt(size))
        scores = q @ k.transpose(0, 1, 3, 2)
        scores += mask_bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(-1, hidden)
        h = context @ w[p + "attention.output.dense.weight"]
        h += w[p + "attention.output.dense.bias"]
        h += flat
        layer_norm(
            h,
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
            self._eps,
        )
        out = np.empty_like(h)
        w_in, b_in = w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"]
        w_out, b_out = w[p + "output.dense.weight"], w[p + "output.dense.bias"]
        for start in range(0, len(h), _ROWS):  # blocks that stay in cache through the GELU
            block = h[start : start + _ROWS]
            inner = block @ w_in
            inner += b_in
            np.matmul(gelu(inner), w_out, out=out[start : start + _ROWS])
        out += b_out
        out += h
        layer_norm(out, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self._eps)
        result: np.ndarray = out.reshape(batch, length, hidden)
        return result

    def __call__(
        self,
        input_ids: np.ndarray,
        attention_mask: np.ndarray,
        token_type_ids: np.ndarray | None = None,
    ) -> np.ndarray:
        """Last hidden states, (batch, tokens, hidden), float32."""
        with one_blas_thread():
            x = self.embed(input_ids, token_type_ids)
            bias = attention_bias(attention_mask)
            for index in range(self.config.num_hidden_layers):
                x = self.layer(index, x, bias)
        return x


_controller: ThreadpoolController | None = None


def one_blas_thread() -> AbstractContextManager[object]:
    """BLAS on one thread for the duration: this model's matrices are small, and OpenBLAS's
    threads spin while they wait, so on two busy cores (a run's target, scorers and MLflow
    share them) one query took 227 ms on two threads against 16 ms on one, and a batch of 64
    1.8 s against 0.7 s. Without threadpoolctl, BLAS is left as it is."""
    global _controller
    try:
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
    except ImportError:
        return nullcontext()
    if _controller is None:
        _controller = ThreadpoolController()
    limited: AbstractContextManager[object] = _controller.limit(limits=1, user_api="blas")
    return limited


def attention_bias(attention_mask: np.ndarray) -> np.ndarray:
    """0 where a token may be attended to, a large negative number at padding; shaped to add
    to attention scores (batch, heads, queries, keys)."""
    import numpy as np

    keep = np.asarray(attention_mask)[:, None, None, :] > 0
    out: np.ndarray = np.where(keep, np.float32(0.0), np.float32(-1e9)).astype(np.float32)
    return out


def mean_pool(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Average of the hidden states over the real (unmasked) tokens, as sentence-transformers."""
    import numpy as np

    mask = attention_mask.astype(np.float32)[:, :, None]
    summed = (hidden * mask).sum(axis=1)
    out: np.ndarray = summed / np.maximum(mask.sum(axis=1), 1e-9)
    return out


def l2_normalise(x: np.ndarray) -> np.ndarray:
    import numpy as np

    out: np.ndarray = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    return out
