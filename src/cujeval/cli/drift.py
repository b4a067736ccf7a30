"""``cujeval drift``: is the golden set still the traffic, and are the answers moving?"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cujeval.cli.app import _guard, app

if TYPE_CHECKING:
    from cujeval.drift.result import AnswerDriftResult, DriftResult


class Method(StrEnum):
    mmd = "mmd"
    c2st = "c2st"
    both = "both"


class Topics(StrEnum):
    auto = "auto"
    tags = "tags"
    cluster = "cluster"
    embeddings = "embeddings"


@app.command("drift")
def drift(
    reference: Annotated[
        str,
        typer.Argument(
            help="Golden dataset (JSONL, CSV, Parquet) or SUITE.yaml:JOURNEY; with --runs, run A.",
            show_default=False,
        ),
    ],
    current: Annotated[
        Path,
        typer.Argument(
            help="Traffic sample (JSONL, CSV, Parquet or a local Hugging Face datasets folder; "
            "rows with 'input' or 'question'); with --runs, run B.",
            show_default=False,
        ),
    ],
    runs: Annotated[
        bool,
        typer.Option(
            "--runs",
            help="Compare the answers of two run folders (results.json + journal.jsonl), "
            "case by case.",
        ),
    ] = False,
    alpha: Annotated[
        float, typer.Option("--alpha", help="Level of the tests (Holm-adjusted together).")
    ] = 0.05,
    method: Annotated[
        Method,
        typer.Option("--method", help="Embedding two-sample test: MMD, classifier test, both."),
    ] = Method.mmd,
    topics: Annotated[
        Topics,
        typer.Option(
            "--topics",
            help="Golden topics from the cases' cluster, first tag, or clustered embeddings "
            "(auto: cluster or tags when usable).",
        ),
    ] = Topics.auto,
    permutations: Annotated[
        int, typer.Option("--permutations", min=99, help="Permutations per test.")
    ] = 1000,
    gap_quantile: Annotated[
        float,
        typer.Option(
            "--gap-quantile",
            help="Not covered: less similar to every golden case than this share of golden "
            "cases are to their nearest other one.",
        ),
    ] = 0.05,
    max_samples: Annotated[
        int, typer.Option("--max-samples", min=5, help="Random sample of each side beyond this.")
    ] = 1000,
    top: Annotated[int, typer.Option("--top", min=1, help="--runs: cases listed.")] = 10,
    flag_distance: Annotated[
        float, typer.Option("--flag-distance", help="--runs: answer distance that flags a case.")
    ] = 0.25,
    seed: Annotated[int, typer.Option("--seed", help="Seed of samples and permutations.")] = 0,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write drift.json and drift.html here.")
    ] = None,
) -> None:
    """Has the traffic drifted away from the golden set? Exit 0 no drift, 1 drift, 2 bad input.

    Tests golden inputs against a sample of real traffic on sentence embeddings (MMD or a
    classifier test), length and language, shows topic shares (PSI, chi-square) and the coverage
    gaps: traffic unlike every golden case. With --runs, compares two runs' answers instead."""

    def go() -> int:
        from cujeval._util.extras import missing
        from cujeval.drift.report import console, write
        from cujeval.errors import DatasetError, InputError

        if hint := missing("drift", "cujeval drift", "scipy"):
            raise InputError(hint)
        if not 0 < alpha < 1:
            raise InputError("must be between 0 and 1", field="--alpha")
        result: DriftResult | AnswerDriftResult
        if runs:
            from cujeval.drift.runs import answer_drift

            result = answer_drift(
                reference,
                current,
                alpha=alpha,
                permutations=permutations,
                flag_distance=flag_distance,
                top=top,
                seed=seed,
            )
        else:
            from cujeval.drift.detect import MIN_SAMPLE, detect
            from cujeval.drift.inputs import read_current, read_reference

            if Path(reference).is_dir() and current.is_dir():
                raise InputError(
                    "two folders: to compare two runs' answers add --runs", file=reference
                )
            ref = read_reference(reference)
            cur = read_current(current)
            for sample in (ref, cur):
                if len(sample.texts) < MIN_SAMPLE:
                    raise DatasetError(
                        f"{len(sample.texts)} inputs; the tests need at least {MIN_SAMPLE}",
                        file=sample.source,
                    )
            labels, source = ref.topics(topics.value)
            result = detect(
                ref.texts,
                cur.texts,
                alpha=alpha,
                method=method.value,
                reference_topics=labels,
                topics_source=source,
                permutations=permutations,
                gap_quantile=gap_quantile,
                max_samples=max_samples,
                seed=seed,
            )
        print(console(result))
        if output is not None:
            js, page = write(result, output)
            print(f"wrote {js} and {page}")
        return result.exit_code

    _guard(go)
