"""Run options: what a caller (the CLI, the pytest plugin, a script) asks of one run.

Validated once here; merged over the suite's ``settings:`` by :func:`effective_settings`, so a
flag always wins over the suite and every error names where the bad value came from (the flag,
or the suite file and line).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cujeval.errors import InputError
from cujeval.spec.flags import FLAGS
from cujeval.spec.suite import Settings, Suite


class RunOptions(BaseModel):
    """One run's options; None means "as the suite says"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    output_dir: Path
    resume: bool = False
    resume_strict: bool = False  # refuse to resume when the dataset changed
    concurrency: int | None = Field(None, ge=1, le=4096)
    epochs: int | None = Field(None, ge=1, le=100)
    strict: bool | None = None
    gate: Literal["interval", "point"] | None = None
    judge_epochs: int | None = Field(None, ge=1, le=100)
    max_duration_s: float | None = Field(None, gt=0)
    trigger: Literal["manual", "ci", "nightly"] = "manual"
    progress: bool = True
    limit: int | None = Field(None, ge=1)
    executor: Literal["local", "ray"] | None = None  # None: the suite's settings.executor
    ray_address: str | None = None  # with executor "ray": the cluster (default: start a local one)
    # what the pipeline holds the run against and where it reports
    baseline: str | None = None  # an MLflow run id, a cujeval run id, tag:NAME, a results.json
    mlflow: bool = True  # log the run to MLflow (and read the budgets' history from it)
    tracking_uri: str | None = None  # None: MLFLOW_TRACKING_URI, else ./mlflow.db
    console: bool = False  # print the SLO table and the gate (the CLI does)

    @classmethod
    def build(cls, **values: Any) -> RunOptions:
        """Validate ``values``; InputError (exit 2) naming the flag of the first bad one."""
        try:
            return cls(**values)
        except ValidationError as exc:
            err = exc.errors()[0]
            name = str(err["loc"][0]) if err["loc"] else ""
            raise InputError(
                f"{err['msg']} (got {err.get('input')!r})", field=FLAGS.get(name, name)
            ) from None


def effective_settings(suite: Suite, options: RunOptions) -> Settings:
    """The suite's settings with the options that were given laid over them."""
    overrides = {
        key: getattr(options, key)
        for key in ("concurrency", "epochs", "strict", "gate", "max_duration_s")
        if getattr(options, key) is not None
    }
    return suite.settings.model_copy(update=overrides)
