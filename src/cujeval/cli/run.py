"""``cujeval run``, ``demo``, ``score``, ``calibrate``, ``log`` and ``scorers``: arguments into
the pipeline's options, and the gate's exit code back."""

from __future__ import annotations

import contextlib
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cujeval.cli.app import (
    ConcOpt,
    DemoJourney,
    EpochsOpt,
    Executor,
    GateOpt,
    JudgeEpochsOpt,
    LimitOpt,
    MaxDurationOpt,
    MlflowOpt,
    OutputOpt,
    ProgressOpt,
    ResumeOpt,
    ResumeStrictOpt,
    StrictOpt,
    Trigger,
    TriggerOpt,
    _default_trigger,
    _err,
    _guard,
    app,
)
from cujeval.cli.prestart import PRESTARTED
from cujeval.errors import InputError
from cujeval.spec.flags import HELP


def _run(
    suite_path: Path,
    *,
    output: Path | None,
    resume: bool,
    mlflow: bool,
    resume_strict: bool = False,
    baseline: str | None = None,
    **flags: Any,
) -> int:
    """``cujeval run`` (and each suite of ``demo``): arguments into RunOptions, the pipeline,
    the gate's exit code. MLflow starts in a second process while the suite loads and the
    cases run."""
    with contextlib.ExitStack() as stack:
        tracking = None
        if mlflow:
            from cujeval.tracking.worker import Tracking

            tracking = stack.enter_context(PRESTARTED.pop() if PRESTARTED else Tracking())
        from cujeval._util.paths import latest_run_dir, new_run_dir
        from cujeval.spec.options import RunOptions
        from cujeval.spec.suite import load_suite

        suite = load_suite(suite_path)
        base = Path("reports")
        if output is None:
            found = latest_run_dir(base, suite.name) if resume else None
            if resume and found is None:
                raise InputError(f"--resume: no earlier run of suite {suite.name!r} under {base}/")
            output = found or new_run_dir(base, suite.name)
        elif resume and not (output / "journal.jsonl").exists():
            raise InputError(f"--resume: no journal in {output}", field="--output")
        trigger = flags.pop("trigger", None) or _default_trigger()
        options = RunOptions.build(
            output_dir=output,
            resume=resume,
            resume_strict=resume_strict,
            trigger=trigger.value if isinstance(trigger, Trigger) else trigger,
            baseline=baseline,
            mlflow=mlflow,
            console=True,
            **{k: (v.value if isinstance(v, StrEnum) else v) for k, v in flags.items()},
        )
        _collect_from_here()
        result = _run_with_signals(suite, options, tracking)
        print(f"results: {output}/results.json", file=sys.stderr)
        if result.status == "aborted":
            advice = (
                f" (complete it with --resume --output {output})"
                if (output / "journal.jsonl").exists()
                else ""
            )
            _err(f"run aborted: {result.abort_reason}; finished cases are kept in {output}{advice}")
        return int(result.gate.exit_code)


def _collect_from_here() -> None:
    """Cyclic garbage collection on (main() turned it off for start-up), over what is made
    from now on: what start-up made is moved out of its way."""
    import gc

    gc.freeze()
    gc.enable()


def _run_with_signals(suite: Any, options: Any, tracking: Any = None) -> Any:
    """The pipeline under its own loop, SIGINT and SIGTERM cancelling it: the run stops, keeps
    what finished and returns an incomplete result (exit 3)."""
    import asyncio
    import signal

    from cujeval.pipeline import evaluate

    async def main() -> Any:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:  # not in the main thread, or no signals: nothing to install
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            return await evaluate(suite, options, tracking=tracking)
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGTERM)

    return asyncio.run(main())


@app.command()
def run(
    suite: Annotated[Path, typer.Argument(help="Suite YAML file.", show_default=False)],
    output: OutputOpt = None,
    resume: ResumeOpt = False,
    concurrency: ConcOpt = None,
    epochs: EpochsOpt = None,
    strict: StrictOpt = False,
    gate: GateOpt = None,
    judge_epochs: JudgeEpochsOpt = None,
    mlflow: MlflowOpt = True,
    progress: ProgressOpt = True,
    limit: LimitOpt = None,
    trigger: TriggerOpt = None,
    max_duration: MaxDurationOpt = None,
    resume_strict: ResumeStrictOpt = False,
    executor: Annotated[
        Executor | None, typer.Option("--executor", help=HELP["executor"], show_default=False)
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help=HELP["ray_address"])
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="Compare with a baseline run case by case (an MLflow run id, tag:NAME, or a "
            "results.json path); a regression beyond the allowed drop fails the gate.",
        ),
    ] = None,
) -> None:
    """Run a suite's journeys against their targets, hold the SLIs against the SLOs, gate."""
    _guard(
        _run,
        suite,
        output=output,
        resume=resume,
        resume_strict=resume_strict,
        concurrency=concurrency,
        epochs=epochs,
        strict=strict or None,
        gate=gate,
        judge_epochs=judge_epochs,
        mlflow=mlflow,
        progress=progress,
        limit=limit,
        trigger=trigger,
        max_duration_s=max_duration,
        executor=executor,
        ray_address=ray_address,
        baseline=baseline,
    )


@app.command()
def demo(
    faults: Annotated[
        str | None,
        typer.Option(
            "--faults",
            help="Turn the reference services' knobs, e.g. "
            "'error_rate=0.5,wrong_tool=0.3'. RAG: error_rate, hallucination_rate, "
            "drop_contexts; agent: wrong_tool, wrong_argument, skip_confirmation, "
            "extra_steps, tool_errors, forbidden_refund; both: latency_ms, seed "
            "(prefix rag. or agent. for one).",
        ),
    ] = None,
    journey: Annotated[
        list[DemoJourney] | None,
        typer.Option("--journey", "-j", help="Which reference journeys (default: both)."),
    ] = None,
    output: OutputOpt = None,
    concurrency: ConcOpt = None,
    strict: StrictOpt = False,
    gate: GateOpt = None,
    mlflow: MlflowOpt = True,
    progress: ProgressOpt = True,
    limit: LimitOpt = None,
) -> None:
    """Start the bundled reference services (a RAG service and an order-support agent) on free
    ports, run the bundled suites against them on the embedded defaults (offline scorers, local
    MLflow), write the reports, stop the services, and exit with the worse gate's code."""

    def go() -> int:
        from cujeval.cli.demo import parse_faults, run_demo

        knobs = parse_faults(faults)
        chosen = tuple(j.value for j in journey) if journey else ("rag", "agent")
        return run_demo(
            knobs,
            lambda suite_path: _run(
                suite_path,
                output=output / suite_path.stem if output is not None else None,
                resume=False,
                concurrency=concurrency,
                strict=strict or None,
                gate=gate,
                mlflow=mlflow,
                progress=progress,
                limit=limit,
            ),
            journeys=chosen,
        )

    _guard(go)


@app.command()
def score(
    input: Annotated[
        Path,
        typer.Option(
            "--input",
            "-i",
            help="JSONL rows: golden-case fields "
            "plus observation fields (answer, contexts, usage, ...).",
        ),
    ],
    scorer: Annotated[
        list[str],
        typer.Option(
            "--scorer",
            "-s",
            help="Scorer name, or NAME={options} as in a suite, e.g. "
            "'rubric={name: polite, criteria: \"The answer is polite.\"}'; repeat.",
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="JSONL out (default: stdout).")
    ] = None,
    judge_url: Annotated[
        str | None,
        typer.Option("--judge-url", help="OpenAI-compatible judge base URL (with --judge-model)."),
    ] = None,
    judge_model: Annotated[
        str | None, typer.Option("--judge-model", help="The judge's model name.")
    ] = None,
    judge_api_key_env: Annotated[
        str | None,
        typer.Option("--judge-api-key-env", help="NAME of the variable holding the judge's key."),
    ] = None,
    judge_max_tokens: Annotated[
        int | None,
        typer.Option(
            "--judge-max-tokens",
            min=1,
            help="Longest judge answer, in tokens (default 1024; 512 for a judge on this machine).",
        ),
    ] = None,
    judge_timeout: Annotated[
        float | None,
        typer.Option(
            "--judge-timeout",
            min=0.001,
            help="Seconds a judge call may take (default 120; 180 for a judge on this machine).",
        ),
    ] = None,
    judge_concurrency: Annotated[
        int | None,
        typer.Option(
            "--judge-concurrency",
            min=1,
            help="Judge calls in flight (default 4; 1 for a judge on this machine).",
        ),
    ] = None,
    judge_retries: Annotated[
        int | None,
        typer.Option(
            "--judge-retries",
            min=0,
            help="Retries of a failed judge call (default 3; 1 for a judge on this machine).",
        ),
    ] = None,
    judge_epochs: JudgeEpochsOpt = None,
    judge_temperature: Annotated[
        float | None,
        typer.Option("--judge-temperature", min=0, max=2, help="The judge's temperature (0)."),
    ] = None,
    judge_cache_dir: Annotated[
        str | None,
        typer.Option("--judge-cache-dir", help="Where judge answers are cached."),
    ] = None,
    judge_cache: Annotated[
        bool,
        typer.Option("--judge-cache/--no-judge-cache", help="Reuse cached judge answers."),
    ] = True,
    plugin: Annotated[
        list[str] | None,
        typer.Option(
            "--plugin", help="A Python file or module registering scorers of your own; repeat."
        ),
    ] = None,
    progress: ProgressOpt = True,
    suite: Annotated[
        Path | None,
        typer.Option(
            "--suite",
            help="Take the judge (and prices) from this suite's judge: block, and its plugins.",
        ),
    ] = None,
    executor: Annotated[
        Executor, typer.Option("--executor", help="Where rows are scored: 'local' or 'ray'.")
    ] = Executor.local,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help=HELP["ray_address"])
    ] = None,
) -> None:
    """Score recorded observations without calling any target; each row comes back with its
    ``scores`` (value, explanation, metadata). Judge scorers (llm_faithfulness, rubric, ...)
    need a judge: --judge-url and --judge-model, or --suite FILE; --judge-* flags set the
    judge's limits. Progress (rows, judge calls, failures so far) goes to stderr: a bar on a
    terminal, a line every tenth of the rows (and every 30 s) otherwise. With --executor ray
    the input may be Parquet or JSON lines (a file or a folder), scored on a Ray cluster and
    written as Parquet files into the --output folder, each row with ``scores`` and one
    ``score_<sli>`` column per SLI."""

    def go() -> int:
        from cujeval.engine.offline import judge_from_flags, score_file

        settings = {
            "max_tokens": judge_max_tokens,
            "timeout_s": judge_timeout,
            "max_concurrency": judge_concurrency,
            "max_retries": judge_retries,
            "epochs": judge_epochs,
            "temperature": judge_temperature,
            "cache_dir": judge_cache_dir,
        }
        if executor is Executor.ray:
            from cujeval.engine.executors.ray_score import score_logs

            if judge_url or judge_model or suite or any(v is not None for v in settings.values()):
                raise InputError(
                    "judge scorers are scored locally; on Ray, offline scorers only",
                    field="--executor",
                )
            if output is None:
                raise InputError("with --executor ray, name the output folder", field="--output")
            n = score_logs(input, scorer, output, address=ray_address)
            print(f"scored {n} rows into {output}", file=sys.stderr)
            return 0

        judge, prices = judge_from_flags(
            url=judge_url,
            model=judge_model,
            api_key_env=judge_api_key_env,
            suite=suite,
            settings=settings,
        )
        if judge is not None and not judge_cache:
            judge["cache_dir"] = None
        # the suite's plugins were imported as it was read
        score_file(
            input,
            scorer,
            output,
            judge=judge,
            prices=prices,
            progress=progress,
            plugins=plugin or (),
        )
        return 0

    _guard(go)


@app.command()
def calibrate(
    input: Annotated[
        Path,
        typer.Option("--input", "-i", help="Rows scored by `cujeval score`, with a label field."),
    ],
    label: Annotated[
        str, typer.Option("--label", help="Field holding the true label (dots for nesting).")
    ] = "hallucinated",
    score: Annotated[
        str, typer.Option("--score", help="Field holding the score (dots for nesting).")
    ] = "scores.hallucination.metadata.score",
    rule: Annotated[
        str,
        typer.Option(
            "--rule", help="max_f1, target_recall=R or target_precision=P (R, P in 0..1)."
        ),
    ] = "max_f1",
) -> None:
    """Choose a scorer's decision threshold on your own labelled rows (e.g. the hallucination
    threshold), and show precision, recall, F1 and balanced accuracy at it."""

    def go() -> int:
        from cujeval.engine.offline import calibrate_file

        c = calibrate_file(input, label=label, score=score, rule=rule)
        print(f"rule {c.rule}: threshold {c.threshold:.4f} on {c.n} rows ({c.positives} positive)")
        print(
            f"precision {c.precision:.3f}  recall {c.recall:.3f}  F1 {c.f1:.3f}  "
            f"balanced accuracy {c.balanced_accuracy:.3f}"
        )
        print(f"in a suite: scorers: [faithfulness: {{threshold: {c.threshold:.4f}}}]")
        return 0

    _guard(go)


@app.command("log")
def log_cmd(
    directory: Annotated[Path, typer.Argument(help="A run directory holding results.json.")],
) -> None:
    """Log a finished run to MLflow (e.g. after the tracking server was down)."""

    def go() -> int:
        from cujeval.spec.results import RunResult
        from cujeval.tracking.logger import log

        path = directory / "results.json"
        if not path.exists():
            raise InputError("no results.json here", file=directory)
        run_id = log(RunResult.read(path), directory)
        print(f"logged to MLflow run {run_id}")
        return 0

    _guard(go)


@app.command("scorers")
def list_scorers() -> None:
    """List the registered scorers (built-in and from entry points)."""
    from cujeval.scorers.base import available

    for name, info in available().items():
        print(f"{name:24} {info.description}")
