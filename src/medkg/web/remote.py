"""The endpoint on a remote SPARQL 1.1 store: ``medkg serve --backend sparql:QUERY_URL``.

What works (see :mod:`medkg.backend`): ``/sparql`` queries (forwarded, with medkg's
protocol, format and limit handling) and the service description, ``/export`` and
``/context.jsonld``, ``/health``, and the browser: the query editor ``/``, entity and graph
pages, ``/ontology``, ``/search``, ``/explain`` and ``/neighbourhood``, each reading a
local mirror of the quads it needs (:mod:`medkg.mirror`). What does not is refused with
``501`` naming the feature: SPARQL Update and ``/store`` writes (they need medkg's
validation and re-inference, which run on the embedded store).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from starlette.responses import JSONResponse, Response

from medkg import __version__
from medkg.backend import BackendSpec, RemoteEngine, RemoteSource, RemoteStore
from medkg.config import Settings, resolve_resources
from medkg.errors import MedkgError, NotSupportedHere
from medkg.execution import choose_format, content_type
from medkg.formats import RdfSyntax
from medkg.loading import discover_rules
from medkg.mirror import RemoteGraphs
from medkg.protocol import DescriptionRequest, UpdateJob, parse_request
from medkg.store import QueryKind
from medkg.web.app import (
    DESCRIPTION,
    RefuseMethod,
    answer_response,
    body_response,
    endpoint_url,
    install_middleware,
)
from medkg.web.bodies import read_body
from medkg.web.description import DatasetSummary, describe_service, serialize_description
from medkg.web.engine import run_query
from medkg.web.exports import export_router
from medkg.web.pages import browser_router, editor_response, wants_editor

#: Paths that need the embedded store, and the feature each one is.
UNSUPPORTED = {"/store": "the Graph Store Protocol (/store)"}


def _routes(settings: Settings, spec: BackendSpec, store: RemoteStore) -> APIRouter:
    router = APIRouter()
    engine, source = RemoteEngine(store), RemoteSource(store)

    async def answer(request: Request) -> Response:
        body = await read_body(request, settings.max_query_bytes)
        url = endpoint_url(request, settings)
        headers = request.headers
        parsed = parse_request(
            request.method,
            request.scope["query_string"],
            headers.get("content-type"),
            body,
            settings=settings,
            accept=headers.get("accept"),
            base_iri=url,
        )
        head = request.method == "HEAD"
        if isinstance(parsed, UpdateJob):
            raise NotSupportedHere("SPARQL Update (writes)", spec.describe())
        if isinstance(parsed, DescriptionRequest):
            if not parsed.format_name and wants_editor(request):
                return editor_response(request, settings)
            syntax = choose_format(QueryKind.GRAPH, headers.get("accept"), parsed.format_name)
            assert isinstance(syntax, RdfSyntax)
            total, graphs = await anyio.to_thread.run_sync(source.summary)
            document = describe_service(url, DatasetSummary(total, graphs))
            data = serialize_description(document, syntax)
            return body_response(
                data, content_type(syntax.media_type), {"Vary": "Accept"}, head=head
            )
        result = await run_query(engine, parsed)
        return answer_response(result, parsed.max_rows, head=head)

    for method in ("GET", "HEAD", "POST"):
        router.add_api_route("/sparql", answer, methods=[method], include_in_schema=False)

    @router.get("/health", summary="Readiness and the remote store's triples per graph")
    async def health() -> Response:
        try:
            total, graphs = await anyio.to_thread.run_sync(source.summary)
        except MedkgError as exc:
            report = {"status": "unavailable", "ready": False, "detail": str(exc)}
            return JSONResponse(report, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "ready": True,
                "backend": spec.query_url,
                "triples": dict(graphs),
                "default_graph_triples": total,
                "version": __version__,
                "writes": {"enabled": False, "committed": 0},
            }
        )

    for path, feature in UNSUPPORTED.items():
        router.add_api_route(
            path,
            _refusal(feature, spec),
            methods=["GET", "HEAD", "PUT", "POST", "DELETE"],
            include_in_schema=False,
        )
    return router


def _refusal(feature: str, spec: BackendSpec) -> Callable[[], Response]:
    def refuse() -> Response:
        raise NotSupportedHere(feature, spec.describe())

    return refuse


def create_remote_app(settings: Settings, spec: BackendSpec) -> FastAPI:
    """The endpoint app over the remote store ``spec`` names."""
    store = RemoteStore(spec, timeout=settings.timeout)
    app = FastAPI(
        title="medkg SPARQL endpoint (remote backend)",
        version=__version__,
        description=DESCRIPTION + f"\n\nBackend: the SPARQL store at {spec.query_url}.",
    )
    install_middleware(app, settings)
    app.include_router(_routes(settings, spec, store))
    resources = resolve_resources(settings)
    graphs = RemoteGraphs(store, resources=resources, rules=discover_rules(resources))
    app.include_router(browser_router(settings, graphs.names, graphs.around))
    app.include_router(export_router(lambda: RemoteSource(store)))
    app.router.add_route("/sparql", cast(Any, RefuseMethod()), include_in_schema=False)
    return app
