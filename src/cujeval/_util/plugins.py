"""Local plugins: Python files (``checks.py``) or modules (``team.checks``) a suite lists under
``plugins:``, found relative to the suite. Importing one runs its registrations
(``@cujeval.scorer``, ``@cujeval.register_target``, instruction ids), so the suite can name
what it registers as if it were built in, one file away instead of a package with entry points.

Each plugin is imported once per process (by resolved path, or by module name). Anything that
goes wrong while importing it (a syntax error, an import that fails, an exception in a
decorator) is bad input naming the plugin's file and line, never a traceback.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import ModuleType

from cujeval.errors import SuiteError

_NON_WORD = re.compile(r"\W")
_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_loaded: dict[str, ModuleType] = {}


def is_file(entry: str) -> bool:
    """Is ``entry`` a file path (``checks.py``, ``lib/checks.py``) rather than a module name?"""
    return entry.endswith(".py") or "/" in entry or "\\" in entry


def load_plugin(
    entry: str, *, base: Path, file: str | Path | None = None, line: int | None = None
) -> ModuleType:
    """Import the plugin ``entry`` (a file relative to ``base``, or a module found from
    ``base`` first); SuiteError naming the plugin's file and line when it cannot be."""
    where = f" (listed at {file}:{line})" if file is not None and line is not None else ""
    if not isinstance(entry, str) or not entry.strip():
        raise SuiteError("a plugin is a Python file or module name", file=file, line=line)
    entry = entry.strip()
    if is_file(entry):
        path = Path(entry).expanduser()
        path = (path if path.is_absolute() else base / path).resolve()
        key = str(path)
        if key in _loaded:
            return _loaded[key]
        if not path.is_file():
            raise SuiteError(
                f"plugin {entry!r}: no such file ({path})", file=file, line=line, field="plugins"
            )
        digest = hashlib.sha256(key.encode()).hexdigest()[:10]
        stem = _NON_WORD.sub("_", path.stem)
        name = f"cujeval_plugin_{stem}_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise SuiteError(f"plugin {entry!r}: not a Python file", file=path, field="plugins")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        with _on_path(path.parent), _as_input(entry, path.parent, path, where):
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(name, None)
                raise
        _loaded[key] = module
        return module
    if not _MODULE.fullmatch(entry):
        raise SuiteError(
            f"plugin {entry!r}: neither a .py file nor a module name (package.module)",
            file=file,
            line=line,
            field="plugins",
        )
    if entry in _loaded:
        return _loaded[entry]
    with _on_path(base), _as_input(entry, base, None, where):
        try:
            module = importlib.import_module(entry)
        except ModuleNotFoundError as exc:
            if exc.name is not None and entry.startswith(exc.name):
                raise SuiteError(
                    f"plugin {entry!r}: no module {exc.name!r} beside the suite or installed",
                    file=file,
                    line=line,
                    field="plugins",
                ) from None
            raise
    _loaded[entry] = module
    return module


@contextmanager
def _on_path(directory: Path) -> Iterator[None]:
    """``directory`` first on sys.path while a plugin imports (its siblings import too)."""
    text = str(directory)
    sys.path.insert(0, text)
    try:
        yield
    finally:
        with suppress(ValueError):
            sys.path.remove(text)


@contextmanager
def _as_input(entry: str, folder: Path, path: Path | None, where: str) -> Iterator[None]:
    """Any exception while importing a plugin as a SuiteError at the user's line."""
    try:
        yield
    except SuiteError:
        raise
    except (Exception, SystemExit) as exc:
        file, line = _origin(exc, folder, path)
        what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, SyntaxError):
            what = f"SyntaxError: {exc.msg}"
        raise SuiteError(
            f"plugin {entry!r} failed to load: {what}{where}", file=file, line=line
        ) from None


def _origin(exc: BaseException, folder: Path, path: Path | None) -> tuple[str | None, int | None]:
    """Where the user's code failed: a syntax error's own position; else the deepest frame of
    the user's own code (under the plugin's folder, not an installed package), else the
    plugin file itself."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.filename, exc.lineno
    frames = traceback.extract_tb(exc.__traceback__)
    own = [
        f
        for f in frames
        if f.filename.startswith(str(folder))
        and "site-packages" not in f.filename
        and "dist-packages" not in f.filename
    ]
    mine = [f for f in frames if path is not None and Path(f.filename) == path]
    for group in (own, mine):
        if group:
            return group[-1].filename, group[-1].lineno
    return (str(path) if path is not None else None), None
