"""Serving benchmarks: start-up time and memory of ``medkg serve``, by reasoning mode
(``--reasoner fast|owlrl``) and against plain owlrl on rdflib (:mod:`bench.baseline`), and
the server helpers of :mod:`bench.throughput` (``/sparql`` throughput).

Every server runs in its own process on 127.0.0.1 and a free port, in its default
configuration (query worker processes on) unless a row says otherwise. Start-up is timed
from the process start to the first ``/health`` answer saying ready (or, for the seed graph,
to the first answer of a query); peak memory is the server's resident set high-water mark,
read with ``resource.getrusage(RUSAGE_CHILDREN)`` in a small wrapper process that starts
it, so each measurement sees only its own server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

from bench import lubm
from bench.baseline import run_baseline
from bench.machine import clean_environment

Log = Callable[[str], None]
STARTUP_LIMIT_S = 600.0

#: Runs a command, waits for it, prints its peak RSS in KiB (ru_maxrss of the children).
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def medkg_command(*args: str, options: Sequence[str] = ()) -> list[str]:
    """``medkg [options] serve [args]``: ``options`` are the global ones, such as
    ``--reasoner owlrl``, which go before the subcommand."""
    return [sys.executable, "-m", "medkg", *options, "serve", *args]


class Server:
    """A server started under the RSS wrapper."""

    def __init__(
        self,
        command: Sequence[str],
        port: int,
        log_path: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.started = time.perf_counter()
        self._log = log_path.open("wb")
        self._err = log_path.with_suffix(".rss").open("w+b")
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WRAPPER, *command],
            stdout=self._log,
            stderr=self._err,
            env={**clean_environment(), "PYTHONWARNINGS": "ignore", **(env or {})},
        )

    def wait(
        self, ready: Callable[[httpx.Client], bool], limit_s: float = STARTUP_LIMIT_S
    ) -> float:
        """Seconds from the start until ``ready`` is true."""
        with httpx.Client(timeout=5) as client:
            while time.perf_counter() - self.started < limit_s:
                if self.process.poll() is not None:
                    raise lubm.BenchError(f"server exited ({self.process.returncode})")
                try:
                    if ready(client):
                        return time.perf_counter() - self.started
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
        raise lubm.BenchError("server did not become ready")

    def stop(self) -> float | None:
        """Stop the server; its peak RSS in MiB (None if unknown)."""
        if self.process.poll() is None:
            # the wrapper's child is the server: terminate it, the wrapper then reports
            children = _children(self.process.pid)
            for pid in children:
                with suppress(ProcessLookupError):
                    os.kill(pid, 15)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                for pid in children:
                    with suppress(ProcessLookupError):
                        os.kill(pid, 9)
                self.process.wait(30)
        self._log.close()
        self._err.seek(0)
        text = self._err.read().decode(errors="replace").strip().splitlines()
        self._err.close()
        try:
            return round(int(text[-1]) / 1024, 1)
        except (IndexError, ValueError):
            return None


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def health_ready(client: httpx.Client, base: str) -> bool:
    response = client.get(f"{base}/health")
    return response.status_code == 200 and bool(response.json().get("ready"))


FIRST_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def answered(client: httpx.Client, base: str, path: str = "/sparql") -> bool:
    response = client.get(
        f"{base}{path}",
        params={"query": FIRST_QUERY},
        headers={"Accept": "application/sparql-results+json"},
    )
    return response.status_code == 200


@contextmanager
def medkg_server(
    args: Sequence[str], workdir: Path, ready: str = "health", env: dict[str, str] | None = None
) -> Iterator[tuple[Server, float]]:
    port = free_port()
    command = medkg_command(*args, "--host", "127.0.0.1", "--port", str(port))
    server = Server(command, port, workdir / f"medkg-{port}.log", env)
    try:
        if ready == "health":
            seconds = server.wait(lambda c: health_ready(c, server.base))
        else:
            seconds = server.wait(lambda c: answered(c, server.base))
        yield server, seconds
    finally:
        server.stop()


def lubm_files(files: lubm.LubmFiles, size: int) -> list[Path]:
    data = files.directory / f"lubm{size}.nt.gz"
    return [files.ontology, data]


def startup(
    args: Sequence[str],
    workdir: Path,
    ready: str = "health",
    *,
    options: Sequence[str] = (),
    limit_s: float = STARTUP_LIMIT_S,
) -> dict[str, float | None]:
    port = free_port()
    command = medkg_command(*args, "--host", "127.0.0.1", "--port", str(port), options=options)
    server = Server(command, port, workdir / f"medkg-{port}.log")
    try:
        if ready == "health":
            seconds = server.wait(lambda c: health_ready(c, server.base), limit_s)
        else:
            seconds = server.wait(lambda c: answered(c, server.base), limit_s)
    finally:
        rss = server.stop()
    return {"ready_s": seconds, "peak_rss_mib": rss}


def median_startup(
    args: Sequence[str], workdir: Path, ready: str = "health", repeat: int = 3
) -> dict[str, Any]:
    """The start (see :func:`startup`) with the median time of ``repeat`` starts, and every
    time measured: one start of a second is at the mercy of whatever else the machine runs."""
    rows = sorted(
        (startup(args, workdir, ready) for _ in range(repeat)), key=lambda row: row["ready_s"] or 0
    )
    return {**rows[len(rows) // 2], "samples_s": [row["ready_s"] for row in rows]}


#: The worker processes flag of the extra rows: queries run in the server process.
IN_PROCESS = ("--workers", "0")


def measure_startups(
    files: lubm.LubmFiles, sizes: Sequence[int], log: Log, repeat: int = 3, lubm_repeat: int = 1
) -> dict[str, Any]:
    """Start-up of ``medkg serve`` as users run it (its default query worker processes):
    LUBM(n) cold starts (``--data ... --no-cache``) to ``/health`` ready, each the median of
    ``lubm_repeat`` starts, and seed graph cold (``--no-cache``) and warm (closure cached)
    starts to the first ``/sparql`` answer, each the median of ``repeat`` starts. The
    ``*_workers0`` rows are the seed graph starts with queries run in the server process
    (``--workers 0``)."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for size in sizes:
            data = [x for f in lubm_files(files, size) for x in ("--data", str(f))]
            log(f"startup: LUBM({size}) cold, median of {lubm_repeat} ...")
            row = median_startup([*data, "--no-cache"], work, repeat=lubm_repeat)
            log(f"startup: LUBM({size}) ready in {row['ready_s']:.2f} s, {row['peak_rss_mib']} MiB")
            out[f"lubm{size}"] = row
        for suffix, extra in (("", ()), ("_workers0", IN_PROCESS)):
            cache = work / f"cache{suffix}"
            where = ["--cache-dir", str(cache), *extra]
            log(f"startup: seed graph cold (no cache) {' '.join(extra)}...")
            cold = median_startup([*where, "--no-cache"], work, "query", repeat)
            startup(where, work, "query")  # fill the cache
            warm = median_startup(where, work, "query", repeat)
            log(f"startup: seed{suffix} cold {cold['ready_s']:.2f} s, warm {warm['ready_s']:.2f} s")
            out[f"seed_cold{suffix}"] = cold
            out[f"seed_warm{suffix}"] = warm
    return out


# --------------------------------------------------------------------------------------------
# Start-up by reasoning mode, against plain owlrl on rdflib

SEED = "seed"
WORKLOADS: tuple[str, ...] = (SEED, "lubm1", "lubm5")
WORKLOAD_LABELS = {SEED: "seed graph (cold start)", "lubm1": "LUBM(1)", "lubm5": "LUBM(5)"}
FAST, OWLRL, BASELINE = "fast", "owlrl", "baseline"
MODES: tuple[str, ...] = (FAST, OWLRL, BASELINE)
MODE_LABELS = {
    FAST: "`medkg --reasoner fast serve`",
    OWLRL: "`medkg --reasoner owlrl serve`",
    BASELINE: "owlrl on rdflib (baseline)",
}
MEASURED, NOT_RUN, FAILED = "measured", "not run", "failed"
#: owlrl on LUBM(5) takes many minutes, in medkg and in the baseline alike.
SLOW_LIMIT_S = 3600.0
#: The rows of :func:`measure_startups` that are the fast reasoner's cold starts.
FAST_ROWS = {SEED: "seed_cold", "lubm1": "lubm1", "lubm5": "lubm5"}


def lubm_size(workload: str) -> int | None:
    """``5`` for ``"lubm5"``; None for the seed graph."""
    return int(workload[len("lubm") :]) if workload.startswith("lubm") else None


def workload_paths(files: lubm.LubmFiles, workload: str) -> list[Path]:
    """The input files of a workload: the bundled ontology and data for the seed graph."""
    size = lubm_size(workload)
    if size is None:
        from bench.reasoner import seed_workload

        return [source.path for source in seed_workload().sources]
    return lubm_files(files, size)


def medkg_startup(
    files: lubm.LubmFiles, workload: str, reasoner: str, workdir: Path
) -> dict[str, Any]:
    """One cold start of ``medkg --reasoner R serve`` on ``workload``, as the fast rows of
    :func:`measure_startups` do it: LUBM to ``/health`` ready, the seed graph to the first
    answer."""
    options = ("--reasoner", reasoner)
    limit = SLOW_LIMIT_S if reasoner == OWLRL else STARTUP_LIMIT_S
    if lubm_size(workload) is None:
        where = ["--cache-dir", str(workdir / f"cache-{reasoner}"), "--no-cache"]
        return startup(where, workdir, "query", options=options, limit_s=limit)
    data = [x for f in workload_paths(files, workload) for x in ("--data", str(f))]
    return startup([*data, "--no-cache"], workdir, options=options, limit_s=limit)


def _measure_mode(
    files: lubm.LubmFiles, workload: str, mode: str, startups: dict[str, Any], workdir: Path
) -> dict[str, Any]:
    if mode == BASELINE:
        figures = run_baseline(workload_paths(files, workload), SLOW_LIMIT_S)
        if "error" in figures:
            return {"status": FAILED, **figures}
        return {"status": MEASURED, "seconds": figures["wall_s"], **figures}
    reused = startups.get(FAST_ROWS[workload]) if mode == FAST else None
    try:
        row = reused or medkg_startup(files, workload, mode, workdir)
    except lubm.BenchError as exc:
        return {"status": FAILED, "error": str(exc)}
    return {"status": MEASURED, "seconds": row["ready_s"], **row}


def _add_ratios(rows: list[dict[str, Any]]) -> None:
    """``baseline_over_time`` / ``baseline_over_rss`` on every measured medkg row: the
    baseline's time (peak memory) over that row's, when the baseline ran on its workload."""
    for workload in WORKLOADS:
        base = next((r for r in rows if r["workload"] == workload and r["mode"] == BASELINE), None)
        if base is None or base["status"] != MEASURED:
            continue
        for row in rows:
            if row["workload"] != workload or row["mode"] == BASELINE:
                continue
            if row["status"] != MEASURED:
                continue
            row["baseline_over_time"] = _ratio(base["seconds"], row["seconds"])
            row["baseline_over_rss"] = _ratio(base["peak_rss_mib"], row["peak_rss_mib"])


def _ratio(top: float | None, bottom: float | None) -> float | None:
    return None if top is None or not bottom else top / bottom


def measure_modes(
    files: lubm.LubmFiles,
    plan: Mapping[str, Sequence[str]],
    startups: dict[str, Any],
    log: Log,
) -> dict[str, Any]:
    """A row for every workload and mode of :data:`WORKLOADS` x :data:`MODES`: measured when
    ``plan[workload]`` names the mode, else ``"not run"``. The fast reasoner's rows reuse
    ``startups`` (the result of :func:`measure_startups`) when it holds them."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for workload in WORKLOADS:
            for mode in MODES:
                row: dict[str, Any] = {"workload": workload, "mode": mode}
                if mode not in plan.get(workload, ()):
                    rows.append({**row, "status": NOT_RUN})
                    continue
                log(f"startup by mode: {WORKLOAD_LABELS[workload]}, {mode} ...")
                row.update(_measure_mode(files, workload, mode, startups, Path(tmp)))
                log(f"startup by mode: {_describe(row)}")
                rows.append(row)
    _add_ratios(rows)
    return {"rows": rows}


def _describe(row: dict[str, Any]) -> str:
    where = f"{row['workload']} {row['mode']}"
    if row["status"] != MEASURED:
        return f"{where}: {row['status']} {row.get('error', '')}".rstrip()
    return f"{where}: {row['seconds']:.2f} s, {row['peak_rss_mib']} MiB"
