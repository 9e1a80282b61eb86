"""Routes of the SPARQL 1.1 Graph Store HTTP Protocol at ``/store`` (see
:mod:`medkg.graphstore` for what each verb does). Reads are public; writes go through
:func:`medkg.web.auth.authorize` and the curator."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import anyio.to_thread
from fastapi import APIRouter, Request
from starlette.responses import Response

from medkg import graphstore
from medkg.changes import Outcome
from medkg.curation import Compute
from medkg.errors import GraphNotFound, MethodNotAllowed
from medkg.execution import choose_format, content_type
from medkg.export import LocalSource, quad_key, serialize
from medkg.formats import RdfSyntax
from medkg.store import QueryKind, serialize_triples
from medkg.uploads import parse_upload
from medkg.web.auth import authorize
from medkg.web.bodies import read_body

if TYPE_CHECKING:
    from medkg.web.app import Endpoint

STORE_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
SEQ_HEADER = "MEDKG-Write-Seq"


def _format_name(request: Request) -> str | None:
    return request.query_params.get("format") or None


def read_response(endpoint: Endpoint, request: Request) -> Response:
    """GET / HEAD: one graph in the negotiated syntax, or the dataset as TriG / N-Quads."""
    target = graphstore.parse_target(request.scope["query_string"])
    kg = endpoint.version.kg
    accept = request.headers.get("accept")
    if target.graph is None:
        syntax = graphstore.dataset_syntax(accept, _format_name(request))
        source = LocalSource(kg)
        quads = sorted(source.quads(source.graph_names()), key=quad_key)
        body = serialize(quads, syntax)
    else:
        triples = graphstore.graph_triples(kg, target.graph)
        if triples is None:
            raise GraphNotFound(target.graph)
        chosen = choose_format(QueryKind.GRAPH, accept, _format_name(request), "the graph")
        assert isinstance(chosen, RdfSyntax)
        syntax = chosen
        body = serialize_triples(triples, syntax)
    headers = {"Vary": "Accept", "Content-Length": str(len(body))}
    media_type = content_type(syntax.media_type)
    if request.method == "HEAD":
        return Response(b"", media_type=media_type, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


async def run_write(endpoint: Endpoint, operation: str, compute: Compute) -> Outcome:
    """Run a write on the curator, off the event loop (writes queue behind each other)."""
    curator = endpoint.curator
    assert curator is not None  # authorize() refuses writes when there is no store
    return await anyio.to_thread.run_sync(curator.write, operation, compute)


def write_response(endpoint: Endpoint, request: Request, outcome: Outcome) -> Response:
    """201 (+ Location) when the target graph was created, else 204."""
    curator = endpoint.curator
    headers = {SEQ_HEADER: str(curator.seq if curator is not None else 0)}
    if outcome.location is not None:
        base = str(request.url.replace(query="", fragment=""))
        headers["Location"] = f"{base}?graph={quote(outcome.location, safe='')}"
    return Response(status_code=201 if outcome.created_target else 204, headers=headers)


async def write(endpoint: Endpoint, request: Request) -> Response:
    """PUT / POST / DELETE: authorize, read and check the body, commit, answer."""
    settings = endpoint.settings
    authorize(request.headers.get("authorization"), settings)
    target = graphstore.parse_target(request.scope["query_string"])
    graphstore.check_target(target)
    if request.method == "DELETE":
        compute = graphstore.delete(target)
    else:
        syntax = graphstore.upload_syntax(request.headers.get("content-type"))
        body = await read_body(request, settings.max_upload_bytes)
        base = target.graph or str(request.url.replace(query="", fragment=""))
        quads = parse_upload(body, syntax, where="request body", base_iri=base)
        make = graphstore.put if request.method == "PUT" else graphstore.post
        compute = make(target, quads, syntax)
    outcome = await run_write(endpoint, f"{request.method.lower()} {target.describe()}", compute)
    return write_response(endpoint, request, outcome)


def store_routes(endpoint: Endpoint) -> APIRouter:
    router = APIRouter()

    @router.get("/store", summary="Graph Store Protocol: read a graph or the dataset")
    async def store_get(request: Request) -> Response:
        return read_response(endpoint, request)

    @router.head("/store", include_in_schema=False)
    async def store_head(request: Request) -> Response:
        return read_response(endpoint, request)

    @router.put("/store", summary="Graph Store Protocol: replace a graph (bearer token)")
    @router.post("/store", summary="Graph Store Protocol: add to a graph (bearer token)")
    @router.delete("/store", summary="Graph Store Protocol: drop a graph (bearer token)")
    async def store_write(request: Request) -> Response:
        return await write(endpoint, request)

    @router.api_route("/store", methods=["PATCH", "OPTIONS"], include_in_schema=False)
    async def store_other(request: Request) -> Response:
        raise MethodNotAllowed(request.method, STORE_METHODS)

    return router
