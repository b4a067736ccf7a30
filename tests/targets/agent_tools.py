"""Tool sets for the agent-loop tests, named in suites as ``tests.targets.agent_tools:NAME``.

``counting``: one tool, ``touch``, that counts its calls per case (in :data:`CALLS`, read by
the tests in the same process) and fails when asked to (``{"fail": true}``); its state is the
case's count, so a test sees whether a retry ran the side effect twice.
"""

from __future__ import annotations

import threading
from typing import Any

CALLS: dict[str, int] = {}
_LOCK = threading.Lock()

TOUCH = {
    "name": "touch",
    "description": "Touch the case's counter (a side effect).",
    "parameters": {
        "type": "object",
        "properties": {"fail": {"type": "boolean"}},
        "required": [],
    },
}


class Counting:
    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        self.schemas = [TOUCH]

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        with _LOCK:
            CALLS[self.case_id] = CALLS.get(self.case_id, 0) + 1
        if arguments.get("fail"):
            raise RuntimeError("the counter is jammed")
        return {"touched": True}

    def state(self) -> dict[str, Any]:
        return {"touches": CALLS.get(self.case_id, 0)}


def counting(case: Any) -> Counting:
    return Counting(case.id)


def broken(case: Any) -> Counting:
    raise OSError("the tool backend is down")
