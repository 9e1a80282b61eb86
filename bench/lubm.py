"""LUBM(1): locating the data, the 14 queries with their reference counts, and the closure.

The closure is computed by medkg's own pipeline, the same steps as
:meth:`medkg.store.KnowledgeGraph.open`: ``load_quads`` (each file in its own named graph
under ``GRAPH_BASE``), ``infer_triples`` (the OWL 2 RL closure by medkg's default ``fast``
reasoner, which ``python -m bench reasoner`` checks against owlrl; noise removed, stored as the
inferred graph), ``assemble`` (the pyoxigraph store with its unions), and the closure cache. medkg's
CONSTRUCT rules are not run: they are written for medkg's own vocabulary, which LUBM does
not use.

The closed store is cached as N-Quads in ``bench/.cache/<key>.nq`` with medkg's own
``ClosureCache``; the key is medkg's ``cache_key`` (sha256 of every input file, the tool
versions and ``INFERENCE_VERSION``). A sidecar ``<key>.json`` keeps the timings of the cold
computation, so later runs can still report them.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox

from medkg.cache import ClosureCache
from medkg.config import Resources
from medkg.inference import INFERENCE_VERSION, cache_key, infer_triples
from medkg.loading import SourceFile, load_quads
from medkg.namespaces import ASSERTED_GRAPH, INFERRED_GRAPH, graph_iri_for
from medkg.store import KnowledgeGraph, assemble

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / "bench" / ".cache"
LUBM_DIR_ENV = "MEDKG_LUBM_DIR"

ONTOLOGY_FILE = "univ-bench.owl"
DATA_FILE = "lubm1.nt.gz"
QUERIES_DIR = "queries"

#: Reference answer counts for LUBM(1,0) under OWL inference (the data's README).
REFERENCE_COUNTS: dict[str, int] = {
    "q01": 4,
    "q02": 0,
    "q03": 6,
    "q04": 34,
    "q05": 719,
    "q06": 7790,
    "q07": 67,
    "q08": 7790,
    "q09": 208,
    "q10": 4,
    "q11": 224,
    "q12": 15,
    "q13": 1,
    "q14": 5916,
}

Log = Callable[[str], None]


class BenchError(Exception):
    """A benchmark cannot run (missing data, bad options)."""


def default_lubm_dir() -> Path:
    """``../shared/lubm`` next to the repository root."""
    return REPO_ROOT.parent / "shared" / "lubm"


def describe_dir(directory: Path) -> str:
    """``directory`` relative to the repository root, for reports (never an absolute path).
    Symbolic links are not followed: a linked ``../shared`` is reported as such, not as
    the machine path it points to."""
    try:
        return os.path.relpath(os.path.abspath(directory), REPO_ROOT)
    except ValueError:  # another drive
        return directory.name


@dataclass(frozen=True)
class LubmFiles:
    """The LUBM(1) inputs."""

    directory: Path
    ontology: Path
    data: Path
    queries_dir: Path

    @classmethod
    def locate(cls, explicit: Path | None = None) -> LubmFiles:
        """``explicit``, else ``$MEDKG_LUBM_DIR``, else ``../shared/lubm``."""
        env = os.environ.get(LUBM_DIR_ENV, "").strip()
        directory = explicit or (Path(env) if env else default_lubm_dir())
        files = cls(
            directory=directory,
            ontology=directory / ONTOLOGY_FILE,
            data=directory / DATA_FILE,
            queries_dir=directory / QUERIES_DIR,
        )
        for path in (files.ontology, files.data):
            if not path.is_file():
                raise BenchError(f"LUBM file missing: {path} (set --lubm-dir or {LUBM_DIR_ENV})")
        if not files.queries_dir.is_dir():
            raise BenchError(f"LUBM queries directory missing: {files.queries_dir}")
        return files

    @property
    def sources(self) -> list[SourceFile]:
        """The two inputs, each in its own named graph under medkg's GRAPH_BASE."""
        return [
            SourceFile(self.ontology, graph_iri_for(self.ontology), "ontology"),
            SourceFile(self.data, graph_iri_for(self.data), "data"),
        ]

    @property
    def resources(self) -> Resources:
        return Resources(
            ontology_dir=self.directory, data_dir=self.directory, queries_dir=self.queries_dir
        )


@dataclass(frozen=True)
class LubmQuery:
    name: str  # "q01"
    text: str
    expected: int


def load_queries(files: LubmFiles) -> list[LubmQuery]:
    """The 14 queries, in order, each with its reference count."""
    queries: list[LubmQuery] = []
    for name, expected in REFERENCE_COUNTS.items():
        path = files.queries_dir / f"{name}.rq"
        if not path.is_file():
            raise BenchError(f"LUBM query missing: {path}")
        queries.append(LubmQuery(name, path.read_text(encoding="utf-8"), expected))
    return queries


@dataclass(frozen=True)
class ColdClosure:
    """Timings of one cold closure computation (no cache), in seconds."""

    parse_s: float  # load_quads
    inference_s: float  # infer_triples: OWL 2 RL closure (fast reasoner) + noise filter
    mirror_s: float  # assemble: the pyoxigraph store, with the unions
    save_s: float  # write the cache entry
    total_s: float
    measured_at: str  # ISO date-time (UTC)


@dataclass(frozen=True)
class ClosureInfo:
    """How this run got its closed knowledge graph, and what it holds."""

    cache_key: str
    inference_version: str
    from_cache: bool
    open_s: float  # this run: cache load, or the whole cold computation
    cold: ColdClosure | None  # the cold computation (this run's, or the cache entry's)
    asserted_triples: dict[str, int]  # per source graph
    default_graph_triples: int  # the asserted union
    inferred_triples: int

    @property
    def closure_triples(self) -> int:
        return self.default_graph_triples + self.inferred_triples

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["closure_triples"] = self.closure_triples
        return data


def _count(store: ox.Store, graph: ox.NamedNode | ox.DefaultGraph) -> int:
    return sum(1 for _ in store.quads_for_pattern(None, None, None, graph))


def _sidecar(cache: ClosureCache, key: str) -> Path:
    return cache.path_for(key).with_suffix(".json")


def _read_cold(path: Path) -> ColdClosure | None:
    try:
        return ColdClosure(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def open_closure(
    files: LubmFiles,
    *,
    cache_dir: Path = CACHE_DIR,
    rebuild: bool = False,
    log: Log = lambda _message: None,
) -> tuple[KnowledgeGraph, ClosureInfo]:
    """The LUBM(1) closure as a medkg KnowledgeGraph, from the cache when possible."""
    sources = files.sources
    rules: list[Path] = []
    key = cache_key(sources, rules)
    cache = ClosureCache(cache_dir)
    store = ox.Store()
    common = {"resources": files.resources, "sources": sources, "rules": rules, "key": key}

    start = time.perf_counter()
    if not rebuild and cache.load_into(key, store):
        open_s = time.perf_counter() - start
        log(f"closure loaded from cache in {open_s:.2f} s")
        kg = KnowledgeGraph(store, from_cache=True, **common)  # type: ignore[arg-type]
        cold = _read_cold(_sidecar(cache, key))
        from_cache = True
    else:
        log("computing the closure (fast reasoner) ...")
        quads = load_quads(sources)
        parsed = time.perf_counter()
        log(f"  parsed in {parsed - start:.1f} s; running inference ...")
        inferred_triples = infer_triples(
            {ox.Triple(q.subject, q.predicate, q.object) for q in quads}, rules
        )
        inferred = time.perf_counter()
        log(f"  inference in {inferred - parsed:.1f} s; building the store ...")
        store = assemble(quads, inferred_triples)
        mirrored = time.perf_counter()
        cache.save(key, store)
        saved = time.perf_counter()
        open_s = saved - start
        cold = ColdClosure(
            parse_s=parsed - start,
            inference_s=inferred - parsed,
            mirror_s=mirrored - inferred,
            save_s=saved - mirrored,
            total_s=open_s,
            measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        sidecar = _sidecar(cache, key)
        with contextlib.suppress(OSError):
            sidecar.write_text(json.dumps(asdict(cold), indent=2) + "\n", encoding="utf-8")
        log(f"closure computed in {open_s:.1f} s")
        kg = KnowledgeGraph(store, from_cache=False, **common)  # type: ignore[arg-type]
        from_cache = False

    asserted = {source.graph: _count(store, ox.NamedNode(source.graph)) for source in sources}
    info = ClosureInfo(
        cache_key=key,
        inference_version=INFERENCE_VERSION,
        from_cache=from_cache,
        open_s=open_s,
        cold=cold,
        asserted_triples=asserted,
        default_graph_triples=_count(store, ox.NamedNode(ASSERTED_GRAPH)),
        inferred_triples=_count(store, ox.NamedNode(INFERRED_GRAPH)),
    )
    return kg, info
