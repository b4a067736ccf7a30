"""One place that decides what of a URL, a header or a message is safe to show.

A URL is shown without userinfo or fragment, and with *every* query value replaced by ``***``
unless its parameter is declared public: a secret's name says nothing (``?q2=...`` can be a
key), so redaction goes by what the suite declares, not by what a name looks like.

Secrets are redacted by value. Every secret the process knows is registered here
(:func:`register`): the values of ``api_key_env`` variables, the values a suite took from the
environment (``${VAR}``, unless the suite lists VAR under ``public_env``), URL passwords and
non-public query values, and the MLflow tracking URI's credentials (read from the environment
whenever they are needed). :func:`redact` is the one function every writer calls on what
leaves the process (the console, errors, the journal, results.json, every report, MLflow):
each occurrence of a secret, raw or in a common encoding (URL-encoded, JSON- or HTML-escaped,
Basic-auth base64), becomes ``***``. :func:`clean` applies it to every string of a JSON-like
value, so structure (numbers, keys the readers need) is never cut. :func:`guard_streams` puts
it in front of stdout and stderr.

Text from targets is made valid Unicode where it enters (:func:`valid_unicode`: a lone
surrogate cannot be written as UTF-8), and writers of formats that cannot hold some
characters show them visibly instead (:func:`visible`, :func:`xml_text`, :func:`html_text`).
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import sys
import threading
from collections.abc import Iterable
from typing import IO, Any, TypeVar
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit, urlunsplit

MASK = "***"
_MIN_SECRET_CHARS = 4  # shorter values would mangle messages and are not credentials
MIN_QUERY_CHARS = 8  # of a non-public query value masked wherever it shows (_credential_like)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# shown as a visible stand-in: C0 controls but tab, newline and carriage return, DEL, C1
# controls, surrogates and the noncharacters (U+FDD0..U+FDEF, U+xFFFE and U+xFFFF)
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
    + "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(1, 17))
    + "]"
)
# the MLflow client's credentials: secret wherever they show up, whatever the suite says
TRACKING_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")

_TRACKING_KEY = (*TRACKING_ENV, "MLFLOW_TRACKING_USERNAME")

T = TypeVar("T")


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
        found.add(_basic(unquote(parts.username or ""), unquote(parts.password or "")))
    public = set(public_params)
    for param in parts.query.split("&"):
        name, eq, value = param.partition("=")
        if unquote_plus(name) not in public:
            found.add(value if eq else name)
    return {s for s in found if s}


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _variants(secret: str) -> set[str]:
    """``secret`` as it may appear in text: raw, URL-encoded either way (and decoded, for a
    value written encoded), JSON- and HTML-escaped, base64 (alone, and at the start of an
    Authorization: Basic credential that has it as the user name)."""
    if len(secret) < _MIN_SECRET_CHARS:
        return set()
    raw = secret.encode("utf-8", "surrogatepass")
    out = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        unquote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        html.escape(secret),
        html.escape(secret, quote=False),
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.b64encode(raw + b":").decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    aligned = raw[: len(raw) - len(raw) % 3]  # encodes alike whatever follows it (user:...)
    if len(aligned) >= 6:
        out.add(base64.b64encode(aligned).decode())
    return {v for v in out if len(v) >= _MIN_SECRET_CHARS}


class _Registry:
    """The secrets of this process and their variants, longest first (so a secret inside a
    longer one never leaves the rest of the longer one behind)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._mine: tuple[str, ...] = ()
        self._env_raw: tuple[object, ...] | None = None
        self._env: tuple[str, ...] = ()
        self.variants: tuple[str, ...] = ()
        # each variant and its JSON-escaped form: what a variant inside a string of a JSON
        # document looks like there (cujeval.dumps' fast path)
        self.in_json: tuple[str, ...] = ()

    def add(self, values: Iterable[str]) -> None:
        new = {v for v in values if isinstance(v, str) and len(v) >= _MIN_SECRET_CHARS}
        with self._lock:
            if new <= self._secrets:
                return
            self._secrets |= new
            self._mine = _sorted(v for s in self._secrets for v in _variants(s))
            self._merge()

    def current(self) -> tuple[str, ...]:
        raw = _tracking_env()
        if raw != self._env_raw:
            key = tuple(os.environ.get(name, "") for name in _TRACKING_KEY)
            with self._lock:
                self._env_raw = raw
                self._env = _sorted(v for s in _tracking_secrets(*key) for v in _variants(s))
                self._merge()
        return self.variants

    def known(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._secrets)

    def _merge(self) -> None:
        self.variants = _sorted({*self._mine, *self._env})
        self.in_json = (*self.variants, *{_json_escaped(v) for v in self.variants})


def _json_escaped(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _tracking_env() -> tuple[object, ...]:
    """The tracking variables as the process holds them: read on every redaction (so a
    credential set at any time is secret at once), and so read without decoding them, from
    ``os.environ``'s own mapping where it has one (thousands of reads a run)."""
    data, keys = _ENV_DATA, _ENV_KEYS
    if data is not None:
        return tuple(data.get(k) for k in keys)
    return tuple(os.environ.get(name) for name in _TRACKING_KEY)


def _environ_data() -> tuple[dict[Any, Any] | None, tuple[Any, ...]]:
    """``os.environ``'s own mapping and the tracking variables' keys in it (None where it has
    none: the variables are then read through ``os.environ``)."""
    data, encode = getattr(os.environ, "_data", None), getattr(os.environ, "encodekey", None)
    if not isinstance(data, dict) or encode is None:
        return None, ()
    return data, tuple(encode(name) for name in _TRACKING_KEY)


_ENV_DATA, _ENV_KEYS = _environ_data()


def _sorted(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values), key=lambda v: (-len(v), v)))


def _tracking_secrets(uri: str, password: str, token: str, user: str) -> set[str]:
    """The MLflow client's credentials: the tracking URI's password, secret query values and
    Basic form; the password and token variables, and the Basic form of user and password."""
    found = {password, token}
    if uri.startswith(("http://", "https://")):
        found |= url_credentials(uri)
    if user and password:
        found.add(_basic(user, password))
    return {s for s in found if s}


def _credential_like(value: str) -> bool:
    """A query value that can be a credential: 16 characters or more, or 8 or more mixing
    letters and digits. ``?stream=true``, ``?ns=deadline`` or ``?v=2024-06-01`` are not."""
    if len(value) >= 2 * MIN_QUERY_CHARS:
        return True
    letters = any(c.isalpha() for c in value)
    return len(value) >= MIN_QUERY_CHARS and letters and any(c.isdigit() for c in value)


def url_credentials(url: str, public_params: Iterable[str] = ()) -> set[str]:
    """What of ``url`` is secret wherever it shows up: the password, the Basic form of the
    userinfo, and each non-public query value that can be a credential (_credential_like). A
    user name is no credential, nor is ``?stream=true``: masking those everywhere would mask
    ordinary words and numbers (the URL itself still shows every non-public value as ``***``).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return set()
    found = {parts.password or ""}
    if parts.username or parts.password:
        found.add(_basic(unquote(parts.username or ""), unquote(parts.password or "")))
    public = set(public_params)
    for param in parts.query.split("&"):
        name, eq, value = param.partition("=")
        value = value if eq else name
        if unquote_plus(name) not in public and _credential_like(value):
            found.add(value)
    return {s for s in found if s}


_REGISTRY = _Registry()


def register(*values: str) -> None:
    """Treat each value (and its encodings) as a secret from now on, in this process."""
    _REGISTRY.add(values)


def register_url(url: str, public_params: Iterable[str] = ()) -> None:
    """Register what of ``url`` is secret (:func:`url_credentials`)."""
    register(*url_credentials(url, public_params))


def known() -> frozenset[str]:
    """The secrets registered in this process (not their variants, nor the tracking URI's)."""
    return _REGISTRY.known()


def redact(text: str) -> str:
    """``text`` with every occurrence of every known secret, raw or encoded, as ``***``. The
    one function every writer applies to what leaves the process."""
    for variant in _REGISTRY.current():
        if variant in text:
            text = text.replace(variant, MASK)
    return text


def clean(value: T) -> T:
    """A JSON-like ``value`` (dicts, lists, tuples, strings, numbers) with every string, keys
    included, made valid Unicode and redacted; anything else is left as it is."""
    variants = _REGISTRY.current()
    try:
        if _clean_already(json.dumps(value, ensure_ascii=False, default=str)):
            return value
    except (TypeError, ValueError):  # keys JSON cannot hold, a cycle: the walk it is
        pass
    return _clean(value, variants)  # type: ignore[no-any-return]


def _clean_already(probe: str) -> bool:
    """``probe``, the JSON text of a value, shows that no string of the value holds a lone
    surrogate or a secret: JSON escapes a string character by character, so a variant inside
    a string shows in it as itself or as its JSON-escaped form, both looked for."""
    return not _SURROGATE.search(probe) and not any(v in probe for v in _REGISTRY.in_json)


def _clean(value: Any, variants: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        if _SURROGATE.search(value):
            value = _SURROGATE.sub("\ufffd", value)
        for variant in variants:
            if variant in value:
                value = value.replace(variant, MASK)
        return value
    if isinstance(value, dict):
        return {_clean(k, variants): _clean(v, variants) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, variants) for v in value]
    if isinstance(value, tuple):
        return tuple(_clean(v, variants) for v in value)
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """``value`` as JSON, :func:`clean` (objects JSON cannot hold as their redacted ``str``).

    Most values hold no secret and no lone surrogate: their JSON text shows that at C speed
    (:func:`_clean_already`), and they are written as they are; only a value that holds one
    is walked string by string."""
    variants = _REGISTRY.current()
    probe = json.dumps(value, ensure_ascii=False, default=str)
    if _clean_already(probe):
        if kwargs == {"ensure_ascii": False}:
            return probe
        return json.dumps(value, default=str, **kwargs)
    return json.dumps(_clean(value, variants), default=lambda o: clean(str(o)), **kwargs)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` (raw or encoded) and every registered secret replaced
    by ``***``, and control characters (terminal escapes from a hostile body) dropped."""
    variants = {v for s in secrets for v in _variants(s)}
    for variant in _sorted(variants):
        if variant in text:
            text = text.replace(variant, MASK)
    return _CONTROL.sub("", redact(text))


# ---- text any writer can hold --------------------------------------------------------------


def valid_unicode(value: T) -> tuple[T, int]:
    """``value`` (a string, or a JSON-like tree of them) with each lone surrogate replaced by
    U+FFFD, and how many were replaced. Python strings hold any code point but surrogates
    are not characters: no UTF-8 writer can store them."""
    count = 0

    def fix(v: Any) -> Any:
        nonlocal count
        if isinstance(v, str):
            if _SURROGATE.search(v) is None:
                return v
            fixed, n = _SURROGATE.subn("\ufffd", v)
            count += n
            return fixed
        if isinstance(v, dict):
            return {fix(k): fix(x) for k, x in v.items()}
        if isinstance(v, list):
            return [fix(x) for x in v]
        if isinstance(v, tuple):
            return tuple(fix(x) for x in v)
        return v

    return fix(value), count


def _stand_in(match: re.Match[str]) -> str:
    c = ord(match.group())
    if c < 0x20:
        return chr(0x2400 + c)  # the Control Pictures block: ␀ ␛ ...
    if c == 0x7F:
        return "\u2421"  # ␡
    if 0xD800 <= c <= 0xDFFF:
        return "\ufffd"
    return f"\\x{c:02x}" if c <= 0xFF else f"\\u{c:04X}" if c <= 0xFFFF else f"\\U{c:08X}"


def visible(text: str) -> str:
    """``text`` with control characters (but tab and line ends), surrogates and
    noncharacters replaced by visible stand-ins (NUL as ␀, ESC as ␛, U+FFFE as ``\\uFFFE``),
    so no report keeps an invisible byte a terminal or a parser would act on."""
    return _INVISIBLE.sub(_stand_in, text)


def xml_text(text: str) -> str:
    """``text`` redacted and fit for XML 1.0, which cannot hold most control characters nor
    U+FFFE/U+FFFF even as character references: they are shown as stand-ins."""
    return visible(redact(text))


def html_text(text: str, *, quote: bool = True) -> str:
    """``text`` redacted, its invisible characters shown, and escaped for HTML."""
    return html.escape(visible(redact(text)), quote=quote)


# ---- the process's own output --------------------------------------------------------------


class _Redacting:
    """A text stream that redacts everything written to it (and makes it valid Unicode)
    before passing it on. Only text passes (no binary ``buffer``), so nothing can write
    around it."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if _SURROGATE.search(text):  # would fail to encode: a crash while printing
            text = _SURROGATE.sub("\ufffd", text)
        self._stream.write(redact(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":
            raise AttributeError(name)
        return getattr(self._stream, name)


def guard_streams() -> None:
    """Redact whatever this process prints from now on: stdout and stderr pass through
    :func:`redact` (tracebacks, warnings and MLflow's own messages included)."""
    if not isinstance(sys.stdout, _Redacting) and sys.stdout is not None:
        sys.stdout = _Redacting(sys.stdout)  # type: ignore[assignment]
    if not isinstance(sys.stderr, _Redacting) and sys.stderr is not None:
        sys.stderr = _Redacting(sys.stderr)  # type: ignore[assignment]


__all__ = [
    "MASK",
    "clean",
    "dumps",
    "guard_streams",
    "html_text",
    "known",
    "redact",
    "redact_url",
    "register",
    "register_url",
    "scrub",
    "url_credentials",
    "url_secrets",
    "valid_unicode",
    "visible",
    "xml_text",
]
