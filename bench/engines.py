"""The query engines compared on the LUBM(1) closure, and how each one is timed.

- ``medkg``: medkg's own query path, ``KnowledgeGraph.query`` (SERVICE guard, nesting
  check, join-order hints (:mod:`medkg.planning`), pyoxigraph on the ALL-mode dataset, the
  result materialized as ``QueryResult``).
- ``medkg-written``: the same path with the triple patterns as the query writes them (no
  join-order hints), to show what the hints are worth.
- ``medkg-sparql``: medkg's SPARQL endpoint, a real ``medkg serve`` process on 127.0.0.1
  serving the same LUBM files (``--data``; its closure cached under ``bench/.cache/serve``)
  with its default query worker processes, the per-client limits off, a generous time
  limit and a row cap far above the largest answer. Each query is POSTed (``query=``,
  Accept: SPARQL JSON) through one persistent HTTP connection, timed from sending the
  request to having the whole response body; the answer count is the number of bindings
  in the parsed JSON (parsing is not timed). A non-200 answer or one marked truncated
  (``MEDKG-Result-Truncated``) is an error, never a count.
- ``pyoxigraph``: ``Store.query`` on the very same store and dataset (the store's default
  graph plus the inferred graph), solutions counted as they stream.
- ``pyoxigraph-flat``: ``Store.query`` on a second store holding the same closure in its
  default graph only; shows what sharing the store with the named graphs costs.
- ``rdflib``: rdflib's own SPARQL engine on an rdflib Graph of the same closure. rdflib
  cannot be interrupted, so each query runs in a forked child process that is killed at
  the time limit.

Every query is run once cold, then ``repeat`` more times; the median of those is reported.
Every run is timed from the query text to the last solution (for ``/sparql``, to the last
byte of the answer). All engines but rdflib take turns run by run, ``/sparql`` included
(this process waits while the server works), so that other work on the machine slows them
alike; the server's own CPU time is counted as the measurement's, not as other work.
"""

from __future__ import annotations

import gc
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from enum import Enum
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import pyoxigraph as ox
from rdflib import Graph

from bench import serving
from bench.lubm import CACHE_DIR, BenchError, Log, LubmFiles, LubmQuery
from bench.machine import CpuSample, other_cpu_share
from medkg.store import GraphMode, KnowledgeGraph, QueryResult, query_errors


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
# Engines run from this process, in turns

Counter = Callable[[str], int]  # query text -> number of solutions
Runner = Callable[[str], tuple[float, int]]  # query text -> (seconds, number of solutions)


def timed_whole(count: Counter) -> Runner:
    """A runner timing the whole ``count`` call, after a collection of garbage."""

    def run(text: str) -> tuple[float, int]:
        gc.collect()
        start = time.perf_counter()
        solutions = count(text)
        return time.perf_counter() - start, solutions

    return run


def medkg_runner(kg: KnowledgeGraph) -> Runner:
    def run(text: str) -> int:
        result = kg.query(text, mode=GraphMode.ALL)
        return len(result.rows)

    return timed_whole(run)


def medkg_written_runner(kg: KnowledgeGraph) -> Runner:
    """medkg's query path with the query's triple patterns as written (no join-order hints,
    see :mod:`medkg.planning`): what the hints are worth, side by side."""
    dataset = kg.dataset_for(GraphMode.ALL)

    def run(text: str) -> int:
        result = kg.evaluate(text, dataset=dataset, ordered=False)
        with query_errors(text):
            return len(QueryResult.from_oxigraph(result).rows)

    return timed_whole(run)


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

    return timed_whole(run)


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

    return timed_whole(run)


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
            elapsed, count = run(text)
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


def measure_in_turns(
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
# medkg's /sparql endpoint, a real server process

SPARQL_JSON = "application/sparql-results+json"
#: medkg's response header marking an answer cut at the row or byte cap, and the one
#: giving the cap (``medkg.web.app``; a test checks they agree).
TRUNCATED_HEADER = "MEDKG-Result-Truncated"
LIMIT_HEADER = "MEDKG-Result-Limit"
#: The server's row cap (``--max-rows``, default 100,000): far above the largest LUBM(1)
#: answer (7,790 rows); a truncated answer is an error anyway.
SPARQL_MAX_ROWS = 1_000_000
#: The server's time limit per query (``--timeout``): generous, no LUBM(1) query nears it.
SPARQL_TIMEOUT_S = 300.0
#: The client waits this much longer than the server's limit before giving up.
SPARQL_CLIENT_GRACE_S = 30.0
#: Per-client fairness off: one client sending queries back to back must not be throttled.
NO_CLIENT_LIMITS = {"MEDKG_CLIENT_RATE": "0", "MEDKG_CLIENT_CONCURRENCY": "0"}
#: The server's closure cache (its key differs from the bench's own: the server also runs
#: medkg's CONSTRUCT rules), kept between runs like the bench's.
SERVE_CACHE_DIR = CACHE_DIR / "serve"


class SparqlAnswerError(Exception):
    """An answer from /sparql that gives no count: an HTTP error, a truncated answer, or
    a body that is not a SPARQL JSON SELECT result."""


def count_bindings(response: httpx.Response) -> int:
    """The number of solutions in a complete SPARQL JSON SELECT answer."""
    if response.status_code != 200:
        raise SparqlAnswerError(f"HTTP {response.status_code}: {response.text[:300]}")
    if response.headers.get(TRUNCATED_HEADER, "").lower() == "true":
        limit = response.headers.get(LIMIT_HEADER, "?")
        raise SparqlAnswerError(f"answer truncated by the server (row cap {limit})")
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if media_type != SPARQL_JSON:
        raise SparqlAnswerError(f"answer in {media_type or 'no media type'}, not {SPARQL_JSON}")
    document = response.json()
    results = document.get("results") if isinstance(document, dict) else None
    bindings = results.get("bindings") if isinstance(results, dict) else None
    if not isinstance(bindings, list):
        raise SparqlAnswerError("not a SELECT answer: no results.bindings list")
    return len(bindings)


def sparql_runner(client: httpx.Client, url: str) -> Runner:
    """POST each query to ``url``; timed from sending to having the whole body."""

    def run(text: str) -> tuple[float, int]:
        gc.collect()
        start = time.perf_counter()
        response = client.post(url, data={"query": text}, headers={"Accept": SPARQL_JSON})
        elapsed = time.perf_counter() - start  # httpx has read the whole body by now
        return elapsed, count_bindings(response)

    return run


def serve_args(data: Sequence[Path], cache_dir: Path) -> list[str]:
    """``medkg serve`` flags for serving ``data`` (its default query workers)."""
    flags = [flag for path in data for flag in ("--data", str(path))]
    return [
        *flags,
        "--cache-dir",
        str(cache_dir),
        "--timeout",
        f"{SPARQL_TIMEOUT_S:g}",
        "--max-rows",
        str(SPARQL_MAX_ROWS),
        "--log-level",
        "warning",
    ]


@dataclass(frozen=True)
class SparqlEndpoint:
    """A started ``medkg serve``: its runner, its start-up time and its process."""

    runner: Runner
    ready_s: float
    pid: int  # of the process tree holding the server and its workers


def _log_tail(directory: Path, lines: int = 20) -> str:
    logs = sorted(directory.glob("medkg-*.log"))
    if not logs:
        return ""
    text = logs[-1].read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return "\n".join(text[-lines:])


@contextmanager
def sparql_endpoint(args: Sequence[str]) -> Iterator[SparqlEndpoint]:
    """``medkg serve ARGS`` on 127.0.0.1 (a free port), per-client limits off; stopped
    on exit."""
    timeout = httpx.Timeout(SPARQL_TIMEOUT_S + SPARQL_CLIENT_GRACE_S, connect=10.0)
    with tempfile.TemporaryDirectory(prefix="medkg-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        try:
            server, ready_s = stack.enter_context(
                serving.medkg_server(args, work, env=NO_CLIENT_LIMITS)
            )
        except BenchError as exc:
            raise BenchError(f"medkg serve did not start: {exc}\n{_log_tail(work)}") from exc
        client = stack.enter_context(httpx.Client(timeout=timeout))
        yield SparqlEndpoint(
            sparql_runner(client, f"{server.base}/sparql"), ready_s, server.process.pid
        )


def lubm_sparql_endpoint(files: LubmFiles) -> AbstractContextManager[SparqlEndpoint]:
    """:func:`sparql_endpoint` serving LUBM(1) (the ontology and the data)."""
    return sparql_endpoint(serve_args(serving.lubm_files(files, 1), SERVE_CACHE_DIR))


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
    """Like :func:`measure_in_turns`, in a forked child killed when a run passes
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
MEDKG_SPARQL = "medkg-sparql"
MEDKG_WRITTEN = "medkg-written"
PYOXIGRAPH = "pyoxigraph"
PYOXIGRAPH_FLAT = "pyoxigraph-flat"
RDFLIB = "rdflib"

#: medkg's own ways in: a wrong count (or a failed query) on one of these fails the run.
CHECKED = (MEDKG, MEDKG_SPARQL)

LABELS = {
    MEDKG: "medkg (KnowledgeGraph.query)",
    MEDKG_SPARQL: "medkg /sparql",
    MEDKG_WRITTEN: "medkg path, patterns as written",
    PYOXIGRAPH: "pyoxigraph (Store.query, same store)",
    PYOXIGRAPH_FLAT: "pyoxigraph (flat store)",
    RDFLIB: "rdflib (Graph.query)",
}

DESCRIPTIONS = {
    MEDKG: "medkg's own query path: KnowledgeGraph.query in ALL mode (SERVICE guard, nesting "
    "check, join-order hints from the graph's cardinalities, pyoxigraph, result materialized "
    "as a QueryResult). The cardinalities are measured before the runs (setup).",
    MEDKG_WRITTEN: "medkg's query path as above, but the triple patterns left in the order "
    "the query writes them (`KnowledgeGraph.evaluate(..., ordered=False)`): what the "
    "join-order hints of `medkg.planning` are worth.",
    MEDKG_SPARQL: "medkg's SPARQL endpoint: a real `medkg serve` process on 127.0.0.1 serving "
    "the same LUBM files (`--data`; its closure computed by the same pipeline, also running "
    "medkg's CONSTRUCT rules, and cached), with its default query worker processes, the "
    f"per-client limits off, a {SPARQL_TIMEOUT_S:g} s time limit and a {SPARQL_MAX_ROWS:,} "
    "row cap. Each query is POSTed (`query=`, Accept: SPARQL JSON) over one persistent "
    "connection and timed from sending the request to having the whole response body; the "
    "count is the number of bindings in the parsed JSON (parsing not timed). A non-200 or "
    "truncated answer is an error. It takes turns, run by run, with every other engine but "
    "rdflib; its server's CPU time is not counted as other work.",
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


def _runners(
    kg: KnowledgeGraph,
    engines: Sequence[str],
    files: LubmFiles | None,
    stack: ExitStack,
    log: Log,
) -> tuple[dict[str, Runner], dict[str, float], list[int]]:
    """The runners of the ``engines`` that take turns, the setup time of those that have
    one, and the processes serving them (started on ``stack``)."""
    runners: dict[str, Runner] = {}
    setup: dict[str, float] = {}
    pids: list[int] = []
    for key in engines:
        if key == MEDKG:
            start = time.perf_counter()
            kg.planner.ready()  # the cardinalities of the join-order hints
            setup[key] = time.perf_counter() - start
            runners[key] = medkg_runner(kg)
        elif key == MEDKG_WRITTEN:
            runners[key] = medkg_written_runner(kg)
        elif key == MEDKG_SPARQL:
            if files is None:
                raise ValueError("the /sparql engine needs the LUBM files to serve")
            log("starting medkg serve for /sparql ...")
            endpoint = stack.enter_context(lubm_sparql_endpoint(files))
            runners[key], setup[key] = endpoint.runner, endpoint.ready_s
            pids.append(endpoint.pid)
            log(f"medkg serve ready in {endpoint.ready_s:.1f} s")
        elif key == PYOXIGRAPH:
            runners[key] = pyoxigraph_runner(kg.store)
        elif key == PYOXIGRAPH_FLAT:
            start = time.perf_counter()
            runners[key] = flat_runner(flat_store(kg.store))
            setup[key] = time.perf_counter() - start
            log(f"flat store built in {setup[key]:.1f} s")
        elif key != RDFLIB:
            raise ValueError(f"unknown engine {key!r}")
    return runners, setup, pids


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
    files: LubmFiles | None = None,
) -> list[EngineResult]:
    """Measure ``engines`` (keys of LABELS) on ``queries``; results in the order of
    ``engines``. All but rdflib take turns, query by query; rdflib after them. ``files``:
    the data ``/sparql`` serves (needed for that engine only)."""
    measured: dict[str, list[QueryMeasurement]] = {}
    others: dict[str, float | None] = {}
    with ExitStack() as stack:
        runners, setup, pids = _runners(kg, engines, files, stack, log)
        measured.update({key: [] for key in runners})
        start = CpuSample.take(pids)
        for query in queries:
            for key, m in measure_in_turns(runners, query, repeat).items():
                _log_measurement(log, key, m)
                measured[key].append(m)
        share = other_cpu_share(start, CpuSample.take(pids))
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
