"""The knowledge graph: asserted + inferred quads in an in-memory pyoxigraph Store.

Layout of the store:

- one named graph per source file (see :mod:`medkg.loading`);
- ``INFERRED_GRAPH`` with the noise-free inferred triples (disjoint from the asserted ones);
- the default graph holds the *set* union of all asserted graphs and the inferred graph:
  the whole closure, queried as one graph (measured twice as fast on LUBM as a default
  graph listing two graphs). pyoxigraph's own "default graph as union" option repeats a
  triple once per graph that holds it, which is not RDF merge semantics, so the union is
  materialized instead;
- ``ASSERTED_GRAPH`` (hidden from every graph listing) holds the union of the asserted
  graphs, the default graph of ``GraphMode.ASSERTED`` and of ``graph:asserted``.

Queries pick their default graph with :class:`GraphMode`. ``SERVICE`` is refused: medkg
never lets a query reach the network.
"""

from __future__ import annotations

import gc
import hashlib
import re
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph

from medkg.cache import ClosureCache
from medkg.config import Reasoner, Resources, Settings, resolve_resources
from medkg.errors import InputError, QuerySyntaxError, UnknownFormatError
from medkg.formats import RdfSyntax, ResultFormat
from medkg.inference import cache_key, infer_triples, tool_fingerprint
from medkg.lexer import (
    SAFE_NESTING,
    check_nesting,
    mentions_graph,
    refuse_service,
    split_wide_groups,
)
from medkg.loading import SourceFile, discover, discover_rules, load_quads
from medkg.namespaces import ASSERTED_GRAPH, INFERRED_GRAPH, PREFIXES
from medkg.planning import Planner
from medkg.results import write_boolean, write_solutions
from medkg.storage import StoreDirectory
from medkg.terms import OxTerm, to_rdflib, triples_to_rdflib

_INFERRED = ox.NamedNode(INFERRED_GRAPH)
_ASSERTED = ox.NamedNode(ASSERTED_GRAPH)
_DEFAULT = ox.DefaultGraph()
_UNION_UPDATE = (
    f"INSERT {{ GRAPH <{ASSERTED_GRAPH}> {{ ?s ?p ?o }} }} "
    f"WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{INFERRED_GRAPH}>) }} ; "
    f"ADD <{ASSERTED_GRAPH}> TO DEFAULT ; ADD <{INFERRED_GRAPH}> TO DEFAULT"
)


class GraphMode(Enum):
    """Which triples a query's default graph holds."""

    ALL = "all"  # asserted union + inferred
    ASSERTED = "asserted"  # asserted union only
    INFERRED = "inferred"  # inferred only


class QueryKind(Enum):
    SELECT = "select"
    ASK = "ask"
    GRAPH = "graph"  # CONSTRUCT or DESCRIBE


OxDefaultGraphPart = ox.NamedNode | ox.BlankNode | ox.DefaultGraph
OxNamedGraph = ox.NamedNode | ox.BlankNode
OxQueryResult = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples


@dataclass(frozen=True)
class QueryDataset:
    """The RDF dataset a query runs on: the graphs merged into its default graph, and the
    graphs ``GRAPH`` may name. The store's default graph is the whole closure."""

    default: tuple[OxDefaultGraphPart, ...]
    named: tuple[OxNamedGraph, ...]


def kind_of(result: OxQueryResult) -> QueryKind:
    if isinstance(result, ox.QueryTriples):
        return QueryKind.GRAPH
    if isinstance(result, ox.QueryBoolean):
        return QueryKind.ASK
    return QueryKind.SELECT


_OX_POSITION = re.compile(r"^error at (\d+):(\d+):\s*", re.IGNORECASE)


_PREFIXED_NAME_TAIL = re.compile(r"([A-Za-z][\w.\-]*)?:[\w.\-%]*$")


def _tidy_message(message: str, sparql: str, line: int, column: int) -> str:
    """Make pyoxigraph's parser message readable (it lists character classes verbatim)."""
    if "Prefix not found" in message:
        lines = sparql.splitlines()
        text = lines[line - 1][: max(column - 1, 0)] if 0 < line <= len(lines) else ""
        match = _PREFIXED_NAME_TAIL.search(text)
        if match:
            return f"undeclared prefix '{match.group(1) or ''}:'"
        return "undeclared prefix"
    if message.startswith("expected one of "):
        items = [i.strip() for i in message[len("expected one of ") :].split(", ")]
        words = [i for i in items if i and not i.startswith("[") and "..=" not in i]
        if words:
            return "expected one of " + ", ".join(words)
    return message


def _query_syntax_error(
    exc: SyntaxError, sparql: str, source: str | Path | None
) -> QuerySyntaxError:
    message = str(exc)
    match = _OX_POSITION.match(message)
    if match:
        line, column = int(match.group(1)), int(match.group(2))
        tidy = _tidy_message(message[match.end() :], sparql, line, column)
        return QuerySyntaxError(tidy, line, column, source=source)
    return QuerySyntaxError(message, exc.lineno, exc.offset, source=source)


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class QueryResult:
    """A fully materialized query result."""

    kind: QueryKind
    variables: tuple[str, ...] = ()
    rows: list[tuple[OxTerm | None, ...]] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[ox.Triple] = field(default_factory=list)

    def serialize(self, fmt: ResultFormat | RdfSyntax) -> bytes:
        """The result in ``fmt``; UnknownFormatError if ``fmt`` does not fit the result kind."""
        if self.kind is QueryKind.GRAPH:
            if not isinstance(fmt, RdfSyntax):
                raise UnknownFormatError(
                    fmt.cli_name,
                    "format for CONSTRUCT/DESCRIBE results",
                    [s.cli_name for s in RdfSyntax],
                )
            return serialize_triples(self.triples, fmt)
        if not isinstance(fmt, ResultFormat):
            raise UnknownFormatError(
                fmt.cli_name,
                f"format for {self.kind.name} results",
                [r.cli_name for r in ResultFormat],
            )
        if self.kind is QueryKind.ASK:
            assert self.boolean is not None
            return write_boolean(self.boolean, fmt)
        return write_solutions(self.variables, self.rows, fmt)

    @classmethod
    def from_oxigraph(
        cls, result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples
    ) -> QueryResult:
        if isinstance(result, ox.QueryTriples):
            return cls(QueryKind.GRAPH, triples=list(result))
        if isinstance(result, ox.QueryBoolean):
            return cls(QueryKind.ASK, boolean=bool(result))
        variables = tuple(v.value for v in result.variables)
        rows = [tuple(solution) for solution in result]
        return cls(QueryKind.SELECT, variables=variables, rows=rows)


def _used_prefixes(triples: Sequence[ox.Triple]) -> dict[str, str]:
    """The PREFIXES entries whose namespace starts an IRI (or datatype) in ``triples``."""
    iris: set[str] = set()
    for triple in triples:
        for term in (triple.subject, triple.predicate, triple.object):
            if isinstance(term, ox.NamedNode):
                iris.add(term.value)
            elif isinstance(term, ox.Literal):
                iris.add(term.datatype.value)
    return {p: ns for p, ns in PREFIXES.items() if any(iri.startswith(ns) for iri in iris)}


def serialize_triples(triples: Sequence[ox.Triple], syntax: RdfSyntax) -> bytes:
    """``triples`` in ``syntax``; Turtle, TriG and JSON-LD use the PREFIXES they need."""
    if syntax is RdfSyntax.JSONLD:
        graph = Graph()
        for prefix, namespace in PREFIXES.items():
            graph.bind(prefix, namespace)
        for triple in triples_to_rdflib(triples):
            graph.add(triple)
        return graph.serialize(format="json-ld", context=_used_prefixes(triples), encoding="utf-8")
    items: Sequence[ox.Triple] | list[ox.Quad] = triples
    if syntax.carries_graphs:
        items = [ox.Quad(t.subject, t.predicate, t.object, _DEFAULT) for t in triples]
    prefixes = _used_prefixes(triples) if syntax in (RdfSyntax.TURTLE, RdfSyntax.TRIG) else None
    data = ox.serialize(items, format=syntax.oxigraph_format, prefixes=prefixes)
    assert data is not None
    return data


@dataclass(frozen=True)
class Stats:
    """Triples per named graph (by IRI) and instances per class (most first)."""

    graphs: tuple[tuple[str, int], ...]
    classes: tuple[tuple[str, int], ...]

    @property
    def total_triples(self) -> int:
        return sum(n for _, n in self.graphs)


# --------------------------------------------------------------------------------------------
# The knowledge graph


def assemble(asserted: Iterable[ox.Quad], inferred: Iterable[ox.Triple]) -> ox.Store:
    """The store of the module docstring's layout: the ``asserted`` quads in their named
    graphs, ``inferred`` (disjoint from them) in INFERRED_GRAPH, the asserted union in
    ASSERTED_GRAPH and the whole closure in the default graph (the unions are built by
    pyoxigraph itself, several times faster than from Python)."""
    store = ox.Store()
    store.extend(asserted)
    store.extend(ox.Quad(t.subject, t.predicate, t.object, _INFERRED) for t in inferred)
    store.update(_UNION_UPDATE)
    return store


_paused_lock = threading.Lock()
_paused = 0  # blocks inside collector_paused now
_was_enabled = True  # whether the collector was on when the first of them started


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (reference counting still frees
    what the block drops). Loading and inference allocate millions of small objects and
    free almost none of them, so each collection scans them all again for nothing: on
    10^6 triples that made loading and inference about a quarter slower. Nested and
    concurrent blocks are fine; the collector is back on when the last one ends (if it
    was on before the first)."""
    global _paused, _was_enabled
    with _paused_lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
        _paused += 1
        gc.disable()
    try:
        yield
    finally:
        with _paused_lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()


@dataclass(frozen=True)
class Closure:
    """A graph's closure once inferred, before its store is assembled (assembling takes
    about as long as inferring): what query workers need to start loading it meanwhile."""

    key: str
    resources: Resources
    sources: Sequence[SourceFile]
    rules: Sequence[Path]
    asserted: Sequence[ox.Quad]
    inferred: Sequence[ox.Triple]

    @cached_property
    def graphs(self) -> tuple[OxNamedGraph, ...]:
        """The named graphs of the assembled store, the hidden asserted union among them,
        in a fixed order (the asserted graphs as they first come)."""
        names = dict.fromkeys(
            q.graph_name for q in self.asserted if not isinstance(q.graph_name, ox.DefaultGraph)
        )
        if names:
            names[_ASSERTED] = None
        if self.inferred:
            names[_INFERRED] = None
        return tuple(names)

    def triples(self) -> Iterator[ox.Triple]:
        """The default graph's triples: the asserted union, then the inferred ones (an
        asserted triple in several graphs comes once per graph)."""
        for quad in self.asserted:
            if not isinstance(quad.graph_name, ox.DefaultGraph):
                yield quad.triple
        yield from self.inferred


def _close(asserted: Sequence[ox.Quad], rules: Sequence[Path], reasoner: Reasoner) -> ox.Store:
    """Infer from the ``asserted`` quads and :func:`assemble` the store."""
    with collector_paused():
        return assemble(asserted, infer_triples(asserted, rules, reasoner=reasoner))


def rdflib_dataset(store: ox.Store, graphs: Sequence[OxNamedGraph]) -> Dataset:
    """The named ``graphs`` of ``store`` as an rdflib Dataset (blank node labels kept)."""
    dataset = Dataset()
    for name in graphs:
        graph = dataset.graph(to_rdflib(name))  # type: ignore[arg-type]
        for s, p, o in triples_to_rdflib(store.quads_for_pattern(None, None, None, name)):
            graph.add((s, p, o))
    return dataset


def closure_key(state: str, rules: Sequence[Path], reasoner: Reasoner = Reasoner.FAST) -> str:
    """The closure cache key of a store directory's asserted ``state`` (see
    :meth:`StoreDirectory.state_key`) under ``rules``, the reasoner and the tool versions."""
    digest = hashlib.sha256(f"medkg-store\0{tool_fingerprint(reasoner)}\0{state}\0".encode())
    for rule in rules:
        digest.update(rule.name.encode() + b"\0" + rule.read_bytes())
    return digest.hexdigest()


class KnowledgeGraph:
    """The loaded, closed knowledge graph. Build it with :meth:`open`."""

    def __init__(
        self,
        store: ox.Store | Callable[[], ox.Store],
        *,
        resources: Resources,
        sources: Sequence[SourceFile],
        rules: Sequence[Path],
        key: str,
        from_cache: bool,
        closure: ox.Store | None = None,
        graphs: Sequence[OxNamedGraph] | None = None,
    ) -> None:
        """``store`` may be a function that loads it: it is then called on first use of
        :attr:`store`, and ``closure`` (the default graph alone, see :attr:`closure_store`)
        and ``graphs`` (its named graphs, the hidden asserted union among them) answer
        what they can without it: queries on the closure never load the whole store."""
        self._store = store
        self._store_lock = threading.Lock()
        self.resources = resources
        self.sources = list(sources)
        self.rules = list(rules)
        self.cache_key = key
        self.from_cache = from_cache
        if closure is not None:
            self.__dict__["closure_store"] = closure
        if graphs is not None:
            self.__dict__["named_graphs"] = list(graphs)

    @property
    def store(self) -> ox.Store:
        """The whole dataset (loaded now if it is not yet)."""
        store = self._store
        if isinstance(store, ox.Store):
            return store
        with self._store_lock:
            if not isinstance(self._store, ox.Store):
                self._store = store()
            return self._store

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        resources: Resources | None = None,
        on_closure: Callable[[Closure], None] | None = None,
    ) -> KnowledgeGraph:
        """discover -> load -> infer -> assemble the pyoxigraph store (cached).

        With ``settings.store_dir`` holding a store, its asserted state (base + journal, read
        without taking the store's lock) is used instead of the curated files. When the
        closure of the curated files is computed (not read from the cache), ``on_closure``
        gets it before the store is assembled (for query workers to start loading it)."""
        resources = resources if resources is not None else resolve_resources(settings)
        sources = discover(resources, settings.extra_data)
        rules = discover_rules(resources)
        if settings.store_dir is not None and StoreDirectory.exists(settings.store_dir):
            asserted, state = StoreDirectory.read(settings.store_dir)
            return cls.from_asserted(
                asserted,
                resources=resources,
                sources=sources,
                rules=rules,
                key=closure_key(state, rules, settings.reasoner),
                cache=ClosureCache(settings.cache_dir) if settings.use_cache else None,
                reasoner=settings.reasoner,
            )
        key = cache_key(sources, rules, reasoner=settings.reasoner)
        cache = ClosureCache(settings.cache_dir)
        store = ox.Store()
        common = {"resources": resources, "sources": sources, "rules": rules, "key": key}
        if settings.use_cache and cache.load_into(key, store):
            return cls(store, from_cache=True, **common)  # type: ignore[arg-type]
        with collector_paused():
            quads = load_quads(sources)
            inferred = infer_triples(quads, rules, reasoner=settings.reasoner)
            closure = Closure(key, resources, sources, rules, quads, inferred)
            if on_closure is not None:
                on_closure(closure)
            store = assemble(quads, inferred)
        if settings.use_cache:
            cache.save(key, store)
        # the graphs in the closure's order: the one the workers were given with it
        return cls(store, from_cache=False, graphs=closure.graphs, **common)  # type: ignore[arg-type]

    @classmethod
    def from_asserted(
        cls,
        asserted: ox.Store,
        *,
        resources: Resources,
        sources: Sequence[SourceFile],
        rules: Sequence[Path],
        key: str,
        cache: ClosureCache | None = None,
        reasoner: Reasoner = Reasoner.FAST,
    ) -> KnowledgeGraph:
        """The closed graph of the asserted named graphs in ``asserted`` (e.g. a store
        directory's state), from ``cache`` under ``key`` or computed (and then cached)."""
        store = ox.Store()
        common = {"resources": resources, "sources": sources, "rules": rules, "key": key}
        if cache is not None and cache.load_into(key, store):
            return cls(store, from_cache=True, **common)  # type: ignore[arg-type]
        quads = [
            q
            for q in asserted.quads_for_pattern(None, None, None)
            if not isinstance(q.graph_name, ox.DefaultGraph)
        ]
        store = _close(quads, rules, reasoner)
        if cache is not None:
            cache.save(key, store)
        return cls(store, from_cache=False, **common)  # type: ignore[arg-type]

    def asserted_store(self) -> ox.Store:
        """A new store holding a copy of the asserted named graphs (no inferred, no unions)."""
        asserted = ox.Store()
        for name in self._visible_graphs():
            if name != _INFERRED:
                asserted.add_graph(name)
                asserted.extend(self.store.quads_for_pattern(None, None, None, name))
        return asserted

    # -- graphs ---------------------------------------------------------------------------

    def graph_names(self) -> list[str]:
        """IRIs of the named graphs, sorted."""
        return sorted(g.value for g in self._visible_graphs() if isinstance(g, ox.NamedNode))

    @cached_property
    def closure_store(self) -> ox.Store:
        """A store holding only the whole closure, as its default graph. Queries that use
        that default graph and never say ``GRAPH`` run here: pyoxigraph answers them about
        twice as fast as in a store that also holds the named graphs (LUBM, see
        ``docs/benchmarks.md``). Built on first use; never modified."""
        store = ox.Store()
        store.extend(self.store.quads_for_pattern(None, None, None, _DEFAULT))
        return store

    @cached_property
    def planner(self) -> Planner:
        """The join-order hints of this version (its cardinalities, measured once)."""
        return Planner(self.closure_store)

    @cached_property
    def named_graphs(self) -> list[OxNamedGraph]:
        """The store's named graphs, the hidden asserted union among them (the store is
        never modified: a write makes a new KnowledgeGraph)."""
        return list(self.store.named_graphs())

    def _visible_graphs(self) -> list[OxNamedGraph]:
        """The store's named graphs except the hidden asserted union."""
        return [g for g in self.named_graphs if g != _ASSERTED]

    @cached_property
    def dataset(self) -> Dataset:
        """The named graphs as an rdflib Dataset (built from the store on a cache hit)."""
        return rdflib_dataset(self.store, self._visible_graphs())

    def union_graph(self, mode: GraphMode = GraphMode.ALL) -> Graph:
        """The triples of ``mode``'s default graph as one rdflib Graph."""
        graph = Graph()
        for name in self._default_graphs(mode):
            for triple in triples_to_rdflib(self.store.quads_for_pattern(None, None, None, name)):
                graph.add(triple)
        return graph

    def _default_graphs(self, mode: GraphMode) -> list[OxDefaultGraphPart]:
        if mode is GraphMode.ALL:
            return [_DEFAULT]
        if mode is GraphMode.ASSERTED:
            return [_ASSERTED]
        return [_INFERRED]

    def _named_graphs(self, mode: GraphMode) -> list[OxNamedGraph]:
        names = self._visible_graphs()
        if mode is GraphMode.ALL:
            return names
        if mode is GraphMode.ASSERTED:
            return [n for n in names if n != _INFERRED]
        return [n for n in names if n == _INFERRED]

    def dataset_for(self, mode: GraphMode = GraphMode.ALL) -> QueryDataset:
        """The dataset of ``mode``: its default graph, and the named graphs it may see."""
        return QueryDataset(tuple(self._default_graphs(mode)), tuple(self._named_graphs(mode)))

    # -- querying -------------------------------------------------------------------------

    def evaluate(
        self,
        sparql: str,
        *,
        dataset: QueryDataset,
        base_iri: str | None = None,
        source: str | Path | None = None,
        service_allow: Collection[str] = (),
        ordered: bool = True,
    ) -> OxQueryResult:
        """Start a query on ``dataset``; the result is lazy (iterate it inside
        :func:`query_errors`). Refuses SERVICE and over-deep nesting before parsing; groups
        of triple patterns are written in order of their estimated size
        (:mod:`medkg.planning`; not with ``ordered=False``) and very wide ones split for
        pyoxigraph's planner (:func:`split_wide_groups`)."""
        refuse_service(sparql, source, allowed=service_allow)
        check_nesting(sparql, SAFE_NESTING)
        if dataset.default == (_DEFAULT,) and not mentions_graph(sparql):
            store, named = self.closure_store, []  # the same default graph, twice as fast
        else:
            store, named = self.store, list(dataset.named)
        planned = self.planner.order(sparql) if ordered else sparql
        with query_errors(sparql, source):
            try:
                return store.query(
                    split_wide_groups(planned),
                    prefixes=PREFIXES,
                    base_iri=base_iri,
                    default_graph=list(dataset.default),
                    named_graphs=named,
                )
            except SyntaxError:
                if planned is sparql:
                    raise
            # the error again, from the text as written (its line and column)
            return store.query(
                sparql,
                prefixes=PREFIXES,
                base_iri=base_iri,
                default_graph=list(dataset.default),
                named_graphs=named,
            )

    def query(
        self,
        sparql: str,
        *,
        mode: GraphMode = GraphMode.ALL,
        source: str | Path | None = None,
    ) -> QueryResult:
        """Run a SPARQL query; ``source`` names where the text came from (for errors)."""
        result = self.evaluate(sparql, dataset=self.dataset_for(mode), source=source)
        with query_errors(sparql, source):
            return QueryResult.from_oxigraph(result)

    def graph_sizes(self) -> tuple[tuple[tuple[str, int], ...], int]:
        """Triples per named graph (sorted by IRI), and in the default graph (the closure:
        the asserted union plus the inferred graph, which are disjoint)."""
        counts = self.store.query(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
        )
        graphs: list[tuple[str, int]] = []
        default = 0
        for solution in counts:  # type: ignore[union-attr]
            name, count = solution[0], solution[1]
            if not isinstance(name, ox.NamedNode) or not isinstance(count, ox.Literal):
                continue
            if name in (_ASSERTED, _INFERRED):
                default += int(count.value)
            if name != _ASSERTED:
                graphs.append((name.value, int(count.value)))
        return tuple(sorted(graphs)), default

    def stats(self) -> Stats:
        """Triples per named graph (sorted by IRI); instances per class over asserted+inferred."""
        graphs, _default = self.graph_sizes()
        classes_result = self.query(
            "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c FILTER(isIRI(?c)) } GROUP BY ?c"
        )
        classes: list[tuple[str, int]] = []
        for cls_term, count in classes_result.rows:
            if isinstance(cls_term, ox.NamedNode) and isinstance(count, ox.Literal):
                classes.append((cls_term.value, int(count.value)))
        classes.sort(key=lambda item: (-item[1], item[0]))
        return Stats(graphs=graphs, classes=tuple(classes))


def _where(source: str | Path | None) -> str | None:
    return str(source) if source is not None else None


@contextmanager
def query_errors(sparql: str, source: str | Path | None = None) -> Iterator[None]:
    """Turn pyoxigraph's parse and evaluation errors into MedkgErrors."""
    try:
        yield
    except SyntaxError as exc:
        raise _query_syntax_error(exc, sparql, source) from exc
    except OSError as exc:
        raise InputError(f"query evaluation failed: {exc}", where=_where(source)) from exc
