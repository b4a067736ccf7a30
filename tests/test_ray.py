"""The Ray executor and Ray scoring, on a real Ray cluster of this machine: a head and a worker
node started as separate processes (``ray start``), shared by the session, on loopback.

The cluster is stopped by signalling the process groups the fixture started, not by
``ray stop``: that one ends every Ray process of the user on the machine, other runs' included.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from cujeval.engine.executors.ray import (
    RayOptions,
    _Dispatch,
    _host_port,
    parse_memory,
    split_evenly,
)
from cujeval.errors import InputError, RunAborted
from cujeval.spec.records import GoldenCase
from cujeval.spec.results import RunResult
from tests.helpers import cujeval, write_suite
from tests.servers import free_port, serve, serve_app

RAY = Path(sys.executable).with_name("ray")
SLICE = Path(__file__).resolve().parent / "data" / "ragtruth_slice.jsonl"
# The nodes listen on a loopback address: Ray replaces 127.0.0.1 itself with the machine's
# outward address, but takes any other address of 127/8 as it is.
NODE_IP = "127.0.0.2"
# Nodes and drivers authenticate with a token of this session's (not one from ~/.ray).
RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "token",
    "RAY_AUTH_TOKEN": secrets.token_hex(32),
}
NO_ERRORS = {"name": "no-errors", "good": "error == false", "target": 0.9}


# ------------------------------------------------------------------------------------------
# Without a cluster


def test_memory_amounts() -> None:
    assert parse_memory("1073741824") == 2**30
    assert parse_memory("2GiB") == parse_memory("2G") == 2 * 2**30
    assert parse_memory("1.5GB") == 1_500_000_000
    assert parse_memory("512 MiB") == 512 * 2**20
    with pytest.raises(ValueError, match="not an amount of memory"):
        parse_memory("lots")


def test_concurrency_split_across_actors_sums_to_the_suite_limit() -> None:
    assert split_evenly(8, 2) == [4, 4]
    assert split_evenly(7, 3) == [3, 2, 2]
    assert split_evenly(2, 5) == [1, 1]  # never more actors than calls allowed in flight
    assert sum(split_evenly(64, 6)) == 64


def test_options_from_the_environment_and_bad_values() -> None:
    env = {"CUJEVAL_RAY_CPUS": "2", "CUJEVAL_RAY_MEMORY": "1GiB", "CUJEVAL_RAY_ACTORS": "3"}
    opts = RayOptions.from_env(env)
    assert (opts.cpus, opts.memory, opts.actors) == (2.0, 2**30, 3)
    assert opts.actor_resources() == {"num_cpus": 2.0, "num_gpus": 0.0, "memory": 2**30}
    assert RayOptions.from_env(env, cpus=0.5).cpus == 0.5  # an argument wins over the env
    with pytest.raises(InputError, match="CUJEVAL_RAY_GPUS"):
        RayOptions.from_env({"CUJEVAL_RAY_GPUS": "one"})
    with pytest.raises(InputError, match="CUJEVAL_RAY_ACTORS"):
        RayOptions.from_env({"CUJEVAL_RAY_ACTORS": "0"})


def test_addresses_probed_before_connecting() -> None:
    assert _host_port("10.0.0.5:6379") == ("10.0.0.5", 6379)
    assert _host_port("[::1]:6379") == ("::1", 6379)
    assert _host_port("auto") is None and _host_port("ray://head:10001") is None


def _items(n: int) -> Iterator[tuple[GoldenCase, int]]:
    for i in range(n):
        yield GoldenCase(id=f"c{i}", input=f"q{i}"), 0


def test_dispatch_gives_a_dead_actors_cases_back_and_gives_up_on_a_case_that_kills() -> None:
    async def main() -> None:
        dispatch = _Dispatch(_items(5), shard_size=2, max_attempts=2)
        first = await dispatch.next_shard()
        second = await dispatch.next_shard()
        assert first is not None and second is not None
        assert [c.id for c, _ in first] == ["c0", "c1"]
        dispatch.give_back([first[1]], "actor died")  # c0 came back; c1 did not
        dispatch.finished()
        again = await dispatch.next_shard()
        assert again is not None and [c.id for c, _ in again] == ["c1", "c4"]
        waiter = asyncio.create_task(dispatch.next_shard())  # nothing left, but shards are out
        await asyncio.sleep(0)
        assert not waiter.done()
        dispatch.give_back([again[1]], "actor died")  # c4 back: the waiting lane takes it
        taken = await waiter
        assert taken is not None and [c.id for c, _ in taken] == ["c4"]
        with pytest.raises(RunAborted, match=r"'c1'.*died 2 times"):
            dispatch.give_back([again[0]], "actor died")
        for _ in range(3):
            dispatch.finished()
        assert await dispatch.next_shard() is None and dispatch.done.is_set()

    asyncio.run(main())


def test_unreachable_head_is_exit_3_with_a_clear_message(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, url="http://127.0.0.1:9/answer", n=2)
    port = free_port()  # nothing listens there
    done = cujeval(
        "run",
        str(suite),
        "--executor",
        "ray",
        "--ray-address",
        f"127.0.0.1:{port}",
        "--output",
        str(tmp_path / "o"),
        "--no-mlflow",
        "--no-progress",
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert f"the Ray head at 127.0.0.1:{port} is unreachable" in done.stderr
    assert "Traceback" not in done.stderr


def test_score_logs_bad_input_stops_before_any_cluster(tmp_path: Path) -> None:
    from cujeval.engine.executors.ray_score import score_logs
    from cujeval.errors import UnknownNameError

    logs = tmp_path / "logs.jsonl"
    logs.write_text('{"id": "1", "input": "q", "answer": "a", "contexts": ["c"]}\n')
    with pytest.raises(UnknownNameError, match="faithfulnes"):
        score_logs(logs, ["faithfulnes"], tmp_path / "out", address="127.0.0.1:9")
    with pytest.raises(InputError, match="no such file"):
        score_logs(tmp_path / "missing.jsonl", ["token_f1"], tmp_path / "out")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("")
    with pytest.raises(InputError, match="exists"):
        score_logs(logs, ["token_f1"], tmp_path / "taken")
    with pytest.raises(RunAborted, match="unreachable"):
        score_logs(logs, ["token_f1"], tmp_path / "out", address=f"127.0.0.1:{free_port()}")
    assert not (tmp_path / "out").exists()
    # the same through the command line: exit 3 naming the head, 2 for a judge, no traceback
    port = free_port()
    args = ("score", "--input", str(logs), "-s", "token_f1", "--executor", "ray")
    done = cujeval(*args, "--ray-address", f"127.0.0.1:{port}", "-o", str(tmp_path / "out"))
    assert done.returncode == 3 and f"127.0.0.1:{port}" in done.stderr, done.stderr
    done = cujeval(*args, "--judge-url", "http://127.0.0.1:9/v1", "-o", str(tmp_path / "o2"))
    assert done.returncode == 2 and "on Ray, offline scorers only" in done.stderr
    assert "Traceback" not in done.stderr


# ------------------------------------------------------------------------------------------
# The cluster


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process we can see."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        table[int(entry)] = (ppid, cmd.strip())
    return table


def _descendants(root: int, pattern: str) -> list[int]:
    """Processes under ``root`` whose command line matches ``pattern``."""
    table = _proc_table()
    out = []
    for pid, (_, cmd) in table.items():
        node = pid
        while node in table and node not in (0, 1):
            if node == root:
                if re.search(pattern, cmd):
                    out.append(pid)
                break
            node = table[node][0]
    return sorted(out)


class LocalRay:
    """A Ray head and worker nodes on this machine, each a ``ray start --block`` process in its
    own process group (so ending the group ends the node and nothing else)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cjray-"))  # short: Ray's socket paths
        self.port = free_port()
        self.head: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []

    @property
    def address(self) -> str:
        return f"{NODE_IP}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, **RAY_ENV, "PYTHONUNBUFFERED": "1"}

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        ports = {
            "--node-manager-port": free_port(),
            "--object-manager-port": free_port(),
            "--metrics-export-port": free_port(),
            "--dashboard-agent-listen-port": free_port(),
            "--dashboard-agent-grpc-port": free_port(),
            "--runtime-env-agent-port": free_port(),
        }
        cmd = [str(RAY), "start", *args, "--num-cpus", "1", "--node-ip-address", NODE_IP]
        cmd += ["--block", "--disable-usage-stats"]
        for flag, port in ports.items():
            cmd += [flag, str(port)]
        log = (self.root / f"{name}.log").open("wb")
        return subprocess.Popen(
            cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def nodes(self) -> int:
        done = subprocess.run(
            [str(RAY), "status", "--address", self.address],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        active = done.stdout.split("Pending:")[0]
        return len(re.findall(r"^\s*1 node_", active, re.MULTILINE)) if done.returncode == 0 else 0

    def _wait_nodes(self, n: int, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.nodes() >= n:
                return
            time.sleep(1)
        raise RuntimeError(f"the local Ray did not reach {n} node(s); logs in {self.root}")

    def start(self) -> None:
        self.head = self._start(
            "head",
            "--head",
            "--port",
            str(self.port),
            "--include-dashboard=false",
            "--dashboard-port",
            str(free_port()),
            "--temp-dir",
            str(self.root),
        )
        self._wait_nodes(1)
        self.add_worker()

    def add_worker(self) -> None:
        self.workers.append(self._start(f"worker{len(self.workers)}", "--address", self.address))
        self._wait_nodes(1 + sum(w.poll() is None for w in self.workers))

    @staticmethod
    def _end(proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(20)
        with contextlib.suppress(ProcessLookupError):  # what of the group outlived its leader
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def end_worker(self, proc: subprocess.Popen[bytes]) -> None:
        self._end(proc)
        self.workers.remove(proc)

    def stop(self) -> None:
        for proc in reversed(self.workers):
            self._end(proc)
        if self.head is not None:
            self._end(self.head)
        import shutil

        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[LocalRay]:
    cluster = LocalRay()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def _journal(out: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (out / "journal.jsonl").read_text().splitlines()]


def _run(
    suite: Path, out: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return cujeval(
        "run",
        str(suite),
        "--output",
        str(out),
        "--no-mlflow",
        "--no-progress",
        *extra,
        env=env,
        timeout=600,
    )


def _with_references(directory: Path, n: int) -> None:
    """The helper's dataset, plus a reference answer for token_f1 (half of them right)."""
    with (directory / "cases.jsonl").open("w") as f:
        for i in range(n):
            ref = f"You asked: question {i}" if i % 2 else f"Something about {i}"
            case = {"id": f"c{i:04d}", "input": f"question {i}", "relevant_ids": ["d1"]}
            f.write(json.dumps({**case, "reference": ref}) + "\n")


@pytest.mark.slow
def test_same_scores_and_verdicts_as_the_local_executor(
    ray_cluster: LocalRay, tmp_path: Path, fault_server: tuple[str, Any]
) -> None:
    url, _ = fault_server
    slos = [
        NO_ERRORS,
        {"name": "retrieval", "good": "precision@2 >= 0.5", "target": 0.8},
        {"name": "overlap", "good": "token_f1 >= 0.9", "target": 0.9},
        {"name": "grounded", "good": "faithfulness >= 0.5", "target": 0.5},
        {"name": "fast", "objective": "p95(latency_s) <= 5"},
    ]
    scorers = ["error", "latency_s", "precision@2", "token_f1", "faithfulness"]
    suite = write_suite(tmp_path, url=f"{url}/answer", n=8, scorers=scorers, slos=slos)
    _with_references(tmp_path, 8)
    local = _run(suite, tmp_path / "local")
    ray = _run(
        suite,
        tmp_path / "ray",
        "--executor",
        "ray",
        "--ray-address",
        ray_cluster.address,
        env=ray_cluster.env,
    )
    assert local.returncode == ray.returncode, ray.stderr
    a, b = RunResult.read(tmp_path / "local"), RunResult.read(tmp_path / "ray")
    assert b.status == "completed" and b.gate.passed == a.gate.passed
    verdicts = [{s.name: s.verdict for s in r.journeys[0].slos} for r in (a, b)]
    assert verdicts[0] == verdicts[1]
    assert verdicts[1]["overlap"] == "BREACHED"  # the comparison is not of two empty results

    def values(out: Path) -> dict[str, dict[str, Any]]:
        return {
            r["case_id"]: {k: s["value"] for k, s in r["scores"].items() if k != "latency_s"}
            for r in _journal(out)
        }

    by_case = values(tmp_path / "ray")
    assert len(by_case) == 8
    assert by_case == values(tmp_path / "local")
    assert {v["token_f1"] == 1.0 for v in by_case.values()} == {True, False}
    assert all(v["faithfulness"] is not None for v in by_case.values())


@pytest.mark.slow
def test_without_an_address_a_local_ray_starts_and_stops_with_the_run(
    tmp_path: Path, fault_server: tuple[str, Any]
) -> None:
    url, _ = fault_server
    suite = write_suite(tmp_path, url=f"{url}/answer", n=6, scorers=["error"], slos=[NO_ERRORS])
    before = set(Path(tempfile.gettempdir()).glob("cujeval-ray-*"))
    env = {**os.environ, **RAY_ENV, "CUJEVAL_RAY_LOCAL_CPUS": "2"}
    done = _run(suite, tmp_path / "o", "--executor", "ray", env=env)
    assert done.returncode == 0, done.stderr
    _exactly_once(tmp_path / "o", 6)
    assert set(Path(tempfile.gettempdir()).glob("cujeval-ray-*")) == before  # cleaned up
    left = [p for p, (_, cmd) in _proc_table().items() if "cujeval-ray-" in cmd]
    assert left == []  # its processes ended with it


def _counting_app(state: dict[str, int], delay_s: float) -> web.Application:
    """/answer as the fault server answers, counting calls in flight (and the most seen)."""
    lock = threading.Lock()

    async def answer(request: web.Request) -> web.StreamResponse:
        q = str((await request.json()).get("question", ""))
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
            state["calls"] += 1
        try:
            await asyncio.sleep(delay_s)
        finally:
            with lock:
                state["now"] -= 1
        return web.json_response({"answer": f"You asked: {q}", "contexts": [{"id": "d1"}]})

    app = web.Application()
    app.router.add_post("/answer", answer)
    return app


@pytest.mark.slow
def test_the_suites_concurrency_holds_across_the_cluster(
    ray_cluster: LocalRay, tmp_path: Path
) -> None:
    state = {"now": 0, "most": 0, "calls": 0}
    with serve_app(_counting_app(state, delay_s=0.1)) as url:
        suite = write_suite(
            tmp_path,
            url=f"{url}/answer",
            n=40,
            scorers=["error"],
            slos=[NO_ERRORS],
            settings={"concurrency": 3},
        )
        done = _run(
            suite,
            tmp_path / "o",
            "--executor",
            "ray",
            "--ray-address",
            ray_cluster.address,
            env=ray_cluster.env,
        )
    assert done.returncode == 0, done.stderr
    assert state["calls"] == 40  # no fault, so no case called twice
    assert 1 <= state["most"] <= 3  # two actors (2 + 1), never more than the suite allows


def _start_run(suite: Path, out: Path, cluster: LocalRay) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "cujeval.cli", "run", str(suite), "--output", str(out)]
    cmd += ["--no-mlflow", "--no-progress", "--executor", "ray", "--ray-address", cluster.address]
    return subprocess.Popen(cmd, env=cluster.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_rows(proc: subprocess.Popen[bytes], out: Path, n: int, timeout_s: float = 180) -> int:
    deadline = time.monotonic() + timeout_s
    lines = 0
    while lines < n and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
        if (out / "journal.jsonl").exists():
            lines = (out / "journal.jsonl").read_text().count("\n")
    assert proc.poll() is None, "the run ended before the fault"
    assert lines >= n, "the run did not get going"
    return lines


def _exactly_once(out: Path, n: int) -> None:
    keys = [(r["case_id"], r["epoch"]) for r in _journal(out)]
    assert len(keys) == n and len(set(keys)) == n
    (journey,) = RunResult.read(out).journeys
    assert journey.n_rows == n and journey.n_errors == 0


def _slow_suite(tmp_path: Path, url: str, n: int) -> Path:
    return write_suite(
        tmp_path,
        url=f"{url}/answer",
        n=n,
        scorers=["error", "latency_s"],
        slos=[NO_ERRORS],
        settings={"concurrency": 4},
    )


@pytest.mark.slow
def test_an_actors_worker_killed_mid_run_loses_no_case_and_doubles_none(
    ray_cluster: LocalRay, tmp_path: Path
) -> None:
    """SIGKILL to the process of the actor on the worker node: Ray restarts the actor, the
    driver re-sends the cases that had not come back; every case exactly once."""
    with serve(delay_s=0.4) as (url, log):
        out = tmp_path / "run"
        proc = _start_run(_slow_suite(tmp_path, url, 80), out, ray_cluster)
        _wait_rows(proc, out, 8)
        victims = _descendants(ray_cluster.workers[-1].pid, r"^ray::CaseWorker")
        assert victims, "no actor process on the worker node"
        os.kill(victims[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
        _exactly_once(out, 80)
        assert all(log.calls[f"answer:question {i}"] >= 1 for i in range(80))


@pytest.mark.slow
def test_driver_killed_then_resume_on_ray_calls_no_finished_case_again(
    ray_cluster: LocalRay, tmp_path: Path
) -> None:
    with serve(delay_s=0.3) as (url, log):
        suite = _slow_suite(tmp_path, url, 60)
        out = tmp_path / "run"
        proc = _start_run(suite, out, ray_cluster)
        _wait_rows(proc, out, 10)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        text = (out / "journal.jsonl").read_text()
        finished = {json.loads(x)["case_id"] for x in text[: text.rfind("\n") + 1].splitlines()}
        before = dict(log.calls)
        done = _run(
            suite,
            out,
            "--resume",
            "--executor",
            "ray",
            "--ray-address",
            ray_cluster.address,
            env=ray_cluster.env,
        )
        assert done.returncode == 0, done.stderr
        _exactly_once(out, 60)
        for case_id in finished:
            key = f"answer:question {int(case_id[1:])}"
            assert log.calls[key] == before[key], case_id


@pytest.mark.slow
def test_a_worker_nodes_raylet_killed_mid_run_loses_no_case_and_doubles_none(
    ray_cluster: LocalRay, tmp_path: Path
) -> None:
    """The whole worker node goes (its raylet killed): its actor cannot come back (the head
    has no room), and the head's actor finishes the journey; every case exactly once."""
    node = ray_cluster.workers[-1]
    try:
        with serve(delay_s=0.4) as (url, log):
            out = tmp_path / "run"
            proc = _start_run(_slow_suite(tmp_path, url, 60), out, ray_cluster)
            _wait_rows(proc, out, 8)
            raylets = _descendants(node.pid, r"/raylet/raylet ")
            assert len(raylets) == 1
            os.kill(raylets[0], signal.SIGKILL)
            _, err = proc.communicate(timeout=400)
            assert proc.returncode == 0, err.decode()
            _exactly_once(out, 60)
            assert all(log.calls[f"answer:question {i}"] >= 1 for i in range(60))
    finally:  # the next test gets two nodes again
        ray_cluster.end_worker(node)
        ray_cluster.add_worker()


@pytest.mark.slow
def test_score_logs_on_the_cluster_matches_cujeval_score(
    ray_cluster: LocalRay, tmp_path: Path
) -> None:
    from cujeval.engine.offline import score_file
    from cujeval.grounding.labelled import load_ragtruth

    rows = [
        {
            "id": r.id,
            "input": r.question,
            "answer": r.answer,
            "contexts": list(r.contexts),
            "reference": r.answer.split(".")[0],
            "hallucinated": r.hallucinated,
        }
        for r in load_ragtruth(SLICE)[:12]
    ]
    logs = tmp_path / "logs.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    score_file(logs, ["faithfulness", "token_f1"], tmp_path / "local.jsonl")
    local = {
        json.loads(x)["id"]: json.loads(x)["scores"]
        for x in (tmp_path / "local.jsonl").read_text().splitlines()
    }
    import pandas as pd

    pd.DataFrame(rows).to_parquet(tmp_path / "logs.parquet")
    script = (
        "import sys; from cujeval.engine.executors.ray_score import score_logs\n"
        "print(score_logs(sys.argv[1], ['faithfulness', 'token_f1'], sys.argv[2],"
        " address=sys.argv[3], batch_size=4))\n"
    )
    for source in ("logs.jsonl", "logs.parquet"):
        out = tmp_path / f"scored-{source.split('.')[1]}"
        src, address = str(tmp_path / source), ray_cluster.address
        command = [sys.executable, "-c", script, src, str(out), address]
        if source.endswith(".parquet"):  # the same through the command line
            command = [sys.executable, "-m", "cujeval.cli", "score", "--input", src]
            command += ["-s", "faithfulness", "-s", "token_f1", "--executor", "ray"]
            command += ["--ray-address", address, "--output", str(out)]
        done = subprocess.run(
            command, env=ray_cluster.env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr
        if source.endswith(".parquet"):
            assert f"scored 12 rows into {out}" in done.stderr
        else:
            assert done.stdout.strip().splitlines()[-1] == "12"
        scored = pd.read_parquet(out)
        assert sorted(scored["id"]) == sorted(local)
        assert set(scored.columns) >= {"answer", "contexts", "hallucinated", "scores"}
        for row in scored.to_dict("records"):
            mine = json.loads(row["scores"])
            assert {k: v["value"] for k, v in mine.items()} == {
                k: v["value"] for k, v in local[row["id"]].items()
            }
            assert row["score_faithfulness"] == pytest.approx(mine["faithfulness"]["value"])
            assert row["score_hallucination"] == float(mine["hallucination"]["value"])
