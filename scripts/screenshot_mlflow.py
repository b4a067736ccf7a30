"""Screenshots of MLflow's UI for two cujeval runs, taken by headless Chromium: the compare
view of their journey runs side by side, the experiment's run table, a journey run's
traces, and the experiment's trace list. The pictures go to
``reports/screenshots/`` (not committed).

    .venv/bin/python scripts/screenshot_mlflow.py                   # two demo runs, fresh server
    .venv/bin/python scripts/screenshot_mlflow.py --runs reports/a reports/b
    .venv/bin/python scripts/screenshot_mlflow.py --tracking-uri http://127.0.0.1:5000 \\
        --compare RUN_ID RUN_ID

Without ``--runs`` or ``--compare`` it runs the bundled demo twice (RAG journey, 40 cases):
clean, then with ``error_rate=0.5,hallucination_rate=0.5``. Needs Debian's ``chromium``
(``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--virtual-time-budget=20000",
]


def start_server(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
         f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination", str(root / "artifacts"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )  # fmt: skip
    for _ in range(400):
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("mlflow server did not start")


def cujeval(*args: str, uri: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    return subprocess.run(
        [sys.executable, "-m", "cujeval.cli", *args], env=env, text=True, capture_output=True
    )


def demo_runs(uri: str, out: Path) -> list[Path]:
    folders = []
    for label, faults in (("clean", ""), ("faulted", "error_rate=0.5,hallucination_rate=0.5")):
        folder = out / label
        args = ["demo", "--journey", "rag", "--limit", "40", "--no-progress", "-o", str(folder)]
        if faults:
            args += ["--faults", faults]
        r = cujeval(*args, uri=uri)
        print(f"demo {label}: exit {r.returncode}", file=sys.stderr)
        folders.append(folder / "support_rag")
    return folders


def journey_runs(uri: str, folders: list[Path]) -> tuple[str, list[str]]:
    """The experiment id and the first journey's MLflow run of each folder."""
    sys.path.insert(0, str(ROOT / "src"))
    from cujeval.spec.results import RunResult
    from cujeval.tracking.history import RUN_KEY, client, run_key

    c = client(uri)
    ids, exp_id = [], ""
    for folder in folders:
        result = RunResult.read(folder)
        exp = c.get_experiment_by_name(result.suite)
        if exp is None:
            raise SystemExit(f"{folder}: not logged (experiment {result.suite!r} missing)")
        exp_id = exp.experiment_id
        flt = (
            f"tags.`{RUN_KEY}` = '{run_key(result, folder)}' and "
            f"tags.`cujeval.journey` = '{result.journeys[0].name}'"
        )
        [run] = c.search_runs([exp_id], filter_string=flt)
        ids.append(run.info.run_id)
    return exp_id, ids


def shoot(url: str, path: Path, size: str) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is missing: apt-get update && apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={size}",
             f"--screenshot={path}", url],
            capture_output=True, timeout=180,
        )  # fmt: skip
    print(f"{path}  <- {url}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", help="an MLflow server (default: start one)")
    parser.add_argument("--runs", nargs=2, type=Path, help="two run folders to log and compare")
    parser.add_argument("--compare", nargs=2, help="two MLflow journey run ids, already logged")
    parser.add_argument("--experiment", default=None, help="experiment id (with --compare)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="cujeval-shots-"))
    server = None
    uri = args.tracking_uri
    if uri is None:
        server, uri = start_server(work)
    try:
        if args.compare:
            ids, exp_id = list(args.compare), args.experiment or "1"
        else:
            folders = list(args.runs) if args.runs else demo_runs(uri, work)
            if args.runs:
                for folder in folders:
                    r = cujeval("log", str(folder), uri=uri)
                    if r.returncode != 0:
                        raise SystemExit(r.stderr)
            exp_id, ids = journey_runs(uri, folders)
        runs = urllib.parse.quote(json.dumps(ids))
        exps = urllib.parse.quote(json.dumps([exp_id]))
        shoot(f"{uri}/#/compare-runs?runs={runs}&experiments={exps}",
              args.out / "compare.png", "1600,2600")  # fmt: skip
        shoot(f"{uri}/#/experiments/{exp_id}/runs", args.out / "runs.png", "1600,1000")
        shoot(f"{uri}/#/experiments/{exp_id}/runs/{ids[-1]}/traces", args.out / "traces.png",
              "1600,1000")  # fmt: skip
        # the experiment's own trace list (wide: its token and cost columns come last)
        shoot(f"{uri}/#/experiments/{exp_id}/traces", args.out / "experiment-traces.png",
              "2800,1000")  # fmt: skip
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
