"""Open a run's report.html in headless Chromium and save a screenshot, to look at the report
as a reviewer's browser draws it (no network: the page loads nothing).

    .venv/bin/python scripts/screenshot_report.py reports/support_rag/<time>/ --out out.png

Needs a Chromium on PATH (``apt-get install -y chromium``) or ``--chromium PATH``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def screenshot(
    report: Path, out: Path, *, chromium: str, width: int = 1400, height: int = 2000
) -> None:
    """Draw ``report`` into ``out`` (PNG) with a fresh, throw-away browser profile."""
    with tempfile.TemporaryDirectory(prefix="cujeval-chromium-") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--screenshot={out.resolve()}",
            f"--window-size={width},{height}",
            report.resolve().as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="report.html, or the run folder holding it")
    parser.add_argument("--out", type=Path, default=Path("report.png"))
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=2000)
    parser.add_argument("--chromium", default=None, help="browser binary (default: on PATH)")
    args = parser.parse_args(argv)
    report = args.report / "report.html" if args.report.is_dir() else args.report
    if not report.exists():
        parser.error(f"no report at {report}")
    chromium = args.chromium or next(
        (
            found
            for name in ("chromium", "chromium-browser", "google-chrome")
            if (found := shutil.which(name))
        ),
        None,
    )
    if chromium is None:
        parser.error("no chromium on PATH: apt-get install -y chromium, or pass --chromium")
    screenshot(report, args.out, chromium=chromium, width=args.width, height=args.height)
    print(args.out, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
