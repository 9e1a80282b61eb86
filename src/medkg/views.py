"""Vocabulary views: the data expressed in one standard vocabulary.

A view is computed from the OWL 2 RL closure, never from hand-written mappings: the
alignment axioms (``ontology/alignments.ttl``, sub-class and sub-property of schema.org,
W3C ORG, ...) make the reasoner state every fact in the standard terms too, and a view
keeps the triples whose predicate (or, for ``rdf:type``, whose class) is in the chosen
namespace. Descriptions of the vocabularies themselves (subjects in a vocabulary
namespace) are left out. Two fixed rules complete a view:

- **names**: every node of the view keeps its ``rdfs:label`` and ``skos:altLabel``; the
  schema.org view writes them as ``schema:name`` and ``schema:alternateName``;
- **text values**: schema.org expects Text for some properties (``schema:award``); where
  the closure links to a node, the schema.org view gives the node's English label instead
  (a node without one is left out).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

import pyoxigraph as ox

from medkg.errors import UnknownFormatError
from medkg.namespaces import GRAPH_BASE, MKG, PREFIXES, RDF_NS, RDFS_NS, RES, XSD_NS

SCHEMA_NS = PREFIXES["schema"]
ORG_NS = PREFIXES["org"]
SKOS_NS = PREFIXES["skos"]
_TYPE = ox.NamedNode(RDF_NS + "type")
_LABEL = ox.NamedNode(RDFS_NS + "label")
_ALT_LABEL = ox.NamedNode(SKOS_NS + "altLabel")
_NAMES = {
    _LABEL: ox.NamedNode(SCHEMA_NS + "name"),
    _ALT_LABEL: ox.NamedNode(SCHEMA_NS + "alternateName"),
}
#: schema.org properties whose expected value is Text (schema.org's range, not a mapping).
SCHEMA_TEXT_PROPERTIES = frozenset({SCHEMA_NS + "award"})
#: Namespaces whose IRIs name vocabulary terms, not data.
_VOCABULARY_NAMESPACES = tuple(ns for p, ns in PREFIXES.items() if ns not in (RES, GRAPH_BASE))


class Vocabulary(Enum):
    """The vocabulary of an export: ``all`` (every triple, unchanged) or one view."""

    ALL = "all"
    MKG = "mkg"
    SCHEMA = "schema"
    ORG = "org"

    @property
    def namespace(self) -> str | None:
        return {"mkg": str(MKG), "schema": SCHEMA_NS, "org": ORG_NS}.get(self.value)

    @classmethod
    def from_name(cls, name: str) -> Vocabulary:
        for member in cls:
            if member.value == name.strip().lower():
                return member
        raise UnknownFormatError(name, "vocabulary", [m.value for m in cls])


def _is_vocabulary_term(term: Any) -> bool:
    return isinstance(term, ox.NamedNode) and term.value.startswith(_VOCABULARY_NAMESPACES)


def view(triples: Iterable[ox.Triple], vocab: Vocabulary) -> set[ox.Triple]:
    """The triples of ``vocab``'s view of ``triples`` (a closure); ALL returns them all."""
    everything = set(triples)
    namespace = vocab.namespace
    if namespace is None:
        return everything
    labels: dict[Any, list[ox.Triple]] = {}
    for t in everything:
        if t.predicate in (_LABEL, _ALT_LABEL) and not isinstance(t.subject, ox.Triple):
            labels.setdefault(t.subject, []).append(t)
    kept: set[ox.Triple] = set()
    for t in everything:
        if _is_vocabulary_term(t.subject):
            continue
        in_view = t.predicate.value.startswith(namespace) or (
            t.predicate == _TYPE
            and isinstance(t.object, ox.NamedNode)
            and t.object.value.startswith(namespace)
        )
        if not in_view:
            continue
        if vocab is Vocabulary.SCHEMA and t.predicate.value in SCHEMA_TEXT_PROPERTIES:
            text = _english_label(labels.get(t.object, []))
            if text is None:
                continue
            t = ox.Triple(t.subject, t.predicate, text)
        kept.add(t)
    named = {t.subject for t in kept} | {
        t.object for t in kept if isinstance(t.object, ox.NamedNode | ox.BlankNode)
    }
    for node in named - {n for n in named if _is_vocabulary_term(n)}:
        for label in labels.get(node, []):
            predicate = _NAMES[label.predicate] if vocab is Vocabulary.SCHEMA else label.predicate
            kept.add(ox.Triple(label.subject, predicate, label.object))
    return kept


def _english_label(labels: list[ox.Triple]) -> ox.Literal | None:
    texts = sorted(
        t.object.value
        for t in labels
        if t.predicate == _LABEL
        and isinstance(t.object, ox.Literal)
        and (t.object.language or "en").startswith("en")
    )
    return ox.Literal(texts[0]) if texts else None


def entity_view(triples: Iterable[ox.Triple], entity: str) -> set[ox.Triple]:
    """One entity's document: its triples (and those of the blank nodes it reaches), and
    the types and names of the nodes it links to."""
    everything = set(triples)
    by_subject: dict[Any, list[ox.Triple]] = {}
    for t in everything:
        by_subject.setdefault(t.subject, []).append(t)
    kept: set[ox.Triple] = set()
    todo: list[Any] = [ox.NamedNode(entity)]
    seen: set[Any] = set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for t in by_subject.get(node, []):
            kept.add(t)
            if isinstance(t.object, ox.BlankNode):
                todo.append(t.object)
            elif isinstance(t.object, ox.NamedNode) and t.predicate != _TYPE:
                kept.update(
                    link
                    for link in by_subject.get(t.object, [])
                    if link.predicate == _TYPE or link.predicate in (_LABEL, *_NAMES.values())
                )
    return kept


def jsonld_context(vocab: Vocabulary) -> dict[str, Any] | None:
    """The JSON-LD context of a view (None: the published mkg context)."""
    if vocab is Vocabulary.SCHEMA:
        return {"@vocab": SCHEMA_NS, "res": RES, "xsd": XSD_NS}
    return None
