"""``medkg push`` and ``medkg serve --backend`` against a real Oxigraph server.

The bundled graph is pushed (with small chunks, so graphs go as a PUT and POSTs) into an
Oxigraph server started here without ``--union-default-graph``: push writes the union of
the graphs as the store's default graph. Then every example query of ``queries/`` must
give its expected answer both from Oxigraph directly and through ``medkg serve --backend``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

from conftest import Bundled
from medkg.backend import BackendSpec, RemoteSource, RemoteStore, prolog
from medkg.cli import app
from medkg.errors import ConfigError, RemoteStoreError
from medkg.export import ExportRequest, GraphSelection, LocalSource, export
from medkg.formats import RdfSyntax, ResultFormat
from medkg.namespaces import ASSERTED_GRAPH, INFERRED_GRAPH
from medkg.push import GraphStoreClient, authorization, push
from medkg.results import write_solutions
from oxigraph_process import Oxigraph, running_oxigraph
from server_process import RunningServer, free_port, running_server
from test_queries import ALL, EXAMPLES, VIOLATIONS, ExampleQuery

runner = CliRunner()
NT = RdfSyntax.NTRIPLES.media_type
TSV = ResultFormat.TSV.media_type
JSON = ResultFormat.JSON.media_type


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory, bundled: Bundled) -> Iterator[Oxigraph]:
    """An Oxigraph server holding the bundled graph, pushed by the CLI in 1000-triple chunks."""
    location = tmp_path_factory.mktemp("oxigraph") / "db"
    with running_oxigraph(location) as server:
        args = ["push", server.store_url, "--chunk", "1000", "--cache-dir", str(bundled.cache_dir)]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "counts checked" in result.output
        assert f"{INFERRED_GRAPH}\t2" in result.output  # more than 1000 triples...
        assert "request(s)" in result.output
        yield server


@pytest.fixture(scope="module")
def medkg_on_oxigraph(oxigraph: Oxigraph) -> Iterator[RunningServer]:
    backend = f"sparql:{oxigraph.query_url}"
    with running_server("--backend", backend, "--max-rows", "3000") as server:
        yield server


def _sorted_rows(body: bytes, kind: str) -> list[str]:
    lines = [line for line in body.decode("utf-8").splitlines() if line.strip()]
    return sorted(lines) if kind == "nt" else [lines[0], *sorted(lines[1:])]


def _expected(query: ExampleQuery) -> tuple[str, list[str]]:
    for kind in ("tsv", "nt"):
        path = query.path.with_suffix(f".{kind}")
        if path.exists():
            return kind, path.read_text(encoding="utf-8").splitlines()
    raise AssertionError(f"no expected results for {query.name}")


def _direct(server: Oxigraph, text: str, kind: str) -> bytes:
    """The query's answer from Oxigraph itself, written as medkg writes TSV / N-Triples."""
    response = httpx.post(
        server.query_url,
        data={"query": prolog(None) + text},
        headers={"Accept": NT if kind == "nt" else JSON},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    if kind == "nt":
        return response.content
    result = ox.parse_query_results(response.content, format=ox.QueryResultsFormat.JSON)
    assert isinstance(result, ox.QuerySolutions)
    variables = [v.value for v in result.variables]
    return write_solutions(variables, [tuple(s) for s in result], ResultFormat.TSV)


def test_examples_found() -> None:
    assert (
        len(EXAMPLES) >= 20 and len(VIOLATIONS) >= 3 and len(ALL) == len(EXAMPLES) + len(VIOLATIONS)
    )


@pytest.mark.parametrize("query", EXAMPLES, ids=lambda q: q.name)
def test_same_answers_from_oxigraph_directly(oxigraph: Oxigraph, query: ExampleQuery) -> None:
    kind, expected = _expected(query)
    assert _sorted_rows(_direct(oxigraph, query.text, kind), kind) == expected


@pytest.mark.parametrize("query", EXAMPLES, ids=lambda q: q.name)
def test_same_answers_through_medkg_backend(
    medkg_on_oxigraph: RunningServer, query: ExampleQuery
) -> None:
    kind, expected = _expected(query)
    response = httpx.post(
        medkg_on_oxigraph.endpoint,
        content=query.text.encode("utf-8"),
        headers={"Content-Type": "application/sparql-query", "Accept": NT if kind == "nt" else TSV},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert _sorted_rows(response.content, kind) == expected


@pytest.mark.parametrize("query", VIOLATIONS, ids=lambda q: q.name)
def test_violation_checks_hold_remotely(
    oxigraph: Oxigraph, medkg_on_oxigraph: RunningServer, query: ExampleQuery
) -> None:
    assert _direct(oxigraph, query.text, "tsv").decode().strip().count("\n") == 0
    response = httpx.get(
        medkg_on_oxigraph.endpoint, params={"query": query.text, "format": "tsv"}, timeout=30
    )
    assert response.status_code == 200
    assert response.text.strip().count("\n") == 0


def test_backend_protocol_handling(medkg_on_oxigraph: RunningServer) -> None:
    url = medkg_on_oxigraph.endpoint
    labels = "SELECT ?l WHERE { res:ntu rdfs:label ?l }"
    json_answer = httpx.get(url, params={"query": labels}, headers={"Accept": JSON})
    assert json_answer.headers["content-type"] == JSON
    assert json_answer.json()["results"]["bindings"]
    assert httpx.get(url, params={"query": "ASK { res:ntu mkg:partnerOf res:sjtusm }"}).json()[
        "boolean"
    ]
    capped = httpx.get(url, params={"query": "SELECT * WHERE { ?s ?p ?o }", "format": "csv"})
    assert capped.headers["MEDKG-Result-Truncated"] == "true"
    syntax = httpx.get(url, params={"query": "SELECT * WHERE { ?s ?p }"})
    assert syntax.status_code == 400 and syntax.json()["line"] == 1
    service = httpx.get(url, params={"query": "SELECT * { SERVICE <http://x/> { ?s ?p ?o } }"})
    assert service.status_code == 400
    refused = httpx.get(url, params={"query": labels}, headers={"Accept": "text/turtle"})
    assert refused.status_code == 406
    described = httpx.get(url, headers={"Accept": "text/turtle"})
    assert described.status_code == 200 and "sparql-service-description" in described.text
    health = httpx.get(f"{medkg_on_oxigraph.base_url}/health").json()
    assert health["ready"] and health["default_graph_triples"] > 5000


@pytest.mark.parametrize(
    ("method", "path", "feature"),
    [
        ("GET", "/resource/sjtusm", "entity pages"),
        ("GET", "/resource/sjtusm.html", "entity pages"),
        ("GET", "/ontology", "ontology page"),
        ("GET", "/search?q=ntu", "search"),
        ("GET", "/explain?s=a&p=b&o=c", "explanations"),
        ("GET", "/neighbourhood?iri=x", "graph view"),
        ("PUT", "/store?graph=https://example.org/g", "Graph Store"),
        ("POST", "/sparql", "SPARQL Update"),
    ],
)
def test_other_features_refused_clearly(
    medkg_on_oxigraph: RunningServer, method: str, path: str, feature: str
) -> None:
    headers = {"Content-Type": "application/sparql-update"}
    body = b"INSERT DATA { res:a res:b res:c }" if path == "/sparql" else b""
    response = httpx.request(
        method, medkg_on_oxigraph.base_url + path, content=body, headers=headers
    )
    assert response.status_code == 501
    assert response.headers["content-type"] == "application/problem+json"
    assert feature in response.json()["detail"]


def test_export_through_the_backend_equals_the_local_export(
    bundled: Bundled, medkg_on_oxigraph: RunningServer
) -> None:
    local = export(LocalSource(bundled.kg), ExportRequest(syntax=RdfSyntax.NQUADS))
    remote = httpx.get(f"{medkg_on_oxigraph.base_url}/export", params={"format": "nquads"})
    assert remote.status_code == 200
    assert remote.headers["content-disposition"] == 'attachment; filename="medkg.nq"'
    assert remote.content == local
    schema = httpx.get(
        f"{medkg_on_oxigraph.base_url}/export", params={"vocab": "schema", "format": "ttl"}
    )
    local_schema = ExportRequest(syntax=RdfSyntax.TURTLE, vocab=ExportRequest().vocab.SCHEMA)
    assert schema.content == export(LocalSource(bundled.kg), local_schema)


def test_remote_source_lists_the_pushed_graphs(bundled: Bundled, oxigraph: Oxigraph) -> None:
    source = RemoteSource(RemoteStore(BackendSpec.parse(f"sparql:{oxigraph.query_url}")))
    assert source.graph_names() == bundled.kg.graph_names()
    assert ASSERTED_GRAPH not in source.graph_names()


def test_push_refusals_and_count_check(bundled: Bundled, tmp_path: Path) -> None:
    with running_oxigraph(tmp_path / "db") as server:
        client = GraphStoreClient(server.store_url, retries=0)
        pushed = push(LocalSource(bundled.kg), client, GraphSelection.parse(["graph:world"]))
        assert [(p.graph, p.requests) for p in pushed][-1] == (None, 1)
        assert client.count(None) == pushed[0].triples > 10
        wrong = GraphStoreClient(server.base_url + "/nowhere", retries=1, backoff=0.01)
        with pytest.raises(RemoteStoreError, match="answered 404"):
            push(LocalSource(bundled.kg), wrong, GraphSelection.parse(["graph:world"]))
    unreachable = GraphStoreClient(server.store_url, retries=1, backoff=0.01)
    with pytest.raises(RemoteStoreError, match="cannot reach"):
        unreachable.count(None)


def test_auth_and_backend_specs() -> None:
    assert authorization("bearer:abc") == "Bearer abc"
    assert authorization("basic:ann:pw") == "Basic YW5uOnB3"
    assert authorization(None) is None
    with pytest.raises(Exception, match="bearer:TOKEN"):
        authorization("token")
    spec = BackendSpec.parse("sparql:http://h/q,http://h/u")
    assert (spec.query_url, spec.update_url) == ("http://h/q", "http://h/u")
    for bad in ("http://h/q", "sparql:ftp://h", "sparql:http://a,http://b,http://c"):
        with pytest.raises(ConfigError):
            BackendSpec.parse(bad)


@pytest.mark.anyio
async def test_unreachable_backend_is_reported(tmp_path: Path) -> None:
    from medkg.config import Settings
    from medkg.web.remote import create_remote_app

    spec = BackendSpec.parse(f"sparql:http://127.0.0.1:{free_port()}/query")
    web = create_remote_app(Settings(cache_dir=tmp_path, timeout=5), spec)
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        health = await client.get("/health")
        assert health.status_code == 503 and health.json()["ready"] is False
        query = await client.get("/sparql", params={"query": "ASK {}"})
        assert query.status_code == 502
        assert query.headers["content-type"] == "application/problem+json"
        assert "cannot reach" in query.json()["detail"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
