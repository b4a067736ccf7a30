"""A fresh SQLite tracking store in a moment, whole or not at all.

MLflow creates a SQLite store by running its ~130 schema migrations on the file itself, each
statement synced to disk: 2 to 8 s on this kind of machine, longer than a 1,000-case run, on
the first ``cujeval run`` of every CI job (a fresh clone has no ``mlflow.db``). And two
processes that open a store not created yet race each other's migrations (one of them fails).

:func:`prepare` creates the file first, when the tracking URI names a SQLite file that does
not exist: MLflow's own migrations (``mlflow.store.db.utils._initialize_tables``, what
MLflow runs on an empty database) on a scratch file without disk syncs, kept in the user
cache for these versions of MLflow, SQLAlchemy and alembic, and copied from there after; the
copy appears under the store's name at once (a hard link), or not at all if another process
got there first. MLflow then opens it as a store it made (its schema check still runs).
tests/reporters/test_mlflow_store.py holds the result against a store MLflow makes. Any
failure here leaves the file to MLflow, as before.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

__all__ = ["prepare", "sqlite_path"]

PREFIX = "sqlite:///"


def sqlite_path(uri: str) -> Path | None:
    """The file a ``sqlite:///`` URI names (None for other stores, memory or URI options)."""
    if not uri.startswith(PREFIX) or "?" in uri:
        return None
    from urllib.parse import unquote

    rest = unquote(uri[len(PREFIX) :])
    if not rest or rest == ":memory:":
        return None
    return Path(rest)


def prepare(tracking_uri: str | None = None) -> None:
    """Create the SQLite store ``tracking_uri`` (or MLflow's default) names, if it does not
    exist yet."""
    try:
        from mlflow.tracking import get_tracking_uri

        path = sqlite_path(tracking_uri or get_tracking_uri())
        if path is None or (path.exists() and path.stat().st_size > 0):
            return
        _create(path)
    except Exception:  # MLflow makes it, its own way
        return


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    template = _template()
    scratch = path.parent / f".{path.name}.{os.getpid()}.tmp"
    try:
        shutil.copyfile(template, scratch)
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            os.link(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)


def _template() -> Path:
    """The empty store for the MLflow installed, from the cache (built there first)."""
    from importlib.metadata import version

    import sqlalchemy
    from mlflow.version import VERSION

    name = f"mlflow{VERSION}-sqlalchemy{sqlalchemy.__version__}-alembic{version('alembic')}"
    folder = cache_dir()
    template = folder / f"store-{name}.db"
    if template.exists():
        return template
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / f".{template.name}.{os.getpid()}.tmp"
    try:
        _build(scratch)
        os.replace(scratch, template)
    finally:
        scratch.unlink(missing_ok=True)
    return template


def _build(path: Path) -> None:
    """MLflow's schema into ``path``, as MLflow builds it on an empty database, unsynced."""
    import sqlalchemy
    from mlflow.store.db import utils as mlflow_db

    db: Any = mlflow_db  # untyped
    engine = sqlalchemy.create_engine(f"{PREFIX}{path}")

    @sqlalchemy.event.listens_for(engine, "connect")
    def _unsynced(conn: object, _: object) -> None:
        cursor = conn.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.execute("PRAGMA journal_mode = MEMORY")
        cursor.close()

    try:
        db._initialize_tables(engine)
        if not db._all_tables_exist(engine):
            raise RuntimeError("MLflow's migrations left tables out")
    finally:
        engine.dispose()


def cache_dir() -> Path:
    """``<user cache dir>/cujeval/mlflow`` (platformdirs when installed, else ~/.cache)."""
    try:
        import platformdirs
    except ImportError:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cujeval"
    else:
        base = Path(platformdirs.user_cache_dir("cujeval", appauthor=False))
    return base / "mlflow"
