"""The SPARQL 1.1 Graph Store HTTP Protocol, as plain functions (no HTTP here).

A request names its target with ``?graph=IRI`` or ``?default`` (the graph ``graph:user``,
where writes that name no graph go), or neither: the whole dataset.

The dataset is read and written out by :mod:`medkg.export` (the same sorted, prefixed
TriG / N-Quads as ``/export``).

====== ============================== ======================================================
verb   ``?graph=IRI`` / ``?default``  no target (the dataset)
====== ============================== ======================================================
GET    the graph (404 if absent)      every stored named graph (TriG / N-Quads)
PUT    replace the graph              replace every asserted graph (TriG / N-Quads body)
POST   add to the graph               TriG / N-Quads: add per graph; a triple syntax: a new
                                      graph with a minted IRI (201 + Location)
DELETE drop the graph (404 if absent) refused: name the graph
====== ============================== ======================================================

``graph:inferred`` and the virtual graphs ``graph:all`` / ``graph:asserted`` can be read,
never written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

import pyoxigraph as ox

from medkg.changes import (
    Outcome,
    add_to_graph,
    check_writable,
    dataset_quads,
    drop_graph,
    graph_names,
    merge,
    replace_graph,
)
from medkg.curation import Compute
from medkg.errors import (
    GraphNotFound,
    InputError,
    NotAcceptable,
    ProtocolError,
    UnknownFormatError,
    UnsupportedMediaType,
)
from medkg.formats import RdfSyntax, negotiate
from medkg.namespaces import ALL_GRAPH, ASSERTED_GRAPH, GRAPH_BASE, USER_GRAPH
from medkg.store import KnowledgeGraph

_DEFAULT = ox.DefaultGraph()
_HIDDEN = ox.NamedNode(ASSERTED_GRAPH)
UPLOAD_GRAPH_PREFIX = GRAPH_BASE + "upload-"


@dataclass(frozen=True)
class Target:
    """What a Graph Store request addresses: one graph (by IRI), or the whole dataset."""

    graph: str | None

    def describe(self) -> str:
        return f"graph <{self.graph}>" if self.graph else "the dataset"


def parse_target(query_string: bytes) -> Target:
    """``?graph=IRI`` / ``?default`` / nothing; ProtocolError for both, several, or a
    relative IRI."""
    try:
        params = parse_qsl(query_string.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("the query string is not UTF-8") from None
    graphs = [value for key, value in params if key == "graph"]
    defaults = [value for key, value in params if key == "default"]
    if graphs and defaults:
        raise ProtocolError("both graph and default; name one target")
    if len(graphs) > 1 or len(defaults) > 1:
        raise ProtocolError("several graph targets; name one")
    if defaults:
        return Target(USER_GRAPH)
    if not graphs:
        return Target(None)
    try:
        return Target(ox.NamedNode(graphs[0]).value)
    except ValueError:
        raise ProtocolError(f"graph is not an absolute IRI: {graphs[0]!r}") from None


# --------------------------------------------------------------------------------------------
# Reading


def graph_triples(kg: KnowledgeGraph, name: str) -> list[ox.Triple] | None:
    """The triples of graph ``name`` (virtual names included); None if there is no such
    graph."""
    if name == ALL_GRAPH:
        source: ox.NamedNode | ox.DefaultGraph = _DEFAULT
    elif name == ASSERTED_GRAPH:
        source = _HIDDEN
    else:
        source = ox.NamedNode(name)
        if not kg.store.contains_named_graph(source):
            return None
    quads = kg.store.quads_for_pattern(None, None, None, source)
    return sorted((ox.Triple(q.subject, q.predicate, q.object) for q in quads), key=str)


# --------------------------------------------------------------------------------------------
# Writing: each function returns a medkg.curation.Compute


def _triples_only(quads: Sequence[ox.Quad], where: str) -> list[ox.Quad]:
    if any(not isinstance(q.graph_name, ox.DefaultGraph) for q in quads):
        raise InputError(
            "the upload names graphs but the request names a target graph; send TriG or "
            "N-Quads to /store without ?graph",
            where=where,
        )
    return list(quads)


def put(target: Target, quads: Sequence[ox.Quad], syntax: RdfSyntax) -> Compute:
    """PUT: replace the target graph, or every asserted graph."""

    def compute(asserted: ox.Store, _kg: KnowledgeGraph) -> Outcome:
        if target.graph is not None:
            change, created = replace_graph(asserted, target.graph, _triples_only(quads, "PUT"))
            return Outcome(change, created_target=created)
        _require_quads(syntax, "PUT to the whole dataset")
        uploaded = dataset_quads(quads)
        changes = [replace_graph(asserted, name, qs)[0] for name, qs in sorted(uploaded.items())]
        for name in sorted(graph_names(asserted) - set(uploaded)):
            changes.append(drop_graph(asserted, name))
        return Outcome(merge(changes))

    return compute


def post(target: Target, quads: Sequence[ox.Quad], syntax: RdfSyntax) -> Compute:
    """POST: add to the target graph; to the dataset: per graph (TriG / N-Quads) or into a
    new graph with a minted IRI (a triple syntax)."""

    def compute(asserted: ox.Store, _kg: KnowledgeGraph) -> Outcome:
        if target.graph is not None:
            change, created = add_to_graph(asserted, target.graph, _triples_only(quads, "POST"))
            return Outcome(change, created_target=created)
        if syntax.carries_graphs and syntax is not RdfSyntax.JSONLD:
            uploaded = dataset_quads(quads)
            changes = [add_to_graph(asserted, name, qs)[0] for name, qs in sorted(uploaded.items())]
            return Outcome(merge(changes))
        name = UPLOAD_GRAPH_PREFIX + uuid.uuid4().hex
        change, _created = add_to_graph(asserted, name, _triples_only(quads, "POST"))
        return Outcome(change, created_target=True, location=name)

    return compute


def delete(target: Target) -> Compute:
    """DELETE: drop the target graph (GraphNotFound if it does not exist)."""
    if target.graph is None:
        raise ProtocolError("DELETE needs a target: ?graph=IRI or ?default")
    name = target.graph
    check_writable(name)

    def compute(asserted: ox.Store, _kg: KnowledgeGraph) -> Outcome:
        if not asserted.contains_named_graph(ox.NamedNode(name)):
            raise GraphNotFound(name)
        return Outcome(drop_graph(asserted, name))

    return compute


def _require_quads(syntax: RdfSyntax, what: str) -> None:
    if not syntax.carries_graphs or syntax is RdfSyntax.JSONLD:
        raise ProtocolError(f"{what} needs a TriG or N-Quads body, not {syntax.cli_name}")


def check_target(target: Target) -> None:
    """Forbidden before reading a body meant for a graph that cannot be written."""
    if target.graph is not None:
        check_writable(target.graph)


# --------------------------------------------------------------------------------------------
# Representations

DATASET_SYNTAXES = (RdfSyntax.TRIG, RdfSyntax.NQUADS)


def dataset_syntax(accept: str | None, format_name: str | None) -> RdfSyntax:
    """TriG or N-Quads for a whole-dataset GET (``?format=`` wins over ``Accept``)."""
    offered = [s.media_type for s in DATASET_SYNTAXES]
    if format_name:
        try:
            syntax = RdfSyntax.from_name(format_name)
        except UnknownFormatError:
            syntax = RdfSyntax.from_media_type(format_name)
        if syntax in DATASET_SYNTAXES:
            return syntax
        raise NotAcceptable(offered, "the dataset")
    chosen = negotiate(accept, offered)
    if chosen is None:
        raise NotAcceptable(offered, "the dataset")
    return RdfSyntax.from_media_type(chosen)


def upload_syntax(content_type: str | None) -> RdfSyntax:
    """The RDF syntax of an upload's Content-Type; UnsupportedMediaType if none fits."""
    bare = (content_type or "").split(";")[0].strip().lower()
    try:
        return RdfSyntax.from_media_type(bare)
    except UnknownFormatError:
        raise UnsupportedMediaType(bare or None, [s.media_type for s in RdfSyntax]) from None
