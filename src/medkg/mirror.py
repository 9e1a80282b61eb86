"""Local mirrors of a remote store's quads, for the browser pages on a remote backend.

The pages (:mod:`medkg.describe`, :mod:`medkg.explanation`, :mod:`medkg.search`,
:mod:`medkg.neighbourhood`, :mod:`medkg.vocabulary`) read a pyoxigraph store laid out as
medkg's: the named graphs, ``graph:asserted`` (the union of the asserted ones) and, as the
default graph, the union of them all. :class:`RemoteGraphs` pulls from the remote store,
with ``SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ... } }`` queries, the quads one request
needs and lays them out that way in a small in-memory store, wrapped in a
:class:`~medkg.store.KnowledgeGraph`:

- :meth:`RemoteGraphs.names` (search, the ontology page): the ontology, alignments and
  sources graphs whole, and every name, comment and type quad of the other graphs; kept
  for ``ttl`` seconds;
- :meth:`RemoteGraphs.around` (entity pages, explanations, the graph view): the above and
  every quad with one of the given IRIs as subject or object, the quads of the blank nodes
  (up to ``BLANK_DEPTH`` links deep) and the n-ary nodes they link to, and, for
  ``depth`` > 1, the same for the entities they link to, level by level.

A blank node pulled by two different queries is the same node only if the remote store
labels it the same way in both answers (Oxigraph does).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyoxigraph as ox

from medkg.backend import RemoteStore, quads_of
from medkg.config import Resources
from medkg.describe import N_ARY_CLASSES
from medkg.labels import (
    RDF_TYPE,
    RDFS_COMMENT,
    RDFS_LABEL,
    SKOS_ALT_LABEL,
    SKOS_HIDDEN_LABEL,
    SKOS_PREF_LABEL,
)
from medkg.namespaces import (
    ALIGNMENTS_GRAPH,
    ASSERTED_GRAPH,
    GRAPH_BASE,
    INFERRED_GRAPH,
    ONTOLOGY_GRAPH,
)
from medkg.store import KnowledgeGraph

SOURCES_GRAPH = GRAPH_BASE + "sources"
#: Graphs pulled whole: the vocabulary and the source catalogue.
SMALL_GRAPHS = (ONTOLOGY_GRAPH, ALIGNMENTS_GRAPH, SOURCES_GRAPH)
#: Properties pulled for every subject: names, comments, types.
NAME_PROPERTIES = (
    RDFS_LABEL,
    SKOS_PREF_LABEL,
    SKOS_ALT_LABEL,
    SKOS_HIDDEN_LABEL,
    RDFS_COMMENT,
    RDF_TYPE,
)
#: How many links of blank nodes are followed from an entity.
BLANK_DEPTH = 3
#: At most this many entities are pulled per level of :meth:`RemoteGraphs.around`.
MAX_LEVEL_NODES = 500

_ASSERTED = ox.NamedNode(ASSERTED_GRAPH)
_INFERRED = ox.NamedNode(INFERRED_GRAPH)
_DEFAULT = ox.DefaultGraph()
_NOT_ASSERTED = f"FILTER(?g != <{ASSERTED_GRAPH}>)"


def laid_out(quads: Iterable[ox.Quad]) -> ox.Store:
    """A store with ``quads`` (named-graph quads) laid out as medkg's: the named graphs,
    ``graph:asserted`` = the union of all but ``graph:inferred``, default = the union."""
    store = ox.Store()
    named = [q for q in quads if q.graph_name != _ASSERTED]
    store.extend(named)
    store.extend(
        ox.Quad(q.subject, q.predicate, q.object, _ASSERTED)
        for q in named
        if q.graph_name != _INFERRED
    )
    store.extend(ox.Quad(q.subject, q.predicate, q.object, _DEFAULT) for q in named)
    return store


def _iris(nodes: Iterable[ox.NamedNode]) -> str:
    return " ".join(str(n) for n in nodes)


def _names_query() -> str:
    small = " ".join(f"<{g}>" for g in SMALL_GRAPHS)
    names = " ".join(str(p) for p in NAME_PROPERTIES)
    return (
        "SELECT ?s ?p ?o ?g WHERE {\n"
        f"  {{ VALUES ?g {{ {small} }} GRAPH ?g {{ ?s ?p ?o }} }}\n"
        f"  UNION {{ VALUES ?p {{ {names} }} GRAPH ?g {{ ?s ?p ?o }} {_NOT_ASSERTED} }}\n"
        "}"
    )


def _level_query(nodes: Sequence[ox.NamedNode]) -> str:
    """The quads around ``nodes``: as subject or object, and of the blank and n-ary nodes
    they link to (all in one answer, so blank node labels agree)."""
    values = f"VALUES ?e {{ {_iris(nodes)} }}"
    branches = [
        f"{{ {values} GRAPH ?g {{ ?e ?p ?o }} BIND(?e AS ?s) }}",
        f"{{ {values} GRAPH ?g {{ ?s ?p ?e }} BIND(?e AS ?o) }}",
    ]
    for depth in range(1, BLANK_DEPTH + 1):
        hops = ["GRAPH ?g0 { ?e ?p0 ?b1 } FILTER(isBlank(?b1))"]
        hops += [
            f"GRAPH ?g{i} {{ ?b{i} ?p{i} ?b{i + 1} }} FILTER(isBlank(?b{i + 1}))"
            for i in range(1, depth)
        ]
        branches.append(
            f"{{ {values} {' '.join(hops)} GRAPH ?g {{ ?b{depth} ?p ?o }} BIND(?b{depth} AS ?s) }}"
        )
    n_ary = " ".join(str(c) for c in N_ARY_CLASSES)
    branches.append(
        f"{{ {values} {{ GRAPH ?g0 {{ ?e ?p0 ?s }} }} UNION {{ GRAPH ?g0 {{ ?s ?p0 ?e }} }} "
        f"FILTER(isIRI(?s)) VALUES ?c {{ {n_ary} }} GRAPH ?g1 {{ ?s a ?c }} "
        "GRAPH ?g { ?s ?p ?o } }"
    )
    union = "\n  UNION ".join(branches)
    return f"SELECT DISTINCT ?s ?p ?o ?g WHERE {{\n  {union}\n  {_NOT_ASSERTED}\n}}"


class RemoteGraphs:
    """Per-request :class:`KnowledgeGraph` mirrors of parts of a remote store."""

    def __init__(
        self,
        remote: RemoteStore,
        *,
        resources: Resources,
        rules: Sequence[Path] = (),
        ttl: float = 30.0,
    ) -> None:
        self.remote = remote
        self.resources = resources
        self.rules = list(rules)
        self.ttl = ttl
        self._lock = threading.Lock()
        self._names: tuple[float, list[ox.Quad], KnowledgeGraph] | None = None

    def _graph(self, quads: Iterable[ox.Quad]) -> KnowledgeGraph:
        return KnowledgeGraph(
            laid_out(quads),
            resources=self.resources,
            sources=[],
            rules=self.rules,
            key="remote",
            from_cache=False,
        )

    def _name_quads(self) -> tuple[list[ox.Quad], KnowledgeGraph]:
        with self._lock:
            now = time.monotonic()
            if self._names is None or now - self._names[0] > self.ttl:
                quads = quads_of(self.remote.select(_names_query()))
                self._names = (now, quads, self._graph(quads))
            return self._names[1], self._names[2]

    def names(self) -> KnowledgeGraph:
        """The small graphs and every name and type (shared while it is fresh)."""
        return self._name_quads()[1]

    def around(self, nodes: Sequence[ox.NamedNode], depth: int = 1) -> KnowledgeGraph:
        """:meth:`names` and the quads within ``depth`` levels of ``nodes``."""
        quads = list(self._name_quads()[0])
        seen: set[ox.NamedNode] = set()
        level = list(dict.fromkeys(nodes))
        for index in range(depth):
            level = [n for n in level if n not in seen][:MAX_LEVEL_NODES]
            if not level:
                break
            seen.update(level)
            pulled = quads_of(self.remote.select(_level_query(level)))
            quads += pulled
            if index + 1 < depth:
                level = list(dict.fromkeys(_linked(pulled, seen)))
        return self._graph(quads)


def _linked(quads: Iterable[ox.Quad], of: set[ox.NamedNode]) -> Iterable[ox.NamedNode]:
    """The IRIs linked to one of ``of`` (not through ``rdf:type``)."""
    for quad in quads:
        if quad.predicate == RDF_TYPE:
            continue
        if quad.subject in of and isinstance(quad.object, ox.NamedNode):
            yield quad.object
        elif quad.object in of and isinstance(quad.subject, ox.NamedNode):
            yield quad.subject
