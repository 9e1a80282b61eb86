"""The FastAPI application of the SPARQL 1.1 endpoint, built by :func:`create_app`.

Routes: ``GET``/``HEAD``/``POST /sparql`` (queries; ``GET`` without a query answers the
service description) and ``GET /health``. Requests are read by :mod:`medkg.protocol`,
queries run by the engine (off the event loop), and every error is answered by the one
handler in :mod:`medkg.web.problems`. Middleware: access log, CORS (any origin, never
credentials), gzip.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import anyio.to_thread
import pyoxigraph as ox
from fastapi import APIRouter, FastAPI, Request
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from medkg import __version__
from medkg.config import Settings
from medkg.errors import MethodNotAllowed, PayloadTooLarge
from medkg.execution import QueryAnswer, choose_format, content_type
from medkg.formats import RdfSyntax
from medkg.protocol import ALLOWED_METHODS, DescriptionRequest, parse_request
from medkg.store import KnowledgeGraph, QueryKind
from medkg.web.access import AccessLog
from medkg.web.description import DatasetSummary, describe_service, serialize_description
from medkg.web.engine import (
    Closeable,
    QueryEngine,
    WorkerReporting,
    build_engine,
)
from medkg.web.openapi import GET_OPERATION, POST_OPERATION
from medkg.web.pages import browser_router, editor_response, wants_editor
from medkg.web.problems import install_problem_handler

TRUNCATED_HEADER = "MEDKG-Result-Truncated"
LIMIT_HEADER = "MEDKG-Result-Limit"
DESCRIPTION = """A read-only SPARQL 1.1 endpoint over the medkg knowledge graph (asserted and
OWL 2 RL inferred triples). `GET /sparql` without a query returns the SPARQL service
description. Errors are `application/problem+json` (RFC 9457)."""


@dataclass(frozen=True)
class Endpoint:
    """What the routes need: settings, the graph, the query engine, the dataset's sizes."""

    settings: Settings
    kg: KnowledgeGraph
    engine: QueryEngine
    summary: DatasetSummary


def summarize(kg: KnowledgeGraph) -> DatasetSummary:
    stats = kg.stats()
    (count,) = kg.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").rows[0]
    return DatasetSummary(int(count.value) if isinstance(count, ox.Literal) else 0, stats.graphs)


# --------------------------------------------------------------------------------------------
# Request and response helpers


async def read_body(request: Request, limit: int) -> bytes:
    """The request body; PayloadTooLarge as soon as it (or its declared length) passes ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(limit)
    return bytes(body)


def endpoint_url(request: Request, settings: Settings) -> str:
    """The endpoint's URL: ``<public_url>/sparql``, else the request's URL without its query."""
    if settings.public_url:
        return settings.public_url.rstrip("/") + "/sparql"
    return str(request.url.replace(query="", fragment=""))


def body_response(
    body: bytes, media_type: str, headers: dict[str, str], *, head: bool = False
) -> Response:
    """A complete response; for HEAD, the same headers (Content-Length too) and no body."""
    if head:
        return Response(
            b"", media_type=media_type, headers={**headers, "Content-Length": str(len(body))}
        )
    return Response(body, media_type=media_type, headers=headers)


def answer_response(answer: QueryAnswer, limit: int | None, *, head: bool = False) -> Response:
    headers = {"Vary": "Accept"}
    if answer.truncated:
        headers[TRUNCATED_HEADER] = "true"
        headers[LIMIT_HEADER] = str(limit)
    return body_response(answer.body, answer.media_type, headers, head=head)


def description_response(
    endpoint: Endpoint, url: str, request: DescriptionRequest, accept: str | None, *, head: bool
) -> Response:
    syntax = choose_format(QueryKind.GRAPH, accept, request.format_name, "the service description")
    assert isinstance(syntax, RdfSyntax)
    body = serialize_description(describe_service(url, endpoint.summary), syntax)
    return body_response(body, content_type(syntax.media_type), {"Vary": "Accept"}, head=head)


def health_report(endpoint: Endpoint) -> dict[str, Any]:
    engine = endpoint.engine
    ready = True
    report: dict[str, Any] = {}
    if isinstance(engine, WorkerReporting):
        ready = engine.live_workers > 0
        report["workers"] = {
            "size": engine.size,
            "alive": engine.live_workers,
            "idle": engine.idle_workers,
            "restarts": engine.restarts,
        }
    return {
        "status": "ok" if ready else "starting",
        "ready": ready,
        "triples": dict(endpoint.summary.graphs),
        "total_triples": sum(n for _, n in endpoint.summary.graphs),
        "data_version": endpoint.kg.cache_key,
        "version": __version__,
        **report,
    }


# --------------------------------------------------------------------------------------------
# Routes


async def answer(endpoint: Endpoint, request: Request) -> Response:
    """Answer one request to /sparql: a query result or the service description."""
    settings = endpoint.settings
    body = await read_body(request, settings.max_query_bytes)
    url = endpoint_url(request, settings)
    parsed = parse_request(
        request.method,
        request.scope["query_string"],
        request.headers.get("content-type"),
        body,
        settings=settings,
        accept=request.headers.get("accept"),
        base_iri=url,
    )
    head = request.method == "HEAD"
    if isinstance(parsed, DescriptionRequest) and not parsed.format_name and wants_editor(request):
        return editor_response(request, settings)
    if isinstance(parsed, DescriptionRequest):
        return description_response(endpoint, url, parsed, request.headers.get("accept"), head=head)
    result = await anyio.to_thread.run_sync(endpoint.engine.run, parsed)
    return answer_response(result, parsed.max_rows, head=head)


def routes(endpoint: Endpoint) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/sparql",
        summary="Run a SPARQL query (GET), or get the service description",
        response_class=Response,
        openapi_extra=GET_OPERATION,
    )
    async def sparql_get(request: Request) -> Response:
        return await answer(endpoint, request)

    @router.head("/sparql", response_class=Response, include_in_schema=False)
    async def sparql_head(request: Request) -> Response:
        return await answer(endpoint, request)

    @router.post(
        "/sparql",
        summary="Run a SPARQL query (POST: form or application/sparql-query)",
        response_class=Response,
        openapi_extra=POST_OPERATION,
    )
    async def sparql_post(request: Request) -> Response:
        return await answer(endpoint, request)

    @router.get("/health", summary="Readiness, triples per graph and the data version")
    async def health() -> dict[str, Any]:
        return health_report(endpoint)

    return router


class RefuseMethod:
    """An ASGI app for every other method on /sparql: 405 with ``Allow``.

    (An ASGI app, not a function, because Starlette routes a function for GET only.)
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise MethodNotAllowed(scope["method"], ALLOWED_METHODS)


def _lifespan(engine: QueryEngine) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if isinstance(engine, Closeable):
            engine.close()

    return lifespan


def create_app(
    settings: Settings,
    *,
    engine: QueryEngine | None = None,
    kg: KnowledgeGraph | None = None,
) -> FastAPI:
    """The endpoint app. Opens the knowledge graph unless ``kg`` is given, and uses
    :func:`~medkg.web.engine.build_engine` unless ``engine`` is given."""
    kg = kg if kg is not None else KnowledgeGraph.open(settings)
    engine = engine if engine is not None else build_engine(settings, kg)
    endpoint = Endpoint(settings, kg, engine, summarize(kg))
    app = FastAPI(
        title="medkg SPARQL endpoint",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan(engine),
    )
    install_problem_handler(app)
    app.add_middleware(GZipMiddleware, minimum_size=500)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_credentials=False,
        allow_methods=list(ALLOWED_METHODS),
        allow_headers=["*"],
        expose_headers=[TRUNCATED_HEADER, LIMIT_HEADER],
        max_age=3600,
    )
    app.add_middleware(AccessLog)
    app.include_router(routes(endpoint))
    app.include_router(browser_router(settings, lambda: kg))
    # Starlette routes an ASGI app for every method (its type hint names functions only).
    app.router.add_route("/sparql", cast(Any, RefuseMethod()), include_in_schema=False)
    return app
