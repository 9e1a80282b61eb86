"""``/sparql`` throughput: ``medkg serve`` against ``oxigraph serve`` (in memory) and
rdflib-endpoint, on the same data, with 1 and 8 concurrent clients.

Two graphs:

- the seed graph: ``medkg serve`` serves the bundled graph (no ``--data``); the others get
  the default graph medkg's queries see (every asserted graph plus the inferred one, from
  ``medkg export --graphs all``). The queries are the example queries of ``queries/`` that
  run alike on all three servers (:func:`seed_mix`): SELECT or ASK, no ``GRAPH``, ``FROM``,
  ``SERVICE`` or ``graph:`` names, each with the ``PREFIX`` declarations medkg lets its
  users leave out.
- the LUBM(1) closure: ``medkg serve --data <ontology> --data <data>``; the others get the
  closure medkg computes, as N-Triples. The queries are :data:`MIX`.

Each server runs in its own process on 127.0.0.1 and a free port, and serves both client
counts in turn. A run is bounded: its clients send queries round-robin until ``seconds``
have passed, and a request still unanswered :data:`GRACE_S` after that counts as timed
out. A server left with timed-out requests (it may still be working on them) is started
afresh for its next run. The answer count of the first answer to each query is checked:
against the LUBM reference counts, and on the seed graph against medkg's own answers. A
server whose counts differ fails its row. medkg runs with the per-client limiter off
(``MEDKG_CLIENT_RATE=0``, ``MEDKG_CLIENT_CONCURRENCY=0``), as a benchmark client is one
address sending as fast as it can.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import lubm
from bench.machine import clean_environment
from bench.serving import FIRST_QUERY, free_port, lubm_files, medkg_server
from medkg.examples import with_prefixes

Log = Callable[[str], None]

JSON_RESULTS = "application/sparql-results+json"
FORM = "application/x-www-form-urlencoded"
SEED, LUBM1 = "seed", "lubm1"
GRAPH_LABELS = {SEED: "seed graph", LUBM1: "LUBM(1) closure"}
MEDKG, OXIGRAPH, RDFLIB_ENDPOINT = "medkg", "oxigraph", "rdflib_endpoint"
SERVERS: tuple[str, ...] = (MEDKG, OXIGRAPH, RDFLIB_ENDPOINT)
#: The servers measured in alternating rounds (rdflib-endpoint is measured once: a round of
#: it on LUBM is a handful of queries, each past its time limit).
ALTERNATING = (MEDKG, OXIGRAPH)
SERVER_LABELS = {
    MEDKG: "medkg serve",
    OXIGRAPH: "oxigraph serve (memory)",
    RDFLIB_ENDPOINT: "rdflib-endpoint",
}
CLIENTS: tuple[int, ...] = (1, 8)
#: Seconds a request may still take after the end of its run before it counts as timed out.
GRACE_S = 2.0
OK, FAILED = "ok", "failed"

#: The LUBM mix: the queries with small answers (the selective ones a service answers
#: most), as a client would send them.
MIX = ("q01", "q03", "q04", "q05", "q07", "q09", "q10", "q11", "q12", "q13")


@dataclass(frozen=True)
class Query:
    name: str
    text: str


# --------------------------------------------------------------------------------------------
# The seed graph's query mix

#: What :func:`_code` blanks out: strings, IRIs and comments (whichever starts first).
_NOT_CODE = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\''
    r"|<[^<>\"{}|^`\\\s]*>|#[^\n]*"
)
#: Named graphs, remote calls: what not every server (or not the same way) answers.
_NOT_PORTABLE = re.compile(r"\b(?:GRAPH|FROM|NAMED|SERVICE)\b", re.IGNORECASE)
#: medkg's ``graph:`` names (its named graphs and virtual graphs).
_GRAPH_NAME = re.compile(r"(?<![\w:?$-])graph:")
_FORM = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)


def _code(text: str) -> str:
    """``text`` without its strings, IRIs and comments."""
    return _NOT_CODE.sub(" ", text)


def is_portable(text: str) -> bool:
    """Does this query read the same on medkg, oxigraph and rdflib-endpoint? A SELECT or ASK
    on the default graph only, nothing medkg alone has (once its prefixes are declared)."""
    code = _code(text)
    form = _FORM.search(code)
    return (
        form is not None
        and form.group(1).upper() in ("SELECT", "ASK")
        and not _NOT_PORTABLE.search(code)
        and not _GRAPH_NAME.search(code)
    )


def prepare(text: str) -> str:
    """``text`` with a ``PREFIX`` declaration for every medkg prefix it uses undeclared
    (:data:`medkg.namespaces.PREFIXES`), which other servers need."""
    return with_prefixes(text)


def seed_mix(queries_dir: Path) -> list[Query]:
    """The portable example queries of ``queries_dir`` (by file name), prepared."""
    mix = []
    for path in sorted(queries_dir.glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        if is_portable(text):
            mix.append(Query(path.stem, prepare(text)))
    return mix


# --------------------------------------------------------------------------------------------
# One bounded run of concurrent clients


def answer_count(body: bytes) -> int | None:
    """Solutions of a SPARQL JSON results answer (1 or 0 for ASK); None if unreadable."""
    try:
        data = json.loads(body)
        if "boolean" in data:
            return int(bool(data["boolean"]))
        return len(data["results"]["bindings"])
    except (ValueError, KeyError, TypeError):
        return None


@dataclass
class _Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)  # by query name
    errors: int = 0
    timeouts: int = 0
    counts: dict[str, int | None] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _request(query: Query) -> tuple[bytes, dict[str, str]]:
    """The form-encoded POST body of ``query`` and its headers (encoded once per run)."""
    body = urllib.parse.urlencode({"query": query.text}).encode()
    return body, {"Content-Type": FORM, "Accept": JSON_RESULTS}


def _client(url: str, queries: Sequence[Query], offset: int, stop_at: float, tally: _Tally) -> None:
    """Send ``queries`` round-robin from ``offset`` until ``stop_at``, on one kept-alive
    connection (a new one after a failure).

    The standard library's HTTP client, not httpx: on a 2-core machine the load generator
    shares the CPU with the server it measures, and httpx took about 1.2 ms of CPU per
    request, as much as medkg's server process; ``http.client`` takes a fraction of it,
    for every server alike."""
    target = urllib.parse.urlsplit(url)
    requests = [_request(query) for query in queries]
    mine: list[tuple[str, float]] = []
    errors = timeouts = 0
    connection: http.client.HTTPConnection | None = None
    i = offset
    while (now := time.perf_counter()) < stop_at:
        query = queries[i % len(queries)]
        body, headers = requests[i % len(queries)]
        i += 1
        if connection is None:
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=5.0)
        connection.timeout = stop_at - now + GRACE_S
        if connection.sock is not None:
            connection.sock.settimeout(connection.timeout)
        start = time.perf_counter()
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except TimeoutError:
            errors, timeouts = errors + 1, timeouts + 1
            connection.close()
            connection = None
            continue
        except (http.client.HTTPException, OSError):
            errors += 1
            connection.close()
            connection = None
            continue
        elapsed = time.perf_counter() - start
        if response.status != 200:
            errors += 1
            continue
        mine.append((query.name, elapsed))
        if query.name not in tally.counts:
            count = answer_count(data)
            with tally.lock:
                tally.counts.setdefault(query.name, count)
    if connection is not None:
        connection.close()
    with tally.lock:
        for name, elapsed in mine:
            tally.latencies.setdefault(name, []).append(elapsed)
        tally.errors += errors
        tally.timeouts += timeouts


def _percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` percentile of ``ordered`` (sorted): the value at that rank."""
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def latency_by_query(latencies: Mapping[str, Sequence[float]]) -> dict[str, Any]:
    """Per query: answers, p50 and p99; and the p99 over every query but the slowest (the
    one with the highest p50), which says how much of the whole run's tail is that one's."""
    per_query = {}
    for name, values in latencies.items():
        ordered = sorted(values)
        per_query[name] = {
            "requests": len(ordered),
            "p50_s": statistics.median(ordered),
            "p99_s": _percentile(ordered, 0.99),
        }
    slowest = max(per_query, key=lambda n: per_query[n]["p50_s"], default=None)
    others = sorted(v for n, values in latencies.items() if n != slowest for v in values)
    return {
        "per_query": per_query,
        "slowest": slowest,
        "p99_without_slowest_s": _percentile(others, 0.99),
    }


def hammer(url: str, queries: Sequence[Query], clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` threads sending ``queries`` round-robin for ``seconds``: answers, failed
    requests (``timeouts`` of them timed out), q/s, p50 and p99 of the answered ones (and by
    query, :func:`latency_by_query`), and the answer count of the first answer to each
    query."""
    tally = _Tally()
    started = time.perf_counter()
    stop_at = started + seconds
    threads = [
        threading.Thread(target=_client, args=(url, queries, k, stop_at, tally))
        for k in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies = sorted(v for values in tally.latencies.values() for v in values)
    n = len(latencies)
    return {
        "requests": n,
        "errors": tally.errors,
        "timeouts": tally.timeouts,
        "wall_s": wall,
        "qps": n / wall if wall else 0.0,
        "p50_s": statistics.median(latencies) if n else None,
        "p99_s": _percentile(latencies, 0.99),
        "counts": {q.name: tally.counts[q.name] for q in queries if q.name in tally.counts},
        **latency_by_query(tally.latencies),
    }


# --------------------------------------------------------------------------------------------
# The servers


def _wait_url(process: subprocess.Popen[bytes], url: str, limit: float = 300) -> None:
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        if process.poll() is not None:
            raise lubm.BenchError(f"server exited ({process.returncode})")
        try:
            response = httpx.get(url, params={"query": FIRST_QUERY}, timeout=30)
            if response.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise lubm.BenchError("server did not become ready")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextmanager
def _process(command: Sequence[str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        list(command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_environment()
    )
    try:
        yield process
    finally:
        _stop(process)


def _binary(name: str) -> str | None:
    """An executable of this environment (next to its Python), else on ``PATH``."""
    local = Path(sys.executable).parent / name
    return str(local) if local.is_file() else shutil.which(name)


@contextmanager
def _started(
    name: str, extra: str, arguments: Callable[[int], list[str]], path: str
) -> Iterator[str]:
    """The installed server ``name`` (``pip install '.[extra]'``) on a free port, run with
    ``arguments(port)``: its query URL once it answers there."""
    binary = _binary(name)
    if binary is None:
        raise lubm.BenchError(f"{name} is not installed (pip install '.[{extra}]')")
    port = free_port()
    with _process([binary, *arguments(port)]) as process:
        url = f"http://127.0.0.1:{port}{path}"
        _wait_url(process, url)
        yield url


@contextmanager
def oxigraph_serve(closure: Path) -> Iterator[str]:
    """``oxigraph serve`` in memory with ``closure`` in its default graph: its query URL."""
    with _started(
        "oxigraph", "test", lambda p: ["serve", "--bind", f"127.0.0.1:{p}"], "/query"
    ) as url:
        upload = httpx.post(
            url.removesuffix("/query") + "/store?default",
            content=closure.read_bytes(),
            headers={"Content-Type": "application/n-triples"},
            timeout=300,
        )
        upload.raise_for_status()
        yield url


@contextmanager
def rdflib_endpoint_serve(closure: Path) -> Iterator[str]:
    """rdflib-endpoint serving ``closure``: its query URL."""

    def arguments(port: int) -> list[str]:
        return ["serve", str(closure), "--host", "127.0.0.1", "--port", str(port)]

    with _started("rdflib-endpoint", "bench", arguments, "/") as url:
        yield url


@contextmanager
def medkg_serve(args: Sequence[str], workdir: Path) -> Iterator[str]:
    """``medkg serve ARGS`` with the per-client limiter off: its query URL."""
    env = {"MEDKG_CLIENT_RATE": "0", "MEDKG_CLIENT_CONCURRENCY": "0"}
    with medkg_server([*args, "--log-level", "warning"], workdir, env=env) as (server, _ready):
        yield f"{server.base}/sparql"


# --------------------------------------------------------------------------------------------
# The graphs


@dataclass(frozen=True)
class Workload:
    """A graph served by all three: medkg's arguments, the closure the others get, the mix."""

    key: str
    queries: tuple[Query, ...]
    medkg_args: tuple[str, ...]
    write_closure: Callable[[Path, Log], None]
    #: Reference answer counts; None: medkg's own answers are the reference.
    expected: Mapping[str, int] | None = None

    @property
    def reference(self) -> str:
        return "medkg's answers" if self.expected is None else "the reference counts"


def export_seed_closure(path: Path, log: Log) -> None:
    """The seed graph's default graph, as medkg queries it, by ``medkg export``."""
    log("throughput: exporting the seed graph's closure ...")
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable, "-m", "medkg", "--cache-dir", tmp,
            "export", "--graphs", "all", "--format", "ntriples", "--output", str(path),
        ]  # fmt: skip
        done = subprocess.run(command, env=clean_environment(), capture_output=True, text=True)
    if done.returncode != 0:
        raise lubm.BenchError(f"medkg export failed: {done.stderr.strip()[-300:]}")


def lubm_closure(files: lubm.LubmFiles) -> Callable[[Path, Log], None]:
    def write(path: Path, log: Log) -> None:
        """The LUBM(1) closure (asserted + inferred, distinct) as N-Triples."""
        import pyoxigraph as ox

        from bench.engines import flat_store

        kg, _closure = lubm.open_closure(files, rebuild=False, log=log)
        flat = flat_store(kg.store)
        with path.open("wb") as sink:
            ox.serialize(
                (q.triple for q in flat.quads_for_pattern(None, None, None, ox.DefaultGraph())),
                sink,
                format=ox.RdfFormat.N_TRIPLES,
            )

    return write


def seed_workload() -> Workload:
    from medkg.config import Settings, resolve_resources

    queries_dir = resolve_resources(Settings()).queries_dir
    if queries_dir is None:
        raise lubm.BenchError("the bundled example queries are missing")
    return Workload(SEED, tuple(seed_mix(queries_dir)), (), export_seed_closure)


def lubm1_workload(files: lubm.LubmFiles) -> Workload:
    by_name = {q.name: q for q in lubm.load_queries(files)}
    queries = tuple(Query(name, by_name[name].text) for name in MIX if name in by_name)
    data = tuple(x for f in lubm_files(files, 1) for x in ("--data", str(f)))
    expected = {q.name: by_name[q.name].expected for q in queries}
    return Workload(LUBM1, queries, data, lubm_closure(files), expected)


# --------------------------------------------------------------------------------------------
# The matrix


def _triples(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip() and not line.startswith(b"#"))


@contextmanager
def _serve(server: str, workload: Workload, closure: Path, workdir: Path) -> Iterator[str]:
    if server == MEDKG:
        cache = ("--cache-dir", str(workdir / f"cache-{workload.key}"))
        with medkg_serve([*workload.medkg_args, *cache], workdir) as url:
            yield url
    elif server == OXIGRAPH:
        with oxigraph_serve(closure) as url:
            yield url
    else:
        with rdflib_endpoint_serve(closure) as url:
            yield url


def reference_counts(workload: Workload, runs: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """The answer counts every run is checked against: the workload's, else the first
    count medkg gave for each query."""
    if workload.expected is not None:
        return dict(workload.expected)
    reference: dict[str, int] = {}
    for run in runs:
        if run["server"] == MEDKG:
            for name, count in run.get("counts", {}).items():
                if count is not None:
                    reference.setdefault(name, count)
    return reference


def check(run: dict[str, Any], reference: Mapping[str, int], against: str) -> None:
    """Mark ``run`` failed (with the differing queries) when a first answer's count is not
    the reference's; list the queries it never answered as ``unchecked``."""
    counts: dict[str, int | None] = run.get("counts", {})
    wrong = {
        name: {"got": counts[name], "expected": expected}
        for name, expected in reference.items()
        if name in counts and counts[name] != expected
    }
    run["unchecked"] = [name for name in reference if name not in counts]
    run["mismatches"] = wrong
    if wrong and run["status"] == OK:
        shown = ", ".join(f"{n} got {w['got']}, expected {w['expected']}" for n, w in wrong.items())
        run["status"] = FAILED
        run["error"] = f"answer counts differ from {against}: {shown}"


def _add_ratios(runs: Sequence[dict[str, Any]]) -> None:
    """``medkg_over``: medkg's q/s over this run's, at the same client count, both ok."""
    for run in runs:
        medkg = next(
            (r for r in runs if r["server"] == MEDKG and r["clients"] == run["clients"]), None
        )
        if medkg is None or medkg["status"] != OK or run["status"] != OK or not run["qps"]:
            run["medkg_over"] = None
        else:
            run["medkg_over"] = medkg["qps"] / run["qps"]


def _median_round(rounds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median q/s (its p50, p99 and counts are one real run's), with
    every round's q/s."""
    ordered = sorted(rounds, key=lambda row: row["qps"])
    return {**ordered[(len(ordered) - 1) // 2], "rounds_qps": [row["qps"] for row in rounds]}


def _alternating(
    workload: Workload,
    servers: Sequence[str],
    clients: Sequence[int],
    seconds: float,
    rounds: int,
    paths: tuple[Path, Path],
    log: Log,
) -> list[dict[str, Any]]:
    """``servers`` started together and measured in turn, client count by client count,
    ``rounds`` times over: a drift of the machine's speed touches them alike. Each row is
    the round with the median q/s."""
    closure, workdir = paths
    runs: list[dict[str, Any]] = []
    with ExitStack() as stack:
        urls: dict[str, str] = {}
        for server in servers:
            try:
                urls[server] = stack.enter_context(_serve(server, workload, closure, workdir))
            except (lubm.BenchError, httpx.HTTPError, OSError) as exc:
                log(f"throughput: {SERVER_LABELS[server]}: {exc}")
                runs += [
                    {"server": server, "clients": n, "status": FAILED, "error": str(exc)}
                    for n in clients
                ]
        samples: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for index in range(rounds):
            for count in clients:
                for server, url in urls.items():
                    label = f"{GRAPH_LABELS[workload.key]}, {SERVER_LABELS[server]}"
                    log(f"throughput: {label}, {count} client(s), round {index + 1}/{rounds} ...")
                    row = hammer(url, workload.queries, count, seconds)
                    log(f"throughput: {row['qps']:.1f} q/s, {row['errors']} failed")
                    samples.setdefault((server, count), []).append(row)
        for (server, count), rows in samples.items():
            runs.append({"server": server, "clients": count, "status": OK, **_median_round(rows)})
    return runs


def _one_by_one(
    workload: Workload,
    server: str,
    clients: Sequence[int],
    seconds: float,
    paths: tuple[Path, Path],
    log: Log,
) -> list[dict[str, Any]]:
    """``server`` measured once per client count, started afresh after a run that left
    requests timed out (it may still be working on them)."""
    closure, workdir = paths
    runs: list[dict[str, Any]] = []
    label = f"{GRAPH_LABELS[workload.key]}, {SERVER_LABELS[server]}"
    pending = list(clients)
    try:
        while pending:
            with _serve(server, workload, closure, workdir) as url:
                while pending:
                    count = pending.pop(0)
                    log(f"throughput: {label}, {count} client(s), {seconds:g} s ...")
                    row = hammer(url, workload.queries, count, seconds)
                    runs.append({"server": server, "clients": count, "status": OK, **row})
                    log(
                        f"throughput: {row['qps']:.1f} q/s, {row['errors']} failed "
                        f"({row['timeouts']} timed out)"
                    )
                    if row["timeouts"]:
                        break  # it may still be answering them: the next run gets a new one
    except (lubm.BenchError, httpx.HTTPError, OSError) as exc:
        log(f"throughput: {label}: {exc}")
        done = {r["clients"] for r in runs}
        runs += [
            {"server": server, "clients": n, "status": FAILED, "error": str(exc)}
            for n in clients
            if n not in done
        ]
    return runs


def measure_workload(
    workload: Workload,
    clients: Sequence[int],
    seconds: float,
    workdir: Path,
    log: Log,
    rounds: int = 1,
) -> dict[str, Any]:
    """Every server of :data:`SERVERS` on ``workload``, with each client count: medkg and
    ``oxigraph serve`` side by side in ``rounds`` alternating rounds (the median round
    reported), rdflib-endpoint (minutes per query on LUBM) once."""
    closure = workdir / f"{workload.key}.nt"
    workload.write_closure(closure, log)
    paths = (closure, workdir)
    alternating = [s for s in SERVERS if s in ALTERNATING]
    runs = _alternating(workload, alternating, clients, seconds, rounds, paths, log)
    for server in SERVERS:
        if server not in ALTERNATING:
            runs += _one_by_one(workload, server, clients, seconds, paths, log)
    runs.sort(key=lambda run: (SERVERS.index(run["server"]), run["clients"]))
    reference = reference_counts(workload, runs)
    for run in runs:
        check(run, reference, workload.reference)
    _add_ratios(runs)
    return {
        "label": GRAPH_LABELS[workload.key],
        "triples": _triples(closure),
        "queries": [q.name for q in workload.queries],
        "reference": workload.reference,
        "expected_counts": reference,
        "runs": runs,
    }


def measure_matrix(
    files: lubm.LubmFiles,
    seconds: float,
    log: Log,
    clients: Sequence[int] = CLIENTS,
    graphs: Sequence[str] = (SEED, LUBM1),
    rounds: int = 1,
) -> dict[str, Any]:
    """{seed graph, LUBM(1) closure} x ``clients`` x :data:`SERVERS`, each run bounded by
    ``seconds`` (plus :data:`GRACE_S` for the requests in flight)."""
    makers: dict[str, Callable[[], Workload]] = {
        SEED: seed_workload,
        LUBM1: lambda: lubm1_workload(files),
    }
    out: dict[str, Any] = {
        "seconds": seconds,
        "clients": list(clients),
        "rounds": rounds,
        "graphs": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for key in graphs:
            out["graphs"][key] = measure_workload(
                makers[key](), clients, seconds, Path(tmp), log, rounds
            )
    return out


def find_run(
    throughput: Mapping[str, Any], graph: str, clients: int, server: str
) -> dict[str, Any] | None:
    """One run of a :func:`measure_matrix` result, if it was measured."""
    runs = throughput.get("graphs", {}).get(graph, {}).get("runs", [])
    return next((r for r in runs if r["server"] == server and r["clients"] == clients), None)
