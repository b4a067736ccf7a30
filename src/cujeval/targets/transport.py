"""aiohttp plumbing shared by the HTTP-speaking targets: one pooled session, and the one place
where a target's bytes meet the harness.

Whatever the endpoint does (a malformed status line, a redirect, a body of any size, a stream
cut short, TLS trouble), a call ends with a complete, size-checked body or a TargetError whose
message shows only the redacted URL. Redirects are never followed by aiohttp: a target may allow
same-origin ones (``redirects: same-origin``); anything else is a TargetRedirectError, so a
request, its body and its credentials never reach another origin.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from cujeval._util.redact import redact, redact_url, register_url, scrub, url_secrets
from cujeval.errors import (
    CujevalError,
    TargetConnectError,
    TargetError,
    TargetHTTPError,
    TargetProtocolError,
    TargetRedirectError,
    TargetTimeout,
    TargetTooLarge,
    TargetTruncated,
)

if TYPE_CHECKING:
    import aiohttp
    import yarl

    from cujeval.spec.targets import HttpTargetSpec, OpenAITargetSpec

MAX_REDIRECTS = 5  # same-origin hops followed before giving up
_REDIRECT_CODES = (301, 302, 303, 307, 308)
_SNIPPET_BYTES = 500  # of an error body, shown in the message


@dataclass(frozen=True)
class Endpoint:
    """One target URL and what a call to it may do: how long, how many bytes, which
    redirects; and what of it may be shown (``shown``, ``scrub``)."""

    url: str
    timeout_s: float = 30.0
    max_bytes: int = 8 * 1024 * 1024
    redirects: Literal["none", "same-origin"] = "none"
    public_params: tuple[str, ...] = ()
    secrets: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(
        cls, url: str, spec: HttpTargetSpec | OpenAITargetSpec, secrets: Iterable[str] = ()
    ) -> Endpoint:
        """The endpoint of a target ``spec`` (timeout, size, redirect and redaction settings).
        What of ``url`` is secret is registered for every writer (cujeval._util.redact)."""
        public = tuple(spec.public_params)
        register_url(url, public)
        return cls(
            url=url,
            timeout_s=spec.timeout_s,
            max_bytes=spec.max_response_bytes,
            redirects=spec.redirects,
            public_params=public,
            secrets=frozenset({*secrets, *url_secrets(url, public)}),
        )

    @cached_property
    def shown(self) -> str:
        """The URL as messages and reports show it (a secret in its path, from ``${VAR}``,
        masked too)."""
        return redact(redact_url(self.url, self.public_params))

    def show(self, url: str | yarl.URL) -> str:
        """Another URL (a redirect's), redacted the same way."""
        return self.scrub(redact_url(str(url), self.public_params))

    def scrub(self, text: str) -> str:
        """``text`` without any secret this endpoint holds, nor control characters."""
        return scrub(text, self.secrets)


@contextmanager
def scrubbing(endpoint: Endpoint) -> Iterator[None]:
    """Scrub the message of any TargetError leaving the block: the last guard, for text a
    target sent back (an echoed header, an error event) wherever it ended up."""
    try:
        yield
    except TargetError as exc:
        exc.args = (endpoint.scrub(str(exc)),)
        raise


def new_session(*, limit: int = 256) -> aiohttp.ClientSession:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit, ttl_dns_cache=300)
    return aiohttp.ClientSession(connector=connector, trust_env=False)


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else 0.0  # NaN and negatives: no wait
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


@asynccontextmanager
async def request(
    session: aiohttp.ClientSession,
    endpoint: Endpoint,
    method: str,
    *,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """Open a 2xx response within the endpoint's deadline (which covers reading it too).

    Every fault, here or while the caller reads the body, leaves as a TargetError.
    """
    shown = endpoint.shown
    try:
        async with asyncio.timeout(endpoint.timeout_s):
            resp = await _open(session, endpoint, method, json, headers)
            try:
                yield resp
            except BaseException:
                resp.close()  # an unread rest (too large, cut short) must not be reused
                raise
            resp.release()
    except CujevalError:
        raise
    except TimeoutError:
        raise TargetTimeout(
            f"no complete answer within {endpoint.timeout_s:g} s from {shown}", url=shown
        ) from None
    except Exception as exc:  # everything from a target becomes a TargetError
        raise _target_error(exc, endpoint) from None


def _target_error(exc: Exception, endpoint: Endpoint) -> TargetError:
    """The TargetError for a transport exception; never the exception's own text where that
    could hold the URL."""
    import aiohttp

    shown = endpoint.shown

    def reason(e: BaseException) -> str:
        text = " ".join(str(getattr(e, "message", "") or e).split())
        return endpoint.scrub(text)[:200] if text else type(e).__name__

    if isinstance(exc, aiohttp.ClientSSLError):
        return TargetConnectError(f"TLS with {shown} failed: {reason(exc.os_error)}", url=shown)
    if isinstance(exc, aiohttp.ClientConnectorError):
        why = exc.os_error.strerror or type(exc.os_error).__name__
        return TargetConnectError(f"cannot connect to {shown}: {why}", url=shown)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
        return TargetConnectError(f"connection to {shown} lost: {reason(exc)}", url=shown)
    if isinstance(exc, aiohttp.ClientPayloadError):
        from aiohttp.http_exceptions import ContentLengthError, TransferEncodingError

        cause = exc.__cause__ or (exc.args[1] if len(exc.args) > 1 else None)
        if isinstance(cause, ContentLengthError | TransferEncodingError):
            return TargetTruncated(
                f"the body from {shown} ended before its declared end", url=shown
            )
        return TargetProtocolError(f"malformed body from {shown}: {reason(exc)}", url=shown)
    if isinstance(exc, aiohttp.ClientResponseError):  # bad status line, header, chunking
        return TargetProtocolError(
            f"malformed HTTP response from {shown}: {reason(exc)}", url=shown
        )
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError | ValueError | TypeError):
        return TargetConnectError(
            f"cannot send a request to {shown}: {reason(exc)} (check the URL and headers)",
            url=shown,
        )
    if isinstance(exc, aiohttp.ClientConnectionError | OSError):
        return TargetConnectError(f"connection to {shown} failed: {reason(exc)}", url=shown)
    return TargetError(f"call to {shown} failed: {type(exc).__name__}", url=shown)


async def _open(
    session: aiohttp.ClientSession,
    endpoint: Endpoint,
    method: str,
    json: Any,
    headers: Mapping[str, str] | None,
) -> aiohttp.ClientResponse:
    """Send the request, following only the redirects the endpoint allows."""
    import yarl

    url = yarl.URL(endpoint.url)
    origin = _origin(url)
    seen: set[tuple[str, str]] = set()
    for hop in range(MAX_REDIRECTS + 1):
        seen.add((method, str(url)))
        resp = await session.request(method, url, json=json, headers=headers, allow_redirects=False)
        if resp.status in _REDIRECT_CODES:
            location = resp.headers.get("Location")
            resp.close()
            url = _next_hop(endpoint, url, origin, resp.status, location, hop)
            if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
                method, json = "GET", None  # what browsers and every client do
            if (method, str(url)) in seen:
                raise TargetRedirectError(
                    f"{endpoint.shown} redirects in a loop (back to {endpoint.show(url)})",
                    url=endpoint.shown,
                )
            continue
        if resp.status >= 300:
            await _raise_status(resp, endpoint)
        return resp
    raise AssertionError("unreachable")  # pragma: no cover - _next_hop bounds the hops


def _origin(url: yarl.URL) -> str:
    host = url.host or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{url.scheme}://{host}:{url.port}"


def _next_hop(
    endpoint: Endpoint,
    url: yarl.URL,
    origin: str,
    status: int,
    location: str | None,
    hop: int,
) -> yarl.URL:
    """The URL a redirect points at, if the endpoint may follow it; else TargetRedirectError."""
    import yarl

    shown = endpoint.shown
    if not location:
        raise TargetRedirectError(f"{shown} answered HTTP {status} without a Location", url=shown)
    try:
        target = url.join(yarl.URL(location))
        scheme = target.scheme
    except (ValueError, TypeError):
        raise TargetRedirectError(
            f"{shown} redirected (HTTP {status}) to an invalid location", url=shown
        ) from None
    if scheme not in ("http", "https"):
        raise TargetRedirectError(
            f"{shown} redirected (HTTP {status}) to a {endpoint.scrub(scheme[:20])}: URL; "
            "only http(s) redirects are followed",
            url=shown,
        )
    there = _origin(target)
    if there != origin:
        raise TargetRedirectError(
            f"{shown} redirected (HTTP {status}) from origin {endpoint.scrub(origin)} to another "
            f"origin {endpoint.scrub(there)}; cross-origin redirects are never followed",
            url=shown,
        )
    if endpoint.redirects == "none":
        raise TargetRedirectError(
            f"{shown} redirected (HTTP {status}) to {endpoint.show(target)}; redirects are not "
            "followed: use the final URL, or set 'redirects: same-origin' on the target",
            url=shown,
        )
    if hop >= MAX_REDIRECTS:
        raise TargetRedirectError(f"{shown} redirected more than {MAX_REDIRECTS} times", url=shown)
    return target


async def _raise_status(resp: aiohttp.ClientResponse, endpoint: Endpoint) -> None:
    """TargetHTTPError for a non-2xx answer, with the start of its body (scrubbed)."""
    shown = endpoint.shown
    try:
        head = await resp.content.read(_SNIPPET_BYTES)
    except Exception:  # the status is the news; a broken body adds nothing
        head = b""
    finally:
        resp.close()
    text = " ".join(head.decode("utf-8", "replace").split())
    if len(head) >= _SNIPPET_BYTES:
        text = text.rpartition(" ")[0]  # the last word may be cut, a secret with it
    snippet = endpoint.scrub(text)[:200]  # scrubbed whole, then shortened
    raise TargetHTTPError(
        f"HTTP {resp.status} from {shown}" + (f": {snippet}" if snippet else ""),
        status=resp.status,
        retry_after_s=retry_after(resp.headers.get("Retry-After")),
        url=shown,
    )


async def read_body(resp: aiohttp.ClientResponse, endpoint: Endpoint) -> bytes:
    """The whole body, read as it arrives and refused as soon as it passes ``max_bytes``."""
    limit = endpoint.max_bytes
    declared = resp.content_length
    encoded = resp.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    if declared is not None and declared > limit and not encoded:
        raise _too_large(endpoint, f": it declares {declared} bytes")
    body = bytearray()
    async for chunk in resp.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise _too_large(endpoint)
    return bytes(body)


def _too_large(endpoint: Endpoint, detail: str = "") -> TargetTooLarge:
    return TargetTooLarge(
        f"the response from {endpoint.shown} exceeds the target's max_response_bytes "
        f"({endpoint.max_bytes} bytes){detail}",
        url=endpoint.shown,
    )


def parse_json(data: bytes | str, endpoint: Endpoint, what: str = "response") -> Any:
    """JSON from a complete body or stream event; any failure is a TargetProtocolError."""
    import json

    shown = endpoint.shown
    if not data.strip():
        raise TargetProtocolError(f"the {what} from {shown} is empty", url=shown)
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        detail = f"not UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
    except json.JSONDecodeError as exc:
        detail = f"not JSON: {exc.msg} at offset {exc.pos}"
    except RecursionError:
        detail = "JSON nested too deeply"
    except ValueError as exc:  # e.g. integers of more than 4300 digits
        detail = f"not acceptable JSON: {endpoint.scrub(str(exc)[:120])}"
    raise TargetProtocolError(f"the {what} from {shown} is {detail}", url=shown)


async def read_json(resp: aiohttp.ClientResponse, endpoint: Endpoint) -> Any:
    """The complete body, parsed as JSON."""
    return parse_json(await read_body(resp, endpoint), endpoint)


async def iter_sse(resp: aiohttp.ClientResponse, endpoint: Endpoint) -> AsyncGenerator[str, None]:
    """The ``data`` of each server-sent event, the stream size-checked as it arrives.

    Lines end with LF or CRLF; comments and other fields are skipped; an event's data lines
    are joined with newlines. A last line without its newline is a cut-off fragment and is
    dropped: the caller decides whether the stream ended properly.
    """
    limit = endpoint.max_bytes
    size = 0
    pending = bytearray()
    data: list[str] = []
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise _too_large(endpoint)
        start, scan = 0, len(pending)
        pending += chunk
        while (end := pending.find(b"\n", scan)) >= 0:
            line = bytes(pending[start:end]).removesuffix(b"\r")
            start = scan = end + 1
            if not line:
                if data:
                    yield "\n".join(data)
                    data = []
                continue
            name, _, value = line.partition(b":")
            if name == b"data":
                data.append(_decode(value.removeprefix(b" "), endpoint))
        del pending[:start]
    if data:
        yield "\n".join(data)


def _decode(raw: bytes, endpoint: Endpoint) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TargetProtocolError(
            f"the stream from {endpoint.shown} is not UTF-8 (byte 0x{raw[exc.start]:02x})",
            url=endpoint.shown,
        ) from None
