"""The MLflow client's settings from the environment, made without importing anything heavy:
the tracking worker's process gets them before the run has imported what it needs."""

from __future__ import annotations

import os

__all__ = ["prepare_env"]


def prepare_env() -> None:
    """Quiet, bounded MLflow client settings (the user's own values win)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
