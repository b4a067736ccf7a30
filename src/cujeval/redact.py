"""One place that decides what of a URL, a header or a message is safe to show.

A URL is shown without userinfo or fragment, and with *every* query value replaced by ``***``
unless its parameter is declared public: a secret's name says nothing (``?q2=...`` can be a
key), so redaction goes by what the suite declares, not by what a name looks like. Messages
built from what a target sent back are scrubbed of the secret values a target knows it holds.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit, urlunsplit

MASK = "***"
_MIN_SECRET_CHARS = 4  # shorter values would mangle messages and are not credentials
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def redact_url(url: str, public_params: Iterable[str] = ()) -> str:
    """``url`` without userinfo and fragment; each query value ``***`` unless public."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<unparseable url>"
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    public = set(public_params)
    query = "&".join(_redact_param(p, public) for p in parts.query.split("&") if p)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _redact_param(param: str, public: set[str]) -> str:
    name, eq, _ = param.partition("=")
    if unquote_plus(name) in public:
        return param
    return f"{name}={MASK}" if eq else MASK  # a bare ``?token`` may be the secret itself


def url_secrets(url: str, public_params: Iterable[str] = ()) -> set[str]:
    """The values :func:`redact_url` hides: userinfo (and its Basic-auth form) and non-public
    query values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return set()
    found = {parts.username or "", parts.password or ""}
    if parts.username or parts.password:  # and the Basic credentials clients make of them
        pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        found.add(base64.b64encode(pair.encode()).decode())
    public = set(public_params)
    for param in parts.query.split("&"):
        name, eq, value = param.partition("=")
        if unquote_plus(name) not in public:
            found.add(value if eq else name)
    return {s for s in found if s}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret (raw or URL-encoded) replaced by ``***`` and control
    characters (terminal escapes from a hostile body) dropped."""
    variants: set[str] = set()
    for secret in secrets:
        if len(secret) >= _MIN_SECRET_CHARS:
            variants |= {secret, quote(secret, safe=""), quote_plus(secret), unquote_plus(secret)}
    for variant in sorted(variants, key=len, reverse=True):
        if len(variant) >= _MIN_SECRET_CHARS:
            text = text.replace(variant, MASK)
    return _CONTROL.sub("", text)


__all__ = ["MASK", "redact_url", "scrub", "url_secrets"]
