"""Routes of the exports: ``GET /export`` (the graph or chosen graphs, in any RDF syntax
and vocabulary view, see :mod:`medkg.export`) and ``GET /context.jsonld`` (the published
JSON-LD context). The source is taken once per request, so a new version is exported by
the next request."""

from __future__ import annotations

from collections.abc import Callable

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from medkg.execution import content_type
from medkg.export import QuadSource, choose_syntax, export_request, selected_quads, serialize_chunks
from medkg.jsonld import CONTEXT_PATH, shipped_context


def export_router(current_source: Callable[[], QuadSource]) -> APIRouter:
    router = APIRouter()

    @router.get("/export", summary="Export the graph, or chosen graphs, as RDF")
    @router.head("/export", include_in_schema=False)
    async def export(
        request: Request,
        graphs: list[str] = Query(default=[], description="all, asserted, inferred, graph IRIs"),  # noqa: B008
        format: str | None = None,
        vocab: str | None = None,
        entity: str | None = None,
    ) -> Response:
        syntax = choose_syntax(format, request.headers.get("accept"))
        wanted = export_request(syntax, graphs, vocab, entity)
        quads = await anyio.to_thread.run_sync(selected_quads, current_source(), wanted)
        headers = {
            "Vary": "Accept",
            "Content-Disposition": f'attachment; filename="{wanted.filename}"',
        }
        media_type = content_type(syntax.media_type)
        if request.method == "HEAD":
            return Response(b"", media_type=media_type, headers=headers)
        chunks = serialize_chunks(quads, syntax, wanted.vocab)
        return StreamingResponse(chunks, media_type=media_type, headers=headers)

    @router.get(CONTEXT_PATH, summary="The JSON-LD @context of the mkg: vocabulary")
    async def context() -> Response:
        return Response(shipped_context(), media_type="application/ld+json")

    return router
