"""The FastAPI application of the SPARQL 1.1 endpoint, built by :func:`create_app`.

Routes: ``GET``/``HEAD``/``POST /sparql`` (queries and updates; ``GET`` without a query
answers the service description), ``GET /health``, the Graph Store at ``/store``
(:mod:`medkg.web.graphstore`) and the browser pages (:mod:`medkg.web.pages`). Requests are
read by :mod:`medkg.protocol`, queries run by the engine (off the event loop), writes by the
curator, and every error is answered by the one handler in :mod:`medkg.web.problems`.
Middleware, outermost first: access log, CORS (any origin, never credentials), gzip,
per-client limits (:mod:`medkg.web.limits`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

from fastapi import APIRouter, FastAPI, Request
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from medkg import __version__, sandbox
from medkg.config import Settings
from medkg.curation import Curator, sparql_update
from medkg.errors import ConfigError, MethodNotAllowed
from medkg.execution import QueryAnswer, choose_format, content_type
from medkg.export import LocalSource
from medkg.formats import RdfSyntax
from medkg.protocol import (
    ALLOWED_METHODS,
    SPARQL_UPDATE,
    DescriptionRequest,
    UpdateJob,
    media_type_of,
    parse_request,
)
from medkg.store import KnowledgeGraph, QueryKind
from medkg.web.access import AccessLog
from medkg.web.auth import authorize
from medkg.web.bodies import read_body
from medkg.web.description import DatasetSummary, describe_service, serialize_description
from medkg.web.engine import (
    Closeable,
    QueryEngine,
    WorkerReporting,
    build_engine,
    early_snapshot,
    run_query,
    start_workers,
    version_follower,
)
from medkg.web.exports import export_router
from medkg.web.graphstore import SEQ_HEADER, STORE_METHODS, run_write, store_routes
from medkg.web.limits import ClientLimits
from medkg.web.openapi import GET_OPERATION, POST_OPERATION
from medkg.web.pages import browser_router, editor_response, wants_editor
from medkg.web.problems import install_problem_handler
from medkg.workers import WorkerPool

TRUNCATED_HEADER = "MEDKG-Result-Truncated"
#: The fastest deflate strategy (zlib levels 1 to 3 take about the same time), its best
#: level: on the entity, ontology and editor pages 16% larger than level 6 in little more
#: than a third of the time (the 210 KB entity page: 18.0 KB in 0.7 ms; level 6: 15.1 KB in
#: 2.0 ms; level 9, Starlette's default: 14.9 KB in 3.0 ms).
GZIP_LEVEL = 3
LIMIT_HEADER = "MEDKG-Result-Limit"
DESCRIPTION = """A SPARQL 1.1 endpoint over the medkg knowledge graph (asserted and OWL 2 RL
inferred triples): queries at `/sparql`, and, when the server has a store and an update
token, SPARQL Update at `/sparql` and the Graph Store Protocol at `/store` (writes need
`Authorization: Bearer <token>`). `GET /sparql` without a query returns the SPARQL service
description. Errors are `application/problem+json` (RFC 9457)."""


@dataclass(frozen=True)
class Version:
    """One published version of the graph and its sizes (for descriptions and /health)."""

    kg: KnowledgeGraph
    summary: DatasetSummary


class Endpoint:
    """What the routes need: settings, the current version, the query engine, the curator
    (None when the server has no store to write to)."""

    def __init__(
        self,
        settings: Settings,
        kg: KnowledgeGraph,
        engine: QueryEngine,
        curator: Curator | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.curator = curator
        self.version = Version(kg, summarize(kg))

    @property
    def kg(self) -> KnowledgeGraph:
        """The current version's graph (take it once per request)."""
        return self.version.kg

    @property
    def writable(self) -> bool:
        """Whether authorized clients may write (a store and an update token)."""
        return self.curator is not None and self.settings.update_token is not None

    def publish(self, kg: KnowledgeGraph) -> None:
        """Make ``kg`` the current version (called by the curator after each write)."""
        self.version = Version(kg, summarize(kg))


#: Triples per named graph, and in the default graph (the whole closure), of the store.
def summarize(kg: KnowledgeGraph) -> DatasetSummary:
    graphs, default = kg.graph_sizes()
    return DatasetSummary(default, graphs)


# --------------------------------------------------------------------------------------------
# Request and response helpers


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
    service = describe_service(url, endpoint.version.summary, updates=endpoint.writable)
    body = serialize_description(service, syntax)
    return body_response(body, content_type(syntax.media_type), {"Vary": "Accept"}, head=head)


def health_report(endpoint: Endpoint) -> dict[str, Any]:
    engine = endpoint.engine
    ready = True
    report: dict[str, Any] = {}
    if isinstance(engine, WorkerReporting):
        ready = engine.ready
        report["workers"] = {
            "size": engine.size,
            "alive": engine.live_workers,
            "idle": engine.idle_workers,
            "restarts": engine.restarts,
        }
    version = endpoint.version
    curator = endpoint.curator
    return {
        "status": "ok" if ready else "starting",
        "ready": ready,
        "triples": dict(version.summary.graphs),
        "total_triples": sum(n for _, n in version.summary.graphs),
        "data_version": version.kg.cache_key,
        "version": __version__,
        "writes": {
            "enabled": endpoint.writable,
            "committed": curator.seq if curator is not None else 0,
        },
        **report,
    }


# --------------------------------------------------------------------------------------------
# Routes


async def answer(endpoint: Endpoint, request: Request) -> Response:
    """Answer one request to /sparql: a query result or the service description."""
    settings = endpoint.settings
    if media_type_of(request.headers.get("content-type"))[0] == SPARQL_UPDATE:
        authorize(request.headers.get("authorization"), settings)  # before reading the body
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
    if isinstance(parsed, UpdateJob):
        return await update_response(endpoint, request, parsed)
    result = await run_query(endpoint.engine, parsed)
    return answer_response(result, parsed.max_rows, head=head)


async def update_response(endpoint: Endpoint, request: Request, job: UpdateJob) -> Response:
    """Run a SPARQL Update (bearer token required); 204 once it is committed."""
    authorize(request.headers.get("authorization"), endpoint.settings)
    compute = sparql_update(job.text(), base_iri=job.base_iri, timeout=endpoint.settings.timeout)
    await run_write(endpoint, "update", compute)
    seq = endpoint.curator.seq if endpoint.curator is not None else 0
    return Response(status_code=204, headers={SEQ_HEADER: str(seq)})


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


def _lifespan(endpoint: Endpoint) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if isinstance(endpoint.engine, Closeable):
            endpoint.engine.close()
        if endpoint.curator is not None:
            endpoint.curator.close()

    return lifespan


def open_curator(settings: Settings) -> Curator | None:
    """The curator of ``settings.store_dir`` when writes are enabled (an update token is
    set); ConfigError for a token without a store."""
    if settings.update_token is None:
        return None
    if settings.store_dir is None:
        raise ConfigError("an update token needs a store directory for the writes: set --store DIR")
    return Curator.open(settings)


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """The problem handler and the middleware every medkg app has, outermost first: access
    log, CORS (any origin, never credentials), gzip, per-client limits."""
    install_problem_handler(app)
    app.add_middleware(
        ClientLimits,
        concurrency=settings.client_concurrency,
        rate=settings.client_rate,
        burst=settings.client_burst,
    )
    app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=GZIP_LEVEL)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_credentials=False,
        allow_methods=sorted({*ALLOWED_METHODS, *STORE_METHODS}),
        allow_headers=["*"],
        expose_headers=[TRUNCATED_HEADER, LIMIT_HEADER, SEQ_HEADER, "Location"],
        max_age=3600,
    )
    app.add_middleware(AccessLog)


def install_sandbox(settings: Settings, kg: KnowledgeGraph) -> None:
    """The process-wide outbound-access guard, allowing medkg's own directories."""
    allowed = [*sandbox.resource_dirs(kg.resources), settings.cache_dir, *settings.extra_data]
    sandbox.install(allowed if settings.store_dir is None else [*allowed, settings.store_dir])


def create_app(
    settings: Settings,
    *,
    engine: QueryEngine | None = None,
    kg: KnowledgeGraph | None = None,
    curator: Curator | None = None,
    workers: WorkerPool | None = None,
) -> FastAPI:
    """The endpoint app. With an update token it opens (and locks) the store directory for
    writes unless ``curator`` is given; otherwise it opens the knowledge graph unless ``kg``
    is given. Uses :func:`~medkg.web.engine.build_engine` unless ``engine`` is given; its
    worker processes (``workers``, else started here) are started first, to start while the
    graph loads, and the app is returned before they are ready (``/health`` tells when;
    queries wait for them)."""
    if workers is None and engine is None:
        workers = start_workers(settings)
    try:
        curator = curator if curator is not None else open_curator(settings)
        if curator is not None:
            kg = curator.kg
        if kg is None:
            kg = KnowledgeGraph.open(settings, on_closure=early_snapshot(settings, workers))
        install_sandbox(settings, kg)
        engine = engine if engine is not None else build_engine(settings, kg, workers)
    except BaseException:
        if workers is not None:
            workers.close()
        raise
    endpoint = Endpoint(settings, kg, engine, curator)
    if curator is not None:
        follower = version_follower(settings, engine)
        if follower is not None:
            curator.subscribe(follower)
        curator.subscribe(endpoint.publish)
    app = FastAPI(
        title="medkg SPARQL endpoint",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan(endpoint),
        # FastAPI would add OpenTelemetry exporters named by environment variables
        # (FASTAPI_OTEL_AUTO_CONFIGURE, OTEL_EXPORTER_OTLP_ENDPOINT): medkg connects to
        # nothing it was not told to on its command line or in MEDKG_ settings. Providers an
        # operator installs (opentelemetry-instrument) are still used.
        telemetry={"auto_configure": False},
    )
    install_middleware(app, settings)
    app.include_router(routes(endpoint))
    app.include_router(store_routes(endpoint))
    app.include_router(browser_router(settings, lambda: endpoint.kg))
    app.include_router(export_router(lambda: LocalSource(endpoint.kg)))
    # Starlette routes an ASGI app for every method (its type hint names functions only).
    app.router.add_route("/sparql", cast(Any, RefuseMethod()), include_in_schema=False)
    return app
