"""YAML loading that remembers where each value came from, for errors with file:line:field.

Mappings load as :class:`LineMap` (a dict that knows the line of each key); sequences as
:class:`LineList`. ``${VAR}`` and ``${VAR:-default}`` in string scalars are expanded from the
environment; an unset variable without a default is an error at its line. A value taken from
the environment is a secret (registered with cujeval._util.redact, so no writer shows it) unless the
document lists its variable under a top-level ``public_env:`` (``[CUJEVAL_RAG_URL]``).

Suites are small: a file over ``MAX_BYTES``, a document that expands (through aliases) to more
than ``MAX_NODES`` values or nests deeper than ``MAX_DEPTH`` is refused before it can eat the
machine (a "billion laughs" alias bomb is a few hundred bytes).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from cujeval._util.redact import register
from cujeval.errors import InputError

MAX_BYTES = 4 * 1024 * 1024
MAX_NODES = 100_000  # values after alias expansion
MAX_DEPTH = 64

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class LineMap(dict[str, Any]):
    """A mapping loaded from YAML: ``line`` of the mapping, ``lines[key]`` of each key."""

    line: int = 0
    lines: dict[str, int]


class LineList(list[Any]):
    line: int = 0
    lines: list[int]


def expand_env(
    text: str, *, file: str | Path, line: int, field: str, used: dict[str, str] | None = None
) -> str:
    """Expand ``${VAR}`` / ``${VAR:-default}`` from the environment; a default may itself hold
    references (``${CANDIDATE_URL:-${RAG_URL:-http://127.0.0.1:8000}}``), expanded only when
    it is used. Text that is not a complete reference is kept as written. Each value taken
    from the environment is added to ``used`` (by name)."""

    def value(name: str, default: str | None) -> str:
        found = os.environ.get(name)
        if found:
            if used is not None:
                used[name] = found
            return found
        if default is not None:
            return default
        raise InputError(
            f"environment variable {name} is not set and has no default (write ${{{name}:-...}})",
            file=file,
            line=line,
            field=field,
        )

    def parse(i: int, *, inner: bool, live: bool) -> tuple[str, int | None]:
        """Expand from ``i`` to the end, or (``inner``) to the ``}`` closing a default: the
        text and the index after that brace (None: never closed). Not ``live``: a default
        that is not used, whose references are checked for shape but not looked up."""
        out: list[str] = []
        while i < len(text):
            if text.startswith("${", i):
                m = _NAME.match(text, i + 2)
                if m is not None and text.startswith("}", m.end()):
                    out.append(value(m.group(), None) if live else "")
                    i = m.end() + 1
                    continue
                if m is not None and text.startswith(":-", m.end()):
                    used = live and not os.environ.get(m.group())
                    default, after = parse(m.end() + 2, inner=True, live=used)
                    if after is not None:
                        out.append(value(m.group(), default) if live else "")
                        i = after
                        continue
                out.append("${")
                i += 2
                continue
            if inner and text[i] == "}":
                return "".join(out), i + 1
            out.append(text[i])
            i += 1
        return "".join(out), None if inner else i

    return parse(0, inner=False, live=True)[0]


def load_yaml(path: Path) -> Any:
    """Parse ``path`` into LineMap/LineList trees; syntax errors become InputError(file:line)."""
    text = _read_text(path)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it
    try:
        _count_nodes(text, loader, path)
        node = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(
            f"invalid YAML: {exc.problem or exc.context or exc}",
            file=path,
            line=(mark.line + 1) if mark is not None else None,
        ) from None
    except yaml.YAMLError as exc:  # ReaderError: a character YAML does not allow
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
        raise InputError(
            f"invalid YAML: {' '.join(str(exc).split())}", file=path, line=line
        ) from None
    except RecursionError:
        raise InputError(
            f"nested deeper than YAML can parse (limit {MAX_DEPTH})", file=path
        ) from None
    if node is None:
        raise InputError("the file is empty", file=path)
    converter = _Converter(path)
    tree = converter.convert(node, "", 0)
    _register_secrets(tree, converter.env, path)
    return tree


PUBLIC_ENV = "public_env"


def _register_secrets(tree: Any, env: dict[str, str], path: Path) -> None:
    """Register each value taken from the environment as a secret, but those of the
    variables the document's ``public_env`` names."""
    public: Any = tree.get(PUBLIC_ENV) if isinstance(tree, LineMap) else None
    line = tree.lines.get(PUBLIC_ENV) if isinstance(tree, LineMap) else None
    if public is None:
        public = []
    if not isinstance(public, list) or not all(
        isinstance(n, str) and _NAME.fullmatch(n) for n in public
    ):
        register(*env.values())  # before the error: nothing of the document may show
        raise InputError(
            "must be a list of environment variable names", file=path, line=line, field=PUBLIC_ENV
        )
    register(*(value for name, value in env.items() if name not in public))


def _count_nodes(text: str, loader: Any, path: Path) -> None:
    """Refuse a document of more than MAX_NODES values before composing it (events stream
    lazily, so this stops early and holds nothing)."""
    n = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.NodeEvent):
            n += 1
            if n > MAX_NODES:
                raise InputError(
                    f"more than {MAX_NODES} values; is this a suite?",
                    file=path,
                    line=event.start_mark.line + 1 if event.start_mark else None,
                )


def _read_text(path: Path) -> str:
    """The file as text: at most MAX_BYTES of UTF-8, else InputError naming the line."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=path) from None
    if len(data) > MAX_BYTES:
        raise InputError(
            f"larger than {MAX_BYTES // (1024 * 1024)} MiB; is this a suite?", file=path
        )
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at byte offset {exc.start}",
            file=path,
            line=line,
        ) from None


def _short(where: str) -> str | None:
    return (where if len(where) <= 60 else where[:57] + "...") or None


class _Converter:
    """Composed YAML nodes to LineMap/LineList trees, counting every value it produces (an
    alias is expanded each time it is used) so alias bombs stop at MAX_NODES."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.env: dict[str, str] = {}  # values taken from the environment, by variable
        self.nodes = 0
        self.loader = yaml.SafeLoader("")  # resolves scalars the way safe_load would

    def convert(self, node: yaml.Node, where: str, depth: int) -> Any:
        path = self.path
        line = node.start_mark.line + 1
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise InputError(
                f"the document expands to more than {MAX_NODES} values (an alias bomb?)",
                file=path,
                line=line,
                field=_short(where),
            )
        if depth > MAX_DEPTH:
            raise InputError(
                f"nested deeper than {MAX_DEPTH} levels (a recursive alias?)",
                file=path,
                line=line,
                field=_short(where),
            )
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
                out[key] = self.convert(value_node, f"{where}.{key}".lstrip("."), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            seq = LineList()
            seq.line = line
            seq.lines = []
            for i, item in enumerate(node.value):
                seq.lines.append(item.start_mark.line + 1)
                seq.append(self.convert(item, f"{where}[{i}]", depth + 1))
            return seq
        try:
            value = self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:  # bad !!binary, dates, ints
            problem = getattr(exc, "problem", None) or " ".join(str(exc).split())[:160]
            raise InputError(
                f"invalid value: {problem}", file=path, line=line, field=where or None
            ) from None
        if isinstance(value, str):
            value = expand_env(value, file=path, line=line, field=where, used=self.env)
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
