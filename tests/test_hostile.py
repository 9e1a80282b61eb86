"""Hostile input against the real server: each request gets a precise answer, the server
keeps answering, no data changes, and nothing connects out (a loopback listener records
every attempt).

The server runs with writes enabled (a store and a token), a 3 s query time limit, a
100-row cap and small size limits, so that every limit is reached quickly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
import pytest

from conftest import fixture_server_args
from listener import Listener
from server_process import RunningServer, running_server

TOKEN = "hostile-suite-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UPDATE = "application/sparql-update"
JSON = "application/sparql-results+json"


@dataclass
class Hostile:
    server: RunningServer
    http: httpx.Client
    listener: Listener

    def state(self) -> tuple[int, bytes]:
        seq = self.http.get("/health").json()["writes"]["committed"]
        dump = self.http.get("/store", headers={"Accept": "application/n-quads"})
        return int(seq), b"\n".join(sorted(dump.content.splitlines()))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    root = tmp_path_factory.mktemp("hostile")
    listener = Listener()
    env = {
        "MEDKG_UPDATE_TOKEN": TOKEN,
        "MEDKG_MAX_ROWS": "100",
        "MEDKG_MAX_QUERY_BYTES": "200000",
        "MEDKG_MAX_URL_BYTES": "8000",
        "MEDKG_MAX_UPLOAD_BYTES": "50000",
        "MEDKG_MAX_NESTING": "100",
        "MEDKG_CLIENT_RATE": "0",
        "MEDKG_CLIENT_CONCURRENCY": "0",
    }
    with (
        running_server(
            *fixture_server_args(root, store=True, workers=1), "--timeout", "3", env=env
        ) as server,
        httpx.Client(base_url=server.base_url, timeout=60) as http,
    ):
        yield Hostile(server, http, listener)
    listener.close()


@dataclass(frozen=True)
class Attack:
    name: str
    method: str
    path: str  # with its query string, sent as is
    status: int
    detail: str  # in the problem's detail ("" for a 2xx)
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _q(text: str) -> str:
    return quote(text, safe="")


WIDE = "SELECT * WHERE { " + " ".join(f"?s <http://e/p{i}> ?o{i} ." for i in range(300)) + " }"


LOOPBACK = "http://127.0.0.1:{port}/"  # filled in with the listener's port
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 '
    b'"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;'
    b'&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]><rdf:RDF xmlns:rdf='
    b'"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="http://e/a">'
    b"<rdf:value>&lol2;</rdf:value></rdf:Description></rdf:RDF>"
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'rdf:about="http://e/a"><rdf:value>&x;</rdf:value></rdf:Description></rdf:RDF>'
)

ATTACKS = [
    Attack("malformed query", "GET", "/sparql?query=" + _q("SELECT WHERE {"), 400, "syntax"),
    Attack("empty query", "GET", "/sparql?query=", 400, "empty query"),
    Attack(
        "blank query",
        "POST",
        "/sparql",
        400,
        "empty query",
        b"   ",
        {"Content-Type": "application/sparql-query"},
    ),
    Attack(
        "two queries", "GET", "/sparql?query=ASK%7B%7D&query=ASK%7B%7D", 400, "2 query parameters"
    ),
    Attack(
        "query and update",
        "GET",
        "/sparql?query=ASK%7B%7D&update=CLEAR%20ALL",
        400,
        "both a query and an update",
    ),
    Attack("update by GET", "GET", "/sparql?update=CLEAR%20ALL", 400, "must be sent with POST"),
    Attack("wrong method", "PATCH", "/sparql?query=ASK%7B%7D", 405, "method PATCH"),
    Attack("wrong method on /store", "PATCH", "/store", 405, "method PATCH"),
    Attack(
        "wrong content type",
        "POST",
        "/sparql",
        415,
        "text/plain",
        b"ASK {}",
        {"Content-Type": "text/plain"},
    ),
    Attack("no content type", "POST", "/sparql", 415, "without Content-Type", b"ASK {}"),
    Attack("invalid UTF-8", "GET", "/sparql?query=ASK%FF", 400, "not UTF-8"),
    Attack("lone surrogate", "GET", "/sparql?query=ASK%ED%A0%80", 400, "not UTF-8"),
    Attack(
        "invalid UTF-8 body",
        "POST",
        "/sparql",
        400,
        "not UTF-8",
        b"ASK {\xc3}",
        {"Content-Type": "application/sparql-query"},
    ),
    Attack(
        "undefined prefix",
        "GET",
        "/sparql?query=" + _q("SELECT * WHERE { ?s nope:p ?o }"),
        400,
        "undeclared prefix 'nope:'",
    ),
    Attack(
        "invalid IRI",
        "GET",
        "/sparql?query=" + _q("SELECT * WHERE { <http://a b> ?p ?o }"),
        400,
        "syntax",
    ),
    Attack(
        "2000 levels of nesting",
        "POST",
        "/sparql",
        400,
        "nesting too deep",
        ("SELECT * WHERE " + "{" * 2000 + "}" * 2000).encode(),
        {"Content-Type": "application/sparql-query"},
    ),
    Attack(
        "2000 parentheses",
        "POST",
        "/sparql",
        400,
        "nesting too deep",
        ("ASK { FILTER(" + "(" * 2000 + "1" + ")" * 2000 + ") }").encode(),
        {"Content-Type": "application/sparql-query"},
    ),
    Attack(
        "300 triple patterns",
        "POST",
        "/sparql",
        200,
        "",
        WIDE.encode(),
        {"Content-Type": "application/sparql-query", "Accept": JSON},
    ),
    Attack(
        "query body too large",
        "POST",
        "/sparql",
        413,
        "larger than 200000 bytes",
        b"#" * 200_001,
        {"Content-Type": "application/sparql-query"},
    ),
    Attack("URL too long", "GET", "/sparql?query=" + "A" * 9000, 414, "longer than 8000 bytes"),
    Attack(
        "upload too large",
        "POST",
        "/store?graph=http%3A%2F%2Fe%2Fbig",
        413,
        "larger than 50000 bytes",
        b"#" * 50_001,
        {"Content-Type": "text/turtle", **AUTH},
    ),
    Attack(
        "unknown Accept",
        "GET",
        "/sparql?query=ASK%7B%7D",
        406,
        "no acceptable representation",
        headers={"Accept": "application/x-nonsense"},
    ),
    Attack(
        "malformed Accept",
        "GET",
        "/sparql?query=ASK%7B%7D",
        200,  # a malformed Accept is ignored: the default format
        "",
        headers={"Accept": ";;q=x,,/"},
    ),
    Attack(
        "cartesian product",
        "GET",
        "/sparql?query="
        + _q(
            "SELECT (COUNT(*) AS ?n) WHERE "
            "{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o }"
        ),
        503,
        "time limit of 3 s",
    ),
    Attack(
        "unbounded property path",
        "GET",
        "/sparql?query="
        + _q("SELECT (COUNT(*) AS ?n) WHERE { ?s (<http://e/p>|!<http://e/p>)* ?o }"),
        200,  # answered within the time limit
        "",
        headers={"Accept": JSON},
    ),
    Attack(
        "catastrophic REGEX",
        "GET",
        "/sparql?query=" + _q('ASK { FILTER(REGEX("' + "a" * 40 + '!", "^(a+)+$")) }'),
        200,
        "",
        headers={"Accept": JSON},
    ),
    Attack(
        "unbounded result",
        "GET",
        "/sparql?query=" + _q("SELECT * WHERE { ?s ?p ?o . ?x ?y ?z }"),
        200,
        "",
        headers={"Accept": JSON},
    ),
    Attack(
        "SERVICE",
        "GET",
        "/sparql?query=" + _q("SELECT * WHERE { SERVICE <{loopback}sparql> { ?s ?p ?o } }"),
        400,
        "SERVICE is not supported",
    ),
    Attack(
        "FROM http",
        "GET",
        "/sparql?query=" + _q("ASK FROM <{loopback}data.ttl> { ?s ?p ?o }"),
        200,
        "",
        headers={"Accept": JSON},
    ),
    Attack(
        "FROM NAMED http",
        "GET",
        "/sparql?query=" + _q("ASK FROM NAMED <{loopback}data.ttl> { GRAPH ?g { ?s ?p ?o } }"),
        200,
        "",
        headers={"Accept": JSON},
    ),
    Attack(
        "FROM file",
        "GET",
        "/sparql?query=" + _q("ASK FROM <file:///etc/passwd> { ?s ?p ?o }"),
        200,
        "",
        headers={"Accept": JSON},
    ),
    Attack(
        "LOAD",
        "POST",
        "/sparql",
        400,
        "LOAD is not supported",
        b"LOAD <{loopback}data.ttl>",
        {"Content-Type": UPDATE, **AUTH},
    ),
    Attack(
        "LOAD file",
        "POST",
        "/sparql",
        400,
        "LOAD is not supported",
        b"LOAD <file:///etc/passwd> INTO GRAPH <http://e/g>",
        {"Content-Type": UPDATE, **AUTH},
    ),
    Attack(
        "remote JSON-LD context",
        "POST",
        "/store?graph=http%3A%2F%2Fe%2Fj",
        400,
        "remote @context",
        b'{"@context": "{loopback}ctx.jsonld", "@id": "http://e/a"}',
        {"Content-Type": "application/ld+json", **AUTH},
    ),
    Attack(
        "entity bomb",
        "POST",
        "/store?graph=http%3A%2F%2Fe%2Fx",
        400,
        "DOCTYPE",
        BOMB,
        {"Content-Type": "application/rdf+xml", **AUTH},
    ),
    Attack(
        "XXE",
        "POST",
        "/store?graph=http%3A%2F%2Fe%2Fx",
        400,
        "DOCTYPE",
        XXE,
        {"Content-Type": "application/rdf+xml", **AUTH},
    ),
    Attack(
        "unauthenticated update",
        "POST",
        "/sparql",
        401,
        "bearer token is required",
        b"CLEAR ALL",
        {"Content-Type": UPDATE},
    ),
    Attack(
        "wrong token",
        "POST",
        "/sparql",
        401,
        "not valid",
        b"CLEAR ALL",
        {"Content-Type": UPDATE, "Authorization": "Bearer not-the-token-0123456789"},
    ),
    Attack(
        "unauthenticated upload",
        "PUT",
        "/store?default",
        401,
        "bearer token is required",
        b"",
        {"Content-Type": "text/turtle"},
    ),
    Attack(
        "unauthenticated delete",
        "DELETE",
        "/store?graph=https%3A%2F%2Fw3id.org%2Fmedkg%2Fgraph%2Funits",
        401,
        "bearer token is required",
    ),
]


def _wait_ready(hostile: Hostile) -> None:
    for _ in range(300):
        health = hostile.http.get("/health")
        assert health.status_code == 200
        if health.json()["ready"]:
            return
        time.sleep(0.1)
    raise AssertionError("the server did not become ready again")


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_hostile_request(hostile: Hostile, attack: Attack) -> None:
    loopback = LOOPBACK.format(port=hostile.listener.port)
    path = attack.path.replace(_q("{loopback}"), _q(loopback)).replace("{loopback}", loopback)
    body = attack.body.replace(b"{loopback}", loopback.encode())
    before = hostile.state()
    response = hostile.http.request(attack.method, path, content=body, headers=attack.headers)
    assert response.status_code == attack.status, response.text[:500]
    if attack.status >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert attack.detail in response.json()["detail"], response.json()
        assert "Traceback" not in response.text
    if attack.name.startswith("FROM"):
        assert response.json()["boolean"] is False  # an empty graph: nothing was fetched
    if attack.name == "unbounded result":
        assert response.headers["medkg-result-truncated"] == "true"
        assert len(response.json()["results"]["bindings"]) == 100
    _wait_ready(hostile)  # a killed query's worker is being replaced
    assert hostile.state() == before
    hostile.listener.wait_for(1, seconds=0.2)
    assert hostile.listener.attempts == 0


def test_owl_imports_cycle_is_data_not_a_fetch(hostile: Hostile) -> None:
    loopback = LOOPBACK.format(port=hostile.listener.port)
    body = (
        f"<{loopback}a> a <http://www.w3.org/2002/07/owl#Ontology> ; "
        f"<http://www.w3.org/2002/07/owl#imports> <{loopback}b> .\n"
        f"<{loopback}b> a <http://www.w3.org/2002/07/owl#Ontology> ; "
        f"<http://www.w3.org/2002/07/owl#imports> <{loopback}a> .\n"
    ).encode()
    response = hostile.http.put(
        "/store",
        params={"graph": "http://e/imports"},
        content=body,
        headers={"Content-Type": "text/turtle", **AUTH},
    )
    assert response.status_code == 201, response.text
    hostile.listener.wait_for(1, seconds=0.5)
    assert hostile.listener.attempts == 0
    assert (
        hostile.http.delete(
            "/store", params={"graph": "http://e/imports"}, headers=AUTH
        ).status_code
        == 204
    )


def test_markup_control_and_rtl_labels_render_as_text(hostile: Hostile) -> None:
    label = '<script>alert(1)</script><b onmouseover="x">bold</b> \\u0007 \\u202Eevil'
    update = (
        "INSERT DATA { <https://w3id.org/medkg/resource/hostile-label> "
        "a <https://w3id.org/medkg/ontology#Hospital> ; "
        "<http://www.w3.org/2000/01/rdf-schema#label> '''" + label + "''' }"
    )
    response = hostile.http.post(
        "/sparql", content=update.encode(), headers={"Content-Type": UPDATE, **AUTH}
    )
    assert response.status_code == 204, response.text
    page = hostile.http.get("/resource/hostile-label.html")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert 'onmouseover="x"' not in page.text
    assert "\u0007" not in page.text and "\u202e" not in page.text
    assert "\\u0007" in page.text and "\\u202E" in page.text  # shown, not obeyed
