"""Switching a scenario on and off: the reference service's fault knobs (read first, the
changed ones restored after), or the user's hook (``on`` then ``off`` POSTed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cujeval.errors import RunAborted

if TYPE_CHECKING:
    from cujeval.spec.degradations import Degradation
    from cujeval.spec.suite import Journey, Suite


async def _post(url: str, body: Any, headers: dict[str, str], timeout_s: float) -> Any:
    import json

    import aiohttp

    from cujeval._util.redact import redact_url

    shown = redact_url(url)
    try:
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with (
            aiohttp.ClientSession(timeout=timeout, trust_env=False) as session,
            session.post(
                url,
                data=json.dumps(body),
                headers={"Content-Type": "application/json", **headers},
                allow_redirects=False,
            ) as resp,
        ):
            text = await resp.content.read(64 * 1024)
            if resp.status >= 300:
                snippet = " ".join(text.decode("utf-8", "replace").split())[:200]
                raise RunAborted(f"{shown} answered HTTP {resp.status}: {snippet}")
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            return None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise RunAborted(f"cannot reach {shown}: {type(exc).__name__}: {exc}"[:300]) from None


async def _get_json(url: str, timeout_s: float = 10.0) -> Any:
    import aiohttp

    from cujeval._util.redact import redact_url

    try:
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with (
            aiohttp.ClientSession(timeout=timeout, trust_env=False) as session,
            session.get(url, allow_redirects=False) as resp,
        ):
            if resp.status != 200:
                raise RunAborted(f"{redact_url(url)} answered HTTP {resp.status}")
            return await resp.json(content_type=None)
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        raise RunAborted(f"cannot read {redact_url(url)}: {type(exc).__name__}") from None


class Switch:
    """Turns one scenario on and back off. Reference faults: the knobs in force are read
    first and the changed ones restored after; a hook: ``on`` then ``off`` is POSTed."""

    def __init__(self, suite: Suite, journey: Journey, scenario: Degradation) -> None:
        self.scenario = scenario
        self.url = faults_url_of(suite, journey, scenario) if scenario.faults else None
        self._saved: dict[str, Any] | None = None

    async def on(self) -> None:
        s = self.scenario
        if s.hook is not None:
            body = s.hook.body if s.hook.body is not None else {"scenario": s.name, "state": "on"}
            await _post(s.hook.on, body, s.hook.headers, s.hook.timeout_s)
            return
        assert self.url is not None and s.faults is not None
        current = await _get_json(self.url)
        if isinstance(current, dict):
            self._saved = {k: current[k] for k in s.faults if k in current}
        await _post(self.url, dict(s.faults), {}, 10.0)

    async def off(self) -> None:
        s = self.scenario
        if s.hook is not None:
            body = s.hook.body if s.hook.body is not None else {"scenario": s.name, "state": "off"}
            await _post(s.hook.off, body, s.hook.headers, s.hook.timeout_s)
            return
        assert self.url is not None
        if self._saved:
            await _post(self.url, self._saved, {}, 10.0)
        else:
            await _post(self.url + "/reset", {}, {}, 10.0)


def faults_url_of(suite: Suite, journey: Journey, scenario: Degradation) -> str:
    if scenario.faults_url:
        return scenario.faults_url
    from cujeval.load.engine import metrics_url_of

    url = metrics_url_of(suite.targets[journey.target])
    if url is None:
        from cujeval.errors import InputError

        raise InputError(
            f"scenario {scenario.name!r}: the target has no URL to find the faults endpoint "
            "at; give 'faults_url'",
            file=suite.path,
            line=scenario.line,
        )
    return url.removesuffix("/metrics") + "/admin/faults"
