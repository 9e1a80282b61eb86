"""One SPARQL query, start to finish: dataset, evaluation, format, capped serialization.

:func:`execute` turns a :class:`QueryJob` (what the protocol layer read from a request)
into a :class:`QueryAnswer` (the bytes of the response body and its media type). It is a
plain blocking function with picklable inputs and outputs: the HTTP endpoint runs it in
killable worker processes, the tests and ``--workers 0`` run it in-process.

**Dataset.** In order of precedence:

1. the protocol's ``default-graph-uri`` / ``named-graph-uri`` (either one present sets
   both: the default graph merges the ``default-graph-uri`` graphs, ``GRAPH`` sees only the
   ``named-graph-uri`` graphs);
2. the query's own ``FROM`` / ``FROM NAMED``, with the same rule;
3. otherwise the job's :class:`~medkg.store.GraphMode` (ALL by default: the union of the
   asserted graphs plus the inferred graph, every named graph visible).

Graph IRIs name stored graphs, or one of the virtual graphs: ``graph:all`` (every asserted
graph plus ``graph:inferred``, the default) and ``graph:asserted`` (every asserted graph).
A virtual graph is usable as a *default* graph only; an IRI that names no graph is an
empty graph, and nothing is ever fetched. Listing several graphs that share a triple
matches that triple once per graph.

**Format.** ``format_name`` (a short name such as ``json``, ``tsv``, ``turtle``, or a media
type; a comma-separated list is tried in order) wins over ``accept``; ``accept`` is
negotiated with :func:`medkg.formats.negotiate`. SELECT: SPARQL JSON, XML, CSV, TSV; ASK:
SPARQL JSON, XML; CONSTRUCT/DESCRIBE: Turtle, N-Triples, JSON-LD, RDF/XML, TriG, N-Quads.
Nothing acceptable raises :class:`~medkg.errors.NotAcceptable`.

**Cap.** At most ``max_rows`` SELECT rows or CONSTRUCT/DESCRIBE triples are written, and
no more of them than fit in ``max_bytes`` once serialized;
``truncated`` says whether more existed. A SELECT answer in JSON, XML or TSV is written by
pyoxigraph itself while it fits in ``max_bytes`` (3 to 6 times faster than medkg's writers
on 100,000 rows) and its rows are counted in the bytes (:func:`medkg.results.count_rows`);
an answer past either cap is evaluated again and a prefix of it written by
:mod:`medkg.results` (as CSV always is). DESCRIBE returns pyoxigraph's description: the
concise bounded description (every triple with the resource as subject, and recursively
those of the blank nodes it reaches).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, TypeVar

import pyoxigraph as ox

from medkg.errors import InputError, NotAcceptable
from medkg.formats import RdfSyntax, ResultFormat, negotiate
from medkg.lexer import dataset_clause
from medkg.namespaces import ALL_GRAPH, ASSERTED_GRAPH, INFERRED_GRAPH, PREFIXES
from medkg.results import NATIVE, count_rows, write_boolean, write_solutions
from medkg.sandbox import sandboxed
from medkg.store import (
    GraphMode,
    KnowledgeGraph,
    OxDefaultGraphPart,
    OxNamedGraph,
    OxQueryResult,
    QueryDataset,
    QueryKind,
    kind_of,
    query_errors,
    serialize_triples,
)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

Format = ResultFormat | RdfSyntax
T = TypeVar("T")


@dataclass(frozen=True)
class QueryJob:
    """A query to run and how to answer it (everything picklable)."""

    query: str
    accept: str | None = None  # the HTTP Accept header, raw
    format_name: str | None = None  # ?format= / ?output= / ?results=: short name or media type
    mode: GraphMode = GraphMode.ALL  # default dataset when neither protocol nor FROM names one
    default_graph_uris: tuple[str, ...] = ()  # protocol default-graph-uri (overrides FROM)
    named_graph_uris: tuple[str, ...] = ()  # protocol named-graph-uri (overrides FROM NAMED)
    max_rows: int | None = None  # cap on SELECT rows / CONSTRUCT triples
    max_bytes: int | None = None  # cap on the serialized answer (rows are dropped to fit)
    base_iri: str | None = None
    service_allow: tuple[str, ...] = ()  # SERVICE endpoints the operator allows


@dataclass(frozen=True)
class QueryAnswer:
    """A complete response body and what describes it."""

    media_type: str  # the exact Content-Type header value
    body: bytes
    kind: QueryKind
    count: int | None  # rows / triples written (None for ASK)
    truncated: bool


# --------------------------------------------------------------------------------------------
# Formats per query kind


@dataclass(frozen=True)
class Offer:
    """A media type the endpoint answers with, and the format behind it."""

    media_type: str
    format: Format


_RESULTS = tuple(Offer(f.media_type, f) for f in ResultFormat)
_GRAPHS = tuple(
    Offer(s.media_type, s)
    for s in (
        RdfSyntax.TURTLE,
        RdfSyntax.NTRIPLES,
        RdfSyntax.JSONLD,
        RdfSyntax.RDFXML,
        RdfSyntax.TRIG,
        RdfSyntax.NQUADS,
    )
)
#: What each kind offers, server preference first (the first is the default).
OFFERS: dict[QueryKind, tuple[Offer, ...]] = {
    QueryKind.SELECT: _RESULTS,
    QueryKind.ASK: _RESULTS[:2],
    QueryKind.GRAPH: _GRAPHS,
}
# Media types clients send for these formats, accepted but never answered with.
_ALIASES: dict[QueryKind, tuple[Offer, ...]] = {
    QueryKind.SELECT: (
        Offer("application/json", ResultFormat.JSON),
        Offer("application/xml", ResultFormat.XML),
        Offer("text/xml", ResultFormat.XML),
    ),
    QueryKind.GRAPH: (
        Offer("application/x-turtle", RdfSyntax.TURTLE),
        Offer("application/json", RdfSyntax.JSONLD),
        Offer("application/xml", RdfSyntax.RDFXML),
        Offer("text/xml", RdfSyntax.RDFXML),
    ),
}
_ALIASES[QueryKind.ASK] = _ALIASES[QueryKind.SELECT]
# Short names of the format parameters (``?format=json``), per kind.
_RESULT_NAMES: dict[str, Format] = {
    "json": ResultFormat.JSON,
    "srj": ResultFormat.JSON,
    "xml": ResultFormat.XML,
    "srx": ResultFormat.XML,
    "csv": ResultFormat.CSV,
    "tsv": ResultFormat.TSV,
}
_GRAPH_NAMES: dict[str, Format] = {
    **{name: syntax for syntax in RdfSyntax for name in syntax.info.names},
    "n3": RdfSyntax.TURTLE,  # Turtle is N3's RDF subset; clients ask for n3 meaning it
    "json": RdfSyntax.JSONLD,
    "xml": RdfSyntax.RDFXML,
    "rdf+xml": RdfSyntax.RDFXML,
}
_NAMES = {
    QueryKind.SELECT: _RESULT_NAMES,
    QueryKind.ASK: _RESULT_NAMES,
    QueryKind.GRAPH: _GRAPH_NAMES,
}


_KIND_LABELS = {
    QueryKind.SELECT: "a SELECT result",
    QueryKind.ASK: "an ASK result",
    QueryKind.GRAPH: "a CONSTRUCT or DESCRIBE result",
}


def offered_media_types(kind: QueryKind) -> list[str]:
    return [offer.media_type for offer in OFFERS[kind]]


def content_type(media_type: str) -> str:
    """The Content-Type header value: ``text/*`` types name their charset (UTF-8)."""
    return f"{media_type}; charset=utf-8" if media_type.startswith("text/") else media_type


def choose_format(
    kind: QueryKind, accept: str | None, format_name: str | None = None, what: str | None = None
) -> Format:
    """The format to answer a ``kind`` query in; NotAcceptable (about ``what``) if none fits."""
    offers = (*OFFERS[kind], *_ALIASES.get(kind, ()))
    refusal = NotAcceptable(offered_media_types(kind), what or _KIND_LABELS[kind])
    if format_name is not None and format_name.strip():
        for item in format_name.split(","):
            key = item.strip().lower()
            if key in _NAMES[kind] and _NAMES[kind][key] in (o.format for o in OFFERS[kind]):
                return _NAMES[kind][key]
            chosen = _negotiated(offers, key) if "/" in key else None
            if chosen is not None:
                return chosen
        raise refusal
    chosen = _negotiated(offers, accept)
    if chosen is None:
        raise refusal
    return chosen


def _negotiated(offers: Sequence[Offer], accept: str | None) -> Format | None:
    media_type = negotiate(accept, [offer.media_type for offer in offers])
    return next((o.format for o in offers if o.media_type == media_type), None)


# --------------------------------------------------------------------------------------------
# Dataset


def _default_part(iri: str) -> list[OxDefaultGraphPart]:
    if iri == ALL_GRAPH:
        return [ox.DefaultGraph()]  # the store's default graph holds the whole closure
    if iri == ASSERTED_GRAPH:
        return [ox.NamedNode(ASSERTED_GRAPH)]  # the hidden asserted union
    return [_graph_node(iri)]


def _graph_node(iri: str) -> ox.NamedNode:
    try:
        return ox.NamedNode(iri)
    except ValueError as exc:
        raise InputError(f"invalid graph IRI {iri!r}: {exc}") from exc


def _unique(items: Iterable[OxDefaultGraphPart]) -> Iterator[OxDefaultGraphPart]:
    seen: set[str] = set()
    for item in items:
        key = str(item)
        if key not in seen:
            seen.add(key)
            yield item


def _without_overlaps(parts: list[OxDefaultGraphPart]) -> list[OxDefaultGraphPart]:
    """Drop graphs another listed graph already contains, so no triple matches twice.

    The store's default graph is the whole closure and the hidden asserted graph is the
    union of the asserted graphs, so either one makes the graphs it contains redundant.
    """
    asserted = ox.NamedNode(ASSERTED_GRAPH)
    inferred = ox.NamedNode(INFERRED_GRAPH)
    if ox.DefaultGraph() in parts or (asserted in parts and inferred in parts):
        return [ox.DefaultGraph()]
    if asserted in parts:
        return [asserted]
    return parts


def explicit_dataset(default: Sequence[str], named: Sequence[str]) -> QueryDataset:
    """The dataset that graph IRIs (protocol parameters or FROM clauses) describe."""
    parts = _without_overlaps(list(_unique(p for iri in default for p in _default_part(iri))))
    names: list[OxNamedGraph] = [_graph_node(iri) for iri in dict.fromkeys(named)]
    return QueryDataset(tuple(parts), tuple(names))


def dataset_of(kg: KnowledgeGraph, job: QueryJob) -> QueryDataset:
    """The job's dataset: protocol parameters, else the query's FROM clauses, else its mode."""
    if job.default_graph_uris or job.named_graph_uris:
        return explicit_dataset(job.default_graph_uris, job.named_graph_uris)
    clause = dataset_clause(job.query, PREFIXES, job.base_iri)
    if clause is not None:
        return explicit_dataset(clause.default, clause.named)
    return kg.dataset_for(job.mode)


# --------------------------------------------------------------------------------------------
# Execution


def _capped(items: Iterator[T], limit: int | None) -> tuple[list[T], bool]:
    if limit is None:
        return list(items), False
    taken = list(islice(items, limit + 1))
    return taken[:limit], len(taken) > limit


def _within_bytes(
    items: list[T], write: Callable[[list[T]], bytes], limit: int | None
) -> tuple[bytes, list[T], bool]:
    """``write(items)``, with items dropped from the end until it fits in ``limit`` bytes
    (a format's header and footer always fit: the limit is at least 1000 bytes)."""
    body = write(items)
    cut = False
    while limit is not None and len(body) > limit and items:
        keep = min(len(items) - 1, int(len(items) * limit / len(body) * 0.95))
        items, cut = items[: max(keep, 0)], True
        body = write(items)
    return body, items, cut


class _Overflow(Exception):
    """An answer passed its byte cap while pyoxigraph wrote it."""


class _Sink(io.BytesIO):
    """Where pyoxigraph writes an answer: the bytes so far, refused past ``limit``."""

    def __init__(self, limit: int | None) -> None:
        super().__init__()
        self._limit = limit

    def write(self, data: ReadableBuffer, /) -> int:
        if self._limit is not None and self.tell() + memoryview(data).nbytes > self._limit:
            raise _Overflow
        return super().write(data)


def _whole_answer(
    result: ox.QuerySolutions, fmt: ResultFormat, job: QueryJob
) -> tuple[bytes, int] | None:
    """The whole answer as pyoxigraph writes it, and its rows; None if it passes a cap."""
    sink = _Sink(job.max_bytes)
    try:
        result.serialize(sink, format=fmt.info.oxigraph_format)
    except _Overflow:
        return None
    body = sink.getvalue()
    rows = count_rows(body, fmt)
    if job.max_rows is not None and rows > job.max_rows:
        return None
    return body, rows


def _serialize(
    result: OxQueryResult, fmt: Format, job: QueryJob, again: Callable[[], OxQueryResult]
) -> tuple[bytes, int | None, bool]:
    """The answer's body, its rows or triples, and whether it was cut to fit the caps;
    ``again`` evaluates the query anew (for a capped prefix once a whole answer did not
    fit: a query's result is read once)."""
    if isinstance(result, ox.QueryBoolean):
        assert isinstance(fmt, ResultFormat)
        return write_boolean(bool(result), fmt), None, False
    if isinstance(result, ox.QueryTriples):
        assert isinstance(fmt, RdfSyntax)
        syntax = fmt
        triples, truncated = _capped(iter(result), job.max_rows)
        body, triples, cut = _within_bytes(
            triples, lambda ts: serialize_triples(ts, syntax), job.max_bytes
        )
        return body, len(triples), truncated or cut
    assert isinstance(fmt, ResultFormat)
    results = fmt
    # Without a byte cap, a whole answer past max_rows would be written before it is counted.
    if results in NATIVE and (job.max_bytes is not None or job.max_rows is None):
        whole = _whole_answer(result, results, job)
        if whole is not None:
            return whole[0], whole[1], False
        result = again()
        assert isinstance(result, ox.QuerySolutions)
    variables = [v.value for v in result.variables]
    rows, truncated = _capped((tuple(solution) for solution in result), job.max_rows)
    body, rows, cut = _within_bytes(
        rows, lambda rs: write_solutions(variables, rs, results), job.max_bytes
    )
    return body, len(rows), truncated or cut


def execute(kg: KnowledgeGraph, job: QueryJob) -> QueryAnswer:
    """Run ``job`` on ``kg`` and serialize its answer completely (nothing is streamed).
    Runs :func:`~medkg.sandbox.sandboxed`: no connection, no file outside medkg's own."""
    with sandboxed():
        dataset = dataset_of(kg, job)

        def evaluate() -> OxQueryResult:
            return kg.evaluate(
                job.query, dataset=dataset, base_iri=job.base_iri, service_allow=job.service_allow
            )

        result = evaluate()
        kind = kind_of(result)
        fmt = choose_format(kind, job.accept, job.format_name)
        with query_errors(job.query):
            body, count, truncated = _serialize(result, fmt, job, evaluate)
    return QueryAnswer(content_type(fmt.media_type), body, kind, count, truncated)
