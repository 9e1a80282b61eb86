"""Conversion of RDF terms between rdflib and pyoxigraph, and compact display of terms.

``xsd:string`` literals become plain rdflib literals (RDF 1.1: they are the same term).
Blank node labels are kept when pyoxigraph accepts them, so both sides can be matched up.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Node

from medkg.namespaces import PREFIXES

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

OxSubject = ox.NamedNode | ox.BlankNode | ox.Triple
OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
OxGraphName = ox.NamedNode | ox.BlankNode | ox.DefaultGraph

RdflibTriple = tuple[Node, Node, Node]


class TermConverter:
    """Stateful rdflib -> pyoxigraph converter (memoizes blank nodes)."""

    def __init__(self) -> None:
        self._bnodes: dict[str, ox.BlankNode] = {}

    def bnode(self, node: BNode) -> ox.BlankNode:
        label = str(node)
        found = self._bnodes.get(label)
        if found is None:
            try:
                found = ox.BlankNode(label)
            except ValueError:
                found = ox.BlankNode()
            self._bnodes[label] = found
        return found

    def term(self, node: Node) -> OxTerm:
        """Convert one rdflib term. Raises ValueError for terms pyoxigraph rejects."""
        if isinstance(node, URIRef):
            return ox.NamedNode(str(node))
        if isinstance(node, BNode):
            return self.bnode(node)
        if isinstance(node, Literal):
            if node.language:
                return ox.Literal(str(node), language=node.language)
            if node.datatype is not None and str(node.datatype) != XSD_STRING:
                return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
            return ox.Literal(str(node))
        raise ValueError(f"unsupported RDF term {node!r}")

    def subject(self, node: Node) -> OxSubject:
        term = self.term(node)
        if isinstance(term, ox.Literal):
            raise ValueError(f"literal in subject position: {node.n3()}")
        return term

    def predicate(self, node: Node) -> ox.NamedNode:
        term = self.term(node)
        if not isinstance(term, ox.NamedNode):
            raise ValueError(f"predicate is not an IRI: {node.n3()}")
        return term

    def graph_name(self, node: Node | None) -> OxGraphName:
        if node is None or node == DATASET_DEFAULT_GRAPH_ID:
            return ox.DefaultGraph()
        term = self.term(node)
        if isinstance(term, ox.NamedNode | ox.BlankNode):
            return term
        raise ValueError(f"invalid graph name: {node!r}")

    def quad(self, s: Node, p: Node, o: Node, g: Node | None) -> ox.Quad:
        return ox.Quad(self.subject(s), self.predicate(p), self.term(o), self.graph_name(g))


def to_rdflib(term: OxTerm) -> Node:
    """Convert one pyoxigraph term to rdflib."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        if datatype in (XSD_STRING, RDF_LANG_STRING):
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(datatype))
    raise ValueError(f"unsupported pyoxigraph term {term!r}")


def triples_to_rdflib(triples: Iterable[ox.Triple | ox.Quad]) -> Iterator[RdflibTriple]:
    for t in triples:
        yield (to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object))


def compact_iri(iri: str, prefixes: Mapping[str, str] = PREFIXES) -> str:
    """``prefix:local`` for the longest matching namespace, else ``<iri>``."""
    best: tuple[str, str] | None = None
    for prefix, ns in prefixes.items():
        if iri.startswith(ns) and (best is None or len(ns) > len(best[1])):
            best = (prefix, ns)
    if best is not None:
        local = iri[len(best[1]) :]
        if all(ch.isalnum() or ch in "_-." for ch in local) and not local.endswith("."):
            return f"{best[0]}:{local}"
    return f"<{iri}>"


def display(term: OxTerm | None, prefixes: Mapping[str, str] = PREFIXES) -> str:
    """A short human-readable rendering of a term for tables (unbound -> empty)."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return compact_iri(term.value, prefixes)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"{term.value}@{term.language}"
        return term.value
    if isinstance(term, ox.Triple):
        parts = (display(term.subject, prefixes), display(term.predicate, prefixes))
        return f"<< {parts[0]} {parts[1]} {display(term.object, prefixes)} >>"
    return str(term)
