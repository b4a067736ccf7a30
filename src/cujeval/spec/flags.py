"""Run options as the user meets them: the flag of each, and one help text shared by the
command line and the pytest plugin (``--cuj-*``). No imports: ``cujeval --help`` reads it."""

# option name -> the flag that sets it (for error messages)
FLAGS = {
    "concurrency": "--concurrency",
    "epochs": "--epochs",
    "strict": "--strict",
    "gate": "--gate",
    "judge_epochs": "--judge-epochs",
    "limit": "--limit",
    "max_duration_s": "--max-duration",
    "trigger": "--trigger",
    "output_dir": "--output",
    "executor": "--executor",
    "ray_address": "--ray-address",
    "baseline": "--baseline",
    "tracking_uri": "--tracking-uri",
}

# One help text per run option, shared by the command line and the pytest plugin (--cuj-*).
HELP = {
    "output_dir": "Directory for results (default reports/<suite>/<time>/).",
    "resume": "Finish a killed run: cases already in its journal are not called again "
    "(the run in --output, else the latest run of the suite).",
    "resume_strict": "With --resume: refuse (exit 2) when the dataset changed since the run "
    "started, instead of re-running the changed cases.",
    "concurrency": "Requests in flight.",
    "epochs": "Repeat each case K times (verdicts still count cases, not repeats).",
    "strict": "INCONCLUSIVE verdicts block the gate too.",
    "gate": "'interval' (default): confidence bounds decide; 'point': the point estimate alone.",
    "judge_epochs": "Re-judge K times; report agreement.",
    "max_duration_s": "Whole-run deadline in seconds: then stop cleanly, keep what finished, "
    "exit 3.",
    "trigger": "Recorded with the run (default: ci when CI=true).",
    "progress": "Progress bar.",
    "limit": "Only the first N cases.",
    "executor": "Where cases run: 'local' (this process) or 'ray' (a Ray cluster; "
    "pip install 'cujeval[ray]'). Default: the suite's settings.executor, else local.",
    "ray_address": "With --executor ray: the cluster's address (default: the suite's "
    "settings.ray_address, else a local Ray started for the run).",
    "mlflow": "Log to MLflow (MLFLOW_TRACKING_URI, else the local default store).",
    # the pytest plugin's own options (--cuj-*)
    "pytest_output": "Directory for results, one folder per suite "
    "(default reports/<suite>/<time>/).",
    "no_mlflow": "Do not log to MLflow (default: log, to MLFLOW_TRACKING_URI or the local store).",
    "tracking_uri": "MLflow tracking URI for these runs (default: MLFLOW_TRACKING_URI, else the "
    "local store).",
    "target_url": "Point a suite's target at another endpoint for this session: NAME=URL (the "
    "url of an http target, the base_url of an openai one), SUITE:NAME=URL for one suite only. "
    "Repeatable.",
    "case_items": "Each golden case is a test item too (small golden sets): a bad case fails "
    "when the gate blocks one of its SLOs, and is xfail while its SLOs hold.",
    "reference_services": "Start the bundled reference RAG and agent services for the session "
    "and set CUJEVAL_RAG_URL / CUJEVAL_AGENT_URL to them (those not already set).",
    "suite_glob": "Patterns of suite files to collect; only YAML with top-level 'targets:' and "
    "'journeys:' keys is a suite.",
}

# pytest: a run option's flag is its command-line flag behind this prefix (--cuj-epochs)
PYTEST_PREFIX = "--cuj-"


def cuj_flag(name: str) -> str:
    """The pytest plugin's flag for run option ``name``: ``epochs`` -> ``--cuj-epochs``."""
    return PYTEST_PREFIX + FLAGS[name].removeprefix("--")


__all__ = ["FLAGS", "HELP", "PYTEST_PREFIX", "cuj_flag"]
