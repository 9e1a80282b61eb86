"""The query engines compared on the LUBM(1) closure, and how each one is timed.

- ``medkg``: medkg's own query path, ``KnowledgeGraph.query`` (SERVICE guard, nesting
  check, pyoxigraph on the ALL-mode dataset, the result materialized as ``QueryResult``).
- ``pyoxigraph``: ``Store.query`` on the very same store and dataset (the store's default
  graph plus the inferred graph), solutions counted as they stream.
- ``pyoxigraph-flat``: ``Store.query`` on a second store holding the same closure in its
  default graph only; shows what sharing the store with the named graphs costs.
- ``rdflib``: rdflib's own SPARQL engine on an rdflib Graph of the same closure. rdflib
  cannot be interrupted, so each query runs in a forked child process that is killed at
  the time limit.

Every query is run once cold, then ``repeat`` more times; the median of those is reported.
Every run is timed from the query text to the last solution. The in-process engines take
turns run by run, so that other work on the machine slows them alike.
"""

from __future__ import annotations

import gc
import multiprocessing
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from multiprocessing.connection import Connection

import pyoxigraph as ox
from rdflib import Graph

from bench.lubm import Log, LubmQuery
from bench.machine import CpuSample, other_cpu_share
from medkg.store import GraphMode, KnowledgeGraph


class Status(Enum):
    OK = "ok"
    WRONG_COUNT = "wrong-count"
    TIMEOUT = "timeout"
    ERROR = "error"


@dataclass
class QueryMeasurement:
    """One engine on one query."""

    query: str
    expected: int
    status: Status
    count: int | None = None
    cold_s: float | None = None
    runs_s: list[float] = field(default_factory=list)  # the warm runs
    error: str | None = None

    @property
    def correct(self) -> bool:
        return self.count == self.expected

    @property
    def median_s(self) -> float | None:
        if self.status is Status.TIMEOUT or self.status is Status.ERROR or not self.runs_s:
            return None
        return statistics.median(self.runs_s)

    def to_json(self) -> dict[str, object]:
        return {
            "query": self.query,
            "status": self.status.value,
            "count": self.count,
            "expected": self.expected,
            "correct": self.correct,
            "cold_s": self.cold_s,
            "median_s": self.median_s,
            "min_s": min(self.runs_s) if self.runs_s else None,
            "max_s": max(self.runs_s) if self.runs_s else None,
            "runs_s": self.runs_s,
            "error": self.error,
        }


@dataclass
class EngineResult:
    """One engine on all queries."""

    key: str
    label: str
    description: str
    measurements: list[QueryMeasurement]
    timeout_s: float | None = None  # per-run time limit, if the engine has one
    setup_s: float | None = None  # building what the engine needs (e.g. the rdflib Graph)
    #: share of the machine's CPU that other processes used while this engine was measured
    other_cpu_share: float | None = None

    @property
    def complete(self) -> bool:
        """Every query finished (possibly with a wrong count)."""
        return all(m.median_s is not None for m in self.measurements)

    @property
    def all_correct(self) -> bool:
        return all(m.status is Status.OK for m in self.measurements)

    @property
    def sum_median_s(self) -> float | None:
        """Sum of the per-query medians; None unless every query finished."""
        if not self.complete:
            return None
        return sum(m.median_s or 0.0 for m in self.measurements)

    @property
    def sum_median_lower_bound_s(self) -> float:
        """The sum with each unfinished query counted at its time limit (a lower bound)."""
        total = 0.0
        for m in self.measurements:
            median = m.median_s
            total += median if median is not None else (self.timeout_s or 0.0)
        return total

    def by_query(self) -> dict[str, QueryMeasurement]:
        return {m.query: m for m in self.measurements}

    def to_json(self) -> dict[str, object]:
        return {
            "label": self.label,
            "description": self.description,
            "timeout_s": self.timeout_s,
            "setup_s": self.setup_s,
            "other_cpu_share": self.other_cpu_share,
            "complete": self.complete,
            "all_correct": self.all_correct,
            "sum_median_s": self.sum_median_s,
            "sum_median_lower_bound_s": self.sum_median_lower_bound_s,
            "queries": {m.query: m.to_json() for m in self.measurements},
        }


# --------------------------------------------------------------------------------------------
# In-process engines

Runner = Callable[[str], int]  # query text -> number of solutions


def medkg_runner(kg: KnowledgeGraph) -> Runner:
    def run(text: str) -> int:
        result = kg.query(text, mode=GraphMode.ALL)
        return len(result.rows)

    return run


def closure_dataset() -> list[ox.NamedNode | ox.DefaultGraph]:
    """The default graph of medkg's ALL mode: the store's default graph holds the whole
    closure (the asserted union plus the inferred triples)."""
    return [ox.DefaultGraph()]


def pyoxigraph_runner(store: ox.Store) -> Runner:
    default_graph = closure_dataset()

    def run(text: str) -> int:
        solutions = store.query(text, default_graph=default_graph)  # type: ignore[arg-type]
        assert isinstance(solutions, ox.QuerySolutions)
        return sum(1 for _ in solutions)

    return run


def flat_store(store: ox.Store) -> ox.Store:
    """A new store holding the closure (ALL mode's triples) in its default graph only."""
    flat = ox.Store()
    default = ox.DefaultGraph()
    for graph in closure_dataset():
        flat.extend(
            ox.Quad(q.subject, q.predicate, q.object, default)
            for q in store.quads_for_pattern(None, None, None, graph)
        )
    return flat


def flat_runner(store: ox.Store) -> Runner:
    def run(text: str) -> int:
        solutions = store.query(text)
        assert isinstance(solutions, ox.QuerySolutions)
        return sum(1 for _ in solutions)

    return run


def _timed(run: Runner, text: str) -> tuple[float, int]:
    gc.collect()
    start = time.perf_counter()
    count = run(text)
    return time.perf_counter() - start, count


@dataclass
class _Progress:
    """One engine's runs of one query so far."""

    cold_s: float | None = None
    count: int | None = None
    runs_s: list[float] = field(default_factory=list)
    error: str | None = None

    def step(self, run: Runner, text: str) -> None:
        if self.error is not None:
            return
        try:
            elapsed, count = _timed(run, text)
        except Exception as exc:  # report it, keep measuring the others
            self.error = f"{type(exc).__name__}: {exc}"
            return
        if self.cold_s is None:
            self.cold_s, self.count = elapsed, count
        elif count != self.count:
            self.error = f"answer count changed between runs: {self.count} then {count}"
        else:
            self.runs_s.append(elapsed)

    def measurement(self, query: LubmQuery) -> QueryMeasurement:
        if self.error is not None:
            return QueryMeasurement(
                query.name, query.expected, Status.ERROR, self.count, error=self.error
            )
        status = Status.OK if self.count == query.expected else Status.WRONG_COUNT
        return QueryMeasurement(
            query.name, query.expected, status, self.count, self.cold_s, self.runs_s
        )


def measure_in_process(
    runners: Mapping[str, Runner], query: LubmQuery, repeat: int
) -> dict[str, QueryMeasurement]:
    """A cold run of ``query`` on each engine, then ``repeat`` rounds of one timed run per
    engine. Interleaving the engines makes other work on the machine slow them alike."""
    progress = {key: _Progress() for key in runners}
    for _round in range(repeat + 1):
        for key, run in runners.items():
            progress[key].step(run, query.text)
    return {key: p.measurement(query) for key, p in progress.items()}


# --------------------------------------------------------------------------------------------
# rdflib, one killable child process per query


def rdflib_graph(kg: KnowledgeGraph) -> Graph:
    """The closure (ALL mode's default graph) as one rdflib Graph."""
    return kg.union_graph(GraphMode.ALL)


def _rdflib_child(graph: Graph, text: str, runs: int, conn: Connection) -> None:
    """Run ``text`` ``runs`` times, sending ("ok", seconds, count) after each run."""
    try:
        for _ in range(runs):
            gc.collect()
            start = time.perf_counter()
            count = sum(1 for _ in graph.query(text))
            conn.send(("ok", time.perf_counter() - start, count))
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}", 0))
    finally:
        conn.close()


def measure_rdflib(
    graph: Graph, query: LubmQuery, repeat: int, timeout_s: float
) -> QueryMeasurement:
    """Like :func:`measure_in_process`, in a forked child killed when a run passes
    ``timeout_s``. The Graph is inherited through fork, never copied or pickled."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_rdflib_child, args=(graph, query.text, repeat + 1, sender), daemon=True
    )
    child.start()
    sender.close()
    times: list[float] = []
    counts: list[int] = []
    status: Status | None = None
    error: str | None = None
    try:
        for _ in range(repeat + 1):
            if not receiver.poll(timeout_s):
                status = Status.TIMEOUT
                break
            try:
                kind, value, count = receiver.recv()
            except EOFError:
                status, error = Status.ERROR, f"child process died (exit code {child.exitcode})"
                break
            if kind != "ok":
                status, error = Status.ERROR, str(value)
                break
            times.append(float(value))
            counts.append(int(count))
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    count = counts[0] if counts else None
    if status is None:
        if len(set(counts)) > 1:
            status, error = Status.ERROR, f"answer count changed between runs: {counts}"
        else:
            status = Status.OK if count == query.expected else Status.WRONG_COUNT
    return QueryMeasurement(
        query.name,
        query.expected,
        status,
        count,
        cold_s=times[0] if times else None,
        runs_s=times[1:],
        error=error,
    )


# --------------------------------------------------------------------------------------------
# The comparison

#: Other processes' CPU share above which a measurement is flagged as disturbed.
NOTABLE_OTHER_CPU = 0.05

MEDKG = "medkg"
PYOXIGRAPH = "pyoxigraph"
PYOXIGRAPH_FLAT = "pyoxigraph-flat"
RDFLIB = "rdflib"

LABELS = {
    MEDKG: "medkg (KnowledgeGraph.query)",
    PYOXIGRAPH: "pyoxigraph (Store.query, same store)",
    PYOXIGRAPH_FLAT: "pyoxigraph (flat store)",
    RDFLIB: "rdflib (Graph.query)",
}

DESCRIPTIONS = {
    MEDKG: "medkg's own query path: KnowledgeGraph.query in ALL mode (SERVICE guard, nesting "
    "check, pyoxigraph, result materialized as a QueryResult).",
    PYOXIGRAPH: "pyoxigraph Store.query on the same store with the same default graph "
    "(the whole closure); solutions counted as they stream.",
    PYOXIGRAPH_FLAT: "pyoxigraph Store.query on a separate store holding the same closure "
    "in its default graph only (supplementary: the cost of sharing the store with the "
    "per-source and inferred named graphs).",
    RDFLIB: "rdflib's SPARQL engine on an in-memory rdflib Graph of the same closure, each "
    "query in a forked child process killed at the time limit.",
}


def _log_measurement(log: Log, key: str, m: QueryMeasurement) -> None:
    median = m.median_s
    shown = m.status.value if median is None else f"{median * 1000:.1f} ms"
    count = "no" if m.count is None else m.count
    log(f"  {key:<16} {m.query}: {count} answers ({m.status.value}), median {shown}")


def _in_process_runners(
    kg: KnowledgeGraph, engines: Sequence[str], log: Log
) -> tuple[dict[str, Runner], dict[str, float]]:
    """The runners of the in-process ``engines``, and the setup time of those that have one."""
    runners: dict[str, Runner] = {}
    setup: dict[str, float] = {}
    for key in engines:
        if key == MEDKG:
            runners[key] = medkg_runner(kg)
        elif key == PYOXIGRAPH:
            runners[key] = pyoxigraph_runner(kg.store)
        elif key == PYOXIGRAPH_FLAT:
            start = time.perf_counter()
            runners[key] = flat_runner(flat_store(kg.store))
            setup[key] = time.perf_counter() - start
            log(f"flat store built in {setup[key]:.1f} s")
        elif key != RDFLIB:
            raise ValueError(f"unknown engine {key!r}")
    return runners, setup


def _measure_rdflib_all(
    kg: KnowledgeGraph,
    queries: Sequence[LubmQuery],
    repeat: int,
    timeout_s: float,
    log: Log,
) -> tuple[list[QueryMeasurement], float]:
    log(f"building the rdflib Graph (time limit {timeout_s:g} s per run) ...")
    start = time.perf_counter()
    graph = rdflib_graph(kg)
    setup_s = time.perf_counter() - start
    log(f"  {len(graph):,} triples in {setup_s:.1f} s")
    gc.collect()
    gc.freeze()  # the children then do not copy the Graph's memory pages when they collect
    try:
        measurements: list[QueryMeasurement] = []
        for query in queries:
            m = measure_rdflib(graph, query, repeat, timeout_s)
            _log_measurement(log, RDFLIB, m)
            measurements.append(m)
    finally:
        gc.unfreeze()
    return measurements, setup_s


def run_engines(
    kg: KnowledgeGraph,
    queries: Sequence[LubmQuery],
    *,
    engines: Sequence[str],
    repeat: int,
    rdflib_timeout_s: float,
    log: Log,
) -> list[EngineResult]:
    """Measure ``engines`` (keys of LABELS) on ``queries``; results in the order of
    ``engines``. The in-process engines run interleaved, query by query; rdflib after them."""
    runners, setup = _in_process_runners(kg, engines, log)
    measured: dict[str, list[QueryMeasurement]] = {key: [] for key in runners}
    others: dict[str, float | None] = {}
    start = CpuSample.take()
    for query in queries:
        for key, m in measure_in_process(runners, query, repeat).items():
            _log_measurement(log, key, m)
            measured[key].append(m)
    share = other_cpu_share(start, CpuSample.take())
    others.update(dict.fromkeys(runners, share))
    if RDFLIB in engines:
        start = CpuSample.take()
        measured[RDFLIB], setup[RDFLIB] = _measure_rdflib_all(
            kg, queries, repeat, rdflib_timeout_s, log
        )
        others[RDFLIB] = other_cpu_share(start, CpuSample.take())
    for key, share in others.items():
        if share is not None and share >= NOTABLE_OTHER_CPU:
            log(f"note: other processes used {share:.0%} of the CPU while {key} was measured")
    return [
        EngineResult(
            key,
            LABELS[key],
            DESCRIPTIONS[key],
            measured[key],
            timeout_s=rdflib_timeout_s if key == RDFLIB else None,
            setup_s=setup.get(key),
            other_cpu_share=others.get(key),
        )
        for key in engines
    ]
