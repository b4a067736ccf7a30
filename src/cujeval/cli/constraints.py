"""``cujeval constraints``: the exact versions cujeval is tested with, as a pip constraints
file shipped inside the package, so the tested stack is one command away."""

from __future__ import annotations

from pathlib import Path

from cujeval.cli.app import _guard, app

FILE = "constraints.txt"


def shipped() -> Path:
    """The constraints file: ``cujeval/_bundled`` in a wheel, the repository root in a
    checkout."""
    from cujeval._util.paths import project_root
    from cujeval.errors import CujevalError

    path = project_root() / FILE
    if not path.is_file():
        raise CujevalError(f"this installation of cujeval has no {FILE} (looked at {path})")
    return path


@app.command()
def constraints() -> None:
    """Print the exact versions cujeval is tested with (Python 3.11, Linux) as a pip
    constraints file. With cujeval installed, `pip install 'cujeval[reference]' -c <(cujeval
    constraints)` moves the install to those versions (a listed package the install does not
    need is left out). torch (the dev extra only) is pinned by version: take its CPU build from
    https://download.pytorch.org/whl/cpu first, or pip installs PyPI's CUDA build."""

    def go() -> int:
        print(shipped().read_text(encoding="utf-8"), end="")
        return 0

    _guard(go)
