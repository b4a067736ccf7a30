"""aiohttp plumbing shared by the HTTP-speaking targets: one pooled session, and one place
that turns transport faults into the TargetError tree."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from cujeval.errors import (
    TargetConnectError,
    TargetHTTPError,
    TargetProtocolError,
    TargetTimeout,
)

if TYPE_CHECKING:
    import aiohttp


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
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@asynccontextmanager
async def request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    shown_url: str,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    timeout_s: float,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """Open a response; map timeouts, refused connections, resets and HTTP >= 400."""
    import aiohttp

    try:
        async with asyncio.timeout(timeout_s):
            async with session.request(method, url, json=json, headers=headers) as resp:
                if resp.status >= 400:
                    body = (await resp.content.read(500)).decode("utf-8", "replace")
                    raise TargetHTTPError(
                        f"HTTP {resp.status} from {shown_url}: {body.strip()[:200]}",
                        status=resp.status,
                        retry_after_s=retry_after(resp.headers.get("Retry-After")),
                        url=shown_url,
                    )
                yield resp
    except TimeoutError:
        raise TargetTimeout(
            f"no complete answer within {timeout_s:g} s from {shown_url}", url=shown_url
        ) from None
    except aiohttp.ClientConnectorError as exc:
        raise TargetConnectError(
            f"cannot connect to {shown_url}: {exc.os_error.strerror or exc}", url=shown_url
        ) from None
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
        raise TargetConnectError(f"connection to {shown_url} lost: {exc}", url=shown_url) from None
    except aiohttp.ClientPayloadError as exc:
        raise TargetProtocolError(
            f"malformed body from {shown_url}: {exc}", url=shown_url
        ) from None


async def read_json(resp: aiohttp.ClientResponse, *, max_bytes: int, shown_url: str) -> Any:
    import json

    body = await resp.content.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise TargetProtocolError(
            f"response from {shown_url} exceeds {max_bytes} bytes", url=shown_url
        )
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TargetProtocolError(
            f"response from {shown_url} is not JSON: {exc}", url=shown_url
        ) from None
