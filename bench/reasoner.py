"""The reasoners compared: medkg's ``fast`` OWL 2 RL reasoner against owlrl, and the proof
that both infer the same triples.

Workloads: the bundled graph (``seed``: medkg's ontology, data and CONSTRUCT rules),
LUBM(1) and, in full mode, LUBM(5) (fast reasoner only: owlrl would take many minutes).
Each input is parsed once in this process; every (workload, reasoner) pair then runs in a
forked child that inherits the parsed dataset, so both reasoners see the very same terms
(blank nodes included), and the child's memory is its own. A run is one
``compute_inferred`` call: the closure, the rules, the noise filter and the rdflib graph
of the result, as medkg's pipeline does it.

The first run of each reasoner returns its inferred triples; the two sets must be equal
(the differential check). Peak memory is the child's resident set high-water mark
(``VmHWM``, reset when the child starts), and the growth over the parsed input.
"""

from __future__ import annotations

import gc
import multiprocessing
import resource
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from rdflib import Dataset

from bench.lubm import BenchError, Log, LubmFiles
from bench.machine import proc_status_mib
from medkg.config import Reasoner, Settings, resolve_resources
from medkg.errors import InconsistencyError
from medkg.inference import compute_inferred
from medkg.loading import SourceFile, discover, discover_rules, load_dataset
from medkg.namespaces import graph_iri_for

SEED = "seed"
LUBM1 = "lubm1"
LUBM5 = "lubm5"
LUBM5_FILE = "lubm5.nt.gz"

LABELS = {
    SEED: "the bundled graph (medkg ontology, data and rules)",
    LUBM1: "LUBM(1,0)",
    LUBM5: "LUBM(5,0)",
}

#: How many differing triples a failed differential check prints.
SHOWN_DIFFERENCES = 10


@dataclass(frozen=True)
class Workload:
    key: str
    sources: list[SourceFile]
    rules: list[Path]

    @property
    def label(self) -> str:
        return LABELS[self.key]


def seed_workload() -> Workload:
    resources = resolve_resources(Settings())
    return Workload(SEED, discover(resources), discover_rules(resources))


def lubm_workload(files: LubmFiles, key: str = LUBM1) -> Workload:
    if key == LUBM1:
        return Workload(LUBM1, files.sources, [])
    data = files.directory / LUBM5_FILE
    if not data.is_file():
        raise BenchError(f"LUBM(5) data missing: {data}")
    sources = [files.sources[0], SourceFile(data, graph_iri_for(data), "data")]
    return Workload(LUBM5, sources, [])


@dataclass
class ReasonerRun:
    """One reasoner on one workload: every run's time, memory, and what it inferred."""

    reasoner: Reasoner
    runs_s: list[float] = field(default_factory=list)
    peak_rss_mib: float | None = None
    start_rss_mib: float | None = None
    inferred: frozenset[str] | None = None  # N-Triples-like lines of the first run
    clashes: list[str] | None = None
    error: str | None = None

    @property
    def median_s(self) -> float | None:
        return statistics.median(self.runs_s) if self.runs_s else None

    def to_json(self) -> dict[str, object]:
        growth = (
            round(self.peak_rss_mib - self.start_rss_mib, 1)
            if self.peak_rss_mib is not None and self.start_rss_mib is not None
            else None
        )
        return {
            "reasoner": self.reasoner.value,
            "runs_s": [round(t, 4) for t in self.runs_s],
            "median_s": self.median_s,
            "min_s": min(self.runs_s) if self.runs_s else None,
            "peak_rss_mib": self.peak_rss_mib,
            "rss_growth_mib": growth,
            "inferred_triples": len(self.inferred) if self.inferred is not None else None,
            "clashes": self.clashes,
            "error": self.error,
        }


def _reset_peak_rss() -> None:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")  # resets VmHWM to the current resident set
    except OSError:
        pass


def _child(
    dataset: Dataset, workload: Workload, reasoner: Reasoner, runs: int, conn: Connection
) -> None:
    """Run ``compute_inferred`` ``runs`` times; send the inferred triples once, then a
    ("time", seconds) per run, and finally ("memory", peak MiB, start MiB)."""
    try:
        _reset_peak_rss()
        start_rss = proc_status_mib("VmRSS")
        for index in range(runs):
            gc.collect()
            start = time.perf_counter()
            try:
                inferred = compute_inferred(dataset, workload.rules, reasoner=reasoner)
            except InconsistencyError as exc:
                conn.send(("clashes", exc.clashes))
                return
            elapsed = time.perf_counter() - start
            if index == 0:
                lines = frozenset(" ".join(term.n3() for term in triple) for triple in inferred)
                conn.send(("inferred", lines))
            conn.send(("time", elapsed))
            del inferred
        peak = proc_status_mib("VmHWM")
        if peak is None:  # no /proc: ru_maxrss is KiB on Linux, bytes on macOS
            peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        conn.send(("memory", peak, start_rss))
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def measure(dataset: Dataset, workload: Workload, reasoner: Reasoner, runs: int) -> ReasonerRun:
    """``runs`` runs of ``reasoner`` on the parsed ``dataset`` in a forked child."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child, args=(dataset, workload, reasoner, runs, sender), daemon=True
    )
    child.start()
    sender.close()
    result = ReasonerRun(reasoner)
    try:
        while True:
            try:
                message = receiver.recv()
            except EOFError:
                if result.error is None and result.peak_rss_mib is None and not result.clashes:
                    result.error = "child process died"
                break
            kind = message[0]
            if kind == "inferred":
                result.inferred = message[1]
            elif kind == "time":
                result.runs_s.append(float(message[1]))
            elif kind == "memory":
                result.peak_rss_mib, result.start_rss_mib = message[1], message[2]
            elif kind == "clashes":
                result.clashes = list(message[1])
            else:
                result.error = str(message[1])
    finally:
        child.join()
        receiver.close()
    return result


@dataclass
class WorkloadResult:
    """Both reasoners (or the fast one alone) on one workload."""

    workload: Workload
    asserted_triples: int
    parse_s: float
    runs: list[ReasonerRun]

    def by_reasoner(self, reasoner: Reasoner) -> ReasonerRun | None:
        return next((r for r in self.runs if r.reasoner is reasoner), None)

    @property
    def compared(self) -> bool:
        return len(self.runs) == 2

    def differences(self) -> tuple[list[str], list[str]]:
        """(only fast infers, only owlrl infers), sorted; empty when not compared."""
        fast, reference = self.by_reasoner(Reasoner.FAST), self.by_reasoner(Reasoner.OWLRL)
        if fast is None or reference is None:
            return [], []
        left, right = fast.inferred or frozenset(), reference.inferred or frozenset()
        return sorted(left - right), sorted(right - left)

    @property
    def identical(self) -> bool | None:
        """Do both reasoners give the same triples (or the same clashes)? None: not compared."""
        fast, reference = self.by_reasoner(Reasoner.FAST), self.by_reasoner(Reasoner.OWLRL)
        if fast is None or reference is None:
            return None
        if fast.error or reference.error:
            return False
        return fast.inferred == reference.inferred and fast.clashes == reference.clashes

    @property
    def ratio(self) -> float | None:
        """owlrl's median over the fast reasoner's."""
        fast, reference = self.by_reasoner(Reasoner.FAST), self.by_reasoner(Reasoner.OWLRL)
        if fast is None or reference is None or not fast.median_s or not reference.median_s:
            return None
        return reference.median_s / fast.median_s

    def to_json(self) -> dict[str, object]:
        only_fast, only_owlrl = self.differences()
        return {
            "label": self.workload.label,
            "sources": [source.name for source in self.workload.sources],
            "rules": [rule.name for rule in self.workload.rules],
            "asserted_triples": self.asserted_triples,
            "parse_s": round(self.parse_s, 3),
            "reasoners": {run.reasoner.value: run.to_json() for run in self.runs},
            "owlrl_over_fast": self.ratio,
            "identical": self.identical,
            "only_fast": only_fast[:SHOWN_DIFFERENCES],
            "only_owlrl": only_owlrl[:SHOWN_DIFFERENCES],
            "differing_triples": len(only_fast) + len(only_owlrl),
        }


def run_workload(workload: Workload, repeats: dict[Reasoner, int], log: Log) -> WorkloadResult:
    """Parse ``workload`` once, then run each reasoner of ``repeats`` that many times."""
    start = time.perf_counter()
    dataset = load_dataset(workload.sources)
    parse_s = time.perf_counter() - start
    asserted = sum(len(graph) for graph in dataset.graphs())
    log(f"{workload.label}: {asserted:,} asserted triples, parsed in {parse_s:.1f} s")
    runs: list[ReasonerRun] = []
    for reasoner, count in repeats.items():
        log(f"  {reasoner.value}: {count} run(s) ...")
        run = measure(dataset, workload, reasoner, count)
        detail = run.error or (
            f"clashes: {run.clashes[0]}"
            if run.clashes
            else f"median {run.median_s:.2f} s, {len(run.inferred or ())} inferred, "
            f"peak RSS {run.peak_rss_mib} MiB"
        )
        log(f"  {reasoner.value}: {detail}")
        runs.append(run)
    return WorkloadResult(workload, asserted, parse_s, runs)


def run_all(plan: Sequence[tuple[Workload, dict[Reasoner, int]]], log: Log) -> list[WorkloadResult]:
    return [run_workload(workload, repeats, log) for workload, repeats in plan]
