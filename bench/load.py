"""``python -m bench load``: a bounded load and soak test of a real ``medkg serve``.

Many concurrent readers send cheap queries, a few send expensive queries that run past the
time limit and have their worker killed, and one writer sends acknowledged SPARQL updates,
all for a fixed duration over loopback. The run reports throughput, p50/p99 per kind of
request and every error, then checks:

- no 5xx other than the documented 503 "query exceeded the time limit" (counted apart);
- no transport error (refused or reset connection, client timeout: a hang);
- every write the server acknowledged (204) is in the graph afterwards;
- the cheap queries' p99 stays under a bound while the expensive ones are being killed;
- the resident memory of the server and its workers returns near its post-warm-up
  baseline a few seconds after the load stops.

The expensive streams are paced (each waits after its answer, as a person at a query form
would), and there are fewer of them than query workers, so a worker stays free for the
cheap queries. Without that pacing enough runaway queries can hold every worker for the
whole time limit, and cheap queries queue behind them: that is what the time limit and
the per-client concurrency limit (off in this test) are for.

Without ``--url`` the command starts its own server (the bundled graph, or ``--ontology-dir``
/ ``--data-dir``) on a free loopback port with a temporary store and token, and stops it.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.serving import medkg_server

RESULTS_DIR = Path(__file__).parent / "results"
LOAD_JSON_NAME = "load.json"
EX = "http://example.org/load/"
JSON = "application/sparql-results+json, text/turtle;q=0.9"
TIMEOUT_DETAIL = "query exceeded the time limit"

#: Cheap queries: each answers in milliseconds on any graph medkg serves.
CHEAP_QUERIES = (
    "SELECT ?s ?label WHERE { ?s rdfs:label ?label } LIMIT 20",
    "ASK { ?s a owl:Class }",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s a ?type }",
    "SELECT ?type (COUNT(?s) AS ?n) WHERE { ?s a ?type } GROUP BY ?type LIMIT 10",
    "CONSTRUCT { ?s rdfs:label ?o } WHERE { ?s rdfs:label ?o } LIMIT 10",
)
#: An expensive query: a five-way cartesian product that no time limit lets finish.
EXPENSIVE_QUERY = (
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o }"
)


@dataclass(frozen=True)
class LoadSettings:
    seconds: float = 20.0
    readers: int = 16  # cheap-query readers, closed loop
    expensive: int = 1  # expensive-query streams (keep below the worker count)
    expensive_pause: float = 1.5  # seconds each expensive stream waits after an answer
    write_pause: float = 0.2  # seconds the writer waits after each acknowledged write
    warmup: float = 3.0
    settle: float = 15.0  # longest wait for memory to come back after the load
    cheap_p99_bound: float = 1.0  # seconds
    memory_growth_fraction: float = 0.5  # allowed growth over the baseline: 50 % ...
    memory_growth_bytes: int = 100 * 1024 * 1024  # ... or 100 MB, whichever is larger
    client_timeout: float = 30.0


@dataclass
class Sample:
    kind: str  # cheap, expensive, write
    status: int  # HTTP status; 0: transport error
    seconds: float
    detail: str = ""


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


# -- memory ---------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process descended from it (the server and its query workers)."""
    children = _children()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def rss_bytes(pid: int) -> int:
    """The summed VmRSS of ``pid`` and its descendants (0 for a process that is gone)."""
    total = 0
    for member in process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


# -- the load -------------------------------------------------------------------------------


def _query(http: httpx.Client, query: str) -> httpx.Response:
    return http.get("/sparql", params={"query": query}, headers={"Accept": JSON})


def _detail(response: httpx.Response) -> str:
    if response.status_code < 400:
        return ""
    try:
        return str(response.json().get("detail", ""))[:200]
    except ValueError:
        return response.text[:200]


def _timed(recorder: Recorder, kind: str, call: Callable[[], httpx.Response]) -> Sample:
    start = time.perf_counter()
    try:
        response = call()
        sample = Sample(kind, response.status_code, time.perf_counter() - start)
        sample.detail = _detail(response)
    except httpx.HTTPError as exc:
        sample = Sample(kind, 0, time.perf_counter() - start, f"{type(exc).__name__}: {exc}")
    recorder.add(sample)
    return sample


def _cheap_reader(
    base_url: str, number: int, stop: threading.Event, recorder: Recorder, timeout: float
) -> None:
    with httpx.Client(base_url=base_url, timeout=timeout) as http:
        i = number
        while not stop.is_set():
            query = CHEAP_QUERIES[i % len(CHEAP_QUERIES)]
            _timed(recorder, "cheap", lambda q=query: _query(http, q))  # type: ignore[misc]
            i += 1


def _expensive_reader(
    base_url: str, pause: float, stop: threading.Event, recorder: Recorder, timeout: float
) -> None:
    with httpx.Client(base_url=base_url, timeout=timeout) as http:
        while not stop.is_set():
            _timed(recorder, "expensive", lambda: _query(http, EXPENSIVE_QUERY))
            stop.wait(pause)


def _update(http: httpx.Client, token: str, number: int) -> httpx.Response:
    update = f'INSERT DATA {{ <{EX}item{number}> <{EX}n> "{number}" }}'
    return http.post(
        "/sparql",
        content=update.encode(),
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {token}"},
    )


def _writer(
    base_url: str,
    token: str,
    pause: float,
    stop: threading.Event,
    recorder: Recorder,
    timeout: float,
    first: int,
) -> None:
    with httpx.Client(base_url=base_url, timeout=timeout) as http:
        number = first
        while not stop.is_set():
            sample = _timed(recorder, "write", lambda n=number: _update(http, token, n))  # type: ignore[misc]
            if sample.status == 204:
                with recorder.lock:
                    recorder.acknowledged.append(number)
            number += 1
            stop.wait(pause)


def _run_phase(
    base_url: str, token: str | None, seconds: float, settings: LoadSettings, first_write: int
) -> Recorder:
    recorder = Recorder()
    stop = threading.Event()
    timeout = settings.client_timeout
    threads = [
        threading.Thread(target=_cheap_reader, args=(base_url, i, stop, recorder, timeout))
        for i in range(settings.readers)
    ]
    threads += [
        threading.Thread(
            target=_expensive_reader,
            args=(base_url, settings.expensive_pause, stop, recorder, timeout),
        )
        for _ in range(settings.expensive)
    ]
    if token:
        threads.append(
            threading.Thread(
                target=_writer,
                args=(base_url, token, settings.write_pause, stop, recorder, timeout, first_write),
            )
        )
    for thread in threads:
        thread.daemon = True
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout + 5)
    return recorder


def _written_items(base_url: str) -> set[int]:
    query = f"SELECT ?s WHERE {{ ?s <{EX}n> ?o }}"
    for _ in range(10):
        response = httpx.get(
            f"{base_url}/sparql", params={"query": query}, headers={"Accept": JSON}, timeout=30
        )
        if response.status_code != 503:
            break
        time.sleep(1.0)  # a worker is still loading the latest version
    if response.status_code != 200:
        raise RuntimeError(f"reading the writes back: {response.status_code} {_detail(response)}")
    return {
        int(row["s"]["value"][len(EX + "item") :]) for row in response.json()["results"]["bindings"]
    }


def _wait_workers(base_url: str, seconds: float = 30.0) -> None:
    """Wait until every query worker is alive and idle (replacements have started)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"{base_url}/health", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            health = {}
        workers = health.get("workers")
        if not isinstance(workers, dict) or workers.get("idle", 0) >= workers.get("size", 0):
            return
        time.sleep(0.2)


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def _stats(samples: list[Sample], seconds: float) -> dict[str, Any]:
    latencies = [s.seconds for s in samples if 200 <= s.status < 300]
    p50, p99 = _percentile(latencies, 0.5), _percentile(latencies, 0.99)
    return {
        "requests": len(samples),
        "ok": len(latencies),
        "throughput_per_s": round(len(samples) / seconds, 1),
        "p50_ms": None if p50 is None else round(p50 * 1000, 1),
        "p99_ms": None if p99 is None else round(p99 * 1000, 1),
        "max_ms": round(max(s.seconds for s in samples) * 1000, 1) if samples else None,
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
        "statuses": {str(k): v for k, v in sorted(Counter(s.status for s in samples).items())},
    }


def run_load(
    base_url: str,
    *,
    token: str | None,
    server_pid: int | None,
    settings: LoadSettings,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Warm up, run the load for ``settings.seconds``, let it settle, and check."""
    log(f"warm-up {settings.warmup:g} s")
    warm = _run_phase(base_url, token, settings.warmup, settings, first_write=1_000_000)
    _wait_workers(base_url)
    time.sleep(1.0)
    baseline = rss_bytes(server_pid) if server_pid else None

    peak = baseline or 0
    sampling = threading.Event()

    def sample_memory() -> None:
        nonlocal peak
        while not sampling.wait(0.5):
            if server_pid:
                peak = max(peak, rss_bytes(server_pid))

    monitor = threading.Thread(target=sample_memory, daemon=True)
    monitor.start()
    log(
        f"load {settings.seconds:g} s: {settings.readers} cheap readers, "
        f"{settings.expensive} expensive, {'1 writer' if token else 'no writer'}"
    )
    recorder = _run_phase(base_url, token, settings.seconds, settings, first_write=0)
    elapsed = settings.seconds  # the requests still in flight at the end count too
    sampling.set()
    monitor.join()

    after: int | None = None
    settled_s: float | None = None
    if server_pid and baseline:
        allowed = baseline + max(
            int(baseline * settings.memory_growth_fraction), settings.memory_growth_bytes
        )
        _wait_workers(base_url)
        settle_start = time.monotonic()
        while True:
            after = rss_bytes(server_pid)
            settled_s = time.monotonic() - settle_start
            if after <= allowed or settled_s >= settings.settle:
                break
            time.sleep(0.5)

    acknowledged = sorted(recorder.acknowledged + warm.acknowledged)
    present = _written_items(base_url) if token else set()
    missing = [n for n in acknowledged if n not in present]

    by_kind = {
        kind: _stats([s for s in recorder.samples if s.kind == kind], elapsed)
        for kind in ("cheap", "expensive", "write")
    }
    # Only an expensive query may run past the time limit; a cheap one that does is an error.
    timeouts = [
        s
        for s in recorder.samples
        if s.kind == "expensive" and s.status == 503 and TIMEOUT_DETAIL in s.detail
    ]
    other_5xx = [s for s in recorder.samples if s.status >= 500 and s not in timeouts]
    transport = [s for s in recorder.samples if s.status == 0]
    unexpected_4xx = [s for s in recorder.samples if 400 <= s.status < 500]
    cheap_p99 = by_kind["cheap"]["p99_ms"]
    checks = {
        "no_other_5xx": not other_5xx,
        "no_transport_errors": not transport,
        "no_4xx": not unexpected_4xx,
        "no_lost_acknowledged_write": not missing,
        "cheap_p99_bounded": cheap_p99 is not None and cheap_p99 <= settings.cheap_p99_bound * 1000,
        "expensive_queries_killed": bool(timeouts) or settings.expensive == 0,
    }
    memory: dict[str, Any] = {}
    if server_pid and baseline:
        mb = 1024 * 1024
        memory = {
            "baseline_mb": round(baseline / mb, 1),
            "peak_mb": round(peak / mb, 1),
            "after_mb": round((after or 0) / mb, 1),
            "allowed_mb": round(allowed / mb, 1),
            "settled_after_s": round(settled_s or 0.0, 1),
        }
        checks["memory_back_to_baseline"] = (after or 0) <= allowed
    errors = Counter(
        f"{s.kind} {s.status}: {s.detail}" for s in other_5xx + transport + unexpected_4xx
    )
    result = {
        "settings": {
            "seconds": settings.seconds,
            "readers": settings.readers,
            "expensive": settings.expensive,
            "expensive_pause_s": settings.expensive_pause,
            "write_pause_s": settings.write_pause,
            "cheap_p99_bound_s": settings.cheap_p99_bound,
        },
        "elapsed_s": round(elapsed, 1),
        "throughput_per_s": round(len(recorder.samples) / elapsed, 1),
        "requests": len(recorder.samples),
        "kinds": by_kind,
        "timeouts_503": len(timeouts),
        "other_5xx": len(other_5xx),
        "transport_errors": len(transport),
        "errors": dict(errors.most_common(10)),
        "writes": {"acknowledged": len(acknowledged), "missing": missing[:20]},
        "memory": memory,
        "checks": checks,
        "ok": all(checks.values()),
    }
    return result


def summary(result: dict[str, Any]) -> str:
    kinds = result["kinds"]
    lines = [
        f"{result['requests']} requests in {result['elapsed_s']} s: "
        f"{result['throughput_per_s']} requests/s",
    ]
    for kind, stats in kinds.items():
        lines.append(
            f"  {kind:9} {stats['requests']:6} requests {stats['throughput_per_s']:7}/s  "
            f"p50 {stats['p50_ms']} ms  p99 {stats['p99_ms']} ms  statuses {stats['statuses']}"
        )
    lines.append(
        f"  503 time limit: {result['timeouts_503']}; other 5xx: {result['other_5xx']}; "
        f"transport errors: {result['transport_errors']}"
    )
    writes = result["writes"]
    lines.append(f"  writes acknowledged: {writes['acknowledged']}, missing: {writes['missing']}")
    memory = result["memory"]
    if memory:
        lines.append(
            f"  memory (server + workers): baseline {memory['baseline_mb']} MB, peak "
            f"{memory['peak_mb']} MB, after {memory['after_mb']} MB "
            f"(allowed {memory['allowed_mb']} MB)"
        )
    for error, count in result["errors"].items():
        lines.append(f"  error x{count}: {error}")
    failed = [name for name, ok in result["checks"].items() if not ok]
    lines.append("OK: every check passed" if not failed else f"FAIL: {', '.join(failed)}")
    return "\n".join(lines)


def write_json(result: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOAD_JSON_NAME
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


# -- a server of its own --------------------------------------------------------------------


@contextmanager
def own_server(
    *, timeout: float, workers: int, extra: list[str], token: str
) -> Iterator[tuple[str, int]]:
    """``medkg serve`` on a free loopback port with a temporary store: (base URL, the pid
    whose process tree is the server and its workers)."""
    with tempfile.TemporaryDirectory(prefix="medkg-load-") as tmp:
        args = [
            *extra, "--store", str(Path(tmp) / "store"), "--cache-dir", str(Path(tmp) / "cache"),
            "--timeout", f"{timeout:g}", "--workers", str(workers), "--log-level", "warning",
        ]  # fmt: skip
        env = {
            "MEDKG_UPDATE_TOKEN": token,
            "MEDKG_CLIENT_RATE": "0",
            "MEDKG_CLIENT_CONCURRENCY": "0",
        }
        with medkg_server(args, Path(tmp), env=env) as (server, _seconds):
            yield server.base, server.process.pid


def load_command(
    *,
    seconds: float,
    readers: int,
    expensive: int,
    timeout: float,
    workers: int,
    extra: list[str],
    out: Path | None,
    log: Callable[[str], None],
) -> int:
    settings = LoadSettings(seconds=seconds, readers=readers, expensive=expensive)
    token = secrets.token_urlsafe(24)
    with own_server(timeout=timeout, workers=workers, extra=extra, token=token) as (url, pid):
        result = run_load(url, token=token, server_pid=pid, settings=settings, log=log)
    result["settings"].update(timeout_s=timeout, workers=workers)
    path = write_json(result, out or RESULTS_DIR)
    log(f"wrote {path.name}")
    print(summary(result))
    return 0 if result["ok"] else 1
