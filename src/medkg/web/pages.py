"""The browser side of the endpoint: query editor, entity pages, explanations, search.

Routes (built by :func:`browser_router`; the graph is fetched with ``current_kg()`` once
per request, so a new graph version is picked up by the next request):

- ``GET /``: the query editor (YASGUI, served from the package) with the example queries;
  ``GET /sparql`` without a query answers it too when the client prefers HTML.
- ``GET /resource/{slug}`` and ``GET /graph/{stem}``: ``303 See Other`` to the negotiated
  document; ``GET /resource/{slug}.{html,ttl,jsonld,nt,rdf}``: the document.
- ``GET /ontology``: the ontology page or the ontology, negotiated (``Content-Location``);
  ``GET /ontology.{html,ttl,jsonld,nt,rdf}``.
- ``GET /search?q=``: a result page, or JSON (``Accept: application/json``).
- ``GET /explain?s=&p=&o=``: why a triple holds (terms in N-Triples syntax).
- ``GET /neighbourhood?iri=&depth=``: the network around an entity, JSON.
- ``GET /static/{path}``: stylesheet, scripts, vendored JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from starlette.responses import FileResponse, JSONResponse, Response

from medkg.config import Settings, resolve_resources
from medkg.describe import describe, description_triples, exists
from medkg.errors import InputError, ResourceNotFound
from medkg.examples import load_examples
from medkg.execution import content_type
from medkg.explanation import explain, parse_triple
from medkg.formats import RdfSyntax
from medkg.namespaces import GRAPH_BASE, PREFIXES, RES
from medkg.neighbourhood import MAX_DEPTH, neighbourhood
from medkg.search import index_for
from medkg.store import KnowledgeGraph, serialize_triples
from medkg.versioned import labeller_for, ontology_of, terms_of
from medkg.vocabulary import ontology_triples
from medkg.web.assets import static_file
from medkg.web.rendering import render, root_path
from medkg.web.representations import Representation, choose, prefers_html, split_name

JSON = "application/json"
GraphSource = Callable[[], KnowledgeGraph]
#: The graph a request about some IRIs reads: ``around(iris, depth)`` must hold every quad
#: within ``depth`` links of them (and names, types, the ontology); locally the whole graph.
GraphAround = Callable[[Sequence[ox.NamedNode], int], KnowledgeGraph]
_NAMESPACES = {"resource": RES, "graph": GRAPH_BASE}


def editor_response(request: Request, settings: Settings) -> Response:
    """The query editor page, the example queries as its tabs."""
    examples = load_examples(resolve_resources(settings).queries_dir)
    config = {
        "endpoint": f"{root_path(request)}/sparql",
        "prefixes": PREFIXES,
        "examples": [{"name": e.name, "title": e.title, "query": e.query} for e in examples],
    }
    return render(request, "editor.html", {"config": config, "examples": examples})


def wants_editor(request: Request) -> bool:
    """A browser asking ``/sparql`` for a page (HTML ranked above every RDF syntax)."""
    return prefers_html(request.headers.get("accept"), [s.media_type for s in RdfSyntax])


def _node(namespace: str, kind: str, stem: str) -> ox.NamedNode:
    try:
        return ox.NamedNode(namespace + stem)
    except ValueError as exc:
        raise ResourceNotFound(kind, namespace + stem) from exc


def _see_other(request: Request, settings: Settings, path: str) -> Response:
    base = settings.public_url.rstrip("/") if settings.public_url else root_path(request)
    return Response(status_code=303, headers={"Location": base + path, "Vary": "Accept"})


def _rdf(triples: list[ox.Triple], representation: Representation, **headers: str) -> Response:
    assert representation.syntax is not None
    body = serialize_triples(triples, representation.syntax)
    media_type = content_type(representation.syntax.media_type)
    return Response(body, media_type=media_type, headers={"Vary": "Accept", **headers})


def entity_document(
    request: Request, settings: Settings, kg: KnowledgeGraph, kind: str, name: str
) -> Response:
    """``/{kind}/{name}``: 303 to a representation, or the representation itself."""
    stem, representation = split_name(name)
    node = _node(_NAMESPACES[kind], kind, stem)
    if not exists(kg.store, node):
        raise ResourceNotFound(kind, node.value)
    if representation is None:
        chosen = choose(request.headers.get("accept"), f"the {kind}")
        return _see_other(request, settings, f"/{kind}/{stem}.{chosen.extension}")
    if representation.syntax is not None:
        return _rdf(description_triples(kg.store, node), representation)
    entity = describe(kg.store, node, terms_of(kg))
    return render(request, "entity.html", {"entity": entity, "kind": kind})


def ontology_response(request: Request, kg: KnowledgeGraph, extension: str | None) -> Response:
    """The ontology page or the raw ontology; negotiated when ``extension`` is None."""
    if extension is None:
        chosen = choose(request.headers.get("accept"), "the ontology")
        location = {"Content-Location": f"{root_path(request)}/ontology.{chosen.extension}"}
    else:
        _, found = split_name(f"ontology.{extension}")
        if found is None:
            raise ResourceNotFound("ontology representation", f"ontology.{extension}")
        chosen, location = found, {}
    if chosen.syntax is not None:
        return _rdf(ontology_triples(kg.store), chosen, **location)
    return render(request, "ontology.html", {"ontology": ontology_of(kg)}, headers=location)


def search_response(request: Request, kg: KnowledgeGraph, q: str, limit: int) -> Response:
    hits = index_for(kg).search(q, limit) if q.strip() else []
    if not prefers_html(request.headers.get("accept"), [JSON]):
        if not q.strip():
            raise InputError("the search needs a query: /search?q=...", where="q")
        payload = {"query": q, "results": [hit.as_json() for hit in hits]}
        return JSONResponse(payload, headers={"Vary": "Accept"})
    return render(request, "search.html", {"query": q, "hits": hits})


def browser_router(
    settings: Settings, current_kg: GraphSource, around: GraphAround | None = None
) -> APIRouter:
    """The browser routes; ``current_kg()`` (or ``around(...)`` for the routes about given
    IRIs: entities, explanations, the graph view) is called once per request."""
    router = APIRouter()
    near: GraphAround = around or (lambda _iris, _depth: current_kg())

    @router.get("/", include_in_schema=False)
    def editor(request: Request) -> Response:
        return editor_response(request, settings)

    @router.get("/resource/{name}", summary="An entity: 303 to its page or RDF description")
    def resource(request: Request, name: str) -> Response:
        graph = near([_node(RES, "resource", split_name(name)[0])], 1)
        return entity_document(request, settings, graph, "resource", name)

    @router.get("/graph/{name}", summary="A named graph: 303 to its page or RDF description")
    def graph(request: Request, name: str) -> Response:
        found = near([_node(GRAPH_BASE, "graph", split_name(name)[0])], 1)
        return entity_document(request, settings, found, "graph", name)

    @router.get("/ontology", summary="The ontology: HTML page or RDF, negotiated")
    def ontology(request: Request) -> Response:
        return ontology_response(request, current_kg(), None)

    @router.get("/ontology.{extension}", include_in_schema=False)
    def ontology_file(request: Request, extension: str) -> Response:
        return ontology_response(request, current_kg(), extension)

    @router.get("/search", summary="Find entities by name (HTML, or JSON when asked)")
    def search(
        request: Request, q: str = "", limit: int = Query(default=10, ge=1, le=50)
    ) -> Response:
        return search_response(request, current_kg(), q, limit)

    @router.get("/explain", summary="Why a triple holds: its derivations (HTML)")
    def explanation(request: Request, s: str = "", p: str = "", o: str = "") -> Response:
        if not (s and p and o):
            raise InputError("an explanation needs s, p and o (N-Triples terms)", where="query")
        triple = parse_triple(s, p, o)
        ends = [t for t in (triple.subject, triple.object) if isinstance(t, ox.NamedNode)]
        kg = near(ends, 2)
        found = explain(kg.store, triple, rules=kg.rules, labeller=labeller_for(kg))
        return render(request, "explain.html", {"explanation": found})

    @router.get("/neighbourhood", summary="The network around an entity (JSON)")
    def network(iri: str, depth: int = Query(default=1, ge=1, le=MAX_DEPTH)) -> dict[str, Any]:
        node = _node("", "entity", iri)
        kg = near([node], depth + 1)
        if not exists(kg.store, node):
            raise ResourceNotFound("entity", iri)
        return neighbourhood(kg.store, node, depth, labeller=labeller_for(kg)).as_json()

    @router.get("/static/{path:path}", include_in_schema=False)
    def static(path: str) -> FileResponse:
        return static_file(path)

    return router
