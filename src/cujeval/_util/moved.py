"""Forwarding for modules that moved when the package took its layers: the old name still
imports, for one release, with a DeprecationWarning naming the new one."""

from __future__ import annotations

import importlib
import sys
import warnings
from types import ModuleType
from typing import Any


def forward(old: str, new: str) -> None:
    """Make the module ``old`` (being imported) the module ``new``."""
    warnings.warn(
        f"{old} moved to {new}; import it from there (the old name goes in the next release)",
        DeprecationWarning,
        stacklevel=3,
    )
    sys.modules[old] = importlib.import_module(new)


def forward_names(old: str, homes: tuple[str, ...]) -> Any:
    """A module ``__getattr__`` for ``old`` whose names now live in several ``homes``."""

    def __getattr__(name: str) -> Any:
        for home in homes:
            module: ModuleType = importlib.import_module(home)
            if hasattr(module, name):
                warnings.warn(
                    f"{old}.{name} moved to {home}.{name} (the old name goes in the next release)",
                    DeprecationWarning,
                    stacklevel=2,
                )
                return getattr(module, name)
        raise AttributeError(f"module {old!r} has no attribute {name!r}")

    return __getattr__
