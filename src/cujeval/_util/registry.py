"""One registry and one entry-point loader for every plugin family (scorers, target kinds,
instruction ids).

A name is found, in order: registered in code (a decorator ran), registered by the built-in
module that declares it (imported on first need, so a suite loads only the families it uses),
or published under the family's entry-point group by an installed package (loaded on a miss).
An unknown name is bad input naming the file and line, with a "did you mean".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from cujeval.errors import UnknownNameError

T = TypeVar("T")

TARGET_ENTRY_POINTS = "cujeval.targets"
SCORER_ENTRY_POINTS = "cujeval.scorers"


class Registry(Generic[T]):
    """Names to plugins of one kind (see the module docstring)."""

    def __init__(
        self,
        kind: str,
        group: str,
        *,
        families: Mapping[str, Sequence[str]] | None = None,
        adapt: Callable[[str, Any], T] | None = None,
    ) -> None:
        self.kind = kind
        self.group = group
        self.families = dict(families or {})  # built-in module -> the names it registers
        self._adapt = adapt  # what an entry point's object becomes (default: itself)
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}
        self._loaded_all = False

    def register(self, name: str, value: T, *, aliases: Iterable[str] = ()) -> T:
        self._items[name] = value
        for alias in aliases:
            self._aliases[alias] = name
        return value

    def canonical(self, name: str) -> str:
        return self._aliases.get(name, name)

    def get(self, name: str) -> T | None:
        """The plugin called ``name`` (or an alias of it), loading its family or its entry
        point when not registered yet; None when nothing provides it."""
        key = self.canonical(name)
        if key not in self._items:
            self._import_family(key)
            key = self.canonical(name)
        if key not in self._items:
            self._entry_point(key)
        return self._items.get(key)

    def require(
        self, name: str, *, file: str | None = None, line: int | None = None, field: str = ""
    ) -> T:
        """:meth:`get`, or UnknownNameError listing the names there are."""
        found = self.get(name)
        if found is None:
            raise UnknownNameError(
                self.kind, name, self.names(), file=file, line=line, field=field or None
            )
        return found

    def names(self) -> list[str]:
        """Every name, aliases included: all built-in families and entry points loaded."""
        self.load_all()
        return sorted([*self._items, *self._aliases])

    def items(self) -> dict[str, T]:
        self.load_all()
        return dict(sorted(self._items.items()))

    def load_all(self) -> None:
        if self._loaded_all:
            return
        self._loaded_all = True
        for module in self.families:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:  # an optional family must not break the others
                if exc.name != module:
                    raise
        for ep in entry_points(group=self.group):
            if ep.name not in self._items:
                self._add_entry_point(ep)

    def _import_family(self, name: str) -> None:
        for module, names in self.families.items():
            if name in names:
                importlib.import_module(module)
                return

    def _entry_point(self, name: str) -> bool:
        for ep in entry_points(group=self.group):
            if ep.name == name:
                self._add_entry_point(ep)
                return True
        return False

    def _add_entry_point(self, ep: Any) -> None:
        obj = ep.load()
        if ep.name not in self._items:  # loading may have registered it already
            self._items[ep.name] = self._adapt(ep.name, obj) if self._adapt else obj


# target kinds beyond openai, http and python: ``@cujeval.register_target("grpc")`` on a factory
# ``(name, settings: dict, *, concurrency: int) -> Target``, or the cujeval.targets entry points.
# Here, below the spec, so a suite can be validated against the kinds that exist.
TARGET_KINDS: Registry[Callable[..., Any]] = Registry("target kind", TARGET_ENTRY_POINTS)
