"""``python -m cujeval.reference rag ...``: run a bundled reference service with uvicorn."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cujeval._util.extras import missing
from cujeval.errors import CujevalError
from cujeval.reference.config import RagConfig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cujeval.reference", description="Run a bundled reference target."
    )
    services = parser.add_subparsers(dest="service", required=True)
    rag = services.add_parser("rag", help="the help-centre RAG service (HTTP, 127.0.0.1)")
    rag.add_argument("--host", default="127.0.0.1")
    rag.add_argument("--port", type=int, default=8765)
    rag.add_argument(
        "--corpus", type=Path, default=None, help="articles JSONL (default: the bundled one)"
    )
    rag.add_argument("--top-k", type=int, default=4)
    rag.add_argument("--model-name", default="reference-extractive-1")
    rag.add_argument("--latency-ms", type=float, default=0.0, help="added before each answer")
    rag.add_argument("--error-rate", type=float, default=0.0, help="fraction answered with 500")
    rag.add_argument(
        "--hallucination-rate", type=float, default=0.0, help="fraction with a fabricated fact"
    )
    rag.add_argument(
        "--drop-contexts", type=float, default=0.0, help="fraction returning no contexts"
    )
    rag.add_argument("--seed", type=int, default=0, help="seeds which questions get a fault")
    rag.add_argument(
        "--retriever-down", type=float, default=0.0, help="fraction whose retrieval fails"
    )
    rag.add_argument(
        "--partial-contexts",
        type=float,
        default=0.0,
        help="fraction whose retrieval loses its top half",
    )
    rag.add_argument(
        "--retriever-latency-ms", type=float, default=0.0, help="added to each retrieval"
    )
    rag.add_argument(
        "--generator-latency-ms", type=float, default=0.0, help="added to each generation"
    )
    rag.add_argument(
        "--no-fallback",
        action="store_true",
        help="with nothing retrieved, invent an answer instead of saying it can't find one",
    )
    rag.add_argument(
        "--max-concurrency",
        type=int,
        default=0,
        help="generation slots; requests beyond them queue (0: no limit)",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> RagConfig:
    """The RagConfig the flags describe; raises InputError on bad values."""
    options = {
        "top_k": args.top_k,
        "model_name": args.model_name,
        "latency_ms": args.latency_ms,
        "error_rate": args.error_rate,
        "hallucination_rate": args.hallucination_rate,
        "drop_contexts": args.drop_contexts,
        "seed": args.seed,
        "retriever_down": args.retriever_down,
        "partial_contexts": args.partial_contexts,
        "retriever_latency_ms": args.retriever_latency_ms,
        "generator_latency_ms": args.generator_latency_ms,
        "fallback": not args.no_fallback,
        "max_concurrency": args.max_concurrency,
    }
    if args.corpus is not None:
        return RagConfig(corpus=args.corpus, **options)
    return RagConfig(**options)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hint := missing("reference", "a reference service", "fastapi", "uvicorn"):
        print(f"cujeval.reference: {hint}", file=sys.stderr)
        return 2
    try:
        config = config_from_args(args)
        from cujeval.reference.rag import create_app

        app = create_app(config)
    except CujevalError as exc:
        print(f"cujeval.reference: {exc}", file=sys.stderr)
        return exc.exit_code
    import uvicorn

    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
