"""The reference service's degradation knobs, switched at run time over /admin/faults, its
/metrics and its Server-Timing steps, on real HTTP servers (in-process, sharing one index)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import Callable

import pytest
from reference_http import DIRECT, get_json, post_json

from cujeval.reference.engine import FALLBACK_ANSWER
from cujeval.reference.rag import Slots

Serve = Callable[..., str]
QUESTION = "How long is a magic link valid?"


def _post_with_headers(url: str, body: dict[str, object]) -> tuple[int, dict[str, str], object]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with DIRECT.open(request, timeout=60) as response:
        return response.status, dict(response.headers), json.load(response)


def _server_timing(header: str) -> dict[str, float]:
    out = {}
    for part in header.split(","):
        name, _, dur = part.strip().partition(";dur=")
        out[name] = float(dur)
    return out


def _metrics(url: str) -> dict[str, float]:
    with DIRECT.open(f"{url}/metrics", timeout=30) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def test_answers_carry_server_timing_of_retrieval_and_generation(serve: Serve) -> None:
    url = serve(seed=7100, retriever_latency_ms=60.0, generator_latency_ms=30.0)
    status, headers, _ = _post_with_headers(f"{url}/answer", {"question": QUESTION})
    assert status == 200
    steps = _server_timing(headers["server-timing"])
    assert set(steps) == {"retrieval", "generation"}
    assert steps["retrieval"] >= 60.0  # the injected sleeps happened inside their steps
    assert steps["generation"] >= 30.0


def test_retriever_down_falls_back_and_without_fallback_invents(serve: Serve) -> None:
    url = serve(seed=7101)
    try:
        status, knobs = post_json(f"{url}/admin/faults", {"retriever_down": 1.0})
        assert status == 200 and knobs["retriever_down"] == 1.0 and knobs["fallback"] is True
        _, body = post_json(f"{url}/answer", {"question": QUESTION})
        assert body["answer"] == FALLBACK_ANSWER
        assert body["contexts"] == []

        post_json(f"{url}/admin/faults", {"fallback": False})
        _, body = post_json(f"{url}/answer", {"question": QUESTION})
        assert body["contexts"] == []
        assert body["answer"] != FALLBACK_ANSWER
        assert any(ch.isdigit() for ch in body["answer"])  # specific, invented facts
        assert "[kb-" not in body["answer"]  # and nothing it could cite
    finally:
        status, knobs = post_json(f"{url}/admin/faults/reset", {})
    assert status == 200 and knobs["retriever_down"] == 0.0 and knobs["fallback"] is True
    _, body = post_json(f"{url}/answer", {"question": QUESTION})
    assert len(body["contexts"]) == 4


def test_partial_contexts_loses_the_top_half_of_the_ranking(serve: Serve) -> None:
    whole = post_json(f"{serve(seed=7102)}/answer", {"question": QUESTION})[1]
    part = post_json(f"{serve(seed=7102, partial_contexts=1.0)}/answer", {"question": QUESTION})[1]
    assert [c["id"] for c in part["contexts"]] == [c["id"] for c in whole["contexts"]][2:]


def test_bad_knobs_are_refused_and_change_nothing(serve: Serve) -> None:
    url = serve(seed=7103)
    status, body = post_json(f"{url}/admin/faults", {"error_rate": 0.5, "retriever_dwn": 1})
    assert status == 400 and "retriever_dwn" in body["error"]["message"]
    status, body = post_json(f"{url}/admin/faults", {"retriever_down": 2})
    assert status == 400 and "retriever_down" in body["error"]["message"]
    assert get_json(f"{url}/admin/faults")[1]["error_rate"] == 0.0


def test_admin_routes_refuse_clients_off_loopback() -> None:
    from fastapi.testclient import TestClient

    from cujeval.reference.corpus import default_corpus_path
    from cujeval.reference.rag import RagConfig, create_app

    client = TestClient(create_app(RagConfig(corpus=default_corpus_path())))  # host "testclient"
    assert client.get("/admin/faults").status_code == 403
    assert client.post("/admin/faults", json={"error_rate": 1.0}).status_code == 403


def test_metrics_show_requests_in_flight_queued_and_answered(serve: Serve) -> None:
    url = serve(seed=7104, latency_ms=400.0, max_concurrency=1)
    threads = [
        threading.Thread(target=post_json, args=(f"{url}/answer", {"question": QUESTION}))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    seen: dict[str, float] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        seen = _metrics(url)
        if seen["cujeval_rag_queue_depth"] >= 1:
            break
        time.sleep(0.02)
    for t in threads:
        t.join()
    assert seen["cujeval_rag_queue_depth"] >= 1
    assert seen["cujeval_rag_in_flight_requests"] >= 2
    assert seen["cujeval_rag_generation_active"] == 1
    assert seen["cujeval_rag_generation_slots"] == 1
    after = _metrics(url)
    assert after['cujeval_rag_requests_total{route="/answer",status="200"}'] == 3
    assert after["cujeval_rag_in_flight_requests"] == 0
    assert after["process_cpu_seconds_total"] > 0


def test_a_queued_request_reports_its_wait_as_a_step(serve: Serve) -> None:
    url = serve(seed=7105, latency_ms=300.0, max_concurrency=1)
    first = threading.Thread(target=post_json, args=(f"{url}/answer", {"question": QUESTION}))
    first.start()
    time.sleep(0.1)
    _, headers, _ = _post_with_headers(f"{url}/answer", {"question": QUESTION})
    first.join()
    steps = _server_timing(headers["server-timing"])
    assert set(steps) == {"retrieval", "queue", "generation"}
    assert steps["generation"] >= 300.0


def test_slots_hand_over_in_order_and_survive_a_cancelled_waiter() -> None:
    async def main() -> list[str]:
        limit = 1
        slots = Slots(lambda: limit)
        order: list[str] = []

        async def worker(name: str, hold: float) -> None:
            await slots.acquire()
            order.append(name)
            await asyncio.sleep(hold)
            slots.release()

        a = asyncio.create_task(worker("a", 0.05))
        await asyncio.sleep(0)
        b = asyncio.create_task(worker("b", 0))
        c = asyncio.create_task(worker("c", 0))
        await asyncio.sleep(0)
        assert slots.waiting == 2
        b.cancel()
        await asyncio.gather(a, c, return_exceptions=True)
        assert slots.active == 0 and slots.waiting == 0
        return order

    assert asyncio.run(main()) == ["a", "c"]


@pytest.mark.parametrize(
    "changes",
    [{"stall_ms": -1}, {"fallback": "no"}, {"max_concurrency": 1.5}, {"partial_contexts": 1.5}],
)
def test_knob_values_are_checked(changes: dict[str, object]) -> None:
    from cujeval.errors import InputError
    from cujeval.reference.faults import Knobs

    with pytest.raises(InputError):
        Knobs().update(changes)
