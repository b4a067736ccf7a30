"""YAML loading that remembers where each value came from, for errors with file:line:field.

Mappings load as :class:`LineMap` (a dict that knows the line of each key); sequences as
:class:`LineList`. ``${VAR}`` and ``${VAR:-default}`` in string scalars are expanded from the
environment; an unset variable without a default is an error at its line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from cujeval.errors import InputError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class LineMap(dict[str, Any]):
    """A mapping loaded from YAML: ``line`` of the mapping, ``lines[key]`` of each key."""

    line: int = 0
    lines: dict[str, int]


class LineList(list[Any]):
    line: int = 0
    lines: list[int]


def expand_env(text: str, *, file: str | Path, line: int, field: str) -> str:
    """Expand ``${VAR}`` / ``${VAR:-default}`` from the environment."""

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        value = os.environ.get(name)
        if value:
            return value
        if default is not None:
            return default
        raise InputError(
            f"environment variable {name} is not set and has no default (write ${{{name}:-...}})",
            file=file,
            line=line,
            field=field,
        )

    return _VAR.sub(sub, text)


def load_yaml(path: Path) -> Any:
    """Parse ``path`` into LineMap/LineList trees; syntax errors become InputError(file:line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=path) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(
            f"invalid YAML: {problem}",
            file=path,
            line=(mark.line + 1) if mark is not None else None,
        ) from None
    if node is None:
        raise InputError("the file is empty", file=path)
    return _convert(node, path, "")


def _convert(node: yaml.Node, path: Path, where: str) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = LineMap()
        out.line = line
        out.lines = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if not isinstance(key, str):
                raise InputError("keys must be strings", file=path, line=line, field=where)
            if key in out:
                raise InputError(
                    f"duplicate key {key!r}",
                    file=path,
                    line=key_node.start_mark.line + 1,
                    field=f"{where}.{key}".lstrip("."),
                )
            out.lines[key] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, path, f"{where}.{key}".lstrip("."))
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = LineList()
        seq.line = line
        seq.lines = []
        for i, item in enumerate(node.value):
            seq.lines.append(item.start_mark.line + 1)
            seq.append(_convert(item, path, f"{where}[{i}]"))
        return seq
    value = yaml.SafeLoader(  # resolve the scalar's type the way safe_load would
        ""
    ).construct_object(node, deep=True)
    if isinstance(value, str):
        value = expand_env(value, file=path, line=line, field=where)
    return value


def line_of(tree: Any, loc: Sequence[str | int]) -> int | None:
    """The line of the deepest node along ``loc`` in a LineMap/LineList tree."""
    best: int | None = getattr(tree, "line", None)
    node = tree
    for part in loc:
        if isinstance(node, LineMap) and isinstance(part, str) and part in node:
            best = node.lines.get(part, best)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            best = node.lines[part]
            node = node[part]
        else:
            break
        inner = getattr(node, "line", None)
        if inner and isinstance(node, LineMap | LineList) and not node:
            best = inner
    return best


def dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
