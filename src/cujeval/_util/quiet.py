"""What the libraries cujeval drives say on their own (MLflow's INFO lines and progress bars,
SQLAlchemy's and alembic's logging and deprecation warnings) stays out of cujeval's console,
unless ``--verbose`` (or ``CUJEVAL_VERBOSE=1``). Set through the environment as well, so the
MLflow worker process (cujeval.tracking.worker) is as quiet as the command that starts it."""

from __future__ import annotations

import logging
import os
import warnings

VERBOSE_ENV = "CUJEVAL_VERBOSE"
LIBRARIES = ("mlflow", "alembic", "sqlalchemy", "urllib3", "git")
_WARNING_MODULES = r"(mlflow|sqlalchemy|alembic|opentelemetry|pydantic|google\.protobuf)(\.|$)"


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def set_verbose() -> None:
    """This process and its children speak as the libraries do."""
    os.environ[VERBOSE_ENV] = "1"


def quiet_libraries() -> None:
    """Unless verbose: the libraries log errors only, warn nothing into the console and draw
    no progress bar (the user's own MLflow settings win)."""
    if verbose():
        return
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=_WARNING_MODULES)
