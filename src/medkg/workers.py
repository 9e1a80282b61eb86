"""A pool of query worker processes that can be killed.

Neither rdflib's SPARQL engine nor pyoxigraph can cancel a running query, and a Python
thread cannot be stopped. A query that runs past its time limit would keep its CPU and
block every request behind it. So each query runs in a worker process, and a query that
overruns is stopped by killing its worker. The caller gets ``QueryTimeout`` before any
result byte was sent, and a fresh worker takes the dead one's place in the background.

Each worker rebuilds the closed knowledge graph from a *snapshot* sent to it over its pipe:
the N-Quads cache entry of :mod:`medkg.cache` (every graph) and the default graph alone
(the closure, about a third of the quads). A worker reports ready once it has read the
closure, which answers every query on the default graph; the whole store is read on the
first query that needs named graphs (a worker that never gets one never holds it).
Nothing is recomputed. Workers are forked from a fork server that
imported this module once (:mod:`medkg.processes`; spawned where there is none), so a
worker starts in milliseconds and never inherits the server's threads or locks. A pool can
be started before the graph is loaded; its workers then wait for the first snapshot.

The endpoint waits for a worker's answer on its event loop (:meth:`WorkerPool.run_async`:
the loop watches the worker's pipe); other callers block a thread (:meth:`WorkerPool.run`).

::

    request (coroutine or thread) --job--> idle queue --> worker process (execute(kg, job))
         |                                         |
         +<------- ("ok", QueryAnswer) ------------+
         +<------- ("error", MedkgError) ----------+
         +-- no answer within timeout: kill worker, start a replacement, QueryTimeout
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Generic, TypeVar

import pyoxigraph as ox

from medkg import sandbox
from medkg.cache import ClosureCache
from medkg.config import Resources
from medkg.errors import ConfigError, MedkgError, QueryTimeout, ServiceUnavailable
from medkg.execution import QueryAnswer, QueryJob, execute
from medkg.loading import SourceFile
from medkg.processes import WorkerContext, worker_context
from medkg.store import Closure, KnowledgeGraph
from medkg.threads import run_with_large_stack

log = logging.getLogger(__name__)

#: How long a worker may take to load its snapshot and report ready.
START_TIMEOUT = 300.0
#: First and longest pause between attempts to start a replacement worker, seconds.
REPLACEMENT_RETRY_START = 0.1
REPLACEMENT_RETRY_MAX = 5.0
#: How long closing the pool waits for each worker start under way to stop.
CLOSE_TIMEOUT = 30.0


#: Suffix of a snapshot's closure file: the default graph alone (the whole closure), as
#: N-Triples, beside the cache entry ``<key>.nq``.
CLOSURE_SUFFIX = ".closure.nt"


@dataclass(frozen=True)
class Snapshot:
    """What a worker needs to rebuild the closed knowledge graph without recomputing it:
    the cache entry ``<key>.nq`` (every graph) and ``<key>.closure.nt`` (the default graph
    alone), and the names of the named graphs."""

    cache_dir: Path
    key: str
    resources: Resources
    sources: tuple[SourceFile, ...]
    rules: tuple[Path, ...]
    graphs: tuple[ox.NamedNode | ox.BlankNode, ...] = ()

    def paths(self) -> tuple[Path, Path]:
        """The files a snapshot is made of: every graph, and the closure alone."""
        return snapshot_paths(self.cache_dir, self.key)


def snapshot_paths(directory: Path, key: str) -> tuple[Path, Path]:
    """The files of the snapshot of ``key`` in ``directory``: every graph (the closure
    cache's entry), and the closure alone."""
    return ClosureCache(directory).path_for(key), directory / f"{key}{CLOSURE_SUFFIX}"


def snapshot_of(kg: KnowledgeGraph, directory: Path) -> Snapshot:
    """The snapshot of ``kg`` in ``directory`` (whether written yet or not)."""
    return Snapshot(
        directory,
        kg.cache_key,
        kg.resources,
        tuple(kg.sources),
        tuple(kg.rules),
        tuple(kg.named_graphs),
    )


def write_snapshot(kg: KnowledgeGraph, directory: Path) -> Snapshot:
    """Save ``kg``'s closed dataset under ``directory`` (unless already there)."""
    cache = ClosureCache(directory)
    snapshot = snapshot_of(kg, directory)
    full, closure = snapshot.paths()
    if not closure.is_file() and not _write_closure(
        lambda tmp: kg.store.dump(tmp, format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()),
        closure,
    ):
        raise ConfigError("cannot write the query workers' snapshot", where=str(directory))
    if not full.is_file() and cache.save(kg.cache_key, kg.store) is None:
        raise ConfigError("cannot write the query workers' snapshot", where=str(directory))
    return snapshot


def write_early_snapshot(closure: Closure, directory: Path) -> Snapshot | None:
    """The snapshot of a graph whose store is still being assembled: its closure file is
    written now, so that workers can load it meanwhile; :func:`write_snapshot` adds the
    cache entry (read only by a query on named graphs) once the store is there, before any
    query is served. None if the file cannot be written (:func:`write_snapshot` then
    reports it)."""
    snapshot = Snapshot(
        directory,
        closure.key,
        closure.resources,
        tuple(closure.sources),
        tuple(closure.rules),
        closure.graphs,
    )
    target = snapshot.paths()[1]
    written = target.is_file() or _write_closure(
        lambda tmp: ox.serialize(closure.triples(), tmp, ox.RdfFormat.N_TRIPLES), target
    )
    return snapshot if written else None


def _write_closure(write: Callable[[Path], object], target: Path) -> bool:
    """``write(path)`` the closure to ``target`` atomically; False if not writable."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, target)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return False
    return True


def _read_store(path: Path, fmt: ox.RdfFormat) -> ox.Store:
    """A store with the quads of ``path`` (written by medkg: parsed leniently), blank node
    labels kept (``Store.load`` would rename them)."""
    store = ox.Store()
    store.extend(ox.parse(path=path, format=fmt, lenient=True))
    return store


#: How long a worker waits for the snapshot's cache entry, written after its closure file
#: (see ``medkg.web.engine.build_engine``).
FULL_SNAPSHOT_WAIT = 120.0


def _wait_for_file(path: Path, timeout: float) -> None:
    """Return once ``path`` exists (written atomically), or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not path.is_file() and time.monotonic() < deadline:
        time.sleep(0.02)


def open_snapshot(snapshot: Snapshot) -> KnowledgeGraph:
    """The knowledge graph a snapshot holds (used inside each worker). It reads the closure
    file (about a third of the quads), which answers every query on the default graph; the
    whole store is read on the first query that needs it (named graphs, the asserted or
    the inferred graph alone)."""
    full, closure_path = snapshot.paths()
    try:
        closure = _read_store(closure_path, ox.RdfFormat.N_TRIPLES)
    except (SyntaxError, ValueError, OSError):
        raise ConfigError(
            "query worker snapshot missing or unreadable", where=str(snapshot.cache_dir)
        ) from None

    def load() -> ox.Store:
        try:
            _wait_for_file(full, FULL_SNAPSHOT_WAIT)
            return _read_store(full, ox.RdfFormat.N_QUADS)
        except (SyntaxError, ValueError, OSError):
            raise ConfigError(
                "query worker snapshot unreadable", where=str(snapshot.cache_dir)
            ) from None

    return KnowledgeGraph(
        load,
        resources=snapshot.resources,
        sources=snapshot.sources,
        rules=snapshot.rules,
        key=snapshot.key,
        from_cache=True,
        closure=closure,
        graphs=snapshot.graphs,
    )


def _portable(exc: MedkgError) -> MedkgError:
    """``exc`` if it survives pickling, else a plain MedkgError with the same text."""
    try:
        pickle.loads(pickle.dumps(exc))
    except (pickle.PicklingError, TypeError, AttributeError):
        return MedkgError(str(exc))
    return exc


def _load_and_report(
    conn: Connection, snapshot: Snapshot, current: KnowledgeGraph | None
) -> KnowledgeGraph | None:
    """Load ``snapshot`` and report ("ready", pid); if it is gone, report ("stale", pid)
    and keep ``current``."""
    sandbox.install([*sandbox.resource_dirs(snapshot.resources), snapshot.cache_dir])
    try:
        kg = open_snapshot(snapshot)
    except ConfigError:
        conn.send(("stale", os.getpid()))
        return current
    kg.planner.start()  # the join-order hints, measured while the worker is idle
    conn.send(("ready", os.getpid()))
    return kg


def _worker_main(conn: Connection) -> None:
    """A worker process: answer jobs until told to stop. A ``Snapshot`` sent instead of a
    job (first, and again after each write) replaces the graph the jobs run on."""
    # Ctrl-C reaches the whole process group: the server stops its workers itself (a None
    # message, else a kill; a closed pipe if it dies), so a worker does not stop on its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The whole loop runs on a large stack: pyoxigraph recurses on long chains in the text.
    run_with_large_stack(_serve_jobs, conn)


def _serve_jobs(conn: Connection) -> None:
    # A snapshot deleted before the worker got to it (newer writes) is reported as stale;
    # the pool then sends the current one.
    kg: KnowledgeGraph | None = None
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        if isinstance(job, Snapshot):
            kg = _load_and_report(conn, job, kg)
            continue
        if kg is None:
            conn.send(("error", ServiceUnavailable("the query worker has no graph loaded")))
            continue
        try:
            conn.send(("ok", execute(kg, job)))
        except MedkgError as exc:
            conn.send(("error", _portable(exc)))
        except Exception as exc:  # a defect in execute: report it, keep the worker alive
            conn.send(("defect", f"{type(exc).__name__}: {exc}"))


W = TypeVar("W")


class FairQueue(Generic[W]):
    """Idle workers handed to waiting requests first come, first served, whether a request
    waits on a thread (:meth:`get`) or on the event loop (:meth:`get_async`).

    ``queue.Queue`` lets a request that arrives just as a worker comes back take it ahead
    of the requests already waiting (the woken one finds the queue empty again and waits
    on), so under load a few requests could wait far longer than the rest. Here a worker
    coming back goes straight to the request that has waited longest.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: deque[W] = deque()
        self._waiting: deque[_Waiter[W]] = deque()

    def put(self, item: W) -> None:
        """Hand ``item`` to the longest-waiting request, or keep it until one asks."""
        with self._lock:
            if not self._waiting:
                self._idle.append(item)
                return
            waiter = self._waiting.popleft()
            waiter.item = item
        waiter.wake()

    def _wait_or_take(self, waiter: _Waiter[W]) -> W | None:
        """An idle item at once, else None with ``waiter`` queued."""
        with self._lock:
            if self._idle:  # then nobody waits: a returned item goes to a waiter first
                return self._idle.popleft()
            self._waiting.append(waiter)
            return None

    def _given_or_leave(self, waiter: _Waiter[W]) -> W | None:
        """The item ``waiter`` was given (perhaps just as its wait ended), else None with
        ``waiter`` out of the queue."""
        with self._lock:
            if waiter.item is not None:
                return waiter.item
            self._waiting.remove(waiter)
            return None

    def get(self, timeout: float) -> W:
        """An idle item, after the requests that were waiting before this one; raises
        ``queue.Empty`` after ``timeout`` seconds."""
        given = threading.Event()
        waiter: _Waiter[W] = _Waiter(given.set)
        item = self._wait_or_take(waiter)
        if item is None:
            given.wait(timeout)
            item = self._given_or_leave(waiter)
        if item is None:
            raise queue.Empty
        return item

    async def get_async(self, timeout: float) -> W:
        """:meth:`get` for a coroutine: the event loop runs on while it waits. If the
        waiting task is cancelled, an item it was given meanwhile goes to the next one."""
        loop = asyncio.get_running_loop()
        given: asyncio.Future[None] = loop.create_future()
        waiter: _Waiter[W] = _Waiter(lambda: loop.call_soon_threadsafe(_settle, given))
        item = self._wait_or_take(waiter)
        if item is None:
            try:
                await asyncio.wait_for(given, timeout)
            except TimeoutError:
                pass
            except asyncio.CancelledError:
                item = self._given_or_leave(waiter)
                if item is not None:
                    self.put(item)
                raise
            item = self._given_or_leave(waiter)
        if item is None:
            raise queue.Empty
        return item

    def qsize(self) -> int:
        """Items idle now."""
        with self._lock:
            return len(self._idle)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Waiter(Generic[W]):
    """One request waiting in a :class:`FairQueue`, the item it was given, and how to
    wake it (from any thread)."""

    __slots__ = ("item", "wake")

    def __init__(self, wake: Callable[[], object]) -> None:
        self.wake = wake
        self.item: W | None = None


async def _readable(conn: Connection, timeout: float) -> bool:
    """Whether ``conn`` has something to read within ``timeout`` seconds, waiting on the
    event loop instead of a thread."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    fd = conn.fileno()
    loop.add_reader(fd, _settle, ready)
    try:
        await asyncio.wait_for(ready, timeout)
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(fd)
        # libuv (uvloop) makes a watched descriptor non-blocking; the pipe's reads block
        os.set_blocking(fd, True)
    return True


class _Worker:
    """One worker process and the parent's end of its pipe. It starts with no graph: the
    pool sends it a snapshot to load (:meth:`send_snapshot`, :meth:`wait_ready`)."""

    def __init__(self, context: WorkerContext) -> None:
        self.generation = -1  # of the snapshot it has loaded; -1: none yet
        self._kill_lock = threading.Lock()
        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(
            target=_worker_main, args=(child,), daemon=True, name="medkg-query-worker"
        )
        self.process.start()
        child.close()

    def send_snapshot(self, snapshot: Snapshot) -> bool:
        """Tell the worker to load ``snapshot``; False if it cannot be reached."""
        try:
            self.conn.send(snapshot)
        except (BrokenPipeError, OSError):
            return False
        return True

    def reload(self, snapshot: Snapshot, generation: int, timeout: float) -> bool:
        """Load ``snapshot`` in place of the current graph; False if the worker failed."""
        if not self.send_snapshot(snapshot) or not self.wait_ready(timeout):
            return False
        self.generation = generation
        return True

    def wait_ready(self, timeout: float) -> bool:
        try:
            if self.conn.poll(timeout):
                message = self.conn.recv()
                return isinstance(message, tuple) and message[0] == "ready"
        except (EOFError, OSError):
            pass
        return False

    @property
    def alive(self) -> bool:
        return self.process.is_alive() and not self.conn.closed

    def kill(self) -> None:
        """Stop the process and close the pipe; safe to call again, from any thread (the
        pool's shutdown and a replacement's start may both do it)."""
        with self._kill_lock:
            if self.process.is_alive():
                self.process.kill()
            self.process.join(5)
            with contextlib.suppress(OSError):
                self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.conn.send(None)
        self.process.join(2)
        self.kill()


class WorkerPool:
    """Runs :class:`QueryJob`s in ``size`` worker processes with a per-query time limit.

    Given a snapshot, the constructor returns once every worker has loaded it (and raises
    ConfigError if one cannot). Given None, it returns at once: the workers start in the
    background, load the first snapshot passed to :meth:`switch`, and :attr:`ready` turns
    true once all of them have; queries sent meanwhile wait for a worker.

    ``run`` is blocking and thread-safe; at most ``size`` queries run at once, and a
    request that finds no free worker within ``queue_timeout`` seconds gets
    ``ServiceUnavailable``. A query still running after ``timeout`` seconds has its worker
    killed and raises ``QueryTimeout``.
    """

    def __init__(
        self,
        snapshot: Snapshot | None,
        *,
        size: int,
        timeout: float,
        queue_timeout: float | None = None,
    ) -> None:
        if size < 1:
            raise ConfigError(f"a worker pool needs at least one worker, not {size}")
        self.snapshot = snapshot
        self.size = size
        self.timeout = timeout
        self.queue_timeout = timeout if queue_timeout is None else queue_timeout
        self._context = worker_context()
        self._idle: FairQueue[_Worker] = FairQueue()
        self._lock = threading.Lock()
        self._snapshot_given = threading.Condition(self._lock)
        self._workers: set[_Worker] = set()
        self._starters: list[threading.Thread] = []
        self._closed = False
        self._starting = size  # workers of the first start not ready yet
        self.restarts = 0
        self.generation = 0
        if snapshot is None:
            for _ in range(size):
                self._start_in_background(first=True)
            return
        started = [self._spawn() for _ in range(size)]
        sent = [w is not None and w.send_snapshot(snapshot) for w in started]
        for worker, ok in zip(started, sent, strict=True):
            if worker is None or not ok or not worker.wait_ready(START_TIMEOUT):
                self.close()
                raise ConfigError("a query worker failed to start", where=str(snapshot.cache_dir))
            worker.generation = self.generation
            self._idle.put(worker)
        self._starting = 0

    # -- lifecycle -------------------------------------------------------------------------

    def switch(self, snapshot: Snapshot) -> None:
        """Serve ``snapshot`` from now on: a query that starts after this call runs on it
        (each worker reloads before its next query); running queries finish on the old one.
        The first snapshot of a pool started without one is loaded by every worker now."""
        with self._lock:
            self.snapshot = snapshot
            self.generation += 1
            self._snapshot_given.notify_all()

    @property
    def ready(self) -> bool:
        """Whether every worker of the first start has loaded a graph, and a worker lives."""
        return self._starting == 0 and self.live_workers > 0

    def _spawn(self) -> _Worker | None:
        """A new worker process with no graph loaded; None once the pool is closed."""
        worker = _Worker(self._context)
        with self._lock:
            if not self._closed:
                self._workers.add(worker)
                return worker
        worker.kill()
        return None

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._workers.discard(worker)

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` and start a replacement in the background."""
        self._discard(worker)
        self.restarts += 1
        self._start_in_background(first=False)

    def _start_in_background(self, *, first: bool) -> None:
        thread = threading.Thread(
            target=self._start_worker, args=(first,), daemon=True, name="medkg-worker-start"
        )
        with self._lock:
            self._starters = [t for t in self._starters if t.is_alive()]
            self._starters.append(thread)
        thread.start()

    def _current(self) -> tuple[Snapshot, int] | None:
        """The snapshot to serve and its generation, once there is one; None once closed."""
        with self._snapshot_given:
            self._snapshot_given.wait_for(lambda: self.snapshot is not None or self._closed)
            if self._closed or self.snapshot is None:
                return None
            return self.snapshot, self.generation

    def _start_worker(self, first: bool) -> None:
        """Start a worker on the current snapshot (waiting for the first one), trying
        again until one is ready: a worker that starts while writes keep arriving can find
        its snapshot already deleted (only the last few versions are kept), and giving up
        would shrink the pool for good, down to no worker at all."""
        delay = REPLACEMENT_RETRY_START
        worker: _Worker | None = None
        while not self._closed:
            if worker is None or not worker.alive:
                if worker is not None:
                    self._discard(worker)
                worker = self._spawn()
                if worker is None:  # the pool shut down
                    return
            current = self._current()
            if current is None:
                break
            # a worker started but not ready, or whose snapshot was gone: hand it the current
            if worker.reload(*current, START_TIMEOUT) and not self._closed:
                if first:
                    with self._lock:
                        self._starting -= 1
                self._idle.put(worker)
                return
            if self._closed:  # the pool shut down while the worker started
                break
            log.warning("a query worker could not load its snapshot; trying again")
            time.sleep(delay)
            delay = min(delay * 2, REPLACEMENT_RETRY_MAX)
        if worker is not None:
            self._discard(worker)

    def close(self) -> None:
        """Stop every worker (idle, busy or starting). Waits for the workers being started
        to be stopped too: a process that exits right after (a server that failed to load
        its graph) must not leave a half-started worker behind."""
        with self._lock:
            self._closed = True
            self._snapshot_given.notify_all()
            workers = list(self._workers)
            self._workers.clear()
            starters = list(self._starters)
        for worker in workers:
            worker.stop()
        for thread in starters:
            if thread is not threading.current_thread():
                thread.join(CLOSE_TIMEOUT)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def live_workers(self) -> int:
        """Worker processes alive now (busy, idle or starting)."""
        with self._lock:
            return sum(1 for w in self._workers if w.alive)

    @property
    def idle_workers(self) -> int:
        """Workers waiting for a query (approximate, for health reports and tests)."""
        return self._idle.qsize()

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers."""
        with self._lock:
            return sorted(w.process.pid for w in self._workers if w.alive and w.process.pid)

    # -- running queries -------------------------------------------------------------------

    def _no_worker(self) -> ServiceUnavailable:
        if self._starting:
            return ServiceUnavailable("the query workers are still starting; try again shortly")
        return ServiceUnavailable(f"all {self.size} query workers are busy; try again shortly")

    def _current_worker(self, worker: _Worker) -> bool:
        """Whether ``worker`` is alive and has the current version loaded."""
        return worker.alive and worker.generation == self.generation

    def _prepare(self, worker: _Worker) -> bool:
        """Whether ``worker`` can take a query now, after loading the current version if
        it is behind (blocking); a dead or failing worker is replaced."""
        if not worker.alive:
            self._replace(worker)
            return False
        with self._lock:
            snapshot, generation = self.snapshot, self.generation
        assert snapshot is not None  # a worker is idle only once it loaded one
        if worker.generation == generation or worker.reload(snapshot, generation, START_TIMEOUT):
            return True
        log.error("a query worker failed to load the new version; replacing it")
        self._replace(worker)
        return False

    def _acquire(self) -> _Worker:
        deadline = time.monotonic() + self.queue_timeout
        while True:
            if self._closed:
                raise ServiceUnavailable("the query workers are shutting down")
            try:
                worker = self._idle.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                raise self._no_worker() from None
            if self._prepare(worker):
                return worker

    async def _acquire_async(self) -> _Worker:
        deadline = time.monotonic() + self.queue_timeout
        while True:
            if self._closed:
                raise ServiceUnavailable("the query workers are shutting down")
            try:
                worker = await self._idle.get_async(max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                raise self._no_worker() from None
            # the usual case decided at once; a reload or a replacement on a thread
            if self._current_worker(worker) or await asyncio.to_thread(self._prepare, worker):
                return worker

    def _outcome(self, worker: _Worker, message: tuple[str, object]) -> QueryAnswer:
        """The answer in a worker's reply (the worker back in the idle queue), or the
        MedkgError it carries."""
        self._idle.put(worker)
        status, payload = message
        if status == "ok":
            assert isinstance(payload, QueryAnswer)
            return payload
        if status == "error":
            assert isinstance(payload, MedkgError)
            raise payload
        log.error("defect in query execution: %s", payload)
        raise MedkgError("internal error while running the query")

    def _timed_out(self, worker: _Worker) -> QueryTimeout:
        log.warning(
            "query exceeded %.1f s; killing worker pid %s", self.timeout, worker.process.pid
        )
        self._replace(worker)
        return QueryTimeout(self.timeout)

    def _died(self, worker: _Worker) -> MedkgError:
        log.error("query worker pid %s died during a query", worker.process.pid)
        self._replace(worker)
        return MedkgError("the query stopped its worker process unexpectedly")

    def run(self, job: QueryJob) -> QueryAnswer:
        """Run ``job`` in a worker; its answer, or the MedkgError it raised."""
        worker = self._acquire()
        try:
            worker.conn.send(job)
        except (BrokenPipeError, OSError):
            self._replace(worker)
            return self.run(job)
        if not worker.conn.poll(self.timeout):
            raise self._timed_out(worker)
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            raise self._died(worker) from None
        return self._outcome(worker, message)

    async def run_async(self, job: QueryJob) -> QueryAnswer:
        """:meth:`run` on the event loop, which runs on while the query does: no thread
        waits for the worker. A cancelled request kills its worker (the query cannot be
        stopped otherwise) and a replacement starts."""
        worker = await self._acquire_async()
        try:
            worker.conn.send(job)  # small; an idle worker is reading its pipe
        except (BrokenPipeError, OSError):
            await asyncio.to_thread(self._replace, worker)
            return await self.run_async(job)
        try:
            answered = await _readable(worker.conn, self.timeout)
        except asyncio.CancelledError:
            self._replace(worker)  # a kill: quick, and nothing else can stop the query
            raise
        if not answered:
            raise await asyncio.to_thread(self._timed_out, worker)
        try:
            message = worker.conn.recv()  # whole once it starts: the worker writes it at once
        except (EOFError, OSError):
            raise await asyncio.to_thread(self._died, worker) from None
        return self._outcome(worker, message)
