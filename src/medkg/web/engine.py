"""Query engines: what the endpoint hands each :class:`QueryJob` to.

An engine is anything with a blocking ``run(job) -> QueryAnswer`` that enforces the query
time limit itself (raising :class:`~medkg.errors.QueryTimeout`). The app calls it through
:func:`run_query`: on the event loop when the engine can wait there (``run_async``: the
worker pool, which only waits on its workers' pipes), else on a thread, so the event loop
never blocks. Optional extras the app uses when present: worker counts (for ``/health``)
and ``close()`` (at shutdown).

- :class:`LocalEngine` runs queries in the server process (``--workers 0``, the tests).
  A query past its limit is answered with a timeout but runs on in the background: a
  thread cannot be stopped. Use worker processes in production.
- :class:`~medkg.workers.WorkerPool` runs them in killable worker processes.

:func:`build_engine` picks the engine ``medkg serve`` uses. The worker processes are
started first, by :func:`start_workers` before the graph is loaded, so that they start
while it loads. After a write, the engine moves to the new version of the graph:
:meth:`LocalEngine.follow` swaps the graph, :class:`SnapshotFollower` writes the new
version's snapshot and switches the worker pool.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import shutil
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import anyio.to_thread

from medkg.config import Settings
from medkg.errors import ConfigError, QueryTimeout
from medkg.execution import QueryAnswer, QueryJob, execute
from medkg.store import Closure, KnowledgeGraph
from medkg.threads import call_with_large_stack
from medkg.workers import (
    WorkerPool,
    snapshot_of,
    snapshot_paths,
    write_early_snapshot,
    write_snapshot,
)

log = logging.getLogger(__name__)


class QueryEngine(Protocol):
    """Runs one query job to completion (blocking), within the time limit."""

    def run(self, job: QueryJob) -> QueryAnswer: ...


@runtime_checkable
class AsyncQueryEngine(Protocol):
    """An engine that can wait for a query's answer on the event loop."""

    async def run_async(self, job: QueryJob) -> QueryAnswer: ...


async def run_query(engine: QueryEngine, job: QueryJob) -> QueryAnswer:
    """``engine``'s answer to ``job``, without blocking the event loop."""
    if isinstance(engine, AsyncQueryEngine):
        return await engine.run_async(job)
    return await anyio.to_thread.run_sync(engine.run, job)


@runtime_checkable
class Closeable(Protocol):
    """An engine holding resources (processes) to release at shutdown."""

    def close(self) -> None: ...


class LocalEngine:
    """Runs each query in this process, on its own large-stack thread, with a time limit."""

    def __init__(self, kg: KnowledgeGraph, *, timeout: float | None = None) -> None:
        self.kg = kg
        self.timeout = timeout
        kg.planner.start()  # the join-order hints, measured before the first query

    def follow(self, kg: KnowledgeGraph) -> None:
        """Answer later queries from ``kg`` (a new version after a write)."""
        kg.planner.start()
        self.kg = kg

    def run(self, job: QueryJob) -> QueryAnswer:
        kg = self.kg
        try:
            return call_with_large_stack(execute, kg, job, timeout=self.timeout)
        except TimeoutError:
            assert self.timeout is not None
            raise QueryTimeout(self.timeout) from None


@runtime_checkable
class WorkerReporting(Protocol):
    """An engine of worker processes that reports on them (for ``/health``)."""

    @property
    def size(self) -> int: ...

    @property
    def live_workers(self) -> int: ...

    @property
    def idle_workers(self) -> int: ...

    @property
    def restarts(self) -> int: ...

    @property
    def ready(self) -> bool: ...


def _snapshot_dir(settings: Settings) -> Path:
    """Where the workers' snapshot lives: the closure cache, or a private temporary copy."""
    if settings.use_cache:
        return settings.cache_dir
    directory = tempfile.mkdtemp(prefix="medkg-snapshot-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return Path(directory)


class SnapshotFollower:
    """Moves a worker pool to each new version: writes its snapshot, switches the pool, and
    deletes the snapshots it wrote itself once they are :data:`KEEP` versions old."""

    KEEP = 3

    def __init__(self, pool: WorkerPool, directory: Path) -> None:
        self.pool = pool
        self.directory = directory
        self._written: deque[tuple[Path, ...]] = deque()

    def __call__(self, kg: KnowledgeGraph) -> None:
        existing = {p for p in snapshot_paths(self.directory, kg.cache_key) if p.is_file()}
        snapshot = write_snapshot(kg, self.directory)
        self.pool.switch(snapshot)
        self._written.append(tuple(p for p in snapshot.paths() if p not in existing))
        while len(self._written) > self.KEEP:
            for path in self._written.popleft():
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)


def version_follower(
    settings: Settings, engine: QueryEngine
) -> Callable[[KnowledgeGraph], None] | None:
    """What moves ``engine`` to a new version after a write (None for other engines)."""
    if isinstance(engine, LocalEngine):
        return engine.follow
    if isinstance(engine, WorkerPool) and engine.snapshot is not None:
        return SnapshotFollower(engine, engine.snapshot.cache_dir)
    return None


def early_snapshot(settings: Settings, workers: WorkerPool | None) -> Callable[[Closure], None]:
    """What hands ``workers`` a closure as soon as it is inferred (for
    ``KnowledgeGraph.open(on_closure=...)``): they load it while the server assembles its
    own store, which takes about as long. :func:`build_engine` then finds them on it."""

    def hand_over(closure: Closure) -> None:
        if workers is None:
            return
        snapshot = write_early_snapshot(closure, _snapshot_dir(settings))
        if snapshot is not None:
            workers.switch(snapshot)

    return hand_over


def start_workers(settings: Settings) -> WorkerPool | None:
    """The worker pool of ``settings`` (None for ``workers == 0``), started before the graph
    is loaded: its workers start meanwhile and wait for :func:`build_engine` to hand them
    the graph."""
    if settings.workers == 0:
        return None
    return WorkerPool(None, size=settings.workers, timeout=settings.timeout)


def build_engine(
    settings: Settings, kg: KnowledgeGraph, workers: WorkerPool | None = None
) -> QueryEngine:
    """The engine ``medkg serve`` uses: ``settings.workers`` killable worker processes, or
    in-process execution for ``workers == 0``. ``workers`` is a pool from
    :func:`start_workers`, given ``kg``'s snapshot here and returned at once (its
    workers may still be loading it); without one, a pool is started and waited for."""
    if settings.workers == 0:
        return LocalEngine(kg, timeout=settings.timeout)
    early = workers.snapshot if workers is not None else None
    if workers is not None and early is not None and early == snapshot_of(kg, early.cache_dir):
        # The workers load its closure already (from :func:`early_snapshot`). The rest, every
        # graph (about three times as large, read by a worker on its first query on named
        # graphs, which waits for it), is written while the server starts.
        threading.Thread(
            target=_write_rest, args=(kg, early.cache_dir), name="medkg-snapshot", daemon=True
        ).start()
        return workers
    snapshot = write_snapshot(kg, _snapshot_dir(settings))
    if workers is None:
        return WorkerPool(snapshot, size=settings.workers, timeout=settings.timeout)
    workers.switch(snapshot)
    return workers


def _write_rest(kg: KnowledgeGraph, directory: Path) -> None:
    try:
        write_snapshot(kg, directory)
    except ConfigError as exc:
        log.error("%s; queries on named graphs will fail", exc)
