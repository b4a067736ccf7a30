"""The Ray executor: a journey's cases called and scored by actors on a Ray cluster.

The driver (cujeval.engine.run) keeps the journal, the columns and the gate, exactly as in a local
run; this module only moves the work. Per journey:

- ``A`` actors (:class:`CaseWorker`) each build the journey's target and scorers once, from
  the pickled Suite and the journey's name, so a scorer that loads a model loads it once per
  actor;
- the suite's ``concurrency`` C is split across them (actor *i* runs ``C // A`` cases at a time,
  one more for the first ``C % A``), so the target never sees more than C calls in flight from
  the whole cluster; a ``rate_limit`` is split the same way;
- cases go out in shards (two in flight per actor, so an actor never idles between shards) and
  each actor streams its rows back as they finish (a Ray streaming generator, rows batched when
  several finish together); the driver emits each row the moment it arrives;
- an actor that dies (its worker process or its node killed) is restarted by Ray
  (``max_restarts``); the cases of its shards that had not come back go to the other actors.
  A case is never emitted twice, and the driver keeps the first finished row of a case anyway;
  a case whose actor died ``max_case_attempts`` times ends the run (exit 3).

Where the cluster is: ``--ray-address HOST:PORT`` (or ``RAY_ADDRESS``, or ``auto``); without
one a local Ray starts with the run and stops with it (no dashboard, no usage stats, its files
in a temporary folder, bound to 127.0.0.1). A head that cannot be reached ends the run with
exit 3 and says so.

What each actor asks of the cluster, and how work is cut, come from :class:`RayOptions`
(keyword arguments of :class:`RayExecutor`, or ``CUJEVAL_RAY_*`` environment variables; see
:meth:`RayOptions.from_env`). ``ray`` itself is imported only when a run starts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import random
import re
import shutil
import socket
import sys
import tempfile
import threading
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cujeval._util.extras import missing
from cujeval.engine.executors import Emit, Item
from cujeval.errors import CujevalError, InputError, RunAborted

if TYPE_CHECKING:
    from cujeval.engine.plan import JourneyPlan
    from cujeval.spec.records import GoldenCase
    from cujeval.spec.suite import Settings, Suite

ENV_PREFIX = "CUJEVAL_RAY_"
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_memory(text: str) -> int:
    """``"2GiB"``, ``"512M"``, ``"1.5GB"``, ``"1073741824"`` -> bytes (K/M/G/T and KiB/MiB/...
    are powers of 1024, KB/MB/GB/TB of 1000)."""
    m = _MEMORY.match(text)
    if not m:
        raise ValueError(f"{text!r} is not an amount of memory (e.g. 2GiB, 512MiB, 1000000000)")
    number, unit, suffix = float(m.group(1)), m.group(2).lower(), m.group(3).lower()
    base = 1000 if suffix == "b" and unit else 1024
    return int(number * base ** _POWERS[unit])


@dataclass(frozen=True)
class RayOptions:
    """How the Ray executor uses the cluster.

    ``cpus``/``gpus``/``memory`` are what each actor reserves (Ray's ``num_cpus``, ``num_gpus``,
    ``memory``; memory in bytes). ``actors``: how many per journey (default: as many as the
    cluster's nodes hold, at most the suite's concurrency). ``shard_size``: cases per shard
    (default: twice the actor's concurrency). ``local_cpus``: CPUs of the Ray started when no
    address is given (default: all of this machine's). ``max_restarts``: Ray restarts of a dead
    actor. ``max_case_attempts``: actors a case may see die before the run ends.
    ``start_timeout_s``: how long an actor may take to start (placement, imports, models).
    ``connect_timeout_s``: how long the head may take to answer.
    """

    cpus: float = 1.0
    gpus: float = 0.0
    memory: int | None = None
    actors: int | None = None
    shard_size: int | None = None
    local_cpus: int | None = None
    max_restarts: int = 3
    max_case_attempts: int = 3
    start_timeout_s: float = 300.0
    connect_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        checks = {
            "cpus": self.cpus >= 0,
            "gpus": self.gpus >= 0,
            "memory": self.memory is None or self.memory > 0,
            "actors": self.actors is None or self.actors >= 1,
            "shard_size": self.shard_size is None or self.shard_size >= 1,
            "local_cpus": self.local_cpus is None or self.local_cpus >= 1,
            "max_restarts": self.max_restarts >= -1,
            "max_case_attempts": self.max_case_attempts >= 1,
            "start_timeout_s": self.start_timeout_s > 0,
            "connect_timeout_s": self.connect_timeout_s > 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise InputError(
                    f"{getattr(self, name)!r} is out of range", field=ENV_PREFIX + name.upper()
                )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: Any) -> RayOptions:
        """Options from ``given`` (keyword arguments that are not None), else from the
        environment: ``CUJEVAL_RAY_CPUS``, ``_GPUS``, ``_MEMORY`` (e.g. ``4GiB``), ``_ACTORS``,
        ``_SHARD_SIZE``, ``_LOCAL_CPUS``, ``_MAX_RESTARTS``, ``_MAX_CASE_ATTEMPTS``,
        ``_START_TIMEOUT_S``, ``_CONNECT_TIMEOUT_S``; else the defaults. A bad value is bad
        input (exit 2) naming the variable."""
        env = os.environ if environ is None else environ
        kinds: dict[str, Any] = {
            "cpus": float,
            "gpus": float,
            "memory": parse_memory,
            "actors": int,
            "shard_size": int,
            "local_cpus": int,
            "max_restarts": int,
            "max_case_attempts": int,
            "start_timeout_s": float,
            "connect_timeout_s": float,
        }
        values: dict[str, Any] = {}
        for name, kind in kinds.items():
            if given.get(name) is not None:
                values[name] = given[name]
                continue
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is None or not raw.strip():
                continue
            try:
                values[name] = kind(raw.strip())
            except ValueError as exc:
                raise InputError(
                    f"{raw!r} is not valid ({exc})", field=ENV_PREFIX + name.upper()
                ) from None
        unknown = set(given) - set(kinds)
        if unknown:
            raise TypeError(f"unknown Ray options: {', '.join(sorted(unknown))}")
        return cls(**values)

    def actor_resources(self) -> dict[str, Any]:
        """Ray's resource arguments for one actor."""
        out: dict[str, Any] = {"num_cpus": self.cpus, "num_gpus": self.gpus}
        if self.memory is not None:
            out["memory"] = self.memory
        return out

    def describe(self) -> str:
        parts = [f"{self.cpus:g} CPU"]
        if self.gpus:
            parts.append(f"{self.gpus:g} GPU")
        if self.memory is not None:
            parts.append(f"{self.memory / 2**30:.2f} GiB memory")
        return ", ".join(parts)


def require_ray() -> None:
    """InputError (exit 2) when Ray is not installed."""
    if hint := missing("ray", "the ray executor", "ray"):
        raise InputError(hint, field="--executor")


def split_evenly(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal positive shares (the first ones larger)."""
    parts = max(1, min(parts, total))
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a ``HOST:PORT`` address; None for ``auto``, ``ray://`` and the like."""
    if "://" in address or ":" not in address:
        return None
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    try:
        return (host, int(port)) if host else None
    except ValueError:
        return None


class Cluster:
    """One run's connection to Ray: the cluster at ``address`` (else ``RAY_ADDRESS``), or a
    local Ray started for the run and stopped by :meth:`close`. A connection made before (a
    notebook that called ``ray.init``) is used as it is and left open."""

    def __init__(self, address: str | None, options: RayOptions) -> None:
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.options = options
        self._started = False  # we called ray.init, so we call ray.shutdown
        self._temp_dir: str | None = None

    @property
    def description(self) -> str:
        return f"the Ray cluster at {self.address}" if self.address else "a local Ray"

    def connect(self) -> None:
        """Connect (or start a local Ray). RunAborted (exit 3) when the head is unreachable."""
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if self.address is None:
            # A Ray started for one run listens on 127.0.0.1 only. Read when ray is imported.
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        import ray

        if ray.is_initialized():
            return
        if self.address is None:
            self._start_local(ray)
        else:
            self._connect_remote(ray, self.address)

    def _start_local(self, ray: Any) -> None:
        # On this (the event loop's) thread: Ray ties the processes it starts to the thread
        # that started them, and a worker thread that ends would take the cluster with it.
        self._temp_dir = tempfile.mkdtemp(prefix="cujeval-ray-")
        try:
            ray.init(
                address="local",
                num_cpus=self.options.local_cpus or os.cpu_count() or 1,
                include_dashboard=False,
                _temp_dir=self._temp_dir,
                log_to_driver=False,
                logging_level=logging.ERROR,
            )
        except Exception as exc:
            self.close()
            raise RunAborted(f"could not start a local Ray: {type(exc).__name__}: {exc}") from None
        self._started = True

    def _connect_remote(self, ray: Any, address: str) -> None:
        timeout = self.options.connect_timeout_s
        where = _host_port(address)
        if where is not None:  # Ray itself retries an unreachable head for minutes
            try:
                socket.create_connection(where, timeout=timeout).close()
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                raise RunAborted(
                    f"the Ray head at {address} is unreachable ({reason}); start it with "
                    "`ray start --head --port PORT` or correct --ray-address"
                ) from None
        outcome: dict[str, BaseException | None] = {}

        def connect() -> None:
            try:
                ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
                outcome["error"] = None
            except BaseException as exc:
                outcome["error"] = exc

        # Connecting starts no process, so a thread may do it, and a head that takes a TCP
        # connection but never answers as Ray cannot hang the run.
        thread = threading.Thread(target=connect, name="cujeval-ray-connect", daemon=True)
        thread.start()
        thread.join(timeout + 20)
        if "error" not in outcome:
            raise RunAborted(
                f"the Ray head at {address} did not answer within {timeout + 20:g} s "
                "(is it a Ray head, and the same Ray version?)"
            )
        error = outcome["error"]
        if error is not None:
            raise RunAborted(
                f"could not connect to the Ray cluster at {address}: "
                f"{type(error).__name__}: {error}"
            ) from None
        self._started = True

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def actors_that_fit(self, options: RayOptions) -> int:
        """How many actors with ``options``' resources the cluster's live nodes hold."""
        import ray

        total = 0
        for node in ray.nodes():
            if not node.get("Alive"):
                continue
            have = node.get("Resources") or {}
            fits: list[float] = []
            for key, need in (
                ("CPU", options.cpus),
                ("GPU", options.gpus),
                ("memory", options.memory or 0),
            ):
                if need:
                    fits.append(float(have.get(key, 0.0)) // float(need))
            total += int(min(fits)) if fits else 64
        return total


# ---------------------------------------------------------------------------------------------
# The actor


@dataclass
class ShardResult:
    """What an actor streams back: rows finished since the last result; an error of cujeval's
    own tree (the target refused authorisation, gave up, ...) ends the shard and the run."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    error: CujevalError | None = None


def _portable(exc: CujevalError) -> CujevalError:
    """``exc`` if it survives pickling, else a RunAborted with its message."""
    try:
        copy = pickle.loads(pickle.dumps(exc))
    except Exception:
        return RunAborted(str(exc))
    return copy if isinstance(copy, CujevalError) else RunAborted(str(exc))


class CaseWorker:
    """One Ray actor of a journey: its target and scorers, built once; runs shards of cases
    with at most ``concurrency`` cases at a time (across its shards). Used through
    ``ray.remote``; a plain class so that importing this module does not import Ray."""

    def __init__(
        self,
        suite: Suite,
        journey: str,
        *,
        judge_epochs: int | None,
        settings: Settings,
        concurrency: int,
        rate_share: float,
        index: int,
        env: dict[str, str],
        cwd: str,
    ) -> None:
        # The driver's API keys (by the names the suite gives) and its working folder, so
        # relative paths (the judge's cache, python targets) mean what they mean locally.
        os.environ.update(env)
        if os.path.isdir(cwd):
            os.chdir(cwd)
            if cwd not in sys.path:
                sys.path.insert(0, cwd)
        from cujeval._util.retry import AdaptiveLimit, GiveUp, RateLimit
        from cujeval.engine.plan import build_scorers
        from cujeval.spec.targets import per_second
        from cujeval.targets import build_target

        plan = next(j for j in suite.journeys if j.name == journey)
        spec = suite.targets[plan.target]
        self.journey = journey
        self.settings = settings
        self.scorers = build_scorers(suite, plan, judge_epochs)
        self.target = build_target(plan.target, spec, concurrency=concurrency)
        self.rng = random.Random(settings.seed * 1_000_003 + index)
        self.window = AdaptiveLimit(concurrency)
        self.give_up = GiveUp(settings.give_up_after_s, what=f"target {self.target.name!r}")
        rate = getattr(spec, "rate_limit", None)
        self.pace = RateLimit(per_second(rate) * rate_share) if rate else None
        self.concurrency = concurrency
        self._slots: asyncio.Semaphore | None = None

    async def ready(self) -> dict[str, Any]:
        """Called once the actor is up: where it runs."""
        import ray

        return {"pid": os.getpid(), "node_id": ray.get_runtime_context().get_node_id()}

    async def _one(self, case: GoldenCase, epoch: int) -> dict[str, Any]:
        from cujeval.engine.case import case_row

        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        async with self._slots:
            return await case_row(
                self.journey,
                self.target,
                self.scorers,
                case,
                epoch,
                self.settings,
                self.rng,
                limit=self.window,
                give_up=self.give_up,
                pace=self.pace,
            )

    async def run_shard(self, shard: list[Item]) -> AsyncIterator[ShardResult]:
        """Run the shard's cases; stream their rows back as they finish (batched when several
        finish together)."""
        pending = {asyncio.create_task(self._one(case, epoch)) for case, epoch in shard}
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                result = ShardResult()
                for task in done:
                    exc = task.exception()
                    if exc is None:
                        result.rows.append(task.result())
                    elif isinstance(exc, CujevalError):
                        result.error = result.error or _portable(exc)
                    else:
                        raise exc
                yield result
                if result.error is not None:
                    return
        finally:
            for task in pending:
                task.cancel()

    async def close(self) -> None:
        await self.target.aclose()


# ---------------------------------------------------------------------------------------------
# The driver side


class _Dispatch:
    """Shards of the items for the actors' lanes; cases of a dead actor's shards come back to
    the front. ``done`` is set when every item was taken and no shard is out."""

    def __init__(self, items: Iterator[Item], shard_size: int, max_attempts: int) -> None:
        self._items = items
        self._exhausted = False
        self._back: deque[Item] = deque()
        self._deaths: Counter[tuple[str, int]] = Counter()
        self.shard_size = shard_size
        self.max_attempts = max_attempts
        self.out = 0
        self.done = asyncio.Event()
        self._changed = asyncio.Event()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _take(self) -> list[Item]:
        shard: list[Item] = []
        while self._back and len(shard) < self.shard_size:
            shard.append(self._back.popleft())
        while not self._exhausted and len(shard) < self.shard_size:
            try:
                shard.append(next(self._items))
            except StopIteration:
                self._exhausted = True
        return shard

    async def next_shard(self) -> list[Item] | None:
        """The next shard; None once everything is done. Waits while other lanes still have
        shards out (a dead actor's cases may yet come back)."""
        while True:
            changed = self._changed
            shard = self._take()
            if shard:
                self.out += 1
                return shard
            if self.out == 0:
                self.done.set()
                self._notify()
                return None
            await changed.wait()

    def finished(self) -> None:
        self.out -= 1
        self._notify()

    def give_back(self, items: list[Item], why: str) -> None:
        """Cases whose actor died before their rows came back: run them elsewhere."""
        for case, epoch in items:
            key = (case.id, epoch)
            self._deaths[key] += 1
            if self._deaths[key] >= self.max_attempts:
                raise RunAborted(
                    f"case {case.id!r} (epoch {epoch}) was on a Ray actor that died "
                    f"{self._deaths[key]} times (last: {why}); finished cases are kept, "
                    "--resume runs the rest"
                )
        self._back.extendleft(reversed(items))
        self._notify()


@dataclass
class _Slot:
    """One actor and what is known of it."""

    index: int
    handle: Any
    concurrency: int
    alive: bool = True
    error: str | None = None


def _key(row: Mapping[str, Any]) -> tuple[str, int]:
    return str(row["case_id"]), int(row.get("epoch", 0))


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def _forwarded_env(suite: Suite) -> dict[str, str]:
    """The environment variables the suite names for API keys, as this process has them."""
    names = {getattr(spec, "api_key_env", None) for spec in suite.targets.values()}
    if suite.judge:
        names.add(suite.judge.get("api_key_env"))
    return {n: os.environ[n] for n in names if isinstance(n, str) and n in os.environ}


class RayExecutor:
    """Journeys' cases on a Ray cluster; see the module's docstring."""

    LANES_PER_ACTOR = 2

    def __init__(
        self,
        suite: Suite,
        *,
        address: str | None = None,
        judge_epochs: int | None = None,
        options: RayOptions | None = None,
        **given: Any,
    ) -> None:
        require_ray()
        self.suite = suite
        self.judge_epochs = judge_epochs
        self.options = options if options is not None else RayOptions.from_env(**given)
        self.cluster = Cluster(address, self.options)
        self._connected = False
        self.placements: list[dict[str, Any]] = []  # where the last journey's actors ran

    async def _connect(self) -> None:
        if not self._connected:
            self.cluster.connect()
            self._connected = True

    def _actor_count(self, settings: Settings, n_items: int) -> int:
        if self.options.actors is not None:
            wanted = self.options.actors
        else:
            wanted = self.cluster.actors_that_fit(self.options)
            if wanted < 1:
                import ray

                raise RunAborted(
                    f"{self.cluster.description} has no node with room for one actor "
                    f"({self.options.describe()}; the cluster has "
                    f"{ray.cluster_resources()}); lower CUJEVAL_RAY_CPUS / _GPUS / _MEMORY, "
                    "or set CUJEVAL_RAY_ACTORS to wait for an autoscaler"
                )
        return max(1, min(wanted, settings.concurrency, n_items))

    def _start_actors(self, plan: JourneyPlan, settings: Settings, n_items: int) -> list[_Slot]:
        import ray

        count = self._actor_count(settings, n_items)
        shares = split_evenly(settings.concurrency, count)
        remote = ray.remote(CaseWorker).options(
            **self.options.actor_resources(),
            max_restarts=self.options.max_restarts,
            max_task_retries=0,  # the driver re-sends what a dead actor did not finish
            scheduling_strategy="SPREAD",
        )
        env, cwd = _forwarded_env(self.suite), os.getcwd()
        return [
            _Slot(
                index=i,
                handle=remote.remote(
                    self.suite,
                    plan.journey.name,
                    judge_epochs=self.judge_epochs,
                    settings=settings,
                    concurrency=share,
                    rate_share=share / settings.concurrency,
                    index=i,
                    env=env,
                    cwd=cwd,
                ),
                concurrency=share,
            )
            for i, share in enumerate(shares)
        ]

    async def _ready(self, slot: _Slot) -> bool:
        """Wait until the slot's actor is up (started, or restarted after a death); False
        when it is gone for good or does not come up within the start timeout."""
        import ray

        if not slot.alive:
            return False
        try:
            where = await asyncio.wait_for(
                self._ready_call(slot), timeout=self.options.start_timeout_s
            )
        except TimeoutError:
            slot.error = (
                f"actor {slot.index} did not start within {self.options.start_timeout_s:g} s "
                f"(needs {self.options.describe()})"
            )
        except ray.exceptions.RayError as exc:
            slot.error = f"actor {slot.index} could not start: {_why(exc)}"
        else:
            self.placements.append(where)
            return True
        slot.alive = False
        ray.kill(slot.handle, no_restart=True)
        return False

    @staticmethod
    async def _ready_call(slot: _Slot) -> dict[str, Any]:
        import ray

        while True:
            try:
                where: dict[str, Any] = await slot.handle.ready.remote()
                return where
            except ray.exceptions.ActorUnavailableError:  # restarting: ask again
                await asyncio.sleep(0.5)

    async def _lane(self, slot: _Slot, dispatch: _Dispatch, emit: Emit) -> None:
        """Feed one actor shard after shard; emit rows as they stream back."""
        import ray

        if not await self._ready(slot):
            return
        while True:
            shard = await dispatch.next_shard()
            if shard is None:
                return
            remaining = {(case.id, epoch): (case, epoch) for case, epoch in shard}
            try:
                stream = slot.handle.run_shard.options(num_returns="streaming").remote(shard)
                async for ref in stream:
                    result: ShardResult = await ref
                    for row in result.rows:
                        remaining.pop(_key(row), None)
                        emit(row)
                    if result.error is not None:
                        raise result.error
            except ray.exceptions.RayTaskError as exc:  # a bug, not a fault of the cluster
                raise RunAborted(f"a Ray actor failed: {_why(exc.cause or exc)}") from None
            except ray.exceptions.RayError as exc:  # the actor, its worker or its node died
                died = True
                dispatch.give_back(list(remaining.values()), _why(exc))
            else:
                died = False
            finally:
                # Before waiting for a restart: the shard is no longer out, so the journey can
                # end while this actor waits for a node with room.
                dispatch.finished()
            if died and not await self._ready(slot):
                return

    async def run(
        self, plan: JourneyPlan, items: Iterator[Item], settings: Settings, emit: Emit
    ) -> None:
        first = next(items, None)
        if first is None:  # everything finished already (--resume): no cluster needed
            return
        await self._connect()

        n_items = plan.info.n_cases * settings.epochs
        slots = self._start_actors(plan, settings, n_items)
        self.placements = []
        size = self.options.shard_size or 2 * max(s.concurrency for s in slots)
        dispatch = _Dispatch(_chain(first, items), size, self.options.max_case_attempts)
        lanes = [
            asyncio.create_task(self._lane(slot, dispatch, emit))
            for slot in slots
            for _ in range(self.LANES_PER_ACTOR)
        ]
        finished = asyncio.create_task(dispatch.done.wait())
        try:
            waiting: set[asyncio.Task[Any]] = {*lanes, finished}
            while not dispatch.done.is_set():
                ended, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                for task in ended:
                    error = None if task is finished else task.exception()
                    if error is not None:
                        raise error
                if waiting == {finished} and not dispatch.done.is_set():
                    errors = [s.error for s in slots if s.error]
                    raise RunAborted(
                        f"no Ray actor is left to run journey {plan.journey.name!r} on "
                        f"{self.cluster.description}"
                        + (f": {errors[0]}" if errors else "")
                        + "; finished cases are kept, --resume runs the rest"
                    )
        finally:
            for task in (*lanes, finished):
                task.cancel()
            await asyncio.gather(*lanes, finished, return_exceptions=True)
            await _close_actors(slots)

    async def aclose(self) -> None:
        if self._connected:
            self.cluster.close()
            self._connected = False


async def _close_actors(slots: list[_Slot], timeout_s: float = 10.0) -> None:
    """Let live actors close their targets' connections, then end them."""
    import ray

    live = [s for s in slots if s.alive]
    try:
        await asyncio.wait_for(
            asyncio.gather(*(s.handle.close.remote() for s in live), return_exceptions=True),
            timeout_s,
        )
    except (TimeoutError, asyncio.CancelledError):
        pass
    finally:
        for slot in slots:
            ray.kill(slot.handle, no_restart=True)


def _chain(first: Item, rest: Iterator[Item]) -> Iterator[Item]:
    yield first
    yield from rest


__all__ = ["CaseWorker", "Cluster", "RayExecutor", "RayOptions", "ShardResult", "parse_memory"]
