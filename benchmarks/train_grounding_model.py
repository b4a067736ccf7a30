"""Train the claim support encoder (a MiniLM cross-encoder) on the public grounding sets.

    .venv/bin/python benchmarks/train_grounding_model.py [--data DIR] [--out FILE] [--work DIR]
        [--without SOURCE] [--epochs N]

What it does, all from /work/shared/data/grounding_train (see its README for the licences):
1. Pairs. Each labelled (question, text, evidence) becomes first = "question text" (question
   empty where a set has none), second = the evidence sentences nearest to the text within the
   token budget (cujeval.grounding.premise, MiniLM cosine; pages longer than PREFILTER
   sentences are first cut to those sharing the most content words with the text), label 1 =
   not supported.
   HaluEval QA (right / hallucinated answer over its knowledge),
   SummEdits (summary over document), Factcheck-GPT (claim over evidence: completely-support is
   supported; partially-support, refute are not; a seeded sample of irrelevant), WiCE (claims
   over their cited page: supported vs partially / not supported), BEGIN (dialogue response over
   knowledge, the previous message as question; "Generic" left out); at most PER_SOURCE pairs
   of each (a seeded sample).
2. Model. all-MiniLM-L6-v2 (the shipped weights), its embeddings and lower FROZEN layers fixed;
   the top layers and a linear head on the mean-pooled tokens are trained (binary cross
   entropy, every source weighted to the same total, AdamW, seeded). The frozen layers' output
   is computed once and cached, so each epoch costs only the top layers.
3. Export. The trained top layers and the head, in float16, as a safetensors delta over the
   shipped MiniLM (cujeval/grounding/support_encoder.safetensors); cujeval.models.cross_encoder
   runs it in NumPy.
The encoder never sees RAGTruth: benchmarks/train_support_model.py then combines its logit with
the lexical features and calibrates on RAGTruth QA dev (nested, question-grouped CV).
``--without SOURCE`` trains the same recipe without one source, ``--only SOURCE`` on one source
alone (the per-source ablation: benchmarks/grounding_sources.py compares them on dev).

Wall time on the 2 shared cores of the development machine (torch, 2 threads, load average
7-11 from other work): 3,517 s for the full run (pairs 871 s, mostly MiniLM embeddings of long
pages; frozen layers 631 s; two epochs about 2,000 s). Pairs and frozen states are cached in
--work, so a rerun (or a --without / --only variant) costs only the training.
``--without halueval --threads 1``: 1,917 s (about 17 minutes of it paused by other work).
The encoder trained so ranks RAGTruth dev claims at chance, with or without HaluEval, and the
support model's nested selection gives it weight 0: HaluEval QA is separable by answer length
alone (its hallucinated answers are longer in 97 % of items), and the sets that need reading
are barely learnt by two layers (benchmarks/grounding_encoder_diagnosis.py, docs/grounding.md).
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import math
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cujeval.grounding.claims import split_sentences
from cujeval.grounding.lexical import content_stems
from cujeval.grounding.premise import first_text, premise
from cujeval.models.minilm import MODEL_DIR, MiniLM, load_tokenizer, load_weights

DATA = Path("/work/shared/data/grounding_train")
OUT = Path(__file__).resolve().parents[1] / "src/cujeval/grounding/support_encoder.safetensors"
WORK = Path.home() / ".cache" / "cujeval-train"
SOURCES = ("halueval", "summedits", "factcheck", "wice", "begin")
MAX_TOKENS = 128
FROZEN = 4  # layers below this index are frozen (their output is cached)
EPOCHS = 2
BATCH = 32
LR = 1e-4
HEAD_LR = 1e-3
SEED = 0
HALUEVAL_ITEMS = 2500
PER_SOURCE = 3000  # pairs kept per source (seeded sample): CPU time
IRRELEVANT = 600
PREFILTER = 8  # sentences of a long page kept (by shared content words) before embedding
csv.field_size_limit(sys.maxsize)


@dataclass(frozen=True)
class Item:
    """One labelled text: its source, the question (may be empty), the text, the evidence."""

    source: str
    question: str
    text: str
    evidence: tuple[str, ...]  # passages
    unsupported: bool


def halueval_rows(data: Path) -> dict[str, dict[str, str]]:
    """HaluEval QA's items from both of its files, one per question."""
    rows: dict[str, dict[str, str]] = {}
    for name in ("qa_english_5586.json", "qa_one-turn_data.json"):
        for line in (data / "halueval" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                rows.setdefault(row["question"], row)
    return rows


def _halueval(data: Path, rng: random.Random) -> list[Item]:
    rows = halueval_rows(data)
    picked = rng.sample(sorted(rows), min(HALUEVAL_ITEMS, len(rows)))
    out = []
    for q in picked:
        row = rows[q]
        for key, bad in (("right_answer", False), ("hallucinated_answer", True)):
            out.append(Item("halueval", q, row[key], (row["knowledge"],), bad))
    return out


def _summedits(data: Path, rng: random.Random) -> list[Item]:
    out = []
    for name in sorted(glob.glob(str(data / "summedits" / "summedits_*.json"))):
        for row in json.loads(Path(name).read_text(encoding="utf-8")):
            out.append(
                Item("summedits", "", row["summary"], (row["doc"],), str(row["label"]) != "1")
            )
    return out


def _factcheck(data: Path, rng: random.Random) -> list[Item]:
    out, irrelevant = [], []
    path = data / "factcheck_gpt" / "claim_evidence_stance.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        item = Item(
            "factcheck",
            "",
            row["claim"],
            (row["evidence"],),
            row["stance"] != "completely-support",
        )
        (irrelevant if row["stance"] == "irrelevant" else out).append(item)
    return out + rng.sample(irrelevant, min(IRRELEVANT, len(irrelevant)))


def _wice(data: Path, rng: random.Random) -> list[Item]:
    out, seen = [], set()
    names = sorted(glob.glob(str(data / "wice" / "*.jsonl")))
    for name in names:
        for line in Path(name).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if row["claim"] in seen:
                continue
            seen.add(row["claim"])
            evidence = tuple(s for s in row["evidence"] if not s.startswith("(meta data)"))
            out.append(Item("wice", "", row["claim"], evidence, row["label"] != "supported"))
    return out


def _begin(data: Path, rng: random.Random) -> list[Item]:
    out = []
    for name in sorted(glob.glob(str(data / "begin" / "begin_*.tsv"))):
        with open(name, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                label = row["begin_label"].strip()
                if label == "Generic":
                    continue
                out.append(
                    Item(
                        "begin",
                        row["message"].strip(),
                        row["response"].strip(),
                        (row["knowledge"],),
                        label != "Fully attributable",
                    )
                )
    return out


LOADERS = {
    "halueval": _halueval,
    "summedits": _summedits,
    "factcheck": _factcheck,
    "wice": _wice,
    "begin": _begin,
}


class PairBuilder:
    """Turns (question, claim, passages) into the encoder's two segments, as the scorer does."""

    def __init__(self, max_tokens: int = MAX_TOKENS) -> None:
        self.tokenizer = load_tokenizer(MODEL_DIR / "tokenizer.json", max_tokens)
        self.max_tokens = max_tokens
        self.encoder = MiniLM()
        self._vectors: dict[str, np.ndarray] = {}

    def count(self, texts: list[str]) -> list[int]:
        encoded = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        return [len(e.ids) for e in encoded]

    def vectors(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self.encoder.encode(missing), strict=True))
        return np.stack([self._vectors[t] for t in texts])

    def second(self, first: str, claim: str, passages: tuple[str, ...]) -> str:
        sentences = [s.text for p in passages for s in split_sentences(p)] or list(passages)
        if len(sentences) > PREFILTER and sum(self.count(sentences)) > self.max_tokens:
            stems = set(content_stems(claim))
            overlap = [len(stems & set(content_stems(s))) for s in sentences]
            kept = sorted(sorted(range(len(sentences)), key=lambda i: -overlap[i])[:PREFILTER])
            sentences = [sentences[i] for i in kept]

        def similarity() -> np.ndarray:
            out: np.ndarray = self.vectors(sentences) @ self.vectors([claim])[0]
            return out

        return premise(first, sentences, similarity, self.count, self.max_tokens)


def build_pairs(data: Path, work: Path) -> list[dict[str, object]]:
    """Every source's pairs (cached per source in ``work``: building them embeds ~30k
    sentences)."""
    builder: PairBuilder | None = None
    pairs: list[dict[str, object]] = []
    work.mkdir(parents=True, exist_ok=True)
    for source in SOURCES:
        cache = work / f"pairs_{source}.jsonl"
        if cache.exists():
            lines = cache.read_text(encoding="utf-8").splitlines()
            pairs += [json.loads(line) for line in lines]
            continue
        builder = builder or PairBuilder()
        started = time.perf_counter()
        items = LOADERS[source](data, random.Random(SEED))
        if len(items) > PER_SOURCE:
            items = random.Random(SEED).sample(items, PER_SOURCE)
        built = []
        for item in items:
            first = first_text(item.question, item.text)
            built.append(
                {
                    "source": source,
                    "first": first,
                    "second": builder.second(first, item.text, item.evidence),
                    "label": int(item.unsupported),
                }
            )
        counts = Counter(int(i.unsupported) for i in items)
        print(
            f"{source}: {len(items)} pairs ({counts[1]} unsupported) "
            f"in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        cache.write_text("".join(json.dumps(p) + "\n" for p in built), encoding="utf-8")
        pairs += built
    return pairs


# ---------------------------------------------------------------- torch (training time only)


def torch_modules(weights: dict[str, np.ndarray], layers: int, heads: int = 12) -> object:
    """The torch twin of cujeval.models.bert: embeddings, encoder layers, mean-pool head."""
    import torch
    from torch import nn

    def tensor(name: str) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(weights[name], dtype=np.float32))

    def linear(name: str) -> nn.Linear:
        w = tensor(name + ".weight")
        out = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            out.weight.copy_(w)
            out.bias.copy_(tensor(name + ".bias"))
        return out

    def norm(name: str) -> nn.LayerNorm:
        w = tensor(name + ".weight")
        out = nn.LayerNorm(w.shape[0], eps=1e-12)
        with torch.no_grad():
            out.weight.copy_(w)
            out.bias.copy_(tensor(name + ".bias"))
        return out

    class Embeddings(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word = nn.Parameter(tensor("embeddings.word_embeddings.weight"))
            self.position = nn.Parameter(tensor("embeddings.position_embeddings.weight"))
            self.types = nn.Parameter(tensor("embeddings.token_type_embeddings.weight"))
            self.norm = norm("embeddings.LayerNorm")

        def forward(self, ids: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
            x = self.word[ids] + self.position[: ids.shape[1]][None] + self.types[types]
            return self.norm(x)

    class Layer(nn.Module):
        def __init__(self, i: int, dropout: float) -> None:
            super().__init__()
            p = f"encoder.layer.{i}."
            self.query = linear(p + "attention.self.query")
            self.key = linear(p + "attention.self.key")
            self.value = linear(p + "attention.self.value")
            self.attention_out = linear(p + "attention.output.dense")
            self.norm1 = norm(p + "attention.output.LayerNorm")
            self.inner = linear(p + "intermediate.dense")
            self.out = linear(p + "output.dense")
            self.norm2 = norm(p + "output.LayerNorm")
            self.drop = nn.Dropout(dropout)

        def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
            b, t, h = x.shape
            d = h // heads

            def split(y: torch.Tensor) -> torch.Tensor:
                return y.view(b, t, heads, d).transpose(1, 2)

            q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
            scores = q @ k.transpose(-1, -2) / math.sqrt(d) + bias
            probs = self.drop(torch.softmax(scores, dim=-1))
            context = (probs @ v).transpose(1, 2).reshape(b, t, h)
            x = self.norm1(x + self.drop(self.attention_out(context)))
            inner = torch.nn.functional.gelu(self.inner(x))
            return self.norm2(x + self.drop(self.out(inner)))

    class Top(nn.Module):
        """Encoder layers ``FROZEN..layers-1`` and the head."""

        def __init__(self, first: int, dropout: float = 0.1) -> None:
            super().__init__()
            self.first = first
            self.layers = nn.ModuleList(Layer(i, dropout) for i in range(first, layers))
            self.drop = nn.Dropout(dropout)
            self.head = nn.Linear(weights["embeddings.LayerNorm.weight"].shape[0], 1)
            with torch.no_grad():
                self.head.weight.normal_(0.0, 0.02)
                self.head.bias.zero_()

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            bias = (1.0 - mask[:, None, None, :].float()) * -1e9
            for layer in self.layers:
                x = layer(x, bias)
            m = mask[:, :, None].float()
            pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
            out: torch.Tensor = self.head(self.drop(pooled)).squeeze(-1)
            return out

        def delta(self) -> dict[str, np.ndarray]:
            out = {}
            for offset, layer in enumerate(self.layers):
                i = self.first + offset
                p = f"encoder.layer.{i}."
                for name, module in (
                    ("attention.self.query", layer.query),
                    ("attention.self.key", layer.key),
                    ("attention.self.value", layer.value),
                    ("attention.output.dense", layer.attention_out),
                    ("attention.output.LayerNorm", layer.norm1),
                    ("intermediate.dense", layer.inner),
                    ("output.dense", layer.out),
                    ("output.LayerNorm", layer.norm2),
                ):
                    out[p + name + ".weight"] = module.weight.detach().numpy().copy()
                    out[p + name + ".bias"] = module.bias.detach().numpy().copy()
            out["head.weight"] = self.head.weight.detach().numpy().copy()
            out["head.bias"] = self.head.bias.detach().numpy().copy()
            return out

    class Bottom(nn.Module):
        """Embeddings and layers ``0..FROZEN-1``, no dropout (they are frozen)."""

        def __init__(self, last: int) -> None:
            super().__init__()
            self.embeddings = Embeddings()
            self.layers = nn.ModuleList(Layer(i, 0.0) for i in range(last))

        def forward(self, ids: torch.Tensor, types: torch.Tensor, mask: torch.Tensor) -> object:
            bias = (1.0 - mask[:, None, None, :].float()) * -1e9
            x = self.embeddings(ids, types)
            for layer in self.layers:
                x = layer(x, bias)
            return x

    return Embeddings, Layer, Top, Bottom


def tokenize(pairs: list[dict[str, object]]) -> list[tuple[list[int], list[int]]]:
    tokenizer = load_tokenizer(MODEL_DIR / "tokenizer.json", MAX_TOKENS)
    encodings = tokenizer.encode_batch([(str(p["first"]), str(p["second"])) for p in pairs])
    return [(list(e.ids), list(e.type_ids)) for e in encodings]


def batches(lengths: list[int], size: int, rng: random.Random) -> list[list[int]]:
    """Index batches of similar length (less padding), in random order."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    out = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(out)
    return out


def pad(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(r) for r in rows)
    out = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return out, mask


def frozen_states(
    tokens: list[tuple[list[int], list[int]]], work: Path, weights: dict[str, np.ndarray]
) -> list[np.ndarray]:
    """Output of the frozen layers for every pair (float16, cached on disk)."""
    import torch

    cache = work / f"frozen{FROZEN}_{len(tokens)}.npz"
    if cache.exists():
        stored = np.load(cache)
        return [stored[f"a{i}"] for i in range(len(tokens))]
    _, _, _, bottom_cls = torch_modules(weights, 6)  # type: ignore[misc]
    bottom = bottom_cls(FROZEN).eval()
    out: list[np.ndarray] = [np.zeros(0)] * len(tokens)
    lengths = [len(t[0]) for t in tokens]
    started = time.perf_counter()
    with torch.no_grad():
        for batch in batches(lengths, 64, random.Random(SEED)):
            ids, mask = pad([tokens[i][0] for i in batch])
            types, _ = pad([tokens[i][1] for i in batch])
            x = bottom(torch.from_numpy(ids), torch.from_numpy(types), torch.from_numpy(mask))
            for row, i in enumerate(batch):
                out[i] = x[row, : lengths[i]].numpy().astype(np.float16)
    print(f"frozen layers over {len(tokens)} pairs: {time.perf_counter() - started:.0f} s")
    np.savez(cache, **{f"a{i}": a for i, a in enumerate(out)})
    return out


def train(
    pairs: list[dict[str, object]],
    states: list[np.ndarray],
    weights: dict[str, np.ndarray],
    epochs: int,
    without: str | None = None,
    only: str | None = None,
) -> object:
    import torch

    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    _, _, top_cls, _ = torch_modules(weights, 6)  # type: ignore[misc]
    top = top_cls(FROZEN)
    keep = [
        i
        for i, p in enumerate(pairs)
        if p["source"] != without and (only is None or p["source"] == only)
    ]
    per_source = Counter(str(pairs[i]["source"]) for i in keep)
    weight = {s: len(keep) / (len(per_source) * n) for s, n in per_source.items()}
    labels = np.array([float(p["label"]) for p in pairs], dtype=np.float32)
    sample_weight = np.array([weight.get(str(p["source"]), 0.0) for p in pairs], np.float32)
    lengths = [len(states[i]) for i in keep]
    steps = epochs * math.ceil(len(keep) / BATCH)
    optimiser = torch.optim.AdamW(
        [
            {"params": top.layers.parameters(), "lr": LR},
            {"params": top.head.parameters(), "lr": HEAD_LR},
        ],
        weight_decay=0.01,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / (0.06 * steps)) * max(0.0, 1 - s / steps)
    )
    started, step = time.perf_counter(), 0
    top.train()
    for epoch in range(epochs):
        total = 0.0
        for local in batches(lengths, BATCH, rng):
            batch = [keep[i] for i in local]
            width = max(len(states[i]) for i in batch)
            x = np.zeros((len(batch), width, states[batch[0]].shape[1]), dtype=np.float32)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                x[row, : len(states[i])] = states[i]
                mask[row, : len(states[i])] = 1
            logits = top(torch.from_numpy(x), torch.from_numpy(mask))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits,
                torch.from_numpy(labels[batch]),
                weight=torch.from_numpy(sample_weight[batch]),
            )
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(top.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(batch)
            step += 1
            if step % 50 == 0:
                print(
                    f"epoch {epoch + 1} step {step}/{steps} loss {float(loss):.3f} "
                    f"{time.perf_counter() - started:.0f} s",
                    flush=True,
                )
        print(f"epoch {epoch + 1}: mean loss {total / len(keep):.4f}", flush=True)
    top.eval()
    return top


def export(top: object, out: Path, info: dict[str, object]) -> None:
    from safetensors.numpy import save_file

    delta = {k: v.astype(np.float16) for k, v in top.delta().items()}  # type: ignore[attr-defined]
    meta = {"max_tokens": str(MAX_TOKENS), "frozen_layers": str(FROZEN)}
    meta.update({k: json.dumps(v) if not isinstance(v, str) else v for k, v in info.items()})
    save_file(delta, str(out), metadata=meta)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


def main(argv: list[str] | None = None) -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--without", choices=SOURCES, default=None)
    parser.add_argument("--only", choices=SOURCES, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    pairs = build_pairs(args.data, args.work)
    print(f"pairs: {len(pairs)} {dict(Counter(str(p['source']) for p in pairs))}", flush=True)
    tokens = tokenize(pairs)
    weights = load_weights(MODEL_DIR / "model.safetensors")
    states = frozen_states(tokens, args.work, weights)
    top = train(pairs, states, weights, args.epochs, args.without, args.only)
    counts = Counter(
        str(p["source"])
        for p in pairs
        if p["source"] != args.without and args.only in (None, p["source"])
    )
    info = {
        "trained_on": dict(counts),
        "without": args.without or "",
        "only": args.only or "",
        "epochs": args.epochs,
        "base": "all-MiniLM-L6-v2 (cujeval/models/minilm)",
        "command": "python benchmarks/train_grounding_model.py"
        + (f" --without {args.without}" if args.without else "")
        + (f" --only {args.only}" if args.only else ""),
        "wall_seconds": round(time.perf_counter() - started),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    export(top, args.out, info)
    print(f"wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
