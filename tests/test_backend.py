"""``medkg push`` and ``medkg serve --backend`` against a real Oxigraph server.

The bundled graph is pushed (with small chunks, so graphs go as a PUT and POSTs) into an
Oxigraph server started here without ``--union-default-graph``: push writes the union of
the graphs as the store's default graph. Then every example query of ``queries/`` must
give its expected answer both from Oxigraph directly and through ``medkg serve --backend``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

from conftest import Bundled
from medkg.backend import BackendSpec, RemoteSource, RemoteStore, prolog
from medkg.cli import app
from medkg.config import Settings
from medkg.errors import ConfigError, RemoteStoreError
from medkg.export import ExportRequest, GraphSelection, LocalSource, canonical, export
from medkg.formats import RdfSyntax, ResultFormat
from medkg.namespaces import ASSERTED_GRAPH, INFERRED_GRAPH, MKG, RES
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
        ("PUT", "/store?graph=https://example.org/g", "Graph Store"),
        ("GET", "/store?default", "Graph Store"),
        ("POST", "/sparql", "SPARQL Update"),
    ],
)
def test_writes_refused_clearly(
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


# --------------------------------------------------------------------------------------------
# The browser pages on the remote backend: the same documents as the local server's


Headers = dict[str, str] | None


class Local:
    """The local server on the same graph (``medkg serve`` on the bundled closure)."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server

    def get(
        self,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        return httpx.get(self.server.base_url + path, headers=headers, params=params, timeout=30)


@pytest.fixture(scope="module")
def local(bundled: Bundled) -> Iterator[Local]:
    with running_server("--cache-dir", str(bundled.cache_dir), "--workers", "1") as server:
        yield Local(server)


def _canonical_triples(body: bytes) -> list[ox.Quad]:
    return canonical(ox.parse(body, format=ox.RdfFormat.N_QUADS))


ENTITIES = ["sjtusm", "joseph-sung", "ntu", "ruijin-hospital", "lkcmedicine", "role-dean"]


@pytest.mark.parametrize("slug", ENTITIES)
def test_entity_description_through_the_backend_equals_the_local_one(
    local: Local, medkg_on_oxigraph: RunningServer, slug: str
) -> None:
    mine = local.get(f"/resource/{slug}.nt")
    theirs = httpx.get(f"{medkg_on_oxigraph.base_url}/resource/{slug}.nt", timeout=30)
    assert theirs.status_code == 200 and mine.status_code == 200
    assert theirs.headers["content-type"] == mine.headers["content-type"]
    triples = _canonical_triples(theirs.content)
    assert len(triples) > 3
    assert triples == _canonical_triples(mine.content)


@pytest.mark.parametrize(
    "path",
    [
        *(f"/resource/{slug}.html" for slug in ENTITIES),
        "/graph/sources.html",
        "/graph/000_8b8f98a58fe20d8e.html",
        "/ontology.html",
        "/search?q=lkc",
        "/explain?"
        + urlencode({"s": f"<{RES}sjtusm>", "p": f"<{MKG}partnerOf>", "o": f"<{RES}ntu>"}),
    ],
)
def test_pages_through_the_backend_equal_the_local_pages(
    local: Local, medkg_on_oxigraph: RunningServer, path: str
) -> None:
    headers = {"Accept": "text/html"}
    mine = local.get(path, headers=headers)
    theirs = httpx.get(medkg_on_oxigraph.base_url + path, headers=headers, timeout=30)
    assert mine.status_code == 200, mine.text
    assert theirs.status_code == 200, theirs.text
    assert theirs.text == mine.text


def test_entity_page_facts_through_the_backend(medkg_on_oxigraph: RunningServer) -> None:
    base = medkg_on_oxigraph.base_url
    page = httpx.get(f"{base}/resource/sjtusm.html", timeout=30).text
    assert '<h1 id="entity-title">Shanghai Jiao Tong University School of Medicine</h1>' in page
    assert 'href="/resource/ntu.html">Nanyang Technological University</a>' in page
    assert 'href="/resource/source-000_8b8f98a58fe20d8e.html"' in page  # a fact's source
    assert "/explain?" in page and "inferred" in page
    sung = httpx.get(f"{base}/resource/joseph-sung.html", timeout=30).text
    assert "Joseph Sung: Dean of LKCMedicine" in sung  # an n-ary node's own facts
    redirect = httpx.get(f"{base}/resource/sjtusm", headers={"Accept": "text/turtle"})
    assert redirect.status_code == 303
    assert redirect.headers["location"] == "/resource/sjtusm.ttl"
    browser = httpx.get(f"{base}/resource/sjtusm", headers={"Accept": "text/html"})
    assert browser.status_code == 303 and browser.headers["location"].endswith("sjtusm.html")
    assert httpx.get(f"{base}/resource/no-such-thing.html").status_code == 404
    turtle = httpx.get(f"{base}/resource/sjtusm.ttl", timeout=30)
    assert turtle.status_code == 200 and "mkg:partnerOf" in turtle.text


def test_search_and_explain_through_the_backend(medkg_on_oxigraph: RunningServer) -> None:
    base = medkg_on_oxigraph.base_url
    found = httpx.get(
        f"{base}/search", params={"q": "ruijin"}, headers={"Accept": "application/json"}
    )
    assert found.status_code == 200
    first = found.json()["results"][0]
    assert (first["iri"], first["label"]) == (RES + "ruijin-hospital", "Ruijin Hospital")
    assert first["types"]
    query = urlencode({"s": f"<{RES}sjtusm>", "p": f"<{MKG}partnerOf>", "o": f"<{RES}ntu>"})
    page = httpx.get(f"{base}/explain?{query}", timeout=30).text
    assert "rule partnership.rq" in page and "prp-symp" in page
    assert "Facts from source 000" in page
    ontology = httpx.get(f"{base}/ontology", headers={"Accept": "text/turtle"}, timeout=30)
    assert ontology.status_code == 200 and "owl:Ontology" in ontology.text
    assert httpx.get(f"{base}/", headers={"Accept": "text/html"}).status_code == 200


@pytest.mark.parametrize(("iri", "depth"), [("sjtusm", 1), ("sjtusm", 2), ("joseph-sung", 2)])
def test_neighbourhood_through_the_backend_equals_the_local_one(
    local: Local, medkg_on_oxigraph: RunningServer, iri: str, depth: int
) -> None:
    params = {"iri": RES + iri, "depth": str(depth)}
    mine = local.get("/neighbourhood", params=params).json()
    theirs = httpx.get(f"{medkg_on_oxigraph.base_url}/neighbourhood", params=params, timeout=30)
    assert theirs.status_code == 200
    other = theirs.json()
    assert len(other["nodes"]) > 3
    assert (other["centre"], other["truncated"]) == (mine["centre"], mine["truncated"])
    if mine["truncated"]:  # cut at MAX_NODES: which farthest nodes are kept depends on order
        assert len(other["nodes"]) == len(mine["nodes"])
        near = [sorted(str(n) for n in net["nodes"] if n["depth"] < depth) for net in (other, mine)]
        assert near[0] == near[1]
        return
    for key in ("nodes", "edges"):
        assert sorted(map(str, other[key])) == sorted(map(str, mine[key]))


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
        page = await client.get("/resource/sjtusm.html")
        assert page.status_code == 502 and "cannot reach" in page.json()["detail"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
