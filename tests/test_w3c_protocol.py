"""The 34 cases of the W3C SPARQL 1.1 Protocol test manifest, against the real server.

The cases follow the W3C rdf-tests manifest ``sparql/sparql11/protocol/manifest.ttl``:
the same requests (method, path, query string, content type, body), sent as raw bytes.
Adaptations, each deliberate:
- the endpoint path is ``/sparql`` (the manifest writes ``/sparql/``);
- the graphs the manifest names (``http://kasei.us/.../dataN.rdf``) are loaded from
  ``tests/fixtures/w3c-protocol/dataset.trig``, medkg's own minimal data;
- ``query_multiple_dataset`` sends its two ``named-graph-uri`` parameters separately (the
  manifest percent-encodes the second one into the first one's value);
- the server runs with a store and an update token, and every request carries the token,
  so the seven ``update_*`` cases are real writes (each followed by the manifest's check,
  as an ASK) and the ``bad_update_*`` cases fail for the protocol reason, not for lack of
  authorization. A write without a graph goes to ``graph:user``, so ``update_post_*`` are
  checked in the union default graph.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from server_process import RunningServer, running_server

FIXTURES = Path(__file__).parent / "fixtures"
DATASET = FIXTURES / "w3c-protocol" / "dataset.trig"
KASEI = "http://kasei.us/2009/09/sparql/data/"


def _g(n: int) -> str:
    return quote(f"{KASEI}data{n}.rdf", safe="")


def _q(text: str) -> str:
    return quote(text, safe="")


D1 = f"<{KASEI}data1.rdf>"
D2 = f"<{KASEI}data2.rdf>"
D3 = f"<{KASEI}data3.rdf>"
ASK_D1_D2 = f"ASK {{ {D1} a ?type . {D2} a ?type . }}"
ASK_NAMED = f"ASK {{ GRAPH ?g1 {{ {D1} a ?type }} GRAPH ?g2 {{ {D2} a ?type }} }}"
ASK_FULL = (
    f"ASK {{\n  {D3} a ?type\n  GRAPH ?g1 {{ {D1} a ?type }}\n  GRAPH ?g2 {{ {D2} a ?type }}\n}}"
)
ASK_MULTI = f"ASK FROM {D3} {{ GRAPH ?g1 {{ {D1} a ?type }} GRAPH ?g2 {{ {D2} a ?type }} }}"
FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UPDATE = "application/sparql-update"
UPDATE_TEXT = (
    "PREFIX dc: <http://purl.org/dc/terms/>\nPREFIX foaf: <http://xmlns.com/foaf/0.1/>\n"
    "CLEAR ALL ;\nINSERT DATA { GRAPH " + D1 + " { " + D1 + " a foaf:Document } } ;\n"
    "INSERT { GRAPH <http://example.org/protocol-update-dataset-test/> "
    "{ ?s a dc:BibliographicResource } } WHERE { ?s a foaf:Document }"
)

BOOLEAN_TYPES = ("application/sparql-results+json", "application/sparql-results+xml")
TABULAR_TYPES = (*BOOLEAN_TYPES, "text/csv", "text/tab-separated-values")
RDF_TYPES = (
    "text/turtle",
    "application/n-triples",
    "application/rdf+xml",
    "application/ld+json",
    "application/trig",
    "application/n-quads",
)


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    target: str
    content_type: str | None = None
    body: bytes = b""
    expect: str = "2xx"  # "2xx" or "4xx"
    result: str | None = None  # "true", "tabular", "boolean", "rdf"
    headers: dict[str, str] = field(default_factory=dict)
    check: str | None = None  # an ASK that must be true after an update


TEST_GRAPH = "<http://example.org/protocol-update-dataset-test/>"
BIBLIO = "<http://purl.org/dc/terms/BibliographicResource>"
TOKEN = "w3c-protocol-test-token-0123456789"


def _update(name: str, target: str, body: str, check: str, content_type: str = UPDATE) -> Case:
    return Case(name, "POST", target, content_type, body.encode(), check=check)


CASES = [
    Case(
        "query_post_form",
        "POST",
        f"/sparql?default-graph-uri={_g(0)}",
        FORM,
        b"query=ASK%20%7B%7D",
        result="true",
    ),
    Case(
        "query_dataset_default_graphs_get",
        "GET",
        f"/sparql?query={_q(ASK_D1_D2)}&default-graph-uri={_g(1)}&default-graph-uri={_g(2)}",
        result="true",
    ),
    Case(
        "query_dataset_default_graphs_post",
        "POST",
        f"/sparql?default-graph-uri={_g(1)}&default-graph-uri={_g(2)}",
        DIRECT,
        ASK_D1_D2.encode(),
        result="true",
    ),
    Case(
        "query_dataset_named_graphs_post",
        "POST",
        f"/sparql?named-graph-uri={_g(1)}&named-graph-uri={_g(2)}",
        DIRECT,
        ASK_NAMED.encode(),
        result="true",
    ),
    Case(
        "query_dataset_named_graphs_get",
        "GET",
        f"/sparql?query={_q(ASK_NAMED)}&named-graph-uri={_g(1)}&named-graph-uri={_g(2)}",
        result="true",
    ),
    Case(
        "query_dataset_full",
        "POST",
        f"/sparql?default-graph-uri={_g(3)}&named-graph-uri={_g(1)}&named-graph-uri={_g(2)}",
        DIRECT,
        ASK_FULL.encode(),
        result="true",
    ),
    Case(
        "query_multiple_dataset",
        "POST",
        f"/sparql?named-graph-uri={_g(1)}&named-graph-uri={_g(2)}",
        DIRECT,
        ASK_MULTI.encode(),
        result="true",
    ),
    Case(
        "query_get", "GET", f"/sparql?query=ASK%20%7B%7D&default-graph-uri={_g(0)}", result="true"
    ),
    Case(
        "query_content_type_select",
        "POST",
        f"/sparql?default-graph-uri={_g(0)}",
        DIRECT,
        b"SELECT (1 AS ?value) {}",
        result="tabular",
    ),
    Case(
        "query_content_type_ask",
        "POST",
        f"/sparql?default-graph-uri={_g(0)}",
        DIRECT,
        b"ASK {}",
        result="boolean",
    ),
    Case(
        "query_content_type_describe",
        "POST",
        f"/sparql?default-graph-uri={_g(0)}",
        DIRECT,
        b"DESCRIBE <http://example.org/>",
        result="rdf",
    ),
    Case(
        "query_content_type_construct",
        "POST",
        f"/sparql?default-graph-uri={_g(0)}",
        DIRECT,
        b"CONSTRUCT { <s> <p> 1 } WHERE {}",
        result="rdf",
    ),
    _update(
        "update_dataset_default_graph",
        f"/sparql?using-graph-uri={_g(1)}",
        UPDATE_TEXT,
        f"ASK {{ GRAPH {TEST_GRAPH} {{ {D1} a {BIBLIO} }} }}",
    ),
    _update(
        "update_dataset_default_graphs",
        f"/sparql?using-graph-uri={_g(1)}&using-graph-uri={_g(2)}",
        UPDATE_TEXT,
        f"ASK {{ GRAPH {TEST_GRAPH} {{ {D1} a {BIBLIO} }} }}",
    ),
    _update(
        "update_dataset_named_graphs",
        f"/sparql?using-named-graph-uri={_g(1)}&using-named-graph-uri={_g(2)}",
        UPDATE_TEXT,
        # USING NAMED only: the WHERE's default graph is empty, nothing is inserted.
        f"ASK {{ FILTER NOT EXISTS {{ GRAPH {TEST_GRAPH} {{ ?s ?p ?o }} }} }}",
    ),
    _update(
        "update_dataset_full",
        f"/sparql?using-graph-uri={_g(3)}&using-named-graph-uri={_g(1)}",
        UPDATE_TEXT,
        f"ASK {{ FILTER NOT EXISTS {{ GRAPH {TEST_GRAPH} {{ ?s ?p ?o }} }} }}",
    ),
    _update(
        "update_post_form",
        "/sparql",
        "update="
        + _q(
            "CLEAR ALL ; INSERT DATA { <http://example.org/s> "
            "<http://example.org/p> <http://example.org/o> }"
        ),
        "ASK { <http://example.org/s> <http://example.org/p> <http://example.org/o> }",
        FORM,
    ),
    _update(
        "update_post_direct",
        "/sparql",
        "INSERT DATA { <http://example.org/s> <http://example.org/p> <http://example.org/o> }",
        "ASK { <http://example.org/s> <http://example.org/p> <http://example.org/o> }",
    ),
    _update(
        "update_base_uri",
        "/sparql",
        "CLEAR GRAPH <http://example.org/protocol-base-test/> ;\nINSERT DATA { GRAPH "
        "<http://example.org/protocol-base-test/> { <http://example.org/s> "
        "<http://example.org/p> <test> } }",
        # The relative IRI resolves against the endpoint's URL.
        "ASK { GRAPH <http://example.org/protocol-base-test/> { <http://example.org/s> "
        '<http://example.org/p> ?o FILTER(isIRI(?o) && STRENDS(STR(?o), "/test") '
        '&& STRSTARTS(STR(?o), "http://127.0.0.1:")) } }',
    ),
    Case("query_post_direct", "POST", "/sparql", DIRECT, b"ASK {}", result="true"),
    Case(
        "bad_query_method",
        "PUT",
        f"/sparql?query=ASK%20%7B%7D&default-graph-uri={_g(0)}",
        FORM,
        expect="4xx",
    ),
    Case(
        "bad_multiple_queries",
        "GET",
        "/sparql?query=ASK%20%7B%7D&query=SELECT%20%2A%20%7B%7D",
        expect="4xx",
    ),
    Case("bad_query_wrong_media_type", "POST", "/sparql", "text/plain", b"ASK {}", expect="4xx"),
    Case(
        "bad_query_missing_form_type", "POST", "/sparql", None, b"query=ASK%20%7B%7D", expect="4xx"
    ),
    Case("bad_query_missing_direct_type", "POST", "/sparql", None, b"ASK {}", expect="4xx"),
    Case(
        "bad_query_non_utf8",
        "POST",
        "/sparql",
        "application/sparql-query; charset=UTF-16",
        "ASK {}".encode("utf-16"),
        expect="4xx",
    ),
    Case("bad_query_syntax", "GET", "/sparql?query=ASK%20%7B", expect="4xx"),
    Case("bad_update_get", "GET", "/sparql?update=CLEAR%20ALL", expect="4xx"),
    Case(
        "bad_multiple_updates",
        "POST",
        "/sparql",
        FORM,
        b"update=CLEAR%20NAMED&update=CLEAR%20DEFAULT",
        expect="4xx",
    ),
    Case(
        "bad_update_wrong_media_type", "POST", "/sparql", "text/plain", b"CLEAR NAMED", expect="4xx"
    ),
    Case(
        "bad_update_missing_form_type",
        "POST",
        "/sparql",
        None,
        b"update=CLEAR%20NAMED",
        expect="4xx",
    ),
    Case(
        "bad_update_non_utf8",
        "POST",
        "/sparql",
        "application/sparql-update; charset=UTF-16",
        "CLEAR NAMED".encode("utf-16"),
        expect="4xx",
    ),
    Case("bad_update_syntax", "POST", "/sparql", UPDATE, b"CLEAR XYZ", expect="4xx"),
    Case(
        "bad_update_dataset_conflict",
        "POST",
        f"/sparql?using-graph-uri={_g(1)}",
        UPDATE,
        b"PREFIX foaf: <http://xmlns.com/foaf/0.1/>\nINSERT { GRAPH <http://example.org/x> "
        b"{ ?s a foaf:Document } } USING <http://kasei.us/2009/09/sparql/data/data2.rdf> "
        b"WHERE { ?s a foaf:Document }",
        expect="4xx",
    ),
]


def test_all_34_cases_are_present() -> None:
    assert len(CASES) == 34
    assert len({c.name for c in CASES}) == 34


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    assert DATASET.is_file()
    store = tmp_path_factory.mktemp("w3c-store") / "store"
    with running_server(
        "--ontology-dir",
        str(FIXTURES / "kg" / "ontology"),
        "--data-dir",
        str(FIXTURES / "kg" / "data"),
        "--data",
        str(DATASET),
        "--no-cache",
        "--workers",
        "0",
        "--store",
        str(store),
        env={"MEDKG_UPDATE_TOKEN": TOKEN},
    ) as running:
        yield running


def _send(server: RunningServer, case: Case) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest(case.method, case.target, skip_accept_encoding=True)
        if case.content_type is not None:
            conn.putheader("Content-Type", case.content_type)
        conn.putheader("Content-Length", str(len(case.body)))
        conn.putheader("Authorization", f"Bearer {TOKEN}")
        for name, value in case.headers.items():
            conn.putheader(name, value)
        conn.endheaders(case.body)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        conn.close()


def _count_graph(server: RunningServer, graph: str) -> int:
    status, _, body = _send(
        server,
        Case(
            "count",
            "GET",
            "/sparql?query="
            + _q(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"),
            headers={"Accept": "application/sparql-results+json"},
        ),
    )
    assert status == 200
    return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_protocol_case(server: RunningServer, case: Case) -> None:
    before = _count_graph(server, f"{KASEI}data1.rdf")
    status, content_type, body = _send(server, case)
    media_type = content_type.split(";")[0].strip()
    if case.expect == "4xx":
        assert 400 <= status < 500, (status, body[:300])
        assert media_type == "application/problem+json", content_type
        problem = json.loads(body)
        assert problem["status"] == status and problem["detail"]
        assert _count_graph(server, f"{KASEI}data1.rdf") == before, "a refused request changed data"
        return
    assert 200 <= status < 400, (status, body[:300])
    if case.check is not None:
        status, _, answer = _send(
            server,
            Case(
                "check",
                "GET",
                "/sparql?query=" + _q(case.check),
                headers={"Accept": "application/sparql-results+json"},
            ),
        )
        assert status == 200 and json.loads(answer)["boolean"] is True, case.check
    if case.result in ("true", "boolean"):
        assert media_type in BOOLEAN_TYPES, content_type
        if case.result == "true":
            text = body.decode()
            assert ('"boolean":true' in text.replace(" ", "")) or "<boolean>true</boolean>" in text
    elif case.result == "tabular":
        assert media_type in TABULAR_TYPES, content_type
    elif case.result == "rdf":
        assert media_type in RDF_TYPES, content_type
