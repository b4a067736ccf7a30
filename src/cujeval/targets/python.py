"""``python`` target: an import path ``package.module:function`` to a callable of the case.

The callable takes the GoldenCase (plus the spec's ``kwargs``), sync or async, and returns an
answer string, a mapping (answer, contexts, usage, model, tool_calls) or an Observation.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from cujeval.errors import InputError, TargetError
from cujeval.spec.records import GoldenCase, Observation
from cujeval.spec.targets import PythonTargetSpec
from cujeval.targets.base import observation_from_mapping


def load_callable(path: str) -> Callable[..., Any]:
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise InputError(f"callable {path!r} must look like 'package.module:function'")
    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.append(here)  # the user's own modules beside the suite, as `python -m` finds
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(
            f"cannot import {module_name!r} (looked in the installed packages and in the "
            f"working folder {here}): {exc}"
        ) from None
    except Exception as exc:  # the module is there but fails as it loads
        raise InputError(
            f"importing {module_name!r} failed: {type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:300]}"
        ) from None
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise InputError(f"{module_name!r} has no attribute {attr!r}")
    if not callable(obj):
        raise InputError(f"{path!r} is not callable")
    return obj  # type: ignore[no-any-return]


class PythonTarget:
    def __init__(self, name: str, spec: PythonTargetSpec, *, concurrency: int = 64) -> None:
        self.name = name
        self.spec = spec
        self.description = f"python {spec.callable}"
        self._fn = load_callable(spec.callable)
        self._is_async = inspect.iscoroutinefunction(self._fn)

    async def call(self, case: GoldenCase) -> Observation:
        start = time.perf_counter()
        try:
            if self._is_async:
                result = await asyncio.wait_for(
                    self._fn(case, **self.spec.kwargs), self.spec.timeout_s
                )
            else:
                result = await asyncio.wait_for(
                    asyncio.to_thread(self._fn, case, **self.spec.kwargs), self.spec.timeout_s
                )
        except TimeoutError:
            from cujeval.errors import TargetTimeout

            raise TargetTimeout(
                f"{self.spec.callable} took longer than {self.spec.timeout_s:g} s"
            ) from None
        except TargetError:
            raise
        except Exception as exc:  # the user's code failed: an error of this case, not ours
            raise TargetError(f"{self.spec.callable} raised {type(exc).__name__}: {exc}") from None
        latency = time.perf_counter() - start
        if isinstance(result, Observation):
            return (
                result
                if result.latency_s is not None
                else result.model_copy(update={"latency_s": latency})
            )
        if isinstance(result, str):
            return Observation(answer=result, latency_s=latency)
        if isinstance(result, dict):
            return observation_from_mapping(result, latency_s=latency, ttft_s=result.get("ttft_s"))
        raise TargetError(
            f"{self.spec.callable} returned {type(result).__name__}; "
            "return a str, a dict or an Observation"
        )

    async def aclose(self) -> None:
        return None
