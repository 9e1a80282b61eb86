"""Human-readable names of RDF terms, read from the closure (the store's default graph).

A term's label is its English ``rdfs:label`` (else any ``rdfs:label``, else
``skos:prefLabel``), else its compact prefixed name (``mkg:partOf``), else the IRI itself.
:class:`Labeller` memoizes, so share one per graph version (graphs may be swapped between
requests): :func:`medkg.versioned.labeller_for` keeps one with each version.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pyoxigraph as ox

from medkg.namespaces import PREFIXES, RDF_NS, RDFS_NS, XSD_NS

SKOS_NS = "http://www.w3.org/2004/02/skos/core#"

RDF_TYPE = ox.NamedNode(RDF_NS + "type")
RDFS_LABEL = ox.NamedNode(RDFS_NS + "label")
RDFS_COMMENT = ox.NamedNode(RDFS_NS + "comment")
SKOS_PREF_LABEL = ox.NamedNode(SKOS_NS + "prefLabel")
SKOS_ALT_LABEL = ox.NamedNode(SKOS_NS + "altLabel")
SKOS_HIDDEN_LABEL = ox.NamedNode(SKOS_NS + "hiddenLabel")
XSD_STRING = XSD_NS + "string"
RDF_LANG_STRING = RDF_NS + "langString"

DEFAULT_GRAPH = ox.DefaultGraph()

Node = ox.NamedNode | ox.BlankNode
Term = ox.NamedNode | ox.BlankNode | ox.Literal


@lru_cache(maxsize=8192)
def compact(iri: str) -> str:
    """``mkg:partOf`` for an IRI in a known namespace (longest match), else the IRI
    (memoized: pages compact the same few datatypes and properties many times)."""
    best = ""
    best_prefix = ""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(namespace) > len(best):
            best, best_prefix = namespace, prefix
    if best and len(iri) > len(best):
        return f"{best_prefix}:{iri[len(best) :]}"
    return iri


def objects(store: ox.Store, subject: Node, predicate: ox.NamedNode) -> list[Term]:
    """The objects of ``subject predicate ?o`` in the closure."""
    return [
        q.object  # type: ignore[misc]
        for q in store.quads_for_pattern(subject, predicate, None, DEFAULT_GRAPH)
    ]


def literal_texts(store: ox.Store, subject: Node, predicate: ox.NamedNode) -> list[str]:
    """The lexical forms of the literal objects of ``subject predicate ?o``, English first."""
    found = [o for o in objects(store, subject, predicate) if isinstance(o, ox.Literal)]
    found.sort(key=lambda lit: (lit.language not in ("en", None), lit.value))
    return [lit.value for lit in found]


@dataclass
class Labeller:
    """Labels of terms in one store, memoized (safe to share between threads: two that
    look up the same term store the same label)."""

    store: ox.Store

    def __post_init__(self) -> None:
        self._cache: dict[Node, str] = {}

    def label(self, term: Term) -> str:
        if isinstance(term, ox.Literal):
            return term.value
        found = self._cache.get(term)
        if found is None:
            found = self._lookup(term)
            self._cache[term] = found
        return found

    def has_label(self, term: Node) -> bool:
        return bool(literal_texts(self.store, term, RDFS_LABEL))

    def _lookup(self, term: Node) -> str:
        for predicate in (RDFS_LABEL, SKOS_PREF_LABEL):
            texts = literal_texts(self.store, term, predicate)
            if texts:
                return texts[0]
        if isinstance(term, ox.BlankNode):
            return "(anonymous node)"
        return compact(term.value)

    def datatype_label(self, literal: ox.Literal) -> str | None:
        """``xsd:date`` for a typed literal; None for plain and language-tagged strings."""
        datatype = literal.datatype.value
        if literal.language or datatype in (XSD_STRING, RDF_LANG_STRING):
            return None
        return compact(datatype)
