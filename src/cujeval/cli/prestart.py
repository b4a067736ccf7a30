"""A ``cujeval run`` that will log to MLflow starts MLflow's process first thing, before the
command line's own modules load and its options are parsed: start-up is most of what MLflow
costs a short run. This module imports nothing heavy so that the start comes early."""

from __future__ import annotations

from typing import Any

__all__ = ["PRESTARTED", "prestart"]

PRESTARTED: list[Any] = []  # the worker started; ``cujeval run`` takes it, exit closes it


def prestart(args: list[str]) -> None:
    """``args``: what follows ``run`` on the command line."""
    if {"--no-mlflow", "--help", "-h"} & set(args):
        return
    import atexit

    from cujeval.tracking.worker import Tracking

    PRESTARTED.append(Tracking())
    atexit.register(lambda: [t.close() for t in PRESTARTED])
