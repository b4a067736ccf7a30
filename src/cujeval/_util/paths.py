"""Where bundled files live: ``cujeval/_bundled`` inside an installed wheel, the repository's
suites/ and datasets/ in a checkout (src layout, editable install), else the working
directory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path


def project_root() -> Path:
    here = Path(__file__).resolve()
    bundled = here.parents[1] / "_bundled"  # cujeval/_bundled, beside this package
    if (bundled / "suites").is_dir():
        return bundled
    for parent in here.parents:
        if (parent / "suites").is_dir() and (parent / "datasets").is_dir():
            return parent
    return Path.cwd()


def new_run_dir(base: Path, suite: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return base / suite / stamp


def latest_run_dir(base: Path, suite: str) -> Path | None:
    root = base / suite
    if not root.is_dir():
        return None
    runs = sorted(p for p in root.iterdir() if (p / "journal.jsonl").exists())
    return runs[-1] if runs else None


def user_cache(name: str) -> Path:
    """``<user cache dir>/cujeval/<name>`` (platformdirs when installed, else
    ``~/.cache/cujeval/<name>``); not created here."""
    try:
        import platformdirs
    except ImportError:
        return Path.home() / ".cache" / "cujeval" / name
    return Path(platformdirs.user_cache_dir("cujeval", appauthor=False)) / name


def default_cache_dir() -> str:
    """Where the LLM judge's answers are cached: ``<user cache dir>/cujeval/judge``."""
    return str(user_cache("judge"))
