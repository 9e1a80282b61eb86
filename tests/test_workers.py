"""The worker pool: answers, errors across the process boundary, real cancellation.

Time bounds here are generous on purpose (exact figures belong in the benchmark); they
still fail if a runaway query is not stopped or blocks other queries.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import queue
import shutil
import signal
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox
import pytest
import uvloop

from conftest import Bundled
from medkg import workers
from medkg.config import Settings
from medkg.errors import ConfigError, QuerySyntaxError, QueryTimeout, ServiceUnavailable
from medkg.execution import QueryJob, execute
from medkg.store import Closure, KnowledgeGraph, QueryKind
from medkg.web.engine import SnapshotFollower, build_engine, early_snapshot, start_workers
from medkg.workers import (
    CLOSURE_SUFFIX,
    FairQueue,
    Snapshot,
    WorkerPool,
    open_snapshot,
    snapshot_paths,
    write_early_snapshot,
    write_snapshot,
)

DEFAULT = ox.DefaultGraph()
T = TypeVar("T")

TIMEOUT = 2.0
SIMPLE = QueryJob(
    "ASK { res:ntu mkg:partnerOf res:sjtusm }", accept="application/sparql-results+json"
)
# A four-way cartesian product over ~5,000 triples: ~10^14 rows to count.
RUNAWAY = QueryJob("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }")
# An unbounded property path over every predicate.
RUNAWAY_PATH = QueryJob(
    "SELECT (COUNT(*) AS ?n) WHERE { ?x (<urn:p>|!<urn:p>)* ?y . ?y (<urn:p>|!<urn:p>)* ?z }"
)


@pytest.fixture(scope="module")
def snapshot(bundled: Bundled, tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return write_snapshot(bundled.kg, tmp_path_factory.mktemp("snapshot"))


@pytest.fixture(scope="module")
def pool(snapshot: Snapshot) -> Iterator[WorkerPool]:
    with WorkerPool(snapshot, size=2, timeout=TIMEOUT) as p:
        yield p


def _wait_for_workers(pool: WorkerPool, count: int, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while pool.live_workers < count or pool.idle_workers < count:
        assert time.monotonic() < deadline, "replacement workers did not start"
        time.sleep(0.05)


def _is_true(body: bytes) -> bool:
    return json.loads(body)["boolean"] is True


def test_answers_a_query(pool: WorkerPool) -> None:
    answer = pool.run(SIMPLE)
    assert answer.kind is QueryKind.ASK
    assert answer.media_type.startswith("application/sparql-results+json")
    assert _is_true(answer.body)


def test_errors_cross_the_process_boundary(pool: WorkerPool) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        pool.run(QueryJob("SELECT * WHERE { ?s ?p }"))
    assert info.value.line == 1 and info.value.column is not None
    assert _is_true(pool.run(SIMPLE).body), "the worker keeps serving after an error"


@pytest.mark.parametrize("runaway", [RUNAWAY, RUNAWAY_PATH], ids=["cartesian", "property-path"])
def test_runaway_query_is_killed_while_others_answer(pool: WorkerPool, runaway: QueryJob) -> None:
    _wait_for_workers(pool, 2)
    before = set(pool.worker_pids())
    outcome: dict[str, object] = {}

    def run_runaway() -> None:
        started = time.monotonic()
        try:
            pool.run(runaway)
        except QueryTimeout as exc:
            outcome["error"] = exc
        outcome["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=run_runaway)
    thread.start()
    time.sleep(0.3)  # the runaway now holds one worker
    started = time.monotonic()
    assert _is_true(pool.run(SIMPLE).body)
    simple_latency = time.monotonic() - started
    thread.join(TIMEOUT + 5)

    assert isinstance(outcome.get("error"), QueryTimeout)
    assert float(outcome["elapsed"]) < TIMEOUT + 1.0  # type: ignore[arg-type]
    assert simple_latency < 1.0, f"a simple query waited {simple_latency:.2f}s"
    killed = before - set(pool.worker_pids())
    assert len(killed) == 1, "exactly the runaway's worker was replaced"
    (pid,) = killed
    assert not Path(f"/proc/{pid}").exists(), "the killed worker's process is gone (CPU freed)"
    _wait_for_workers(pool, 2)
    assert _is_true(pool.run(SIMPLE).body)


def test_queries_run_in_parallel(pool: WorkerPool) -> None:
    _wait_for_workers(pool, 2)
    started = time.monotonic()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            pool.run(RUNAWAY)
        except QueryTimeout as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 3)
    elapsed = time.monotonic() - started
    assert len(errors) == 2
    assert elapsed < 2 * TIMEOUT, f"two runaways took {elapsed:.1f}s: they ran one after the other"
    _wait_for_workers(pool, 2)


def test_a_dead_idle_worker_is_replaced(pool: WorkerPool) -> None:
    _wait_for_workers(pool, 2)
    os.kill(pool.worker_pids()[0], 9)
    time.sleep(0.2)
    for _ in range(3):
        assert _is_true(pool.run(SIMPLE).body)
    _wait_for_workers(pool, 2)


def test_busy_pool_answers_service_unavailable(snapshot: Snapshot) -> None:
    with WorkerPool(snapshot, size=1, timeout=TIMEOUT, queue_timeout=0.2) as small:
        outcome: list[BaseException] = []

        def run_runaway() -> None:
            try:
                small.run(RUNAWAY)
            except QueryTimeout as exc:
                outcome.append(exc)

        thread = threading.Thread(target=run_runaway)
        thread.start()
        time.sleep(0.3)
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable):
            small.run(SIMPLE)
        assert time.monotonic() - started < 1.0
        thread.join(TIMEOUT + 5)
        assert len(outcome) == 1 and isinstance(outcome[0], QueryTimeout)


def test_pool_started_before_its_snapshot_answers_queries_sent_meanwhile(
    snapshot: Snapshot,
) -> None:
    """A pool started without a graph (``medkg serve`` starts its workers while it loads
    the graph): not ready, and a query sent meanwhile waits and is then answered."""
    with WorkerPool(None, size=2, timeout=TIMEOUT, queue_timeout=60) as starting:
        assert not starting.ready
        answers: list[bytes] = []
        errors: list[BaseException] = []

        def query() -> None:
            try:
                answers.append(starting.run(SIMPLE).body)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=query)
        thread.start()
        time.sleep(0.5)
        assert not answers and not errors, "the query waited for the graph"
        assert not starting.ready
        starting.switch(snapshot)
        thread.join(60)
        assert not errors and len(answers) == 1 and _is_true(answers[0])
        _wait_for_workers(starting, 2)
        assert starting.ready


def test_pool_without_a_snapshot_times_out_as_starting(snapshot: Snapshot) -> None:
    with WorkerPool(None, size=1, timeout=TIMEOUT, queue_timeout=0.2) as starting:
        with pytest.raises(ServiceUnavailable, match="starting"):
            starting.run(SIMPLE)
        assert starting.live_workers <= 1 and not starting.ready


def test_closing_a_starting_pool_stops_its_workers() -> None:
    starting = WorkerPool(None, size=2, timeout=TIMEOUT)
    deadline = time.monotonic() + 60
    while starting.live_workers < 2:
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.05)
    pids = starting.worker_pids()
    starting.close()
    assert starting.live_workers == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists(), "a worker of the closed pool still runs"


def test_workers_ignore_ctrl_c(pool: WorkerPool) -> None:
    """Ctrl-C signals the server's whole process group; the server stops its workers."""
    _wait_for_workers(pool, 2)
    pids = pool.worker_pids()
    for pid in pids:
        os.kill(pid, signal.SIGINT)
    time.sleep(0.3)
    assert pool.worker_pids() == pids
    for _ in range(4):
        assert _is_true(pool.run(SIMPLE).body)


def test_a_snapshot_reopens_as_the_same_graph(bundled: Bundled, snapshot: Snapshot) -> None:
    kg = open_snapshot(snapshot)
    original = bundled.kg.store
    # blank node labels are kept: the quads are equal as they are, not only up to renaming
    assert set(kg.closure_store) == set(original.quads_for_pattern(None, None, None, DEFAULT))
    assert set(kg.store) == set(original)
    assert set(kg.named_graphs) == set(original.named_graphs())
    assert any(isinstance(q.subject, ox.BlankNode) for q in kg.closure_store)


def test_closure_queries_do_not_read_the_whole_store(
    bundled: Bundled, snapshot: Snapshot, tmp_path: Path
) -> None:
    """A worker answers on the closure file alone; only queries that need named graphs
    read the whole store (here unreadable, so they fail with a clear error)."""
    full, closure = snapshot.paths()
    shutil.copy(closure, tmp_path / closure.name)
    (tmp_path / full.name).write_text("not N-Quads\n")
    kg = open_snapshot(dataclasses.replace(snapshot, cache_dir=tmp_path))
    assert kg.query(SIMPLE.query).boolean is True
    assert set(kg.graph_names()) == set(bundled.kg.graph_names())
    with pytest.raises(ConfigError, match="snapshot unreadable"):
        kg.query("ASK { GRAPH ?g { ?s ?p ?o } }")


def test_a_missing_snapshot_is_reported(snapshot: Snapshot, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing or unreadable"):
        open_snapshot(dataclasses.replace(snapshot, cache_dir=tmp_path))


def test_the_follower_deletes_only_old_snapshots_it_wrote(bundled: Bundled, tmp_path: Path) -> None:
    def version(key: str) -> KnowledgeGraph:
        kg = bundled.kg
        return KnowledgeGraph(
            kg.store,
            resources=kg.resources,
            sources=kg.sources,
            rules=kg.rules,
            key=key,
            from_cache=False,
        )

    directory = tmp_path / "snapshots"
    kept = write_snapshot(version("earlier"), directory)
    with WorkerPool(kept, size=1, timeout=TIMEOUT) as pool:
        follow = SnapshotFollower(pool, directory)
        keys = ["earlier", *(f"v{n}" for n in range(SnapshotFollower.KEEP + 2))]
        for key in keys:
            follow(version(key))
        assert pool.run(SIMPLE).count is None  # an ASK, answered on the last version
    present = {p.name for p in directory.iterdir()}
    expected = {
        name
        for key in ["earlier", *keys[-SnapshotFollower.KEEP :]]
        for name in (
            f"{key}.nq",
            f"{key}{CLOSURE_SUFFIX}",
        )
    }
    assert present == expected


# --------------------------------------------------------------------------------------------
# Handing idle workers to waiting requests


def _wait_for(condition: object, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.005)
    assert condition()  # type: ignore[operator]


def test_idle_workers_go_to_the_longest_waiting_request_first() -> None:
    fair: FairQueue[str] = FairQueue()
    got: dict[int, str] = {}
    threads = []
    for n in range(4):
        thread = threading.Thread(target=lambda n=n: got.__setitem__(n, fair.get(10)))
        thread.start()
        threads.append(thread)
        _wait_for(lambda n=n: len(fair._waiting) == n + 1)  # waiting in this order
    for item in "abcd":
        fair.put(item)
        # a request arriving now finds nothing idle: it cannot overtake the waiting ones
        with pytest.raises(queue.Empty):
            fair.get(0)
    for thread in threads:
        thread.join(10)
    assert got == {0: "a", 1: "b", 2: "c", 3: "d"}


def test_a_request_that_gives_up_leaves_no_trace() -> None:
    fair: FairQueue[str] = FairQueue()
    start = time.monotonic()
    with pytest.raises(queue.Empty):
        fair.get(0.05)
    assert time.monotonic() - start >= 0.05
    fair.put("a")  # kept for the next request, not handed to the one that gave up
    assert fair.qsize() == 1
    assert fair.get(0) == "a"


# --------------------------------------------------------------------------------------------
# Waiting on the event loop (what the endpoint does): the same pool, no thread per request

LOOPS = ["asyncio", "uvloop"]


def _run_on(loop: str, coroutine: Coroutine[object, object, T]) -> T:
    """``coroutine`` to completion on the standard event loop or on uvloop (the server's)."""
    factory = uvloop.new_event_loop if loop == "uvloop" else None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coroutine)


# Every triple of the closure: an answer far larger than a socket buffer, read in pieces.
EVERYTHING = QueryJob("SELECT * WHERE { ?s ?p ?o }", accept="application/sparql-results+json")


@pytest.mark.parametrize("loop", LOOPS)
def test_answers_on_the_event_loop_and_the_pipe_stays_blocking(pool: WorkerPool, loop: str) -> None:
    _wait_for_workers(pool, 2)

    async def run() -> list[bytes]:
        return [(await pool.run_async(job)).body for job in (SIMPLE, EVERYTHING, SIMPLE)]

    simple, everything, again = _run_on(loop, run())
    assert _is_true(simple) and _is_true(again)
    rows = json.loads(everything)["results"]["bindings"]
    assert len(everything) > 1_000_000 and len(rows) > 5_000
    # uvloop makes a watched descriptor non-blocking: a blocking read on it must still work
    assert len(pool.run(EVERYTHING).body) == len(everything)
    _wait_for_workers(pool, 2)


@pytest.mark.parametrize("loop", LOOPS)
def test_errors_reach_the_coroutine(pool: WorkerPool, loop: str) -> None:
    with pytest.raises(QuerySyntaxError):
        _run_on(loop, pool.run_async(QueryJob("SELECT * WHERE { ?s ?p }")))


@pytest.mark.parametrize("loop", LOOPS)
def test_a_runaway_is_killed_while_the_loop_and_other_queries_run_on(
    pool: WorkerPool, loop: str
) -> None:
    _wait_for_workers(pool, 2)
    before = set(pool.worker_pids())

    async def run() -> tuple[BaseException | None, float, int, float]:
        ticks = 0
        runaway = asyncio.ensure_future(pool.run_async(RUNAWAY))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        simple = await pool.run_async(SIMPLE)
        simple_latency = time.monotonic() - started
        assert _is_true(simple.body)
        while not runaway.done():
            ticks += 1
            await asyncio.sleep(0.01)
        return runaway.exception(), simple_latency, ticks, time.monotonic() - started

    error, simple_latency, ticks, elapsed = _run_on(loop, run())
    assert isinstance(error, QueryTimeout)
    assert elapsed < TIMEOUT + 1.0
    assert simple_latency < 1.0, f"a simple query waited {simple_latency:.2f}s"
    assert ticks > 50, "the event loop ran on while the runaway was timed"
    killed = before - set(pool.worker_pids())
    assert len(killed) == 1
    _wait_for_workers(pool, 2)


@pytest.mark.parametrize("loop", LOOPS)
def test_a_cancelled_request_kills_its_query(pool: WorkerPool, loop: str) -> None:
    _wait_for_workers(pool, 2)
    before = set(pool.worker_pids())

    async def run() -> None:
        runaway = asyncio.ensure_future(pool.run_async(RUNAWAY))
        await asyncio.sleep(0.3)
        runaway.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runaway

    started = time.monotonic()
    _run_on(loop, run())
    assert time.monotonic() - started < TIMEOUT, "the cancelled query was not waited for"
    killed = before - set(pool.worker_pids())
    assert len(killed) == 1, "the cancelled query's worker was stopped"
    (pid,) = killed
    assert not Path(f"/proc/{pid}").exists()
    _wait_for_workers(pool, 2)
    assert _is_true(pool.run(SIMPLE).body)


@pytest.mark.parametrize("loop", LOOPS)
def test_waiters_on_threads_and_on_the_loop_are_served_in_arrival_order(loop: str) -> None:
    fair: FairQueue[str] = FairQueue()
    got: dict[str, str] = {}
    thread = threading.Thread(target=lambda: got.__setitem__("thread", fair.get(10)))
    thread.start()
    _wait_for(lambda: len(fair._waiting) == 1)

    async def run() -> None:
        waiter = asyncio.ensure_future(fair.get_async(10))
        while len(fair._waiting) < 2:
            await asyncio.sleep(0.001)
        await asyncio.to_thread(fair.put, "a")  # from another thread, as a worker start does
        fair.put("b")  # from the loop itself, as a finished query does
        got["loop"] = await waiter

    _run_on(loop, run())
    thread.join(10)
    assert got == {"thread": "a", "loop": "b"}


@pytest.mark.parametrize("loop", LOOPS)
def test_a_waiter_on_the_loop_that_gives_up_or_is_cancelled_leaves_no_trace(loop: str) -> None:
    fair: FairQueue[str] = FairQueue()

    async def run() -> None:
        with pytest.raises(queue.Empty):
            await fair.get_async(0.05)
        assert not fair._waiting
        cancelled = asyncio.ensure_future(fair.get_async(10))
        behind = asyncio.ensure_future(fair.get_async(10))
        while len(fair._waiting) < 2:
            await asyncio.sleep(0.001)
        cancelled.cancel()  # while still queued: the item goes to it, then on to the next
        fair.put("a")
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert await behind == "a", "the cancelled waiter's item went to the next one"
        assert not fair._waiting and fair.qsize() == 0

    _run_on(loop, run())


# --------------------------------------------------------------------------------------------
# The early snapshot: workers load the closure while the server assembles its store


def test_the_closure_is_handed_over_before_the_store_and_matches_it(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path / "cache", use_cache=False)
    handed: list[Closure] = []
    kg = KnowledgeGraph.open(settings, on_closure=handed.append)
    (closure,) = handed
    assert set(closure.graphs) == set(kg.store.named_graphs())
    assert list(closure.graphs) == kg.named_graphs  # one order, the server's and the workers'
    default = {q.triple for q in kg.store.quads_for_pattern(None, None, None, DEFAULT)}
    in_store = ox.Store()  # terms as a store holds them ("1.0"^^xsd:decimal reads "1")
    in_store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in closure.triples())
    assert {q.triple for q in in_store} == default
    early = write_early_snapshot(closure, tmp_path / "snapshot")
    assert early is not None
    written = early.paths()[1].stat().st_mtime_ns
    assert write_snapshot(kg, tmp_path / "snapshot") == early
    assert early.paths()[1].stat().st_mtime_ns == written, "the closure file is kept"
    reopened = open_snapshot(early)
    assert {q.triple for q in reopened.closure_store} == default
    assert reopened.named_graphs == kg.named_graphs


def test_no_closure_is_handed_over_on_a_cache_hit(bundled: Bundled) -> None:
    handed: list[Closure] = []
    kg = KnowledgeGraph.open(Settings(cache_dir=bundled.cache_dir), on_closure=handed.append)
    assert kg.from_cache and not handed


def test_workers_given_the_early_snapshot_are_not_switched_again(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path / "cache", workers=1)
    pool = start_workers(settings)
    assert pool is not None
    with pool:
        kg = KnowledgeGraph.open(settings, on_closure=early_snapshot(settings, pool))
        assert pool.generation == 1 and pool.snapshot is not None
        assert pool.snapshot.paths()[1].is_file()
        assert build_engine(settings, kg, pool) is pool
        assert pool.generation == 1, "the same snapshot: the workers keep what they loaded"
        assert _is_true(pool.run(SIMPLE).body)
        # every graph: the cache entry, written in the background (a worker waits for it)
        named = QueryJob("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
        assert pool.run(named).body == execute(kg, named).body
        assert all(path.is_file() for path in pool.snapshot.paths())


def test_a_worker_waits_for_the_cache_entry_then_gives_up(
    bundled: Bundled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full, _ = snapshot_paths(tmp_path, bundled.kg.cache_key)
    written = write_snapshot(bundled.kg, tmp_path)
    entry = full.read_bytes()
    full.unlink()
    monkeypatch.setattr(workers, "FULL_SNAPSHOT_WAIT", 0.3)
    started = time.monotonic()
    with pytest.raises(ConfigError):
        _ = open_snapshot(written).store
    assert 0.3 <= time.monotonic() - started < 5
    later = open_snapshot(written)
    partial = full.with_name("partial.tmp")
    partial.write_bytes(entry)
    timer = threading.Timer(0.1, os.replace, args=(partial, full))  # atomic, as a cache save
    timer.start()
    assert len(later.store) == len(bundled.kg.store), "read once it is there"
    timer.join()
