"""The ontology as a document: its classes, properties and individuals, for ``/ontology``.

Read from the ontology's named graph (``graph:ontology``) and the alignments
(``graph:alignments``); inferred axioms are left out, so the page shows what the ontology
states. :func:`ontology_triples` is the raw ontology for RDF clients.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from medkg.describe import TermView, view
from medkg.explanation import (
    CHAIN,
    DOMAIN,
    INVERSE_OF,
    RANGE,
    SUBCLASS_OF,
    SUBPROPERTY_OF,
)
from medkg.labels import RDF_TYPE, RDFS_COMMENT, RDFS_LABEL, Labeller, Node, Term
from medkg.namespaces import ALIGNMENTS_GRAPH, MKG, ONTOLOGY_GRAPH, OWL_NS, RES

_ONTOLOGY = ox.NamedNode(ONTOLOGY_GRAPH)
_ALIGNMENTS = ox.NamedNode(ALIGNMENTS_GRAPH)
OWL_ONTOLOGY = ox.NamedNode(OWL_NS + "Ontology")
OWL_CLASS = ox.NamedNode(OWL_NS + "Class")
OWL_OBJECT_PROPERTY = ox.NamedNode(OWL_NS + "ObjectProperty")
OWL_DATATYPE_PROPERTY = ox.NamedNode(OWL_NS + "DatatypeProperty")
OWL_VERSION_INFO = ox.NamedNode(OWL_NS + "versionInfo")
CHARACTERISTICS = {
    ox.NamedNode(OWL_NS + name + "Property"): name.lower()
    for name in ("Transitive", "Symmetric", "Irreflexive", "Functional", "InverseFunctional")
}


@dataclass(frozen=True)
class TermEntry:
    """One term of the ontology with what the ontology says about it."""

    iri: str
    anchor: str  # the IRI's fragment, the id on the page
    label: str
    comment: str
    broader: tuple[TermView, ...] = ()  # super-classes / super-properties (incl. alignments)
    narrower: tuple[TermView, ...] = ()
    domain: tuple[TermView, ...] = ()
    range: tuple[TermView, ...] = ()
    inverse: tuple[TermView, ...] = ()
    chain: tuple[TermView, ...] = ()
    characteristics: tuple[str, ...] = ()
    types: tuple[TermView, ...] = ()  # for individuals


@dataclass(frozen=True)
class OntologyDocument:
    iri: str
    title: str
    comment: str
    version: str | None
    classes: tuple[TermEntry, ...]
    object_properties: tuple[TermEntry, ...]
    datatype_properties: tuple[TermEntry, ...]
    individuals: tuple[TermEntry, ...]


def _objects(store: ox.Store, s: Node, p: ox.NamedNode) -> list[Term]:
    return [
        q.object  # type: ignore[misc]
        for graph in (_ONTOLOGY, _ALIGNMENTS)
        for q in store.quads_for_pattern(s, p, None, graph)
    ]


def _subjects(store: ox.Store, p: ox.NamedNode, o: Term) -> list[Node]:
    return [
        q.subject  # type: ignore[misc]
        for graph in (_ONTOLOGY, _ALIGNMENTS)
        for q in store.quads_for_pattern(None, p, o, graph)
    ]


def _text(store: ox.Store, s: Node, p: ox.NamedNode) -> str:
    found = [o.value for o in _objects(store, s, p) if isinstance(o, ox.Literal)]
    return found[0] if found else ""


def _views(terms: list[Term], labeller: Labeller) -> tuple[TermView, ...]:
    named = {t for t in terms if isinstance(t, ox.NamedNode)}
    return tuple(sorted((view(t, labeller) for t in named), key=lambda v: v.label.lower()))


def _items(store: ox.Store, head: Term) -> list[Term]:
    members: list[Term] = []
    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    first, rest, nil = (ox.NamedNode(rdf + n) for n in ("first", "rest", "nil"))
    node = head
    while isinstance(node, ox.NamedNode | ox.BlankNode) and node != nil and len(members) < 64:
        members += _objects(store, node, first)[:1]
        rests = _objects(store, node, rest)
        node = rests[0] if rests else nil
    return members


def _entry(store: ox.Store, term: ox.NamedNode, labeller: Labeller, kind: str) -> TermEntry:
    relation = SUBCLASS_OF if kind == "class" else SUBPROPERTY_OF
    chain: list[Term] = []
    for head in _objects(store, term, CHAIN):
        chain = _items(store, head)
    return TermEntry(
        iri=term.value,
        anchor=term.value.rsplit("#", 1)[-1].rsplit("/", 1)[-1],
        label=_text(store, term, RDFS_LABEL) or labeller.label(term),
        comment=_text(store, term, RDFS_COMMENT),
        broader=_views([o for o in _objects(store, term, relation) if o != term], labeller),
        narrower=_views([s for s in _subjects(store, relation, term) if s != term], labeller),
        domain=_views(_objects(store, term, DOMAIN), labeller),
        range=_views(_objects(store, term, RANGE), labeller),
        inverse=_views(
            [*_objects(store, term, INVERSE_OF), *_subjects(store, INVERSE_OF, term)], labeller
        ),
        chain=tuple(view(t, labeller) for t in chain),
        characteristics=tuple(
            sorted(
                CHARACTERISTICS[t]
                for t in _objects(store, term, RDF_TYPE)
                if isinstance(t, ox.NamedNode) and t in CHARACTERISTICS
            )
        ),
        types=_views(
            [t for t in _objects(store, term, RDF_TYPE) if str(t).startswith(f"<{MKG}")],
            labeller,
        )
        if kind == "individual"
        else (),
    )


def _of_type(store: ox.Store, cls: ox.NamedNode) -> list[ox.NamedNode]:
    return sorted(
        {
            q.subject
            for q in store.quads_for_pattern(None, RDF_TYPE, cls, _ONTOLOGY)
            if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(str(MKG))
        },
        key=lambda n: n.value.lower(),
    )


def ontology_document(store: ox.Store, labeller: Labeller | None = None) -> OntologyDocument:
    """The ontology's terms, each with its label, comment and axioms."""
    labeller = labeller or Labeller(store)
    headers = [
        q.subject
        for q in store.quads_for_pattern(None, RDF_TYPE, OWL_ONTOLOGY, _ONTOLOGY)
        if isinstance(q.subject, ox.NamedNode)
    ]
    header = headers[0] if headers else ox.NamedNode(str(MKG).rstrip("#"))
    version = _text(store, header, OWL_VERSION_INFO) or None
    individuals = sorted(
        {
            q.subject
            for q in store.quads_for_pattern(None, RDF_TYPE, None, _ONTOLOGY)
            if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(RES)
        },
        key=lambda n: labeller.label(n).lower(),
    )
    return OntologyDocument(
        iri=header.value,
        title=_text(store, header, RDFS_LABEL) or "medkg ontology",
        comment=_text(store, header, RDFS_COMMENT),
        version=version,
        classes=tuple(_entry(store, t, labeller, "class") for t in _of_type(store, OWL_CLASS)),
        object_properties=tuple(
            _entry(store, t, labeller, "property") for t in _of_type(store, OWL_OBJECT_PROPERTY)
        ),
        datatype_properties=tuple(
            _entry(store, t, labeller, "property") for t in _of_type(store, OWL_DATATYPE_PROPERTY)
        ),
        individuals=tuple(_entry(store, t, labeller, "individual") for t in individuals),
    )


def ontology_triples(store: ox.Store) -> list[ox.Triple]:
    """The triples of the ontology's named graph, as the ontology file states them."""
    return [
        ox.Triple(q.subject, q.predicate, q.object)
        for q in store.quads_for_pattern(None, None, None, _ONTOLOGY)
    ]
