"""IRIs of the project: the ontology namespace, resource and graph bases, and known prefixes."""

from __future__ import annotations

from pathlib import PurePath
from urllib.parse import quote

from rdflib import Namespace

MKG = Namespace("https://w3id.org/medkg/ontology#")
RES = "https://w3id.org/medkg/resource/"
GRAPH_BASE = "https://w3id.org/medkg/graph/"

ONTOLOGY_GRAPH = GRAPH_BASE + "ontology"
ALIGNMENTS_GRAPH = GRAPH_BASE + "alignments"
INFERRED_GRAPH = GRAPH_BASE + "inferred"

# Virtual graphs: names a query's dataset may use (protocol ``default-graph-uri``, ``FROM``)
# for a union that is not stored under that name. No file may load into them.
ALL_GRAPH = GRAPH_BASE + "all"  # every asserted graph + the inferred graph (the default)
ASSERTED_GRAPH = GRAPH_BASE + "asserted"  # every asserted graph
VIRTUAL_GRAPHS = (ALL_GRAPH, ASSERTED_GRAPH)
RESERVED_GRAPHS = frozenset({INFERRED_GRAPH, *VIRTUAL_GRAPHS})

#: Where writes that name no graph go (SPARQL Update without GRAPH, Graph Store ``?default``).
USER_GRAPH = GRAPH_BASE + "user"

RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"
OWL_NS = "http://www.w3.org/2002/07/owl#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"

PREFIXES: dict[str, str] = {
    "mkg": str(MKG),
    "res": RES,
    "graph": GRAPH_BASE,
    "rdf": RDF_NS,
    "rdfs": RDFS_NS,
    "owl": OWL_NS,
    "xsd": XSD_NS,
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "schema": "https://schema.org/",
    "org": "http://www.w3.org/ns/org#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "prov": "http://www.w3.org/ns/prov#",
    "dcterms": "http://purl.org/dc/terms/",
    "sh": "http://www.w3.org/ns/shacl#",
}

# Suffixes stripped from a file name to get its stem (compression first, then syntax).
_COMPRESSION_SUFFIXES = (".gz",)
_RDF_SUFFIXES = (".ttl", ".nt", ".nq", ".trig", ".jsonld", ".rdf", ".owl")


def file_stem(path: str | PurePath) -> str:
    """The name of ``path`` without compression and RDF syntax suffixes."""
    name = PurePath(path).name
    for suffix in _COMPRESSION_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    for suffix in _RDF_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return PurePath(name).stem


def graph_iri_for(path: str | PurePath) -> str:
    """The named-graph IRI of a source file: GRAPH_BASE + the file's stem.

    >>> graph_iri_for("data/000_8b8f98a58fe20d8e.ttl")
    'https://w3id.org/medkg/graph/000_8b8f98a58fe20d8e'
    """
    return GRAPH_BASE + quote(file_stem(path), safe="-._~")
