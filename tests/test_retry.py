"""The retry policy's pieces: backoff waits, the adaptive limit, the give-up rule, pacing."""

from __future__ import annotations

import asyncio
import random

import pytest

from cujeval._util.retry import AdaptiveLimit, GiveUp, RateLimit, RetryPolicy
from cujeval.errors import RunAborted, TargetConnectError, TargetHTTPError
from cujeval.spec.targets import per_second


def test_waits_honour_retry_after_up_to_the_cap_else_full_jitter() -> None:
    policy = RetryPolicy(backoff_s=0.5, max_backoff_s=4.0, max_retry_after_s=30.0)
    rng = random.Random(0)
    assert policy.wait(0, 99999.0, rng) == 30.0
    assert policy.wait(3, 2.0, rng) == 2.0
    for attempt in range(8):
        w = policy.wait(attempt, None, rng)
        assert 0.0 <= w <= min(4.0, 0.5 * 2**attempt)


def test_adaptive_limit_halves_after_429_and_grows_back() -> None:
    limit = AdaptiveLimit(16, window_s=0.0)
    limit.throttled()
    assert limit.limit == 8
    limit.throttled()
    assert limit.limit == 4
    for _ in range(4):
        limit.success()
    assert limit.limit == 5  # one more per `limit` successes
    for _ in range(200):
        limit.success()
    assert limit.limit == 16  # never above the ceiling


def test_give_up_after_five_refused_connections_in_a_row() -> None:
    give_up = GiveUp(60.0)
    for _ in range(4):
        give_up.failure(TargetConnectError("refused"))
    with pytest.raises(RunAborted, match="unreachable"):
        give_up.failure(TargetConnectError("refused"))


def test_give_up_when_every_call_is_rate_limited_for_long_enough(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr("cujeval._util.retry.time.monotonic", lambda: now[0])
    give_up = GiveUp(60.0)
    busy = TargetHTTPError("429", status=429)
    give_up.failure(busy)
    now[0] += 30
    give_up.failure(busy)
    give_up.success()  # one success resets the clock
    now[0] += 100
    give_up.failure(busy)
    now[0] += 59
    give_up.failure(busy)
    now[0] += 2
    with pytest.raises(RunAborted, match="rate-limited every call for 61 s"):
        give_up.failure(busy)


def test_rate_limit_spaces_call_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("cujeval._util.retry.time.monotonic", lambda: now[0])
    monkeypatch.setattr("cujeval._util.retry.asyncio.sleep", fake_sleep)
    pace = RateLimit(per_second("600/min"))

    async def main() -> None:
        for _ in range(4):
            await pace.wait()

    asyncio.run(main())
    assert slept == pytest.approx([0.1, 0.2, 0.3])  # 10 per second, from one start time


@pytest.mark.parametrize(("text", "rate"), [("600/min", 10.0), ("5/s", 5.0), ("7200 / h", 2.0)])
def test_rate_limit_parses(text: str, rate: float) -> None:
    assert per_second(text) == rate


@pytest.mark.parametrize("text", ["fast", "0/s", "10/day", "-1/s"])
def test_rate_limit_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="rate_limit"):
        per_second(text)


def test_a_target_rate_limit_is_kept_and_a_bad_one_is_bad_input(
    tmp_path: object, fault_server: tuple[str, object]
) -> None:
    import json
    from pathlib import Path

    from tests.helpers import cujeval, write_suite

    root = Path(str(tmp_path))
    url, _ = fault_server
    suite = write_suite(
        root,
        url=f"{url}/answer",
        n=6,
        targets={"svc": {"kind": "http", "url": f"{url}/answer", "rate_limit": "200/s"}},
    )
    r = cujeval("run", str(suite), "--no-mlflow", "-o", str(root / "o"))
    assert r.returncode in (0, 1), r.stderr
    assert json.loads((root / "o" / "results.json").read_text())["journeys"][0]["n_rows"] == 6
    suite.write_text(suite.read_text().replace("200/s", "lots"))
    r = cujeval("run", str(suite), "--no-mlflow", "-o", str(root / "p"))
    assert r.returncode == 2 and "rate_limit" in r.stderr and "Traceback" not in r.stderr
