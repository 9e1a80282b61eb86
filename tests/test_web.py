"""The endpoint app in-process (httpx over ASGI): every status code path, headers, bodies."""

from __future__ import annotations

import gzip
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pyoxigraph as ox
import pytest
import rdflib
from fastapi import FastAPI

from conftest import KG_DATA, KG_ONTOLOGY
from medkg.config import Settings
from medkg.errors import MedkgError, ServiceUnavailable
from medkg.execution import QueryAnswer, QueryJob
from medkg.formats import RdfSyntax
from medkg.namespaces import ALL_GRAPH, ASSERTED_GRAPH
from medkg.store import KnowledgeGraph
from medkg.web import LocalEngine, create_app
from medkg.web.app import summarize
from medkg.web.problems import problem_document
from test_errors import ONE_OF_EACH

pytestmark = pytest.mark.anyio

BASE = "http://testserver"
SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = "http://www.w3.org/ns/formats/"
JSON = "application/sparql-results+json"
PROBLEM = "application/problem+json"
PART_OF = "SELECT ?x WHERE { res:ward mkg:partOf ?x } ORDER BY ?x"
LABELS = "SELECT ?s ?label WHERE { ?s rdfs:label ?label } ORDER BY ?s ?label"
# About 0.8 s on the fixture graph (41 asserted triples, 41^4 rows to count).
SLOW = (
    "SELECT (COUNT(*) AS ?n) FROM graph:asserted "
    "WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "ontology_dir": KG_ONTOLOGY,
        "data_dir": KG_DATA,
        "cache_dir": tmp_path / "cache",
        "workers": 0,
        "timeout": 10.0,
        "max_rows": 3,
        "max_query_bytes": 2_000,
        "max_url_bytes": 3_000,
        "max_nesting": 10,
    }
    values.update(overrides)
    return Settings(**values)


def _client(app: FastAPI, *, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url=BASE)


@pytest.fixture
def app(kg: KnowledgeGraph, tmp_path: Path) -> FastAPI:
    return create_app(_settings(tmp_path), kg=kg)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as http:
        yield http


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["title"] and problem["detail"] and problem["type"]
    assert "Traceback" not in response.text
    return problem


def _values(response: httpx.Response, name: str = "x") -> list[str]:
    return [b[name]["value"] for b in response.json()["results"]["bindings"]]


# --------------------------------------------------------------------------------------------
# 200: the three query forms, formats, HEAD


async def test_get_query(client: httpx.AsyncClient) -> None:
    response = await client.get("/sparql", params={"query": PART_OF})
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.headers["vary"].startswith("Accept")
    assert [v.rsplit("/", 1)[1] for v in _values(response)] == ["clinic", "hospital"]
    assert "medkg-result-truncated" not in response.headers


async def test_post_form_and_direct(client: httpx.AsyncClient) -> None:
    form = await client.post("/sparql", data={"query": PART_OF})
    direct = await client.post(
        "/sparql",
        content=PART_OF.encode(),
        headers={"content-type": "application/sparql-query; charset=utf-8"},
    )
    assert form.status_code == direct.status_code == 200
    assert form.content == direct.content


@pytest.mark.parametrize(
    ("params", "headers", "content_type"),
    [
        ({}, {"accept": "text/csv"}, "text/csv; charset=utf-8"),
        ({"format": "tsv"}, {"accept": JSON}, "text/tab-separated-values; charset=utf-8"),
        ({"output": "xml"}, {}, "application/sparql-results+xml"),
        (
            {},
            {"accept": "application/sparql-results+xml, application/rdf+xml"},
            "application/sparql-results+xml",
        ),
    ],
)
async def test_select_formats(
    client: httpx.AsyncClient, params: dict[str, str], headers: dict[str, str], content_type: str
) -> None:
    response = await client.get("/sparql", params={"query": PART_OF, **params}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type


async def test_construct_turtle_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/sparql", params={"query": "CONSTRUCT WHERE { ?s mkg:partOf ?o }"})
    assert response.headers["content-type"] == "text/turtle; charset=utf-8"
    assert len(rdflib.Graph().parse(data=response.text, format="turtle")) == 3


async def test_head_has_the_headers_of_get_and_no_body(client: httpx.AsyncClient) -> None:
    params = {"query": LABELS}
    get = await client.get("/sparql", params=params, headers={"accept": "text/csv"})
    head = await client.head("/sparql", params=params, headers={"accept": "text/csv"})
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "vary", "medkg-result-truncated"):
        assert head.headers[name] == get.headers[name]


async def test_virtual_graphs_over_http(client: httpx.AsyncClient) -> None:
    asserted = await client.get(
        "/sparql", params={"query": PART_OF, "default-graph-uri": ASSERTED_GRAPH}
    )
    everything = await client.get(
        "/sparql", params={"query": PART_OF, "default-graph-uri": ALL_GRAPH}
    )
    assert len(_values(asserted)) == 1 and len(_values(everything)) == 2


async def test_truncated_result_is_flagged(client: httpx.AsyncClient) -> None:
    response = await client.get("/sparql", params={"query": LABELS})
    assert response.status_code == 200
    assert response.headers["medkg-result-truncated"] == "true"
    assert response.headers["medkg-result-limit"] == "3"
    assert len(_values(response, "s")) == 3


# --------------------------------------------------------------------------------------------
# Error statuses


async def test_400_syntax_error_with_position(client: httpx.AsyncClient) -> None:
    response = await client.get("/sparql", params={"query": "SELECT ?x WHERE {\n  ?x ?y }"})
    problem = _problem(response, 400)
    assert problem["type"].endswith("/query-syntax-error")
    assert problem["line"] == 2 and "column" in problem


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"update": "CLEAR ALL"}, "updates must be sent with POST"),
        ({"query": "ASK {}", "update": "CLEAR ALL"}, "both a query and an update"),
        ({"query": "SELECT * WHERE " + "{" * 11 + "}" * 11}, "nesting too deep"),
        ({"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"}, "SERVICE"),
        ({"query": "ASK {}", "default-graph-uri": "relative"}, "not an absolute IRI"),
        ({"query": " "}, "empty query"),
    ],
)
async def test_400_bad_requests(
    client: httpx.AsyncClient, params: dict[str, str], detail: str
) -> None:
    assert detail in _problem(await client.get("/sparql", params=params), 400)["detail"]


async def test_400_two_queries(client: httpx.AsyncClient) -> None:
    response = await client.get("/sparql?query=ASK%7B%7D&query=ASK%7B%7D")
    assert "2 query parameters" in _problem(response, 400)["detail"]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"])
async def test_405_with_allow(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, "/sparql", params={"query": "ASK {}"})
    problem = _problem(response, 405)
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert problem["allow"] == ["GET", "HEAD", "POST"]


async def test_406_lists_the_offered_types(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/sparql", params={"query": "ASK {}"}, headers={"accept": "text/csv"}
    )
    problem = _problem(response, 406)
    assert problem["offered"] == [JSON, "application/sparql-results+xml"]
    assert JSON in problem["detail"]
    assert response.headers["vary"].startswith("Accept")


async def test_406_for_the_service_description(client: httpx.AsyncClient) -> None:
    problem = _problem(await client.get("/sparql", headers={"accept": "text/csv"}), 406)
    assert "text/turtle" in problem["offered"]
    assert "service description" in problem["detail"]


async def test_413_by_declared_length(client: httpx.AsyncClient) -> None:
    body = ("ASK { " + "#" * 3_000 + "\n }").encode()
    response = await client.post(
        "/sparql", content=body, headers={"content-type": "application/sparql-query"}
    )
    assert "larger than 2000 bytes" in _problem(response, 413)["detail"]


async def test_413_while_streaming_without_length(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"#" * 500

    response = await client.post(
        "/sparql", content=chunks(), headers={"content-type": "application/sparql-query"}
    )
    _problem(response, 413)


async def test_414(client: httpx.AsyncClient) -> None:
    response = await client.get("/sparql", params={"query": "ASK { " + "#" * 4_000 + "\n }"})
    assert "send long queries with POST" in _problem(response, 414)["detail"]


async def test_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/sparql", content=b"ASK {}", headers={"content-type": "text/plain"}
    )
    _problem(response, 415)


async def test_404_is_a_problem_too(client: httpx.AsyncClient) -> None:
    _problem(await client.get("/nowhere"), 404)


async def test_503_when_a_query_runs_past_its_limit(kg: KnowledgeGraph, tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path), kg=kg, engine=LocalEngine(kg, timeout=0.2))
    async with _client(app) as http:
        started = time.monotonic()
        response = await http.get("/sparql", params={"query": SLOW})
        elapsed = time.monotonic() - started
    problem = _problem(response, 503)
    assert problem["type"].endswith("/query-timeout")
    assert "time limit of 0.2 s" in problem["detail"]
    assert elapsed < 0.7


class BrokenEngine:
    """An engine with a defect: any query raises an unexpected exception."""

    def run(self, job: QueryJob) -> QueryAnswer:
        raise RuntimeError(f"defect while running {job.query!r}")


async def test_500_for_a_defect_is_logged_never_shown(
    kg: KnowledgeGraph, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(_settings(tmp_path), kg=kg, engine=BrokenEngine())
    with caplog.at_level(logging.ERROR, logger="medkg.web"):
        async with _client(app, raise_app_exceptions=False) as http:
            response = await http.get("/sparql", params={"query": "ASK {}"})
    problem = _problem(response, 500)
    assert "defect" not in response.text
    assert response.headers["access-control-allow-origin"] == "*"
    assert problem["title"] == "Internal Server Error"
    assert any(r.exc_info and "defect while running" in str(r.exc_info[1]) for r in caplog.records)


@pytest.mark.parametrize("error", ONE_OF_EACH, ids=lambda e: type(e).__name__)
def test_every_error_has_a_problem_document(error: MedkgError) -> None:
    document = problem_document(error)
    assert document["status"] == error.http_status
    assert document["title"] == error.title
    assert document["detail"] == str(error)
    assert document["type"].startswith("https://w3id.org/medkg/problem/")
    assert ("line" in document) == (error.line is not None)
    json.dumps(document)


async def test_503_service_unavailable_from_an_engine(kg: KnowledgeGraph, tmp_path: Path) -> None:
    class Draining:
        def run(self, job: QueryJob) -> QueryAnswer:
            raise ServiceUnavailable("the query workers are shutting down")

    async with _client(create_app(_settings(tmp_path), kg=kg, engine=Draining())) as http:
        problem = _problem(await http.get("/sparql", params={"query": "ASK {}"}), 503)
    assert problem["type"].endswith("/service-unavailable")


# --------------------------------------------------------------------------------------------
# Concurrency: queries run off the event loop


async def test_a_slow_query_does_not_block_other_requests(client: httpx.AsyncClient) -> None:
    latencies: list[float] = []

    async def slow() -> None:
        response = await client.get("/sparql", params={"query": SLOW})
        assert response.status_code == 200

    async def health() -> None:
        await anyio.sleep(0.2)
        started = time.monotonic()
        assert (await client.get("/health")).status_code == 200
        latencies.append(time.monotonic() - started)

    async with anyio.create_task_group() as group:
        group.start_soon(slow)
        group.start_soon(health)
    assert latencies[0] < 0.3


# --------------------------------------------------------------------------------------------
# Health, service description, OpenAPI


async def test_health(client: httpx.AsyncClient, kg: KnowledgeGraph) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok" and health["ready"] is True
    assert set(health["triples"]) == set(kg.graph_names())
    assert health["total_triples"] == sum(health["triples"].values()) == kg.stats().total_triples
    assert health["data_version"] == kg.cache_key
    assert health["version"]


def test_summary_counts_like_stats(kg: KnowledgeGraph) -> None:
    """The sizes the endpoint reports, counted without the class statistics."""
    summary = summarize(kg)
    assert summary.graphs == kg.stats().graphs
    (total,) = kg.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").rows[0]
    assert isinstance(total, ox.Literal) and summary.default_triples == int(total.value)


async def test_service_description_in_turtle(client: httpx.AsyncClient, kg: KnowledgeGraph) -> None:
    response = await client.get("/sparql")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/turtle; charset=utf-8"
    assert response.headers["vary"].startswith("Accept")
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    service = graph.value(predicate=rdflib.RDF.type, object=SD.Service)
    assert graph.value(service, SD.endpoint) == rdflib.URIRef(f"{BASE}/sparql")
    assert graph.value(service, SD.supportedLanguage) == SD.SPARQL11Query
    formats = {str(f).removeprefix(FORMATS) for f in graph.objects(service, SD.resultFormat)}
    assert formats == {
        "SPARQL_Results_JSON",
        "SPARQL_Results_XML",
        "SPARQL_Results_CSV",
        "SPARQL_Results_TSV",
        "Turtle",
        "N-Triples",
        "JSON-LD",
        "RDF_XML",
        "TriG",
        "N-Quads",
    }
    assert (service, SD.feature, SD.UnionDefaultGraph) in graph
    owl_rdf = rdflib.URIRef("http://www.w3.org/ns/entailment/OWL-RDF-Based")
    assert graph.value(service, SD.defaultEntailmentRegime) == owl_rdf
    rl = rdflib.URIRef("http://www.w3.org/ns/owl-profile/RL")
    assert graph.value(service, SD.supportedEntailmentProfile) == rl
    dataset = graph.value(service, SD.defaultDataset)
    names = {str(graph.value(ng, SD.name)) for ng in graph.objects(dataset, SD.namedGraph)}
    assert names == set(kg.graph_names())
    assert graph.value(dataset, SD.defaultGraph) is not None
    available = graph.value(service, SD.availableGraphs)
    listed = {str(graph.value(ng, SD.name)) for ng in graph.objects(available, SD.namedGraph)}
    assert listed == {*kg.graph_names(), ALL_GRAPH, ASSERTED_GRAPH}


@pytest.mark.parametrize("syntax", list(RdfSyntax), ids=lambda s: s.cli_name)
async def test_service_description_in_every_syntax(
    client: httpx.AsyncClient, syntax: RdfSyntax
) -> None:
    response = await client.get("/sparql", headers={"accept": syntax.media_type})
    assert response.headers["content-type"].split(";")[0] == syntax.media_type
    quads = list(ox.parse(response.content, syntax.oxigraph_format))
    endpoint = ox.NamedNode(f"{BASE}/sparql")
    assert any(q.object == endpoint and q.predicate.value == str(SD.endpoint) for q in quads)
    assert all(q.graph_name == ox.DefaultGraph() for q in quads)


async def test_service_description_uses_the_public_url(kg: KnowledgeGraph, tmp_path: Path) -> None:
    settings = _settings(tmp_path, public_url="https://kg.example.org/medkg/")
    async with _client(create_app(settings, kg=kg)) as http:
        response = await http.get("/sparql", headers={"accept": "application/n-triples"})
    assert b"<https://kg.example.org/medkg/sparql>" in response.content


async def test_openapi_declares_the_sparql_parameters(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    get = schema["paths"]["/sparql"]["get"]
    names = {p["name"] for p in get["parameters"]}
    assert {"query", "default-graph-uri", "named-graph-uri", "format"} <= names
    post = schema["paths"]["/sparql"]["post"]
    assert {"application/x-www-form-urlencoded", "application/sparql-query"} <= set(
        post["requestBody"]["content"]
    )
    assert "put" not in schema["paths"]["/sparql"]
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


# --------------------------------------------------------------------------------------------
# Middleware: CORS, gzip, access log


async def test_cors_preflight_and_simple_requests(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/sparql",
        headers={
            "origin": "https://yasgui.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers
    simple = await client.get(
        "/sparql", params={"query": LABELS}, headers={"origin": "https://yasgui.example"}
    )
    assert simple.headers["access-control-allow-origin"] == "*"
    assert "medkg-result-truncated" in simple.headers["access-control-expose-headers"].lower()


async def test_gzip_when_asked(client: httpx.AsyncClient) -> None:
    query = {"query": f'SELECT ?x WHERE {{ VALUES ?x {{ "{"x" * 2_000}" }} }}'}
    response = await client.get("/sparql", params=query, headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert "Accept" in response.headers["vary"] and "Accept-Encoding" in response.headers["vary"]
    plain = await client.get("/sparql", params=query, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert gzip.decompress(gzip.compress(plain.content)) == response.content


async def test_one_access_log_line_per_request(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="medkg.web.access"):
        await client.get("/sparql", params={"query": "ASK {}"})
        await client.put("/sparql")
    lines = [r.getMessage() for r in caplog.records if r.name == "medkg.web.access"]
    assert len(lines) == 2
    assert lines[0].startswith("GET /sparql 200 ") and lines[0].endswith(" ms")
    assert lines[1].startswith("PUT /sparql 405 ")


# --------------------------------------------------------------------------------------------
# Start-up


async def _run_lifespan(app: FastAPI) -> list[str]:
    """Start ``app`` up and shut it down as a server does: the messages it sent."""
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    with anyio.fail_after(60):
        await app(scope, receive, send)
    return sent


async def test_no_telemetry_exporter_is_configured_from_the_environment(
    kg: KnowledgeGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """FastAPI adds OpenTelemetry exporters when these are set; medkg's app never does."""
    monkeypatch.setenv("FASTAPI_OTEL_AUTO_CONFIGURE", "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://192.0.2.1:4318")
    app = create_app(_settings(tmp_path), kg=kg)
    with caplog.at_level(logging.DEBUG):
        sent = await _run_lifespan(app)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert not [r for r in caplog.records if "telemetry" in r.getMessage().lower()]
