"""The real ``medkg serve`` on the bundled data, through real clients.

One server process for the module (``--workers 0``), started on 127.0.0.1 and a free port
from the bundled closure's cache, so it is up in about a second. Clients: SPARQLWrapper,
rdflib's SPARQLStore, httpx, http.client and a raw socket, and pyoxigraph federating a
query to medkg with SERVICE.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, JSONLD, TURTLE, XML, SPARQLWrapper

from conftest import Bundled
from medkg.errors import QuerySyntaxError
from medkg.execution import QueryJob, execute
from server_process import RunningServer, running_server

RES = "https://w3id.org/medkg/resource/"
MKG = "https://w3id.org/medkg/ontology#"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
PARTNERS = (
    f"SELECT ?p ?label WHERE {{ <{RES}ntu> <{MKG}partnerOf> ?p . ?p <{RDFS_LABEL}> ?label }} "
    "ORDER BY ?p"
)
PARTNERS_SHORT = "SELECT ?p ?label WHERE { res:ntu mkg:partnerOf ?p . ?p rdfs:label ?label }"
CONSTRUCT = (
    f"CONSTRUCT {{ ?p <{RDFS_LABEL}> ?label }} "
    f"WHERE {{ <{RES}ntu> <{MKG}partnerOf> ?p . ?p <{RDFS_LABEL}> ?label }}"
)
MAX_ROWS = 50


@pytest.fixture(scope="module")
def server(bundled: Bundled) -> Iterator[RunningServer]:
    """CLI flags win over the environment: --max-rows 50 over MEDKG_MAX_ROWS=7."""
    with running_server(
        "--workers",
        "0",
        "--cache-dir",
        str(bundled.cache_dir),
        "--max-rows",
        str(MAX_ROWS),
        "--timeout",
        "20",
        env={"MEDKG_MAX_ROWS": "7", "MEDKG_MAX_URL_BYTES": "4000"},
    ) as running:
        yield running


def _partner_labels(server: RunningServer) -> set[str]:
    response = httpx.get(server.endpoint, params={"query": PARTNERS_SHORT}, timeout=10)
    return {b["label"]["value"] for b in response.json()["results"]["bindings"]}


# --------------------------------------------------------------------------------------------
# SPARQLWrapper


def _wrapper(server: RunningServer, query: str, fmt: str) -> Any:
    client = SPARQLWrapper(server.endpoint)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    return client.query()


def test_sparqlwrapper_json_xml_csv(server: RunningServer) -> None:
    expected = _partner_labels(server)
    assert expected
    document = _wrapper(server, PARTNERS, JSON).convert()
    assert {b["label"]["value"] for b in document["results"]["bindings"]} == expected
    xml = _wrapper(server, PARTNERS, XML).convert()
    literals = xml.getElementsByTagName("literal")
    assert {node.firstChild.data for node in literals} == expected
    csv_result = _wrapper(server, PARTNERS, CSV)
    assert csv_result.response.headers["content-type"].startswith("text/csv")
    rows = csv_result.convert().decode().splitlines()
    assert rows[0] == "p,label" and len(rows) == len(expected) + 1


def test_sparqlwrapper_ask(server: RunningServer) -> None:
    ask = f"ASK {{ <{RES}ntu> <{MKG}partnerOf> <{RES}sjtusm> }}"
    assert _wrapper(server, ask, JSON).convert()["boolean"] is True


@pytest.mark.parametrize(
    ("fmt", "media_type"), [(TURTLE, "text/turtle"), (JSONLD, "application/ld+json")]
)
def test_sparqlwrapper_graph_results(server: RunningServer, fmt: str, media_type: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # SPARQLWrapper's own format chatter
        result = _wrapper(server, CONSTRUCT, fmt)
    assert result.response.headers["content-type"].startswith(media_type)
    body = result.response.read()
    syntax = ox.RdfFormat.TURTLE if fmt == TURTLE else ox.RdfFormat.JSON_LD
    labels = {q.object.value for q in ox.parse(body, syntax)}
    assert labels == _partner_labels(server)


# --------------------------------------------------------------------------------------------
# rdflib SPARQLStore (Accept: application/sparql-results+xml, application/rdf+xml)


def test_rdflib_sparqlstore_select_and_construct(server: RunningServer) -> None:
    store = SPARQLStore(server.endpoint)
    graph = rdflib.Graph(store=store)
    rows = list(graph.query(PARTNERS))
    assert {str(row[1]) for row in rows} == _partner_labels(server)  # type: ignore[index]
    constructed = graph.query(CONSTRUCT).graph
    assert constructed is not None
    assert {str(o) for o in constructed.objects()} == _partner_labels(server)
    store.close()


# --------------------------------------------------------------------------------------------
# Raw HTTP: exact bytes on the wire


def test_raw_socket_post_direct_query(server: RunningServer) -> None:
    body = b"ASK { res:ntu mkg:partnerOf res:sjtusm }"
    request = (
        b"POST /sparql HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\n"
        b"Content-Type: application/sparql-query\r\n"
        b"Accept: application/sparql-results+json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"Connection: close\r\n\r\n" + body
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, payload = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    assert headers["content-type"] == "application/sparql-results+json"
    assert int(headers["content-length"]) == len(payload)
    assert payload == b'{"head":{},"boolean":true}'


def test_http_client_form_post_csv(server: RunningServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/sparql",
            body=urlencode({"query": PARTNERS}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/csv"},
        )
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/csv; charset=utf-8"
    assert data.startswith(b"p,label\r\n") and data.endswith(b"\r\n")
    assert len(data.splitlines()) == len(_partner_labels(server)) + 1


def test_head_over_the_wire(server: RunningServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(
            "HEAD",
            "/sparql?query=ASK%20%7B%7D",
            headers={"Accept": "application/sparql-results+xml"},
        )
        response = conn.getresponse()
        assert response.read() == b""
    finally:
        conn.close()
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/sparql-results+xml"
    assert int(response.getheader("Content-Length") or 0) > 0


def test_gzip_over_the_wire(server: RunningServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(
            "GET",
            "/sparql?" + urlencode({"query": "CONSTRUCT WHERE { ?s ?p ?o }"}),
            headers={"Accept-Encoding": "gzip", "Accept": "application/n-triples"},
        )
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    assert response.getheader("Content-Encoding") == "gzip"
    triples = gzip.decompress(raw).decode().strip().splitlines()
    assert len(triples) == MAX_ROWS
    assert len(raw) < sum(len(t) for t in triples)


def test_cors_preflight_over_the_wire(server: RunningServer) -> None:
    response = httpx.options(
        server.endpoint,
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


# --------------------------------------------------------------------------------------------
# Settings reach the server; limits; errors


def test_cli_max_rows_wins_over_the_environment(server: RunningServer) -> None:
    response = httpx.get(
        server.endpoint,
        params={"query": "SELECT * WHERE { ?s ?p ?o }"},
        headers={"Accept": "text/tab-separated-values"},
    )
    assert response.headers["medkg-result-truncated"] == "true"
    assert response.headers["medkg-result-limit"] == str(MAX_ROWS)
    assert len(response.text.splitlines()) == MAX_ROWS + 1


def test_414_from_the_environment_limit(server: RunningServer) -> None:
    response = httpx.get(server.endpoint, params={"query": "ASK {" + " " * 5_000 + "}"})
    assert response.status_code == 414
    assert response.headers["content-type"] == "application/problem+json"


def test_syntax_error_problem_over_the_wire(server: RunningServer) -> None:
    response = httpx.get(server.endpoint, params={"query": "SELECT ?x WHERE { ?x ?y }"})
    problem = response.json()
    assert response.status_code == 400
    assert (problem["line"], problem["column"]) == (1, 26)


def test_health_over_the_wire(server: RunningServer, bundled: Bundled) -> None:
    health = httpx.get(f"{server.base_url}/health").json()
    assert health["ready"] is True
    assert health["data_version"] == bundled.kg.cache_key
    assert health["total_triples"] == bundled.kg.stats().total_triples


# rdflib's own JSON-LD parser still builds a (deprecated) ConjunctiveGraph internally.
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize(
    ("accept", "fmt"), [("text/turtle", "turtle"), ("application/ld+json", "json-ld")]
)
def test_service_description_parsed_by_rdflib(server: RunningServer, accept: str, fmt: str) -> None:
    response = httpx.get(server.endpoint, headers={"Accept": accept})
    assert response.headers["content-type"].startswith(accept)
    graph = rdflib.Graph().parse(data=response.content, format=fmt)
    assert (None, SD.endpoint, rdflib.URIRef(server.endpoint)) in graph
    assert (None, SD.supportedLanguage, SD.SPARQL11Query) in graph


# --------------------------------------------------------------------------------------------
# Federation: another engine calls medkg with SERVICE


def test_pyoxigraph_federates_to_medkg(server: RunningServer) -> None:
    local = ox.Store()
    query = (
        f"SELECT ?p ?label WHERE {{ SERVICE <{server.endpoint}> {{ "
        f"<{RES}ntu> <{MKG}partnerOf> ?p . ?p <{RDFS_LABEL}> ?label }} }}"
    )
    solutions = local.query(query)
    assert isinstance(solutions, ox.QuerySolutions)
    labels = {s["label"].value for s in solutions}  # type: ignore[union-attr]
    assert labels == _partner_labels(server)


def test_allow_listed_service_reaches_medkg(server: RunningServer, bundled: Bundled) -> None:
    """An operator allow-list lets medkg itself federate to a permitted endpoint."""
    query = f"SELECT ?label WHERE {{ SERVICE <{server.endpoint}> {{ res:ntu rdfs:label ?label }} }}"
    job = QueryJob(
        query, accept="application/sparql-results+json", service_allow=(server.endpoint,)
    )
    answer = execute(bundled.kg, job)
    rows = json.loads(answer.body)["results"]["bindings"]
    assert [r["label"]["value"] for r in rows] == ["Nanyang Technological University"]
    with pytest.raises(QuerySyntaxError, match="SERVICE is not supported"):
        execute(bundled.kg, QueryJob(query))


def test_no_outbound_connection_for_service_or_from(server: RunningServer) -> None:
    """SERVICE and FROM/FROM NAMED naming a live loopback listener make no connection."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.5)
    target = f"http://127.0.0.1:{listener.getsockname()[1]}/data"
    try:
        service = httpx.get(
            server.endpoint,
            params={"query": f"SELECT * WHERE {{ SERVICE <{target}> {{ ?s ?p ?o }} }}"},
            timeout=10,
        )
        assert service.status_code == 400
        assert "SERVICE is not supported" in service.json()["detail"]
        for clause in ("FROM", "FROM NAMED"):
            response = httpx.get(
                server.endpoint,
                params={"query": f"SELECT * {clause} <{target}> WHERE {{ ?s ?p ?o }}"},
                headers={"Accept": "application/sparql-results+json"},
                timeout=10,
            )
            assert response.status_code == 200
            assert response.json()["results"]["bindings"] == []  # a local, empty graph
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody connected
    finally:
        listener.close()
