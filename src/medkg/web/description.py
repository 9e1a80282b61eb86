"""The SPARQL 1.1 Service Description of the endpoint, as an rdflib graph.

Served by ``GET /sparql`` without a query, in any RDF syntax (Turtle by default). It names
the endpoint, the query language, every result format (by its W3C format IRI), the union
default graph, the OWL 2 RL entailment, the default dataset (its default graph and every
named graph, with triple counts) and, as ``sd:availableGraphs``, the graphs a request may
put in its dataset: the stored ones plus the virtual ``graph:all`` and ``graph:asserted``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import RDF, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, VOID, XSD

from medkg.execution import OFFERS
from medkg.formats import RdfSyntax
from medkg.namespaces import ALL_GRAPH, ASSERTED_GRAPH, INFERRED_GRAPH, PREFIXES
from medkg.store import QueryKind, serialize_triples
from medkg.terms import TermConverter

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
OWL_RDF_BASED = URIRef("http://www.w3.org/ns/entailment/OWL-RDF-Based")
OWL_RL = URIRef("http://www.w3.org/ns/owl-profile/RL")

VIRTUAL_GRAPH_DESCRIPTIONS = {
    ALL_GRAPH: "Virtual graph: every asserted graph merged, plus the inferred graph "
    f"<{INFERRED_GRAPH}> (the OWL 2 RL closure). This is the default graph.",
    ASSERTED_GRAPH: "Virtual graph: every asserted graph merged, without inferred triples.",
}


@dataclass(frozen=True)
class DatasetSummary:
    """Sizes of the default dataset: the default graph, and each named graph by IRI."""

    default_triples: int
    graphs: tuple[tuple[str, int], ...]


def _sized_graph(graph: Graph, triples: int) -> BNode:
    node = BNode()
    graph.add((node, RDF.type, SD.Graph))
    graph.add((node, VOID.triples, Literal(triples, datatype=XSD.integer)))
    return node


def _named_graph(graph: Graph, name: str, triples: int | None, about: str | None) -> BNode:
    node = BNode()
    graph.add((node, RDF.type, SD.NamedGraph))
    graph.add((node, SD.name, URIRef(name)))
    if triples is not None:
        graph.add((node, SD.graph, _sized_graph(graph, triples)))
    if about is not None:
        graph.add((node, DCTERMS.description, Literal(about, lang="en")))
    return node


def describe_service(endpoint: str, summary: DatasetSummary, *, updates: bool = False) -> Graph:
    """The service description of the endpoint at ``endpoint`` (``updates``: the server
    accepts SPARQL Update from authorized clients)."""
    graph = Graph()
    for prefix, namespace in (("sd", SD), ("void", VOID), *PREFIXES.items()):
        graph.bind(prefix, namespace)
    service = BNode()
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, URIRef(endpoint)))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    if updates:
        graph.add((service, SD.supportedLanguage, SD.SPARQL11Update))
    formats = [offer.format for kind in QueryKind for offer in OFFERS[kind]]
    for fmt in dict.fromkeys(formats):
        graph.add((service, SD.resultFormat, URIRef(fmt.format_iri)))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    graph.add((service, SD.defaultEntailmentRegime, OWL_RDF_BASED))
    graph.add((service, SD.supportedEntailmentProfile, OWL_RL))
    dataset = BNode()
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    default = _sized_graph(graph, summary.default_triples)
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, DCTERMS.description, Literal(VIRTUAL_GRAPH_DESCRIPTIONS[ALL_GRAPH])))
    available = BNode()
    graph.add((service, SD.availableGraphs, available))
    graph.add((available, RDF.type, SD.GraphCollection))
    for name, triples in summary.graphs:
        graph.add((dataset, SD.namedGraph, _named_graph(graph, name, triples, None)))
        graph.add((available, SD.namedGraph, _named_graph(graph, name, triples, None)))
    for name, about in VIRTUAL_GRAPH_DESCRIPTIONS.items():
        graph.add((available, SD.namedGraph, _named_graph(graph, name, None, about)))
    return graph


def serialize_description(graph: Graph, syntax: RdfSyntax) -> bytes:
    """``graph`` in ``syntax``; TriG and N-Quads hold it as their default graph."""
    if syntax in (RdfSyntax.TRIG, RdfSyntax.NQUADS):
        converter = TermConverter()
        triples = [
            ox.Triple(converter.subject(s), converter.predicate(p), converter.term(o))
            for s, p, o in graph
        ]
        return serialize_triples(triples, syntax)
    return graph.serialize(format=syntax.rdflib_format, encoding="utf-8")
