"""SHACL validation of the closed knowledge graph with pySHACL.

The data graph is the union of every asserted and inferred triple (one rdflib Graph);
pySHACL runs with no inference of its own (the closure is already there) and with SHACL
Advanced Features enabled. Every validation result (Violation, Warning or Info) is
returned as a :class:`Violation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF
from rdflib.term import Node

from medkg.loading import SourceFile, load_dataset
from medkg.namespaces import PREFIXES, graph_iri_for
from medkg.store import GraphMode, KnowledgeGraph
from medkg.terms import compact_iri

SH = Namespace(PREFIXES["sh"])


@dataclass(frozen=True, order=True)
class Violation:
    """One SHACL validation result, as plain strings (IRIs are full IRIs)."""

    focus_node: str
    path: str | None
    message: str
    severity: str  # "Violation" | "Warning" | "Info"
    source_shape: str | None


def _node_text(node: Node | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, URIRef):
        return str(node)
    if isinstance(node, BNode):
        return f"_:{node}"
    if isinstance(node, Literal):
        return str(node.n3())
    return str(node)


def _path_text(graph: Graph, node: Node | None) -> str | None:
    """SHACL property path in SPARQL-like notation (IRIs compacted where possible)."""
    if node is None:
        return None
    if isinstance(node, URIRef):
        return str(node)
    if not isinstance(node, BNode):
        return _node_text(node)

    def inner(n: Node) -> str:
        if isinstance(n, URIRef):
            return compact_iri(str(n))
        for predicate, template in (
            (SH.inversePath, "^{}"),
            (SH.zeroOrMorePath, "({})*"),
            (SH.oneOrMorePath, "({})+"),
            (SH.zeroOrOnePath, "({})?"),
        ):
            target = graph.value(n, predicate)
            if target is not None:
                return template.format(inner(target))
        alternatives = graph.value(n, SH.alternativePath)
        if alternatives is not None:
            return "(" + " | ".join(inner(x) for x in Collection(graph, alternatives)) + ")"
        if graph.value(n, RDF.first) is not None:
            return " / ".join(inner(x) for x in Collection(graph, n))
        return f"_:{n}"

    return inner(node)


def _results(report: Graph) -> list[Violation]:
    found: list[Violation] = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        severity = report.value(result, SH.resultSeverity)
        messages = sorted(str(m) for m in report.objects(result, SH.resultMessage))
        constraint = report.value(result, SH.sourceConstraintComponent)
        message = "; ".join(messages) or (
            compact_iri(str(constraint)) if constraint is not None else "constraint violated"
        )
        found.append(
            Violation(
                focus_node=_node_text(report.value(result, SH.focusNode)) or "",
                path=_path_text(report, report.value(result, SH.resultPath)),
                message=message,
                severity=str(severity).rsplit("#", 1)[-1] if severity is not None else "Violation",
                source_shape=_node_text(report.value(result, SH.sourceShape)),
            )
        )
    return sorted(found)


def load_shapes(shapes_path: Path) -> Graph:
    """Parse a shapes file (RdfSyntaxError on bad syntax) into one Graph."""
    source = SourceFile(shapes_path, graph_iri_for(shapes_path), "shapes")
    shapes = Graph()
    for s, p, o, _graph in load_dataset([source]).quads((None, None, None, None)):
        shapes.add((s, p, o))
    return shapes


def validate(kg: KnowledgeGraph, shapes_path: Path) -> list[Violation]:
    """Validate asserted+inferred triples against ``shapes_path``; sorted results."""
    import pyshacl  # here: a fifth of a second to import, needed only when validating

    shapes = load_shapes(shapes_path)
    data = kg.union_graph(GraphMode.ALL)
    _conforms, report, _text = pyshacl.validate(
        data,
        shacl_graph=shapes,
        inference="none",
        advanced=True,
        do_owl_imports=False,
        allow_warnings=False,
        allow_infos=False,
    )
    assert isinstance(report, Graph)
    return _results(report)
