"""Exports: the graph, or chosen named graphs, as clean and deterministic RDF.

An export reads quads from a :class:`QuadSource` (the embedded store, or a remote SPARQL
store, see :mod:`medkg.backend`), keeps the chosen graphs (:class:`GraphSelection`),
optionally re-expresses them in a standard vocabulary (:mod:`medkg.views`) and writes them
in one RDF syntax:

- **Deterministic.** Quads are sorted (graph, subject, predicate, object); blank nodes are
  relabelled by RDFC-1.0 canonicalization (``c14n0``, ...), so equal graphs give equal
  bytes; Turtle, TriG and RDF/XML declare only the :data:`~medkg.namespaces.PREFIXES`
  they use; JSON-LD is compacted with the published ``@context`` (:mod:`medkg.jsonld`).
- **Clean.** Only RDF 1.1 terms (the store cannot hold a literal subject or predicate),
  and the inferred graph holds no reasoner noise (removed by :mod:`medkg.inference`).
- **Provenance.** TriG, N-Quads and JSON-LD keep one named graph per source (and
  ``graph:sources`` describes them); Turtle, N-Triples and RDF/XML hold the set union of
  the chosen graphs' triples: which graph states a triple is lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pyoxigraph as ox

from medkg.errors import GraphNotFound, InputError, NotAcceptable, UnknownFormatError
from medkg.formats import RdfSyntax, negotiate
from medkg.jsonld import write_jsonld
from medkg.namespaces import ALL_GRAPH, ASSERTED_GRAPH, INFERRED_GRAPH, PREFIXES
from medkg.store import KnowledgeGraph
from medkg.views import Vocabulary, entity_view, jsonld_context, view

_DEFAULT = ox.DefaultGraph()
_HIDDEN = ox.NamedNode(ASSERTED_GRAPH)
#: The graph selection keywords of ``--graphs`` / ``?graphs=``.
SELECTION_WORDS = ("all", "asserted", "inferred")
#: Triples per chunk written to a stream.
CHUNK_LINES = 2000


class QuadSource(Protocol):
    """Where exports read from: the named graphs of a dataset."""

    def graph_names(self) -> list[str]:
        """The IRIs of the listed named graphs (asserted graphs and graph:inferred)."""
        ...

    def quads(self, graphs: Sequence[str]) -> list[ox.Quad]:
        """Every quad of the named ``graphs`` (blank node labels shared across graphs)."""
        ...


class LocalSource:
    """The embedded store of one :class:`~medkg.store.KnowledgeGraph` version."""

    def __init__(self, kg: KnowledgeGraph) -> None:
        self.kg = kg

    def graph_names(self) -> list[str]:
        return self.kg.graph_names()

    def quads(self, graphs: Sequence[str]) -> list[ox.Quad]:
        store = self.kg.store
        found: list[ox.Quad] = []
        for name in graphs:
            found.extend(store.quads_for_pattern(None, None, None, ox.NamedNode(name)))
        return found


# --------------------------------------------------------------------------------------------
# Graph selection


@dataclass(frozen=True)
class GraphSelection:
    """Which named graphs to export: ``all``, ``asserted``, ``inferred`` and graph IRIs."""

    items: tuple[str, ...] = ("all",)

    @classmethod
    def parse(cls, values: Iterable[str]) -> GraphSelection:
        """From repeated and/or comma-separated values; ``graph:x`` names are expanded."""
        items: list[str] = []
        for value in values:
            for raw in value.split(","):
                item = raw.strip()
                if not item:
                    continue
                items.append(item.lower() if item.lower() in SELECTION_WORDS else _iri(item))
        return cls(tuple(dict.fromkeys(items)) or ("all",))

    def resolve(self, available: Sequence[str]) -> list[str]:
        """The chosen graph IRIs among ``available``, sorted; GraphNotFound for an IRI that
        names no graph."""
        chosen: set[str] = set()
        for item in self.items:
            if item in ("all", ALL_GRAPH):
                chosen.update(available)
            elif item in ("asserted", ASSERTED_GRAPH):
                chosen.update(g for g in available if g != INFERRED_GRAPH)
            elif item == "inferred":
                chosen.update(g for g in available if g == INFERRED_GRAPH)
            elif item in available:
                chosen.add(item)
            else:
                raise GraphNotFound(item)
        return sorted(chosen)


def _iri(text: str) -> str:
    """An absolute IRI, or a prefixed name with one of the project's prefixes."""
    prefix, sep, local = text.partition(":")
    if sep and prefix in PREFIXES and not local.startswith("//"):
        text = PREFIXES[prefix] + local
    try:
        return ox.NamedNode(text).value
    except ValueError:
        raise InputError(
            f"not a graph: {text!r}",
            where=f"use {', '.join(SELECTION_WORDS)} or a graph IRI",
        ) from None


def expand_iri(text: str) -> str:
    """``res:x`` or an absolute IRI -> the absolute IRI (InputError otherwise)."""
    return _iri(text)


# --------------------------------------------------------------------------------------------
# The export


@dataclass(frozen=True)
class ExportRequest:
    """What to export and how."""

    syntax: RdfSyntax = RdfSyntax.TRIG
    graphs: GraphSelection = field(default_factory=GraphSelection)
    vocab: Vocabulary = Vocabulary.ALL
    entity: str | None = None  # one entity's document (IRI) instead of the whole graph

    @property
    def filename(self) -> str:
        """The suggested file name (``Content-Disposition``)."""
        stem = "medkg" if self.vocab is Vocabulary.ALL else f"medkg-{self.vocab.value}"
        if self.entity is not None:
            stem += "-" + self.entity.rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        return f"{stem}.{self.syntax.extension}"


def selected_quads(source: QuadSource, request: ExportRequest) -> list[ox.Quad]:
    """The request's quads: the chosen graphs, in the chosen vocabulary, canonical and
    sorted. A vocabulary view is a graph (its quads are in the default graph)."""
    graphs = request.graphs.resolve(source.graph_names())
    quads = [q for q in source.quads(graphs) if _listed(q)]
    if request.vocab is not Vocabulary.ALL or request.entity is not None:
        triples = {ox.Triple(q.subject, q.predicate, q.object) for q in quads}
        if request.vocab is not Vocabulary.ALL:
            triples = view(triples, request.vocab)
        if request.entity is not None:
            triples = entity_view(triples, request.entity)
        quads = [ox.Quad(t.subject, t.predicate, t.object, _DEFAULT) for t in triples]
    return canonical(quads)


def _listed(quad: ox.Quad) -> bool:
    return isinstance(quad.graph_name, ox.NamedNode) and quad.graph_name != _HIDDEN


def canonical(quads: Iterable[ox.Quad]) -> list[ox.Quad]:
    """``quads`` without duplicates, blank nodes relabelled by RDFC-1.0, sorted."""
    dataset = ox.Dataset(quads)
    if any(_has_blank(q) for q in dataset):
        dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return sorted(dataset, key=quad_key)


def _has_blank(quad: ox.Quad) -> bool:
    return isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode)


def quad_key(quad: ox.Quad) -> tuple[str, str, str, str]:
    return (str(quad.graph_name), str(quad.subject), str(quad.predicate), str(quad.object))


def used_prefixes(quads: Iterable[ox.Quad]) -> dict[str, str]:
    """The PREFIXES whose namespace starts an IRI or datatype of ``quads``, in order."""
    iris: set[str] = set()
    for quad in quads:
        for term in (quad.subject, quad.predicate, quad.object, quad.graph_name):
            if isinstance(term, ox.NamedNode):
                iris.add(term.value)
            elif isinstance(term, ox.Literal):
                iris.add(term.datatype.value)
    return {p: ns for p, ns in PREFIXES.items() if any(iri.startswith(ns) for iri in iris)}


def serialize(
    quads: Sequence[ox.Quad], syntax: RdfSyntax, vocab: Vocabulary = Vocabulary.ALL
) -> bytes:
    """Sorted, canonical ``quads`` in ``syntax`` (triple syntaxes: the set of triples);
    JSON-LD uses ``vocab``'s context."""
    return b"".join(serialize_chunks(quads, syntax, vocab))


def serialize_chunks(
    quads: Sequence[ox.Quad], syntax: RdfSyntax, vocab: Vocabulary = Vocabulary.ALL
) -> Iterator[bytes]:
    """:func:`serialize`, in pieces: line-based syntaxes a few thousand lines at a time."""
    if syntax is RdfSyntax.JSONLD:
        yield write_jsonld(quads, jsonld_context(vocab))
        return
    items: list[ox.Quad] | list[ox.Triple]
    if syntax.carries_graphs:
        items = list(quads)
    else:
        items = sorted(
            {ox.Triple(q.subject, q.predicate, q.object) for q in quads},
            key=lambda t: (str(t.subject), str(t.predicate), str(t.object)),
        )
    if syntax in (RdfSyntax.NQUADS, RdfSyntax.NTRIPLES):
        for start in range(0, len(items), CHUNK_LINES):
            data = ox.serialize(items[start : start + CHUNK_LINES], format=syntax.oxigraph_format)
            yield data or b""
        return
    data = ox.serialize(items, format=syntax.oxigraph_format, prefixes=used_prefixes(quads))
    yield data or b""


def export(source: QuadSource, request: ExportRequest) -> bytes:
    """The whole export as bytes."""
    return serialize(selected_quads(source, request), request.syntax, request.vocab)


# --------------------------------------------------------------------------------------------
# Requests (HTTP parameters, CLI options)

#: The syntaxes ``/export`` offers, preferred first (graph-carrying ones first).
OFFERED = (
    RdfSyntax.TRIG,
    RdfSyntax.NQUADS,
    RdfSyntax.JSONLD,
    RdfSyntax.TURTLE,
    RdfSyntax.NTRIPLES,
    RdfSyntax.RDFXML,
)


def choose_syntax(format_name: str | None, accept: str | None) -> RdfSyntax:
    """``format`` (a name or media type) wins over ``Accept``; NotAcceptable if none fits."""
    offered = [s.media_type for s in OFFERED]
    if format_name:
        try:
            return RdfSyntax.from_name(format_name)
        except UnknownFormatError:
            try:
                return RdfSyntax.from_media_type(format_name)
            except UnknownFormatError:
                raise NotAcceptable(offered, "the export") from None
    chosen = negotiate(accept, offered)
    if chosen is None:
        raise NotAcceptable(offered, "the export")
    return RdfSyntax.from_media_type(chosen)


def export_request(
    syntax: RdfSyntax,
    graphs: Sequence[str] = (),
    vocab: str | None = None,
    entity: str | None = None,
) -> ExportRequest:
    """An ExportRequest from option values (``entity`` may be a prefixed name)."""
    return ExportRequest(
        syntax=syntax,
        graphs=GraphSelection.parse(graphs),
        vocab=Vocabulary.from_name(vocab) if vocab else Vocabulary.ALL,
        entity=expand_iri(entity) if entity else None,
    )
