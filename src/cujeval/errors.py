"""One exception tree for cujeval.

    CujevalError                  base; ``exit_code`` says how the CLI ends
    ├── InputError                bad suite, dataset, flags: exit 2, nothing run
    │   ├── SuiteError            suite YAML (file, line, field)
    │   ├── DatasetError          golden dataset (file, line, field)
    │   └── UnknownNameError      unknown scorer / instruction id, with suggestions
    ├── TargetError               one call to the target failed (recorded per case)
    │   ├── TargetTimeout
    │   ├── TargetConnectError
    │   ├── TargetHTTPError       status, and Retry-After when given
    │   ├── TargetRedirectError   a redirect not allowed (cross-origin, loops, other schemes)
    │   └── TargetProtocolError   malformed JSON, malformed stream, oversized body
    │       ├── TargetTooLarge    the body exceeds the target's max_response_bytes
    │       └── TargetTruncated   a stream that ended before its end marker
    ├── RunAborted                the run could not complete: exit 3, finished cases kept
    │   ├── JudgeUnavailable      the LLM judge cannot be reached or refuses every call
    │   └── DeadlineExceeded      the whole-run deadline (--max-duration) passed
    └── ReporterError             one reporter failed; the others still run

Every message carries the context needed to act on it: file and line, case id, the
(redacted) URL and status.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class CujevalError(Exception):
    """Base of every error cujeval raises on purpose."""

    exit_code = 1


class InputError(CujevalError):
    """Bad input: the run does not start. Exit code 2."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.line = line
        self.field = field
        self.message = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        field = f"field '{self.field}': " if self.field else ""
        return f"{where}{field}{self.message}"


class SuiteError(InputError):
    """The suite file is malformed or invalid."""


class DatasetError(InputError):
    """A golden dataset row is malformed or invalid."""


class UnknownNameError(InputError):
    """A name (scorer, instruction id, SLI) is not registered."""

    def __init__(
        self,
        kind: str,
        name: str,
        known: Iterable[str],
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        known = sorted(set(known))
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listing = "" if close else f"; known: {', '.join(known)}" if len(known) <= 40 else ""
        self.name = name
        self.suggestions = close
        super().__init__(
            f"unknown {kind} {name!r}{hint}{listing}", file=file, line=line, field=field
        )


class TargetError(CujevalError):
    """A call to the target failed. Recorded on the case as an error; counts in `error`."""

    kind = "error"

    def __init__(self, message: str, *, url: str | None = None, case_id: str | None = None):
        self.url = url
        self.case_id = case_id
        super().__init__(message)


class TargetTimeout(TargetError):
    kind = "timeout"


class TargetConnectError(TargetError):
    kind = "connect"


class TargetHTTPError(TargetError):
    kind = "http"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        retry_after_s: float | None = None,
        url: str | None = None,
        case_id: str | None = None,
    ) -> None:
        self.status = status
        self.retry_after_s = retry_after_s
        super().__init__(message, url=url, case_id=case_id)


class TargetProtocolError(TargetError):
    kind = "protocol"


class TargetTooLarge(TargetProtocolError):
    kind = "too_large"


class TargetTruncated(TargetProtocolError):
    """A streamed response ended without ``[DONE]`` or a ``finish_reason``: never an answer."""

    kind = "truncated"


class TargetRedirectError(TargetError):
    kind = "redirect"


class RunAborted(CujevalError):
    """The run could not complete (target unreachable, auth refused, interrupted). Exit 3."""

    exit_code = 3


class JudgeUnavailable(RunAborted):
    """The LLM judge could not be reached, refused authorisation, or failed every call."""


class DeadlineExceeded(RunAborted):
    """The whole-run deadline passed; finished cases are kept."""


class ReporterError(CujevalError):
    """A reporter failed; the run's results are still on disk."""
