"""The ``cujeval`` command line's application: the typer app, the options every command
shares, and the guard that turns cujeval's errors into exit codes (0 gate passed; 1 gate
failed; 2 bad input, nothing run; 3 the run could not complete). Command modules register on
``app`` (cujeval.cli lists them). A command function is as long as its flags: typer declares
each flag in the signature, with its help."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cujeval.errors import CujevalError
from cujeval.spec.flags import HELP

app = typer.Typer(
    name="cujeval",
    help="Evaluate Critical User Journeys of RAG and agent services against SLOs, with "
    "confidence intervals, and gate releases on the exit code "
    "(0 passed, 1 failed, 2 bad input, 3 run incomplete).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # docstrings are wrapped for the source: markdown joins their lines into paragraphs
    rich_markup_mode="markdown",
)


class GatePolicy(StrEnum):
    interval = "interval"
    point = "point"


class Executor(StrEnum):
    local = "local"
    ray = "ray"


class DemoJourney(StrEnum):
    rag = "rag"
    agent = "agent"


class Trigger(StrEnum):
    manual = "manual"
    ci = "ci"
    nightly = "nightly"


@app.callback()
def _options(
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            help="Let MLflow, SQLAlchemy and other libraries log, warn and draw progress bars "
            "(quiet by default; also CUJEVAL_VERBOSE=1). Accepted after the command too.",
        ),
    ] = False,
) -> None:
    if verbose:
        from cujeval._util.quiet import set_verbose

        set_verbose()


def _err(message: str) -> None:
    print(f"cujeval: error: {message}", file=sys.stderr)


def _default_trigger() -> Trigger:
    return Trigger.ci if os.environ.get("CI", "").lower() in ("1", "true") else Trigger.manual


OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help=HELP["output_dir"]),
]
ResumeOpt = Annotated[
    bool,
    typer.Option(
        "--resume",
        help=HELP["resume"],
    ),
]
ConcOpt = Annotated[
    int | None, typer.Option("--concurrency", "-c", min=1, help=HELP["concurrency"])
]
EpochsOpt = Annotated[int | None, typer.Option("--epochs", min=1, help=HELP["epochs"])]
StrictOpt = Annotated[bool, typer.Option("--strict", help=HELP["strict"])]
GateOpt = Annotated[
    GatePolicy | None,
    typer.Option(
        "--gate",
        help=HELP["gate"],
    ),
]
JudgeEpochsOpt = Annotated[
    int | None, typer.Option("--judge-epochs", min=1, help=HELP["judge_epochs"])
]
MlflowOpt = Annotated[
    bool,
    typer.Option(
        "--mlflow/--no-mlflow",
        help=HELP["mlflow"],
    ),
]
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help=HELP["progress"])]
LimitOpt = Annotated[int | None, typer.Option("--limit", min=1, help=HELP["limit"])]
MaxDurationOpt = Annotated[
    float | None,
    typer.Option(
        "--max-duration",
        min=0.001,
        help=HELP["max_duration_s"],
    ),
]
ResumeStrictOpt = Annotated[
    bool,
    typer.Option(
        "--resume-strict",
        help=HELP["resume_strict"],
    ),
]
TriggerOpt = Annotated[
    Trigger | None,
    typer.Option("--trigger", help=HELP["trigger"]),
]


def _guard(fn: Any, *args: Any, **kwargs: Any) -> None:
    try:
        code = fn(*args, **kwargs)
    except CujevalError as exc:
        _err(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _err("interrupted")
        raise typer.Exit(3) from None
    raise typer.Exit(code or 0)
