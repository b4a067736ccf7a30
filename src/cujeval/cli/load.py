"""``cujeval load``: a journey under open-loop load; ``cujeval scenarios``: the suite's
degradation scenarios, each switched on, run and judged against the SLOs that must still hold.

Top-level imports stay light (typer and the standard library): ``cujeval --help`` imports
this module."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cujeval.cli.app import GateOpt, MlflowOpt, OutputOpt, StrictOpt, _guard, app
from cujeval.spec.flags import HELP


class Arrival(StrEnum):
    constant = "constant"
    poisson = "poisson"


def _output(output: Path | None, suite_name: str, kind: str) -> Path:
    if output is not None:
        return output
    from cujeval._util.paths import new_run_dir

    run = new_run_dir(Path("reports"), suite_name)
    return run.with_name(f"{kind}-{run.name}")


def _asyncio_run(coro: Any) -> Any:
    """Run ``coro``; SIGTERM cancels it (the run keeps what finished and reports it)."""
    import asyncio
    import contextlib
    import signal

    async def main() -> Any:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signal.SIGTERM, task.cancel)
        return await coro

    return asyncio.run(main())


@app.command("load")
def load(
    suite: Annotated[Path, typer.Argument(help="Suite YAML file.", show_default=False)],
    journey: Annotated[
        str | None,
        typer.Option("--journey", "-j", help="The journey to load (default: the first)."),
    ] = None,
    rate: Annotated[
        float, typer.Option("--rate", min=0.001, help="Requests per second offered.")
    ] = 10.0,
    duration: Annotated[
        str, typer.Option("--duration", help="How long each rate is offered: 30s, 2m, 1h.")
    ] = "30s",
    steps: Annotated[
        str | None,
        typer.Option(
            "--steps",
            help="Several rates one after the other, e.g. 10,20,40, each for --duration, to "
            "find the knee (replaces --rate).",
        ),
    ] = None,
    arrival: Annotated[
        Arrival,
        typer.Option("--arrival", help="Evenly spaced arrivals, or a Poisson process."),
    ] = Arrival.constant,
    ramp: Annotated[
        str | None,
        typer.Option("--ramp", help="Rise linearly to the first rate over this long (not judged)."),
    ] = None,
    score_share: Annotated[
        float,
        typer.Option(
            "--score-share",
            min=0.0,
            max=1.0,
            help="Share of the responses the journey's quality scorers judge (after the load).",
        ),
    ] = 1.0,
    max_scored: Annotated[
        int,
        typer.Option("--max-scored", min=1, help="At most this many responses scored per step."),
    ] = 1000,
    max_requests_kept: Annotated[
        int,
        typer.Option(
            "--max-requests-kept",
            min=100,
            help="Requests kept (a uniform sample) per step for the per-request SLO verdicts.",
        ),
    ] = 10_000,
    max_in_flight: Annotated[
        int,
        typer.Option(
            "--max-in-flight",
            min=1,
            max=4096,
            help="Requests in flight beyond this are not sent (counted as not_sent).",
        ),
    ] = 1000,
    retries: Annotated[
        int, typer.Option("--retries", min=0, max=20, help="Retries per request (default none).")
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seeds arrivals and sampling.")] = 0,
    metrics_url: Annotated[
        str | None,
        typer.Option(
            "--metrics-url",
            help="Prometheus /metrics to scrape for saturation (default: the target's origin).",
        ),
    ] = None,
    no_metrics: Annotated[bool, typer.Option("--no-metrics", help="Scrape nothing.")] = False,
    saturation: Annotated[
        list[str] | None,
        typer.Option(
            "--saturation",
            help="A metric (or one series) to read as saturation; repeat. Default: those named "
            "like in_flight, queue, concurrency, active, slots, cpu.",
        ),
    ] = None,
    knee_p99: Annotated[
        float | None,
        typer.Option("--knee-p99", min=0.0, help="A step whose p99 (s) passes this broke."),
    ] = None,
    success_slo: Annotated[
        str | None,
        typer.Option(
            "--success-slo",
            help="The SLO whose good cases count as successful journeys for the cost per "
            "success (default: the journey's first all_of SLO).",
        ),
    ] = None,
    output: OutputOpt = None,
    strict: StrictOpt = False,
    gate: GateOpt = None,
    mlflow: MlflowOpt = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help=HELP["progress"])
    ] = True,
) -> None:
    """Offer open-loop load to one journey's target (a rate, or --steps to find the knee);
    report traffic, errors, latency (from each request's scheduled start) and saturation,
    per-step timings and tail amplification, cost per successful journey, and judge the
    journey's SLOs under that load. Exit 0 all held, 1 an SLO broke, 2 bad input, 3 incomplete."""

    def go() -> int:
        from cujeval.load.engine import LoadEngine
        from cujeval.load.profile import LoadProfile, LoadStep, parse_duration, parse_rates
        from cujeval.pipeline import evaluate
        from cujeval.reporters import load as load_report
        from cujeval.spec.options import RunOptions
        from cujeval.spec.suite import load_suite

        per_step = parse_duration(duration)
        rates = parse_rates(steps) if steps else (rate,)
        profile = LoadProfile(
            steps=tuple(LoadStep(r, per_step) for r in rates),
            arrival=arrival.value,  # type: ignore[arg-type]
            ramp_s=parse_duration(ramp, "--ramp") if ramp else 0.0,
            score_share=score_share,
            max_scored=max_scored,
            max_requests_kept=max_requests_kept,
            max_in_flight=max_in_flight,
            retries=retries,
            seed=seed,
            metrics_url="" if no_metrics else metrics_url,
            saturation=tuple(saturation or ()),
            knee_p99_s=knee_p99,
            success_slo=success_slo,
        )
        loaded = load_suite(suite)
        out = _output(output, loaded.name, "load")
        options = RunOptions.build(
            output_dir=out,
            strict=strict or None,
            gate=gate.value if gate else None,
            progress=progress,
            mlflow=mlflow,
            console=True,
        )
        engine = LoadEngine(profile, journey)
        result = _asyncio_run(evaluate(loaded, options, engine=engine))
        path = out / "load.md"
        print(load_report.render(result))
        print(f"results: {out}/results.json, {path}", file=sys.stderr)
        if result.status == "aborted":
            print(f"cujeval: error: load run incomplete: {result.abort_reason}", file=sys.stderr)
        return int(result.gate.exit_code)

    _guard(go)


@app.command("scenarios")
def scenarios(
    suite: Annotated[Path, typer.Argument(help="Suite YAML file.", show_default=False)],
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Run only this scenario; repeat for several."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many golden cases.")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-c", min=1, help="Cases in flight.")
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            min=0.001,
            help="Run each scenario under open-loop load at this rate (per second) instead of "
            "the golden set once.",
        ),
    ] = None,
    duration: Annotated[
        str, typer.Option("--duration", help="With --rate: how long each scenario is loaded.")
    ] = "30s",
    output: OutputOpt = None,
    strict: StrictOpt = False,
    gate: GateOpt = None,
    mlflow: MlflowOpt = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help=HELP["progress"])
    ] = False,
) -> None:
    """Run the suite's degradation scenarios: switch each on (the reference service's fault
    knobs, or your HTTP hook), run its journey, switch it off, and hold the SLOs the scenario
    says must still hold (others are shown, informational). Prints a scenario × SLO table.
    Exit 0 every scenario held, 1 a must-hold SLO broke, 2 bad input, 3 a scenario could not
    be switched or run."""

    def go() -> int:

        from cujeval.engine.run import CaseEngine
        from cujeval.errors import InputError, UnknownNameError
        from cujeval.load.engine import LoadEngine
        from cujeval.pipeline import evaluate
        from cujeval.reporters import scenarios as table
        from cujeval.scenarios import engine as sc
        from cujeval.spec.options import RunOptions
        from cujeval.spec.suite import load_suite

        loaded = load_suite(suite)
        if not loaded.degradations:
            raise InputError("the suite declares no 'degradations:'", file=loaded.path)
        sc.check(loaded)
        names = [d.name for d in loaded.degradations]
        for name in only or ():
            if name not in names:
                raise UnknownNameError("scenario", name, names, field="--only")
        profile = None
        if rate is not None:
            from cujeval.load.profile import LoadProfile, LoadStep, parse_duration

            profile = LoadProfile(steps=(LoadStep(rate, parse_duration(duration)),))
        out = _output(output, loaded.name, "scenarios")
        results = {}
        for i, scenario in enumerate(loaded.degradations):
            if only and scenario.name not in only:
                continue
            print(f"scenario {scenario.name}: switching on", file=sys.stderr)
            options = RunOptions.build(
                output_dir=out / scenario.name,
                concurrency=concurrency,
                strict=strict or None,
                gate=gate.value if gate else None,
                limit=limit,
                progress=progress,
                mlflow=mlflow,
            )
            inner: Any = LoadEngine(profile) if profile is not None else CaseEngine()
            engine = sc.ScenarioEngine(i, inner)
            result = _asyncio_run(evaluate(loaded, options, engine=engine))
            results[scenario.name] = result
        report = table.table(loaded, results)
        out.mkdir(parents=True, exist_ok=True)
        from cujeval._util.redact import dumps, redact

        (out / "scenarios.json").write_text(dumps(report, indent=2), encoding="utf-8")
        text = redact(table.render(report))
        (out / "scenarios.md").write_text(text, encoding="utf-8")
        print(text)
        print(
            f"results: {out}/scenarios.json (each scenario's run in {out}/NAME/)", file=sys.stderr
        )
        return int(report["exit_code"])

    _guard(go)
