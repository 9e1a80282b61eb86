"""A remote SPARQL 1.1 store as medkg's backend (``medkg serve --backend sparql:URL``).

The graph lives in another store (Oxigraph, Fuseki, GraphDB, Virtuoso, Neptune, QLever),
filled by ``medkg push``: the named graphs (sources, ``graph:inferred``) and, in the
store's default graph, their union. medkg then serves on top of it:

- :class:`RemoteEngine` answers ``/sparql`` queries with medkg's own protocol handling: the
  query is checked and parsed here first (``SERVICE`` refused, nesting limit, syntax errors
  with line and column, the undeclared project prefixes), its result format negotiated,
  then the query is forwarded (with ``PREFIX`` and ``BASE`` declarations written in) and the
  answer re-serialized in the negotiated format, capped at ``max_rows``;
- :class:`RemoteSource` is a :class:`~medkg.export.QuadSource` for ``/export``.

The protocol's ``default-graph-uri`` / ``named-graph-uri`` are forwarded; the virtual graph
``graph:asserted`` does not exist remotely and is refused (:class:`NotSupportedHere`), and
``graph:all`` alone means the store's default graph. ``--asserted-only`` style modes,
writes and inference are not provided on a remote backend; the browser pages read local
mirrors of the quads they need (:mod:`medkg.mirror`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox

from medkg.errors import (
    ConfigError,
    InputError,
    NotSupportedHere,
    QueryTimeout,
    RemoteStoreError,
)
from medkg.execution import QueryAnswer, QueryJob, choose_format, content_type
from medkg.formats import RdfSyntax, ResultFormat
from medkg.lexer import SAFE_NESTING, check_nesting, dataset_clause, refuse_service
from medkg.namespaces import ALL_GRAPH, ASSERTED_GRAPH, PREFIXES
from medkg.results import write_boolean, write_solutions
from medkg.store import QueryKind, kind_of, query_errors, serialize_triples

SCHEME = "sparql:"
_RESULTS_JSON = ResultFormat.JSON.media_type
_NTRIPLES = RdfSyntax.NTRIPLES.media_type
_EMPTY = ox.Store()


@dataclass(frozen=True)
class BackendSpec:
    """``sparql:QUERY_URL[,UPDATE_URL]``."""

    query_url: str
    update_url: str | None = None

    @classmethod
    def parse(cls, text: str) -> BackendSpec:
        if not text.startswith(SCHEME):
            raise ConfigError(
                f"unknown backend {text!r}", where="use sparql:QUERY_URL[,UPDATE_URL]"
            )
        urls = [u.strip() for u in text[len(SCHEME) :].split(",")]
        if not 1 <= len(urls) <= 2 or not all(u.startswith(("http://", "https://")) for u in urls):
            raise ConfigError(
                f"bad backend {text!r}", where="use sparql:QUERY_URL[,UPDATE_URL] with http(s) URLs"
            )
        return cls(urls[0], urls[1] if len(urls) == 2 else None)

    def describe(self) -> str:
        return f"the remote SPARQL store {self.query_url}"


def prolog(base_iri: str | None) -> str:
    """``BASE`` and ``PREFIX`` lines for the project's prefixes (a later one in the query
    overrides them)."""
    lines = [f"BASE <{base_iri}>"] if base_iri else []
    lines.extend(f"PREFIX {p}: <{ns}>" for p, ns in PREFIXES.items())
    return "\n".join(lines) + "\n"


class RemoteStore:
    """A SPARQL 1.1 Protocol client for the backend's query URL."""

    def __init__(self, spec: BackendSpec, *, timeout: float = 30.0) -> None:
        self.spec = spec
        self.timeout = timeout

    def post(
        self, query: str, accept: str, *, default: Sequence[str] = (), named: Sequence[str] = ()
    ) -> httpx.Response:
        form = [("query", query)]
        form += [("default-graph-uri", g) for g in default]
        form += [("named-graph-uri", g) for g in named]
        headers = {"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"}
        try:
            response = httpx.post(
                self.spec.query_url,
                content=urlencode(form).encode("utf-8"),
                headers=headers,
                timeout=self.timeout,
            )
        except httpx.TimeoutException as exc:
            raise QueryTimeout(self.timeout) from exc
        except httpx.HTTPError as exc:
            raise RemoteStoreError(
                f"cannot reach the store: {exc}", where=self.spec.query_url
            ) from exc
        if response.status_code >= 500:
            raise RemoteStoreError(
                f"the store answered {response.status_code}: {response.text[:200]}",
                where=self.spec.query_url,
            )
        if response.status_code >= 400:
            raise InputError(
                f"the store refused the query ({response.status_code}): {response.text[:200]}",
                where=self.spec.query_url,
            )
        return response

    def select(self, query: str) -> ox.QuerySolutions:
        response = self.post(prolog(None) + query, _RESULTS_JSON)
        result = ox.parse_query_results(response.content, format=ox.QueryResultsFormat.JSON)
        assert isinstance(result, ox.QuerySolutions)
        return result


# --------------------------------------------------------------------------------------------
# /sparql


def _dataset(job: QueryJob) -> tuple[list[str], list[str]]:
    """The protocol dataset to forward; virtual graphs other than graph:all alone refused."""
    default, named = list(job.default_graph_uris), list(job.named_graph_uris)
    if not default and not named:
        clause = dataset_clause(job.query, PREFIXES, job.base_iri)
        listed = [*clause.default, *clause.named] if clause is not None else []
        if any(g in (ALL_GRAPH, ASSERTED_GRAPH) for g in listed):
            raise NotSupportedHere("FROM a virtual graph (graph:all, graph:asserted)")
        return [], []
    if default == [ALL_GRAPH] and not named:
        return [], []
    if any(g in (ALL_GRAPH, ASSERTED_GRAPH) for g in (*default, *named)):
        raise NotSupportedHere("the virtual graphs graph:all and graph:asserted in a dataset")
    return default, named


class RemoteEngine:
    """A :class:`~medkg.web.engine.QueryEngine` that forwards queries to a remote store."""

    def __init__(self, store: RemoteStore) -> None:
        self.store = store

    def run(self, job: QueryJob) -> QueryAnswer:
        refuse_service(job.query, None, allowed=())
        check_nesting(job.query, SAFE_NESTING)
        with query_errors(job.query):  # parse here: the same errors as the embedded store
            kind = kind_of(_EMPTY.query(job.query, prefixes=PREFIXES, base_iri=job.base_iri))
        fmt = choose_format(kind, job.accept, job.format_name)
        default, named = _dataset(job)
        accept = _NTRIPLES if kind is QueryKind.GRAPH else _RESULTS_JSON
        response = self.store.post(
            prolog(job.base_iri) + job.query, accept, default=default, named=named
        )
        limit = job.max_rows
        if kind is QueryKind.GRAPH:
            assert isinstance(fmt, RdfSyntax)
            triples = list(ox.parse(response.content, format=ox.RdfFormat.N_TRIPLES))
            taken = triples if limit is None else triples[:limit]
            body = serialize_triples(taken, fmt)
            return QueryAnswer(
                content_type(fmt.media_type), body, kind, len(taken), len(taken) < len(triples)
            )
        result = ox.parse_query_results(response.content, format=ox.QueryResultsFormat.JSON)
        assert isinstance(fmt, ResultFormat)
        if isinstance(result, ox.QueryBoolean):
            return QueryAnswer(
                content_type(fmt.media_type), write_boolean(bool(result), fmt), kind, None, False
            )
        variables = [v.value for v in result.variables]
        rows = list(islice((tuple(s) for s in result), None if limit is None else limit + 1))
        truncated = limit is not None and len(rows) > limit
        rows = rows[:limit] if limit is not None else rows
        body = write_solutions(variables, rows, fmt)
        return QueryAnswer(content_type(fmt.media_type), body, kind, len(rows), truncated)


# --------------------------------------------------------------------------------------------
# /export


def quads_of(rows: ox.QuerySolutions) -> list[ox.Quad]:
    """The quads of ``SELECT ?s ?p ?o ?g`` solutions (rows with another shape skipped)."""
    quads: list[ox.Quad] = []
    for s, p, o, g in rows:
        if (
            isinstance(s, ox.NamedNode | ox.BlankNode)
            and isinstance(p, ox.NamedNode)
            and isinstance(o, ox.NamedNode | ox.BlankNode | ox.Literal)
            and isinstance(g, ox.NamedNode)
        ):
            quads.append(ox.Quad(s, p, o, g))
    return quads


class RemoteSource:
    """The remote store's named graphs, as a :class:`~medkg.export.QuadSource`."""

    def __init__(self, store: RemoteStore) -> None:
        self.store = store

    def graph_names(self) -> list[str]:
        rows = self.store.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return sorted(
            s[0].value
            for s in rows
            if isinstance(s[0], ox.NamedNode) and s[0].value != ASSERTED_GRAPH
        )

    def quads(self, graphs: Sequence[str]) -> list[ox.Quad]:
        if not graphs:
            return []
        values = " ".join(f"<{g}>" for g in graphs)
        rows = self.store.select(
            f"SELECT ?s ?p ?o ?g WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }}"
        )
        return quads_of(rows)

    def summary(self) -> tuple[int, tuple[tuple[str, int], ...]]:
        """Triples in the default graph, and per named graph (for /health)."""
        (total,) = next(iter(self.store.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")))
        rows = self.store.select(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
        )
        graphs = tuple(
            (g.value, int(n.value))
            for g, n in rows
            if isinstance(g, ox.NamedNode) and isinstance(n, ox.Literal)
        )
        return (int(total.value) if isinstance(total, ox.Literal) else 0), graphs
