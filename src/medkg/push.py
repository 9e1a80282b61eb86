"""Pushing named graphs to another triple store's SPARQL 1.1 Graph Store Protocol endpoint.

Each chosen graph is sent as N-Triples to ``URL?graph=IRI``: one ``PUT`` (which replaces
the graph), or for a graph of more than ``chunk`` triples a ``PUT`` of the first chunk and
a ``POST`` (add) of each further chunk. Every triple with a blank node goes in the first
chunk, so a blank node never spans two requests (each request's blank nodes are new nodes
on the receiving store) and a retried ``POST`` never duplicates one. The store's default
graph (``URL?default``) receives the set union of the pushed graphs, so plain queries there
see every triple once, as in medkg, whatever the store's default-graph semantics.

Failed requests (connection errors, 5xx, 408, 429) are retried with back-off. Finally each
graph is read back (``GET``) and its triple count compared with what was sent; a mismatch
raises :class:`~medkg.errors.RemoteStoreError`.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import pyoxigraph as ox

from medkg.errors import InputError, RemoteStoreError
from medkg.export import GraphSelection, QuadSource, canonical
from medkg.formats import RdfSyntax

NTRIPLES = RdfSyntax.NTRIPLES.media_type
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def authorization(auth: str | None) -> str | None:
    """The ``Authorization`` header of ``--auth``: ``bearer:TOKEN`` or ``basic:USER:PASSWORD``."""
    if not auth:
        return None
    scheme, _, credentials = auth.partition(":")
    if scheme.lower() == "bearer" and credentials:
        return f"Bearer {credentials}"
    if scheme.lower() == "basic" and ":" in credentials:
        return "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")
    raise InputError("--auth takes bearer:TOKEN or basic:USER:PASSWORD")


@dataclass(frozen=True)
class PushedGraph:
    """One graph written to the store: its IRI (None: the default graph), triples, requests."""

    graph: str | None
    triples: int
    requests: int


@dataclass
class GraphStoreClient:
    """The Graph Store Protocol verbs against ``url``, with retries."""

    url: str
    auth: str | None = None
    timeout: float = 120.0
    retries: int = 3
    backoff: float = 0.5

    def _params(self, graph: str | None) -> dict[str, str]:
        return {"graph": graph} if graph is not None else {"default": ""}

    def send(self, method: str, graph: str | None, body: bytes = b"") -> httpx.Response:
        headers = {"Content-Type": NTRIPLES} if body or method in ("PUT", "POST") else {}
        headers["Accept"] = NTRIPLES
        if self.auth:
            headers["Authorization"] = self.auth
        where = f"{method} {self.url} ({'default graph' if graph is None else graph})"
        for attempt in range(self.retries + 1):
            try:
                response = httpx.request(
                    method,
                    self.url,
                    params=self._params(graph),
                    content=body,
                    headers=headers,
                    timeout=self.timeout,
                )
            except httpx.HTTPError as exc:
                if attempt == self.retries:
                    raise RemoteStoreError(f"cannot reach the store: {exc}", where=where) from exc
            else:
                if response.status_code < 400 or (method == "GET" and response.status_code == 404):
                    return response
                if response.status_code not in RETRY_STATUSES or attempt == self.retries:
                    raise RemoteStoreError(
                        f"the store answered {response.status_code}: {response.text[:200]}",
                        where=where,
                    )
            time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def count(self, graph: str | None) -> int:
        """The triples the store holds in ``graph`` (0 for a graph it does not have)."""
        response = self.send("GET", graph)
        if response.status_code == 404:
            return 0
        syntax = RdfSyntax.from_media_type(response.headers.get("content-type", NTRIPLES))
        return sum(1 for _ in ox.parse(response.content, format=syntax.oxigraph_format))

    def write(self, graph: str | None, triples: Sequence[ox.Triple], chunk: int) -> PushedGraph:
        """Replace ``graph`` with ``triples``: a PUT, then POSTs of ``chunk`` triples."""
        blank = [t for t in triples if _has_blank(t)]
        rest = [t for t in triples if not _has_blank(t)]
        first = max(chunk - len(blank), 0)
        chunks = [blank + rest[:first]]
        chunks.extend(rest[i : i + chunk] for i in range(first, len(rest), chunk))
        for number, part in enumerate(chunks):
            body = ox.serialize(part, format=ox.RdfFormat.N_TRIPLES) or b""
            self.send("PUT" if number == 0 else "POST", graph, body)
        return PushedGraph(graph, len(triples), len(chunks))


def _has_blank(triple: ox.Triple) -> bool:
    return isinstance(triple.subject, ox.BlankNode) or isinstance(triple.object, ox.BlankNode)


def push(
    source: QuadSource,
    client: GraphStoreClient,
    selection: GraphSelection,
    *,
    chunk: int = 50_000,
    default_graph: bool = True,
) -> list[PushedGraph]:
    """Write the chosen graphs (and their union as the default graph) to ``client``'s
    store; check every count afterwards."""
    if chunk < 1:
        raise InputError("the chunk size must be at least 1 triple")
    graphs = selection.resolve(source.graph_names())
    by_graph: dict[str, list[ox.Triple]] = {name: [] for name in graphs}
    for quad in canonical(source.quads(graphs)):
        if isinstance(quad.graph_name, ox.NamedNode) and quad.graph_name.value in by_graph:
            by_graph[quad.graph_name.value].append(
                ox.Triple(quad.subject, quad.predicate, quad.object)
            )
    pushed = [client.write(name, triples, chunk) for name, triples in by_graph.items()]
    if default_graph:
        union = sorted({t for triples in by_graph.values() for t in triples}, key=str)
        pushed.append(client.write(None, union, chunk))
    for graph in pushed:
        found = client.count(graph.graph)
        if found != graph.triples:
            name = "the default graph" if graph.graph is None else graph.graph
            raise RemoteStoreError(
                f"count check failed: sent {graph.triples} triples, the store holds {found}",
                where=name,
            )
    return pushed
