"""The description of one entity, as an entity page shows it and an RDF client gets it.

:func:`describe` reads everything the closure says about a node: its names, its types and
every outgoing and incoming link, grouped by property. Each fact knows whether inference
added it (it is in ``graph:inferred``) and which named graphs state it (its sources, each
linked to the source document it was built from). Links to n-ary nodes (appointments,
signatures, conferrals, figures) carry the node's own facts, so that they read as
"role: Dean, organisation: LKCMedicine" rather than as a bare node.

:func:`description_triples` is the RDF form: every triple of the closure with the node as
subject or object, plus the facts of the blank nodes it links to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox

from medkg.labels import (
    DEFAULT_GRAPH,
    RDF_TYPE,
    RDFS_COMMENT,
    RDFS_LABEL,
    SKOS_ALT_LABEL,
    SKOS_HIDDEN_LABEL,
    Labeller,
    Node,
    Term,
    literal_texts,
)
from medkg.namespaces import ASSERTED_GRAPH, INFERRED_GRAPH, MKG

PROV_DERIVED_FROM = ox.NamedNode("http://www.w3.org/ns/prov#wasDerivedFrom")
_ASSERTED = ox.NamedNode(ASSERTED_GRAPH)
_INFERRED = ox.NamedNode(INFERRED_GRAPH)

#: Classes whose instances are n-ary relation nodes, shown with their own facts inline.
N_ARY_CLASSES = frozenset(
    ox.NamedNode(str(MKG[name]))
    for name in ("Appointment", "Signature", "AwardConferral", "Figure")
)
#: Properties shown in the page header rather than among the links.
NAME_PROPERTIES = frozenset({RDFS_LABEL, SKOS_ALT_LABEL, SKOS_HIDDEN_LABEL, RDFS_COMMENT})


@dataclass(frozen=True)
class TermView:
    """An RDF term as shown: the term, its label, and a literal's datatype or language."""

    term: Term
    label: str
    datatype: str | None = None
    language: str | None = None

    @property
    def iri(self) -> str | None:
        return self.term.value if isinstance(self.term, ox.NamedNode) else None

    @property
    def is_literal(self) -> bool:
        return isinstance(self.term, ox.Literal)

    def __hash__(self) -> int:  # equal views have equal terms; pages hash views often
        return hash(self.term)


@dataclass(frozen=True)
class SourceRef:
    """A named graph that states a fact, and the source document it was built from."""

    graph: str
    label: str
    document: str | None = None
    document_label: str | None = None

    def __hash__(self) -> int:  # equal references name the same graph
        return hash(self.graph)


@dataclass(frozen=True)
class Detail:
    """One fact of an n-ary node, shown inline next to the link to it."""

    property: TermView
    value: TermView


@dataclass(frozen=True)
class Fact:
    """One triple about the entity: ``value`` is its other end."""

    triple: ox.Triple
    value: TermView
    inferred: bool
    sources: tuple[SourceRef, ...]
    details: tuple[Detail, ...] = ()


@dataclass(frozen=True)
class PropertyGroup:
    property: TermView
    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class EntityDescription:
    """Everything an entity page shows about ``node``."""

    node: Node
    label: str
    comments: tuple[str, ...] = ()
    alternative_names: tuple[str, ...] = ()
    printed_names: tuple[str, ...] = ()  # skos:hiddenLabel: forms the sources print
    types: tuple[Fact, ...] = ()
    outgoing: tuple[PropertyGroup, ...] = ()
    incoming: tuple[PropertyGroup, ...] = ()
    exists: bool = True

    @property
    def iri(self) -> str:
        return self.node.value

    @property
    def fact_count(self) -> int:
        return len(self.types) + sum(len(g.facts) for g in (*self.outgoing, *self.incoming))


@dataclass
class SourceCatalogue:
    """The named graphs that hold asserted facts, each with its label and source document."""

    labeller: Labeller
    _cache: dict[ox.NamedNode | ox.BlankNode, SourceRef] = field(default_factory=dict)
    _refs: dict[tuple[ox.NamedNode | ox.BlankNode, ...], tuple[SourceRef, ...]] = field(
        default_factory=dict
    )

    def ref(self, graph: ox.NamedNode | ox.BlankNode) -> SourceRef:
        found = self._cache.get(graph)
        if found is None:
            store = self.labeller.store
            documents = [
                q.object
                for q in store.quads_for_pattern(graph, PROV_DERIVED_FROM, None, DEFAULT_GRAPH)
                if isinstance(q.object, ox.NamedNode)
            ]
            document = documents[0] if documents else None
            found = SourceRef(
                graph.value,
                self.labeller.label(graph),
                document.value if document else None,
                self.labeller.label(document) if document else None,
            )
            self._cache[graph] = found
        return found

    def refs(self, graphs: Iterable[ox.NamedNode | ox.BlankNode]) -> tuple[SourceRef, ...]:
        """The sources of a fact held in ``graphs``, by graph IRI (memoized: most facts
        of a page come from the same few sources)."""
        key = tuple(graphs)
        found = self._refs.get(key)
        if found is None:
            found = tuple(sorted({self.ref(g) for g in key}, key=lambda r: r.graph))
            self._refs[key] = found
        return found


def view(term: Term, labeller: Labeller) -> TermView:
    if isinstance(term, ox.Literal):
        return TermView(term, term.value, labeller.datatype_label(term), term.language)
    return TermView(term, labeller.label(term))


class TermIndex:
    """What descriptions read about the terms of one store, memoized: each term's view, the
    asserted facts of each n-ary (or blank) node, the sources (:attr:`sources`) of the
    named graphs. Share one per graph version (see :mod:`medkg.versioned`); safe between
    threads (two that build the same entry build equal ones)."""

    def __init__(self, labeller: Labeller, n_ary: Collection[Node] | None = None) -> None:
        self.labeller = labeller
        self.store = labeller.store
        self.n_ary = n_ary_nodes(self.store) if n_ary is None else n_ary
        self.sources = SourceCatalogue(labeller)
        self._views: dict[Term, TermView] = {}
        self._facts: dict[Node, tuple[Detail, ...]] = {}

    def view(self, term: Term) -> TermView:
        found = self._views.get(term)
        if found is None:
            found = self._views[term] = view(term, self.labeller)
        return found

    def details(self, node: Term, back: Node) -> tuple[Detail, ...]:
        """The asserted facts of ``node`` when it is an n-ary node (or a blank node), minus
        names and the link back to ``back``, by property and value label."""
        if isinstance(node, ox.Literal) or not (
            isinstance(node, ox.BlankNode) or node in self.n_ary
        ):
            return ()
        facts = self._facts.get(node)
        if facts is None:
            facts = self._facts[node] = self._node_facts(node)
        return tuple(d for d in facts if d.value.term != back)

    def _node_facts(self, node: Node) -> tuple[Detail, ...]:
        details = [
            Detail(self.view(q.predicate), self.view(q.object))  # type: ignore[arg-type]
            for q in self.store.quads_for_pattern(node, None, None, _ASSERTED)
            if q.predicate != RDF_TYPE and q.predicate not in NAME_PROPERTIES
        ]
        details.sort(key=lambda d: (d.property.label.lower(), d.value.label.lower()))
        return tuple(details)


@dataclass
class _Holdings:
    """Where the triples about a node are held: the closure (the facts, in store order),
    the inferred graph, and the source graphs of each."""

    closure: list[ox.Triple] = field(default_factory=list)
    inferred: set[ox.Triple] = field(default_factory=set)
    graphs: dict[ox.Triple, list[ox.NamedNode | ox.BlankNode]] = field(default_factory=dict)


def _holdings(quads: Iterable[ox.Quad]) -> _Holdings:
    held = _Holdings()
    for quad in quads:
        graph = quad.graph_name
        if isinstance(graph, ox.DefaultGraph):
            held.closure.append(quad.triple)
        elif graph == _INFERRED:
            held.inferred.add(quad.triple)
        elif graph != _ASSERTED:
            held.graphs.setdefault(quad.triple, []).append(graph)
    return held


def n_ary_nodes(store: ox.Store) -> frozenset[Node]:
    """The asserted instances of the n-ary relation classes (:data:`N_ARY_CLASSES`)."""
    return frozenset(
        q.subject  # type: ignore[misc]
        for cls in N_ARY_CLASSES
        for q in store.quads_for_pattern(None, RDF_TYPE, cls, _ASSERTED)
    )


def _groups(facts: dict[ox.NamedNode, list[Fact]], terms: TermIndex) -> tuple[PropertyGroup, ...]:
    groups = [
        PropertyGroup(
            terms.view(prop),
            tuple(sorted(items, key=lambda f: (f.value.label.lower(), f.value.term.value))),
        )
        for prop, items in facts.items()
    ]
    # The ontology's own properties first, then those of the aligned vocabularies.
    groups.sort(
        key=lambda g: (
            not g.property.term.value.startswith(str(MKG)),
            g.property.label.lower(),
            g.property.term.value,
        )
    )
    return tuple(groups)


def describe(store: ox.Store, node: Node, terms: TermIndex | None = None) -> EntityDescription:
    """What the closure says about ``node``; ``exists`` is False when it says nothing.
    ``terms`` is the :class:`TermIndex` of ``store`` (a new one when not given)."""
    terms = terms or TermIndex(Labeller(store))
    labeller, catalogue = terms.labeller, terms.sources
    outgoing = _holdings(store.quads_for_pattern(node, None, None, None))
    incoming = _holdings(store.quads_for_pattern(None, None, node, None))
    if not outgoing.closure and not incoming.closure:
        return EntityDescription(node, labeller.label(node), exists=False)

    types: list[Fact] = []
    out_groups: dict[ox.NamedNode, list[Fact]] = defaultdict(list)
    for triple in outgoing.closure:
        predicate = triple.predicate
        if predicate in NAME_PROPERTIES:
            continue
        obj: Term = triple.object  # type: ignore[assignment]
        fact = Fact(
            triple,
            terms.view(obj),
            triple in outgoing.inferred,
            catalogue.refs(outgoing.graphs.get(triple, ())),
            terms.details(obj, node),
        )
        if predicate == RDF_TYPE:
            types.append(fact)
        else:
            out_groups[predicate].append(fact)
    in_groups: dict[ox.NamedNode, list[Fact]] = defaultdict(list)
    for triple in incoming.closure:
        subject: Node = triple.subject  # type: ignore[assignment]
        in_groups[triple.predicate].append(
            Fact(
                triple,
                terms.view(subject),
                triple in incoming.inferred,
                catalogue.refs(incoming.graphs.get(triple, ())),
                terms.details(subject, node),
            )
        )
    types.sort(key=lambda f: (f.inferred, f.value.label.lower()))
    return EntityDescription(
        node=node,
        label=labeller.label(node),
        comments=tuple(literal_texts(store, node, RDFS_COMMENT)),
        alternative_names=tuple(literal_texts(store, node, SKOS_ALT_LABEL)),
        printed_names=tuple(literal_texts(store, node, SKOS_HIDDEN_LABEL)),
        types=tuple(types),
        outgoing=_groups(out_groups, terms),
        incoming=_groups(in_groups, terms),
    )


def description_triples(store: ox.Store, node: Node) -> list[ox.Triple]:
    """The closure's triples with ``node`` as subject or object, and those of the blank
    nodes it links to (sorted, so the document is stable)."""
    triples: set[ox.Triple] = set()
    blanks: list[ox.BlankNode] = []
    for quad in store.quads_for_pattern(node, None, None, DEFAULT_GRAPH):
        triples.add(ox.Triple(quad.subject, quad.predicate, quad.object))
        if isinstance(quad.object, ox.BlankNode):
            blanks.append(quad.object)
    for quad in store.quads_for_pattern(None, None, node, DEFAULT_GRAPH):
        triples.add(ox.Triple(quad.subject, quad.predicate, quad.object))
    seen: set[ox.BlankNode] = set()
    while blanks:
        blank = blanks.pop()
        if blank in seen:
            continue
        seen.add(blank)
        for quad in store.quads_for_pattern(blank, None, None, DEFAULT_GRAPH):
            triples.add(ox.Triple(quad.subject, quad.predicate, quad.object))
            if isinstance(quad.object, ox.BlankNode):
                blanks.append(quad.object)
    return sorted(triples, key=str)


def exists(store: ox.Store, node: Node) -> bool:
    """Whether the closure mentions ``node`` as a subject or an object."""
    as_subject = store.quads_for_pattern(node, None, None, DEFAULT_GRAPH)
    as_object = store.quads_for_pattern(None, None, node, DEFAULT_GRAPH)
    return any(next(iter(found), None) is not None for found in (as_subject, as_object))
