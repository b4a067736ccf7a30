"""The optional parts of cujeval and the extra that installs each: a feature whose package is
missing says which ``pip install 'cujeval[...]'`` brings it, instead of an ImportError."""

from __future__ import annotations

from importlib.util import find_spec


def missing(extra: str, what: str, *modules: str) -> str | None:
    """The message naming ``extra`` when one of ``modules`` cannot be imported, else None.
    ``what`` is the feature that needs them, e.g. ``"reading Parquet files"``."""
    absent = [m for m in modules if find_spec(m) is None]
    if not absent:
        return None
    return (
        f"{what} needs {', '.join(absent)}, which the '{extra}' extra installs: "
        f"pip install 'cujeval[{extra}]'"
    )
