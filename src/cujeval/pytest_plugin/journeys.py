"""Journeys written in Python: the ``cuj`` marker's arguments, checked with readable
messages, and the ``cuj_run`` fixture's runner, which builds a one-journey Suite from them (as
a suite file would be validated), runs it and writes the same reports and MLflow runs.

    @pytest.mark.cuj(target=answer, cases=[...], scorers=["error", "token_f1"],
                     slos={"similar": {"good": "token_f1 >= 0.5", "target": 0.9}})
    def test_answers(cuj_run):
        assert cuj_run().slo("similar").met
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from cujeval._util.paths import new_run_dir
from cujeval._util.plugins import load_plugin
from cujeval._util.yamlsource import dotted
from cujeval.engine.plan import validate
from cujeval.errors import InputError
from cujeval.pipeline import evaluate
from cujeval.pytest_plugin._session import (
    RESULTS,
    STATE,
    CujevalFailure,
    in_thread,
    message,
    note_run,
    reports_dir,
    run_options,
    warn,
)
from cujeval.spec.records import GoldenCase
from cujeval.spec.results import RunResult
from cujeval.spec.suite import Suite

_CALLABLES = types.SimpleNamespace()  # Python callables that `cuj` journeys target
_MARKER_ARGS = {
    "target": "a callable of the case, the URL of an HTTP endpoint, or a target mapping",
    "cases": "golden cases: a list of mappings (id, input, reference, ...)",
    "dataset": "a golden dataset file, relative to the test file",
    "scorers": "scorer names, or {name: options} mappings",
    "slos": "SLOs as in a suite: a list of mappings, or a mapping of name to mapping",
    "name": "the journey's name (default: the test's name)",
    "description": "the journey's description",
    "suite": "the suite (MLflow experiment) name (default: the test file's name)",
    "settings": "run settings as in a suite's settings:",
    "instructions": "instructions applied to every case",
    "prices": "a price table as in a suite's prices:",
    "judge": "an LLM judge block as in a suite's judge:",
    "plugins": "Python files (relative to the test file) or modules registering scorers",
    # run settings users reach for, without a settings= mapping
    "gate": "'interval' (default) or 'point'",
    "strict": "True: INCONCLUSIVE blocks too",
    "epochs": "repeat each case K times",
    "confidence": "the confidence of the bounds (default 0.95)",
    "concurrency": "cases in flight",
}
_SETTING_ARGS = ("gate", "strict", "epochs", "confidence", "concurrency")

_TYPES: dict[str, tuple[type, ...]] = {
    "cases": (list, tuple),
    "dataset": (str, os.PathLike),
    "scorers": (list, tuple),
    "slos": (list, tuple, Mapping),
    "name": (str,),
    "description": (str,),
    "suite": (str,),
    "settings": (Mapping,),
    "instructions": (list, tuple),
    "prices": (Mapping,),
    "judge": (Mapping,),
    "plugins": (list, tuple),
    "gate": (str,),
    "strict": (bool,),
    "epochs": (int,),
    "confidence": (float, int),
    "concurrency": (int,),
}


def check_journey_args(args: tuple[Any, ...], kwargs: Mapping[str, Any], where: str) -> None:
    """The ``cuj`` marker's (or ``cuj_run``'s) arguments, checked by shape; CujevalFailure
    with a readable message."""
    if args:
        raise CujevalFailure(
            f"{where}: takes keyword arguments only, e.g. "
            "@pytest.mark.cuj(target=answer, cases=[...], scorers=[...], slos=[...])"
        )
    for key, value in kwargs.items():
        if key not in _MARKER_ARGS:
            close = difflib.get_close_matches(key, _MARKER_ARGS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise CujevalFailure(
                f"{where}: unknown argument {key!r}{hint} (arguments: "
                + ", ".join(_MARKER_ARGS)
                + ")"
            )
        kinds = _TYPES.get(key)
        if key == "target":
            if not (callable(value) or isinstance(value, str | Mapping)):
                raise CujevalFailure(f"{where}: target= must be {_MARKER_ARGS['target']}")
        elif kinds is not None and not isinstance(value, kinds):
            raise CujevalFailure(
                f"{where}: {key}= must be {_MARKER_ARGS[key]}, not {type(value).__name__}"
            )


class CujRun:
    """The ``cuj_run`` fixture: run the journey of the test's ``cuj`` marker (keyword
    arguments override the marker's) and return its RunResult, reports written.

    ``cuj_run(...)`` runs on its own event loop in a worker thread (fine in sync and async
    tests); ``await cuj_run.arun(...)`` runs on the test's loop (a target served by it)."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self._calls = 0

    def __call__(self, **journey: Any) -> RunResult:
        suite, out = self._prepare(journey)
        with self._bad_input():
            options = self._options(out)
            result = in_thread(lambda: evaluate(suite, options))
        return self._finish(result, out)

    async def arun(self, **journey: Any) -> RunResult:
        """:meth:`__call__` on the running event loop."""
        suite, out = self._prepare(journey)
        with self._bad_input():
            result = await evaluate(suite, self._options(out))
        return self._finish(result, out)

    @contextmanager
    def _bad_input(self) -> Iterator[None]:
        """Bad input met when the run starts (a target that cannot be built) fails the test
        with its message alone."""
        problem = None
        try:
            yield
        except InputError as exc:
            problem = f"cuj_run in {self._request.node.nodeid}: {message(exc)}"
        if problem is not None:  # outside the handler: the message once, with no chain
            pytest.fail(problem, pytrace=False)

    def suite(self, **journey: Any) -> Suite:
        """The Suite the journey becomes (validated), without running it."""
        return self._prepare(journey, write=False)[0]

    def _options(self, out: Path) -> Any:
        return run_options(self._request.config, out)

    def _prepare(self, overrides: Mapping[str, Any], *, write: bool = True) -> tuple[Suite, Path]:
        node = self._request.node
        marker = node.get_closest_marker("cuj")
        where = f"cuj_run in {node.nodeid}"
        try:
            check_journey_args((), overrides, where)
            kwargs = {**(marker.kwargs if marker else {}), **overrides}
            if not kwargs:
                raise CujevalFailure(
                    f"{where}: no journey: mark the test @pytest.mark.cuj(target=..., "
                    "cases=... or dataset=..., scorers=[...], slos=[...]) or pass them"
                )
            self._calls += 1
            return _build_suite(kwargs, node, self._output(kwargs), where, write=write)
        except CujevalFailure as exc:
            problem = str(exc)
        pytest.fail(problem, pytrace=False)  # outside the handler: the message once

    def _output(self, kwargs: Mapping[str, Any]) -> Path:
        node = self._request.node
        state = self._request.config.stash[STATE]
        suite = str(kwargs.get("suite") or _slug(node.path.stem))
        leaf = _slug(str(kwargs.get("name") or _default_name(node)))
        leaf += f"-{self._calls}" if self._calls > 1 else ""
        if state.options.output is not None:
            return state.options.output / suite / leaf
        return new_run_dir(reports_dir(self._request.config), suite)

    def _finish(self, result: RunResult, out: Path) -> RunResult:
        node = self._request.node
        note_run(self._request.config, result, out, label=f"{node.nodeid} ({result.suite})")
        node.stash.setdefault(RESULTS, []).append((result, out))
        for reason in result.gate.reasons:  # what the gate only warns on is not silent
            if reason.action == "warn":
                warn(node, f"{node.nodeid}: {reason.text}")
        for journey in result.journeys:
            for slo in journey.slos:
                figures = {
                    "verdict": slo.verdict,
                    "action": result.gate.action(journey.name, slo.name),
                    **{k: getattr(slo, k) for k in ("estimate", "lower", "upper", "n")},
                }
                node.user_properties += [
                    (f"{journey.name}/{slo.name}.{k}", v)
                    for k, v in figures.items()
                    if v is not None
                ]
        return result


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.\-]+", "-", text).strip("-._")
    return slug or "journey"


def _default_name(node: pytest.Item) -> str:
    return node.name.removeprefix("test_") or node.name


def _build_suite(
    kwargs: Mapping[str, Any], node: pytest.Item, out: Path, where: str, *, write: bool
) -> tuple[Suite, Path]:
    """The one-journey Suite the arguments describe, validated as a suite file would be."""
    missing = [k for k in ("target", "scorers", "slos") if k not in kwargs]
    if missing:
        raise CujevalFailure(f"{where}: missing {', '.join(f'{k}=' for k in missing)}")
    if ("cases" in kwargs) == ("dataset" in kwargs):
        raise CujevalFailure(f"{where}: give exactly one of cases= (inline) or dataset= (a file)")
    plugins = [str(p) for p in kwargs.get("plugins", ())]
    for entry in plugins:  # before the target: a plugin may register its kind
        try:
            load_plugin(entry, base=node.path.parent)
        except InputError as exc:
            raise CujevalFailure(f"{where}: plugins: {exc}") from None
    target_name, target = _target_spec(kwargs["target"], where)
    if not kwargs["slos"]:
        raise CujevalFailure(f"{where}: slos= is empty: give at least one SLO")
    if "cases" in kwargs:
        dataset = str((out / "cases.jsonl").resolve())
        _check_cases(kwargs["cases"], where)
        if write:
            _write_cases(kwargs["cases"], out / "cases.jsonl")
    else:
        dataset = os.fspath(kwargs["dataset"])
    slos = kwargs["slos"]
    if isinstance(slos, Mapping):
        slos = [{"name": name, **dict(spec)} for name, spec in slos.items()]
    journey: dict[str, Any] = {
        "name": kwargs.get("name") or _default_name(node),
        "description": kwargs.get("description", ""),
        "dataset": dataset,
        "target": target_name,
        "scorers": list(kwargs["scorers"]),
        "slos": [dict(s) if isinstance(s, Mapping) else s for s in slos],
        "instructions": list(kwargs.get("instructions", ())),
    }
    data: dict[str, Any] = {
        "name": kwargs.get("suite") or _slug(node.path.stem),
        "plugins": plugins,
        "targets": {target_name: target},
        "journeys": [journey],
        "settings": {
            **dict(kwargs.get("settings", {})),
            **{k: kwargs[k] for k in _SETTING_ARGS if k in kwargs},
        },
        "prices": dict(kwargs.get("prices", {})),
        "judge": dict(kwargs["judge"]) if kwargs.get("judge") else None,
        "path": node.path,
    }
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        at = _marker_field(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        raise CujevalFailure(f"{where}: {at + ': ' if at else ''}{msg}") from None
    if write:
        try:
            validate(suite)
        except InputError as exc:
            raise CujevalFailure(f"{where}: {exc.message}") from None
    return suite, out


def _marker_field(loc: tuple[int | str, ...]) -> str:
    """A pydantic location in the built suite, as the marker argument it came from."""
    parts = [p for p in loc if p not in ("openai", "http", "python")]
    if parts[:2] == ["journeys", 0]:
        parts = parts[2:]
    elif parts[:1] == ["targets"]:
        parts = ["target", *parts[2:]]
    return dotted([str(p) if not isinstance(p, int) else p for p in parts])


def _target_spec(target: Any, where: str) -> tuple[str, dict[str, Any]]:
    """(name, spec) for a callable, a URL, ``module:function`` or a target mapping."""
    if isinstance(target, Mapping):
        return "service", dict(target)
    if isinstance(target, str):
        if target.startswith(("http://", "https://")):
            return "service", {"kind": "http", "url": target}
        if re.fullmatch(r"[\w.]+:[\w.]+", target):
            return target.rsplit(":", 1)[1], {"kind": "python", "callable": target}
        raise CujevalFailure(
            f"{where}: target={target!r} is neither an http(s) URL nor 'package.module:function'"
        )
    if callable(target):
        return _slug(getattr(target, "__name__", "target")), {
            "kind": "python",
            "callable": _callable_path(target),
        }
    raise CujevalFailure(f"{where}: target= must be {_MARKER_ARGS['target']}")


def _callable_path(fn: Callable[..., Any]) -> str:
    """``module:qualname`` when that finds ``fn`` again, else a name in this module."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    obj: Any = sys.modules.get(module or "")
    for part in qualname.split(".") if obj is not None and "<" not in qualname else ():
        obj = getattr(obj, part, None)
    if obj is fn:
        return f"{module}:{qualname}"
    key = f"fn{id(fn)}"
    setattr(_CALLABLES, key, fn)
    return f"{__name__}:_CALLABLES.{key}"


def _check_cases(cases: Iterable[Any], where: str) -> None:
    ids: set[str] = set()
    for i, case in enumerate(cases):
        data = case.model_dump() if isinstance(case, BaseModel) else case
        try:
            parsed = GoldenCase.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            at = dotted([f"cases[{i}]", *err["loc"]]) if err["loc"] else f"cases[{i}]"
            msg = "is required" if err["type"] == "missing" else err["msg"]
            raise CujevalFailure(f"{where}: {at}: {msg}") from None
        if parsed.id in ids:
            raise CujevalFailure(f"{where}: cases[{i}]: duplicate case id {parsed.id!r}")
        ids.add(parsed.id)
    if not ids:
        raise CujevalFailure(f"{where}: cases= is empty")


def _write_cases(cases: Iterable[Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for case in cases:
            data = case.model_dump(mode="json") if isinstance(case, BaseModel) else dict(case)
            f.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
