"""An entity's neighbourhood as a small network: the nodes within ``depth`` links of it.

Nodes are IRIs (literals, blank nodes and ontology terms are left out: types become the
node's class, shown by colour). Edges are the closure's triples between nodes, each
marked inferred or asserted. The network is cut at ``MAX_NODES`` nodes, nearest first,
and says so (``truncated``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from medkg.labels import DEFAULT_GRAPH, RDF_TYPE, Labeller
from medkg.namespaces import ASSERTED_GRAPH, INFERRED_GRAPH, MKG, RES

MAX_DEPTH = 2
MAX_NODES = 120
_ASSERTED = ox.NamedNode(ASSERTED_GRAPH)
_INFERRED = ox.NamedNode(INFERRED_GRAPH)
_ONTOLOGY_NS = str(MKG)


@dataclass(frozen=True)
class NetworkNode:
    iri: str
    label: str
    cls: str | None  # the node's first asserted class
    class_label: str | None
    depth: int


@dataclass(frozen=True)
class NetworkEdge:
    source: str
    target: str
    property: str  # the IRI of the first link's property
    label: str
    inferred: bool


@dataclass(frozen=True)
class Network:
    centre: str
    nodes: tuple[NetworkNode, ...]
    edges: tuple[NetworkEdge, ...]
    truncated: bool

    def as_json(self) -> dict[str, object]:
        return {
            "centre": self.centre,
            "truncated": self.truncated,
            "nodes": [
                {
                    "iri": n.iri,
                    "label": n.label,
                    "class": n.cls,
                    "classLabel": n.class_label,
                    "depth": n.depth,
                }
                for n in self.nodes
            ],
            "edges": [
                {
                    "source": e.source,
                    "target": e.target,
                    "property": e.property,
                    "label": e.label,
                    "inferred": e.inferred,
                }
                for e in self.edges
            ],
        }


def _is_entity(term: object) -> bool:
    """An IRI of the data (not of a vocabulary): the nodes a network shows."""
    if not isinstance(term, ox.NamedNode):
        return False
    iri = term.value
    return not iri.startswith(_ONTOLOGY_NS) and (iri.startswith(RES) or "/medkg/" not in iri)


def _links(store: ox.Store, node: ox.NamedNode) -> list[ox.Triple]:
    triples = [
        q.triple
        for q in store.quads_for_pattern(node, None, None, DEFAULT_GRAPH)
        if q.predicate != RDF_TYPE and _is_entity(q.object)
    ]
    triples += [
        q.triple
        for q in store.quads_for_pattern(None, None, node, DEFAULT_GRAPH)
        if q.predicate != RDF_TYPE and _is_entity(q.subject)
    ]
    return triples


@dataclass
class _Links:
    """The links of each node of one network, read once."""

    store: ox.Store
    found: dict[ox.NamedNode, list[ox.Triple]] = field(default_factory=dict)

    def __call__(self, node: ox.NamedNode) -> list[ox.Triple]:
        links = self.found.get(node)
        if links is None:
            links = self.found[node] = _links(self.store, node)
        return links


def neighbourhood(
    store: ox.Store,
    centre: ox.NamedNode,
    depth: int = 1,
    *,
    labeller: Labeller | None = None,
    max_nodes: int = MAX_NODES,
) -> Network:
    """The nodes within ``depth`` (1 to ``MAX_DEPTH``) links of ``centre`` and the links
    between them."""
    labeller = labeller or Labeller(store)
    links = _Links(store)
    depth = max(1, min(depth, MAX_DEPTH))
    depths: dict[ox.NamedNode, int] = {centre: 0}
    frontier = [centre]
    truncated = False
    for level in range(1, depth + 1):
        next_frontier: list[ox.NamedNode] = []
        for node in frontier:
            for triple in links(node):
                for end in (triple.subject, triple.object):
                    if isinstance(end, ox.NamedNode) and end not in depths:
                        if len(depths) >= max_nodes:
                            truncated = True
                            continue
                        depths[end] = level
                        next_frontier.append(end)
        frontier = next_frontier
    found: dict[tuple[str, str, str], bool] = {}
    for node in depths:
        for triple in links(node):
            s, p, o = triple.subject, triple.predicate, triple.object
            if s in depths and o in depths and isinstance(s, ox.NamedNode):
                assert isinstance(o, ox.NamedNode)
                if p.value.startswith(_ONTOLOGY_NS) and (s.value, p.value, o.value) not in found:
                    held = store.quads_for_pattern(s, p, o, _INFERRED)
                    found[(s.value, p.value, o.value)] = next(iter(held), None) is not None
    nodes = tuple(_node(store, node, level, labeller) for node, level in depths.items())
    return Network(centre.value, nodes, _merge(found, labeller), truncated)


def _merge(found: dict[tuple[str, str, str], bool], labeller: Labeller) -> tuple[NetworkEdge, ...]:
    """One edge per pair of nodes: asserted links name it (else the inferred ones), and it
    counts as inferred only when every link between the two is inferred."""
    pairs: dict[frozenset[str], list[tuple[bool, str, str, str, str]]] = {}
    for (s, p, o), inferred in found.items():
        pairs.setdefault(frozenset((s, o)), []).append(
            (inferred, labeller.label(ox.NamedNode(p)), s, o, p)
        )
    edges: list[NetworkEdge] = []
    for links in pairs.values():
        links.sort()
        inferred, _, s, o, prop = links[0]
        names = [name for flag, name, *_ in links if flag == inferred]
        more = len(names) - 2
        text = ", ".join(names[:2]) + (f" (+{more})" if more > 0 else "")
        edges.append(NetworkEdge(s, o, prop, text, inferred))
    return tuple(edges)


def _node(store: ox.Store, node: ox.NamedNode, depth: int, labeller: Labeller) -> NetworkNode:
    classes = sorted(
        q.object.value
        for q in store.quads_for_pattern(node, RDF_TYPE, None, _ASSERTED)
        if isinstance(q.object, ox.NamedNode)
    )
    cls = classes[0] if classes else None
    return NetworkNode(
        node.value,
        labeller.label(node),
        cls,
        labeller.label(ox.NamedNode(cls)) if cls else None,
        depth,
    )
