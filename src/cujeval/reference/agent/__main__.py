"""``python -m cujeval.reference.agent ...``: run the reference agent service with uvicorn."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cujeval._util.extras import missing
from cujeval.errors import CujevalError
from cujeval.reference.agent.config import AGENT_RATE_NAMES, DEFAULT_MODEL, AgentConfig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cujeval.reference.agent",
        description="Run the reference order-support agent (HTTP, 127.0.0.1).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--model-name", default=DEFAULT_MODEL)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to each tool call")
    for name in AGENT_RATE_NAMES:
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=float,
            default=0.0,
            help="fraction of conversations with this fault (0..1)",
        )
    parser.add_argument("--seed", type=int, default=0, help="seeds which cases get a fault")
    parser.add_argument("--max-worlds", type=int, default=4096, help="worlds kept for GET")
    return parser


def config_from_args(args: argparse.Namespace) -> AgentConfig:
    """The AgentConfig the flags describe; raises InputError on bad values."""
    rates = {name: getattr(args, name) for name in AGENT_RATE_NAMES}
    return AgentConfig(
        model_name=args.model_name,
        latency_ms=args.latency_ms,
        seed=args.seed,
        max_worlds=args.max_worlds,
        **rates,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hint := missing("reference", "a reference service", "fastapi", "uvicorn"):
        print(f"cujeval.reference.agent: {hint}", file=sys.stderr)
        return 2
    try:
        from cujeval.reference.agent.app import create_app

        app = create_app(config_from_args(args))
    except CujevalError as exc:
        print(f"cujeval.reference.agent: {exc}", file=sys.stderr)
        return exc.exit_code
    import uvicorn

    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
