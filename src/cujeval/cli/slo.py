"""``cujeval slo export``: the suite's SLOs as OpenSLO v1 YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cujeval.cli.app import _guard, app

slo_app = typer.Typer(help="SLO definitions in other formats.", no_args_is_help=True)
app.add_typer(slo_app, name="slo")


@slo_app.command("export")
def export(
    suite: Annotated[Path, typer.Argument(help="Suite YAML file.", show_default=False)],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Print the suite's SLOs as OpenSLO v1 documents.

    A Service, one SLO per journey SLO, and the burn-rate alert conditions of the suite's
    budget policy."""

    def go() -> int:
        from cujeval.reporters.openslo import export_suite
        from cujeval.spec.suite import load_suite

        text = export_suite(load_suite(suite))
        if output is None:
            print(text, end="")
        else:
            output.write_text(text, encoding="utf-8")
        return 0

    _guard(go)
