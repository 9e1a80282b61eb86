"""JSON-LD: the published ``@context`` of the ``mkg:`` vocabulary, and a deterministic
compact JSON-LD writer.

The context (``src/medkg/context.jsonld``, served at ``/context.jsonld``) declares the
project's prefixes and one term per ``mkg:`` property (``"partnerOf"``), coerced to IRIs
for object properties. :func:`mkg_context` builds it from the ontology; a test keeps the
shipped file equal to it. Documents embed their context (a reader never fetches one).

:func:`write_jsonld` writes quads as compact JSON-LD: the default graph's nodes at the top
of ``@graph``, each named graph as ``{"@id": g, "@graph": [...]}``; nodes sorted by
``@id``, keys sorted (``@id``, ``@type`` first), values sorted; literals other than plain
strings as value objects (``{"@value", "@type" | "@language"}``), so every literal
re-parses exactly.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

import pyoxigraph as ox

from medkg.namespaces import MKG, OWL_NS, PREFIXES, RDF_NS, XSD_NS

CONTEXT_FILE = "context.jsonld"
#: Where the context is published by ``medkg serve``.
CONTEXT_PATH = "/context.jsonld"
_TYPE = RDF_NS + "type"
_STRING = XSD_NS + "string"
_LANG_STRING = RDF_NS + "langString"

Json = dict[str, Any]


def mkg_context(ontology: Iterable[ox.Triple | ox.Quad]) -> Json:
    """The ``@context`` of the ``mkg:`` vocabulary from the ontology's triples."""
    object_props: set[str] = set()
    other_props: set[str] = set()
    kinds = {
        OWL_NS + "ObjectProperty": object_props,
        OWL_NS + "DatatypeProperty": other_props,
        OWL_NS + "AnnotationProperty": other_props,
    }
    for triple in ontology:
        subject, obj = triple.subject, triple.object
        if (
            triple.predicate.value == _TYPE
            and isinstance(subject, ox.NamedNode)
            and isinstance(obj, ox.NamedNode)
            and obj.value in kinds
            and subject.value.startswith(str(MKG))
        ):
            kinds[obj.value].add(subject.value)
    context: Json = dict(sorted(PREFIXES.items()))
    for iri in sorted(object_props | other_props):
        name = iri[len(str(MKG)) :]
        if not name or name in PREFIXES or name.startswith("@") or ":" in name:
            continue
        term: Json = {"@id": f"mkg:{name}"}
        if iri in object_props and iri not in other_props:
            term["@type"] = "@id"
        context[name] = term
    return context


@cache
def shipped_context() -> str:
    """The text of the context file shipped in the package."""
    return resources.files("medkg").joinpath(CONTEXT_FILE).read_text(encoding="utf-8")


def published_context() -> Json:
    """The ``@context`` object of the shipped file."""
    document: Json = json.loads(shipped_context())
    context: Json = document["@context"]
    return context


def context_document(context: Json) -> str:
    """``{"@context": context}`` as the text of the shipped file."""
    return json.dumps({"@context": context}, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------
# Writer


class _Compactor:
    """Compacts IRIs with a context's prefixes, terms and ``@vocab``."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.vocab: str | None = context.get("@vocab")
        self.prefixes = sorted(
            (
                (name, value)
                for name, value in context.items()
                if isinstance(value, str) and not name.startswith("@") and value[-1:] in "/#"
            ),
            key=lambda item: -len(item[1]),
        )
        self.terms: dict[str, tuple[str, bool]] = {}
        for name, value in context.items():
            if isinstance(value, dict) and "@id" in value:
                self.terms[self.expand(value["@id"])] = (name, value.get("@type") == "@id")

    def expand(self, text: str) -> str:
        prefix, sep, local = text.partition(":")
        for name, namespace in self.prefixes:
            if sep and name == prefix:
                return namespace + local
        return text

    def iri(self, iri: str, *, vocab: bool = False) -> str:
        if vocab and self.vocab and iri.startswith(self.vocab):
            local = iri[len(self.vocab) :]
            if local and ":" not in local and "/" not in local and "#" not in local:
                return local
        for name, namespace in self.prefixes:
            local = iri[len(namespace) :]
            if iri.startswith(namespace) and not local.startswith("//"):
                return f"{name}:{local}"
        return iri

    def node_id(self, term: ox.NamedNode | ox.BlankNode | ox.Triple) -> str:
        if isinstance(term, ox.BlankNode):
            return f"_:{term.value}"
        if isinstance(term, ox.NamedNode):
            return self.iri(term.value)
        raise ValueError("RDF-star triples cannot be written as JSON-LD")

    def key(self, predicate: str) -> tuple[str, bool]:
        """The key of a property and whether it coerces string values to IRIs."""
        if predicate in self.terms:
            return self.terms[predicate]
        return self.iri(predicate, vocab=True), False

    def value(
        self, obj: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple, coerced: bool
    ) -> Any:
        if isinstance(obj, ox.Literal):
            datatype = obj.datatype.value
            if obj.language:
                return {"@value": obj.value, "@language": obj.language}
            if datatype == _STRING:
                return {"@value": obj.value} if coerced else obj.value
            return {"@value": obj.value, "@type": self.iri(datatype, vocab=True)}
        node = self.node_id(obj)
        return node if coerced else {"@id": node}


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _nodes(triples: Iterable[ox.Triple | ox.Quad], compactor: _Compactor) -> list[Json]:
    by_subject: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for triple in triples:
        entry = by_subject[compactor.node_id(triple.subject)]
        predicate, obj = triple.predicate.value, triple.object
        if predicate == _TYPE and isinstance(obj, ox.NamedNode):
            entry["@type"].append(compactor.iri(obj.value, vocab=True))
            continue
        key, coerced = compactor.key(predicate)
        entry[key].append(compactor.value(obj, coerced))
    nodes: list[Json] = []
    for node_id in sorted(by_subject):
        properties = by_subject[node_id]
        node: Json = {"@id": node_id}
        for key in sorted(properties, key=lambda k: (k != "@type", k)):
            values = sorted(properties[key], key=_sort_key)
            node[key] = values[0] if len(values) == 1 else values
        nodes.append(node)
    return nodes


def write_jsonld(quads: Iterable[ox.Quad], context: Json | None = None) -> bytes:
    """``quads`` as a compact JSON-LD document with ``context`` embedded (default: the
    published mkg context)."""
    context = context if context is not None else published_context()
    compactor = _Compactor(context)
    graphs: dict[str, list[ox.Quad]] = defaultdict(list)
    default: list[ox.Quad] = []
    for quad in quads:
        if isinstance(quad.graph_name, ox.DefaultGraph):
            default.append(quad)
        else:
            graphs[compactor.node_id(quad.graph_name)].append(quad)
    top = _nodes(default, compactor)
    top.extend({"@id": name, "@graph": _nodes(graphs[name], compactor)} for name in sorted(graphs))
    document = {"@context": context, "@graph": top}
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
