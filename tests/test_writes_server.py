"""Writes against the real server: SPARQL Update, the Graph Store Protocol, auth, refusals,
and re-inference. The server runs ``medkg serve --store DIR`` with an update token and a
query worker process (so every write also moves the worker to the new version).

Every refused request is followed by a check that the journal and the dataset are unchanged.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import fixture_server_args
from server_process import RunningServer, running_server

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UPDATE = "application/sparql-update"
TURTLE = "text/turtle"
G = "https://w3id.org/medkg/graph/"
USER = G + "user"
INFERRED = G + "inferred"
EX = "http://example.org/"
PREFIXES = (
    "PREFIX mkg: <https://w3id.org/medkg/ontology#>\n"
    "PREFIX res: <https://w3id.org/medkg/resource/>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)


@dataclass
class Writable:
    server: RunningServer
    http: httpx.Client

    def update(self, text: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post(
            "/sparql",
            content=(PREFIXES + text).encode(),
            headers={"Content-Type": UPDATE, **(AUTH if headers is None else headers)},
        )

    def ask(self, text: str) -> bool:
        response = self.http.get(
            "/sparql",
            params={"query": PREFIXES + text},
            headers={"Accept": "application/sparql-results+json"},
        )
        assert response.status_code == 200, response.text
        return bool(response.json()["boolean"])

    def state(self) -> tuple[int, bytes]:
        """The journal's length and the whole dataset (sorted N-Quads)."""
        health = self.http.get("/health").json()
        dump = self.http.get("/store", headers={"Accept": "application/n-quads"})
        assert dump.status_code == 200
        return int(health["writes"]["committed"]), b"\n".join(sorted(dump.content.splitlines()))


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Writable]:
    root = tmp_path_factory.mktemp("writes")
    with (
        running_server(
            *fixture_server_args(root, store=True, workers=1),
            env={"MEDKG_UPDATE_TOKEN": TOKEN, "MEDKG_MAX_UPLOAD_BYTES": "20000"},
        ) as server,
        httpx.Client(base_url=server.base_url, timeout=60) as http,
    ):
        yield Writable(server, http)


def _problem(response: httpx.Response, status: int, detail: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert detail in problem["detail"], problem
    return problem


# --------------------------------------------------------------------------------------------
# Re-inference


def test_insert_then_delete_keeps_inference_true(writable: Writable) -> None:
    assert not writable.ask("ASK { res:carol a mkg:Person }")
    response = writable.update("INSERT DATA { res:carol mkg:worksAt res:ward }")
    assert response.status_code == 204, response.text
    assert int(response.headers["MEDKG-Write-Seq"]) >= 1
    # Domain typing and the colleagues rule, read through the query worker.
    assert writable.ask("ASK { res:carol a mkg:Person ; mkg:colleagueOf res:alice }")
    assert writable.ask(f"ASK {{ GRAPH <{USER}> {{ res:carol mkg:worksAt res:ward }} }}")
    assert writable.ask(f"ASK {{ GRAPH <{INFERRED}> {{ res:alice mkg:colleagueOf res:carol }} }}")
    response = writable.update("DELETE DATA { res:carol mkg:worksAt res:ward }")
    assert response.status_code == 204, response.text
    assert not writable.ask("ASK { res:carol ?p ?o }")
    assert not writable.ask("ASK { ?s mkg:colleagueOf res:carol }")


# --------------------------------------------------------------------------------------------
# Every SPARQL Update operation form


UPDATE_FORMS = [
    # (name, update, ASK that must hold afterwards)
    (
        "insert-data-default",
        f"INSERT DATA {{ <{EX}a> <{EX}p> 1 }}",
        f"ASK {{ GRAPH <{USER}> {{ <{EX}a> <{EX}p> 1 }} }}",
    ),
    (
        "insert-data-graph",
        f"INSERT DATA {{ GRAPH <{EX}g1> {{ <{EX}a> <{EX}p> 2 }} }}",
        f"ASK {{ GRAPH <{EX}g1> {{ <{EX}a> <{EX}p> 2 }} }}",
    ),
    (
        "delete-data-graph",
        f"DELETE DATA {{ GRAPH <{EX}g1> {{ <{EX}a> <{EX}p> 2 }} }}",
        f"ASK {{ FILTER NOT EXISTS {{ GRAPH <{EX}g1> {{ <{EX}a> <{EX}p> 2 }} }} }}",
    ),
    (
        "delete-insert-where",
        f"DELETE {{ GRAPH <{USER}> {{ ?s <{EX}p> 1 }} }} INSERT {{ GRAPH <{USER}> "
        f"{{ ?s <{EX}p> 3 }} }} WHERE {{ GRAPH <{USER}> {{ ?s <{EX}p> 1 }} }}",
        f"ASK {{ <{EX}a> <{EX}p> 3 FILTER NOT EXISTS {{ <{EX}a> <{EX}p> 1 }} }}",
    ),
    (
        "with-delete-insert",
        f"WITH <{USER}> DELETE {{ ?s <{EX}p> 3 }} INSERT {{ ?s <{EX}q> 4 }} "
        f"WHERE {{ ?s <{EX}p> 3 }}",
        f"ASK {{ GRAPH <{USER}> {{ <{EX}a> <{EX}q> 4 }} }}",
    ),
    (
        "insert-where-reads-the-closure",
        f"INSERT {{ GRAPH <{EX}g2> {{ ?org <{EX}seen> true }} }} "
        "WHERE { ?org a mkg:Organization }",  # inferred: the hospital via subClassOf
        f"ASK {{ GRAPH <{EX}g2> {{ res:hospital <{EX}seen> true }} }}",
    ),
    (
        "delete-where",
        f"DELETE WHERE {{ GRAPH <{EX}g2> {{ ?s <{EX}seen> ?o }} }}",
        f"ASK {{ FILTER NOT EXISTS {{ ?s <{EX}seen> ?o }} }}",
    ),
    (
        "create-graph",
        f"CREATE GRAPH <{EX}g3>",
        f"ASK {{ FILTER NOT EXISTS {{ GRAPH <{EX}g3> {{ ?s ?p ?o }} }} }}",
    ),
    (
        "add-graphs",
        f"ADD <{USER}> TO <{EX}g3>",
        f"ASK {{ GRAPH <{EX}g3> {{ <{EX}a> <{EX}q> 4 }} }}",
    ),
    (
        "copy-graphs",
        f"COPY <{EX}g3> TO <{EX}g4>",
        f"ASK {{ GRAPH <{EX}g4> {{ <{EX}a> <{EX}q> 4 }} }}",
    ),
    (
        "move-graphs",
        f"MOVE <{EX}g4> TO <{EX}g5>",
        f"ASK {{ GRAPH <{EX}g5> {{ <{EX}a> <{EX}q> 4 }} "
        f"FILTER NOT EXISTS {{ GRAPH <{EX}g4> {{ ?s ?p ?o }} }} }}",
    ),
    (
        "clear-graph",
        f"CLEAR GRAPH <{EX}g5>",
        f"ASK {{ FILTER NOT EXISTS {{ GRAPH <{EX}g5> {{ ?s ?p ?o }} }} }}",
    ),
    (
        "drop-graph",
        f"DROP GRAPH <{EX}g3>",
        f"ASK {{ FILTER NOT EXISTS {{ GRAPH <{EX}g3> {{ ?s ?p ?o }} }} }}",
    ),
    (
        "clear-default-is-graph-user",
        "CLEAR DEFAULT",
        f"ASK {{ FILTER NOT EXISTS {{ GRAPH <{USER}> {{ ?s ?p ?o }} }} "
        "res:hospital a mkg:Hospital }",  # curated facts stay
    ),
    (
        "two-operations-one-request",
        f"INSERT DATA {{ <{EX}b> <{EX}p> 5 }} ; DELETE DATA {{ <{EX}b> <{EX}p> 5 }} ; "
        f"INSERT DATA {{ <{EX}b> <{EX}p> 6 }}",
        f"ASK {{ <{EX}b> <{EX}p> 6 FILTER NOT EXISTS {{ <{EX}b> <{EX}p> 5 }} }}",
    ),
]


@pytest.mark.parametrize(
    ("name", "update", "check"), UPDATE_FORMS, ids=[f[0] for f in UPDATE_FORMS]
)
def test_update_forms(writable: Writable, name: str, update: str, check: str) -> None:
    response = writable.update(update)
    assert response.status_code == 204, response.text
    assert writable.ask(check), name


def test_update_as_form_body_with_using_graph(writable: Writable) -> None:
    writable.update(f"INSERT DATA {{ GRAPH <{EX}src> {{ <{EX}c> a <{EX}Thing> }} }}")
    response = writable.http.post(
        "/sparql",
        data={
            "update": f"INSERT {{ GRAPH <{EX}dst> {{ ?s a <{EX}Copied> }} }} "
            f"WHERE {{ ?s a <{EX}Thing> }}",
            "using-graph-uri": f"{EX}src",
        },
        headers=AUTH,
    )
    assert response.status_code == 204, response.text
    assert writable.ask(f"ASK {{ GRAPH <{EX}dst> {{ <{EX}c> a <{EX}Copied> }} }}")


def test_delete_data_without_graph_keeps_curated_facts(writable: Writable) -> None:
    before = writable.state()
    response = writable.update("DELETE DATA { res:hospital a mkg:Hospital }")
    assert response.status_code == 204
    assert writable.ask("ASK { res:hospital a mkg:Hospital }")
    assert writable.state() == before  # nothing in graph:user to delete: no write committed


# --------------------------------------------------------------------------------------------
# Graph Store Protocol


def test_graph_store_verbs(writable: Writable) -> None:
    http, graph = writable.http, f"{EX}gsp"
    assert http.get("/store", params={"graph": graph}).status_code == 404
    assert http.head("/store", params={"graph": graph}).status_code == 404
    body = f"<{EX}d> <{EX}p> 1 .".encode()
    put = http.put("/store", params={"graph": graph}, content=body, headers=_upload(TURTLE))
    assert put.status_code == 201, put.text
    again = http.put("/store", params={"graph": graph}, content=body, headers=_upload(TURTLE))
    assert again.status_code == 204
    post = http.post(
        "/store",
        params={"graph": graph},
        content=f'<{EX}d> <{EX}p> "two" .'.encode(),
        headers=_upload("application/n-triples"),
    )
    assert post.status_code == 204, post.text
    got = http.get("/store", params={"graph": graph}, headers={"Accept": "application/n-triples"})
    assert got.status_code == 200 and got.headers["content-type"] == "application/n-triples"
    assert sorted(got.content.decode().splitlines()) == [
        f'<{EX}d> <{EX}p> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .',
        f'<{EX}d> <{EX}p> "two" .',
    ]
    head = http.head("/store", params={"graph": graph}, headers={"Accept": "text/turtle"})
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 0
    replaced = http.put(
        "/store",
        params={"graph": graph},
        content=json.dumps({"@id": f"{EX}e", f"{EX}p": 3}).encode(),
        headers=_upload("application/ld+json"),
    )
    assert replaced.status_code == 204
    assert writable.ask(f"ASK {{ GRAPH <{graph}> {{ <{EX}e> <{EX}p> 3 }} }}")
    assert not writable.ask(f"ASK {{ GRAPH <{graph}> {{ <{EX}d> ?p ?o }} }}")
    deleted = http.delete("/store", params={"graph": graph}, headers=AUTH)
    assert deleted.status_code == 204
    assert http.delete("/store", params={"graph": graph}, headers=AUTH).status_code == 404
    assert http.get("/store", params={"graph": graph}).status_code == 404


def test_graph_store_default_graph_is_graph_user(writable: Writable) -> None:
    http = writable.http
    body = f"<{EX}u> <{EX}p> 7 .".encode()
    assert http.post("/store?default", content=body, headers=_upload(TURTLE)).status_code in (
        201,
        204,
    )
    got = http.get("/store?default", headers={"Accept": "application/n-triples"})
    assert f"<{EX}u> <{EX}p> " in got.text
    assert writable.ask(f"ASK {{ GRAPH <{USER}> {{ <{EX}u> <{EX}p> 7 }} }}")


def test_graph_store_post_to_the_store_mints_a_graph(writable: Writable) -> None:
    response = writable.http.post(
        "/store", content=f"<{EX}m> <{EX}p> 8 .".encode(), headers=_upload(TURTLE)
    )
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    assert "/store?graph=" in location
    got = writable.http.get(location, headers={"Accept": "application/n-triples"})
    assert got.status_code == 200 and f"<{EX}m>" in got.text


def test_graph_store_dataset_upload_and_download(writable: Writable) -> None:
    trig = f"<{EX}t1> {{ <{EX}x> <{EX}p> 1 }} <{EX}t2> {{ <{EX}y> <{EX}p> 2 }}".encode()
    response = writable.http.post("/store", content=trig, headers=_upload("application/trig"))
    assert response.status_code == 204, response.text
    dump = writable.http.get("/store", headers={"Accept": "application/trig"})
    assert dump.status_code == 200 and dump.headers["content-type"] == "application/trig"
    assert f"<{EX}t1>" in dump.text and f"<{EX}t2>" in dump.text
    assert writable.http.get("/store", headers={"Accept": "text/turtle"}).status_code == 406


def test_graph_store_reads_inferred_and_virtual_graphs(writable: Writable) -> None:
    for graph in (INFERRED, G + "all", G + "asserted"):
        got = writable.http.get("/store", params={"graph": graph})
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/turtle")


def test_blank_nodes_of_an_upload_are_fresh(writable: Writable) -> None:
    body = b"_:b1 <http://example.org/p> 1 ."
    for _ in range(2):
        writable.http.post(
            "/store", params={"graph": f"{EX}bn"}, content=body, headers=_upload(TURTLE)
        )
    got = writable.http.get(
        "/store", params={"graph": f"{EX}bn"}, headers={"Accept": "application/n-triples"}
    )
    assert len(got.text.splitlines()) == 2


# --------------------------------------------------------------------------------------------
# Authentication and CORS


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "a valid bearer token is required"),
        ({"Authorization": "Bearer wrong-token-0123456789"}, "not valid"),
        ({"Authorization": f"Basic {TOKEN}"}, "a valid bearer token is required"),
        ({"Authorization": "Bearer"}, "a valid bearer token is required"),
    ],
)
def test_writes_without_a_valid_token_are_refused(
    writable: Writable, headers: dict[str, str], detail: str
) -> None:
    before = writable.state()
    requests = [
        writable.update(f"INSERT DATA {{ <{EX}z> <{EX}p> 1 }}", headers=headers),
        writable.http.post(
            "/sparql", data={"update": f"INSERT DATA {{ <{EX}z> <{EX}p> 1 }}"}, headers=headers
        ),
        writable.http.put(
            "/store?default", content=b"", headers={"Content-Type": TURTLE, **headers}
        ),
        writable.http.post(
            "/store?default", content=b"", headers={"Content-Type": TURTLE, **headers}
        ),
        writable.http.delete("/store", params={"graph": USER}, headers=headers),
    ]
    for response in requests:
        _problem(response, 401, detail)
        assert response.headers["www-authenticate"] == 'Bearer realm="medkg"'
    assert writable.state() == before


def test_cors_preflight_for_an_authenticated_write(writable: Writable) -> None:
    response = writable.http.options(
        "/store",
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert "PUT" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


def test_reads_need_no_token(writable: Writable) -> None:
    assert writable.http.get("/store", params={"graph": G + "units"}).status_code == 200


# --------------------------------------------------------------------------------------------
# Refused inputs change nothing


def _upload(content_type: str) -> dict[str, str]:
    return {"Content-Type": content_type, **AUTH}


REFUSALS = [
    # (name, method, path, params, content type, body, status, detail)
    ("update syntax", "POST", "/sparql", {}, UPDATE, b"INSERT DATA { <a> <b> }", 400, "syntax"),
    (
        "LOAD",
        "POST",
        "/sparql",
        {},
        UPDATE,
        b"LOAD <http://127.0.0.1:9/data.ttl>",
        400,
        "LOAD is not supported",
    ),
    (
        "SERVICE",
        "POST",
        "/sparql",
        {},
        UPDATE,
        b"INSERT { <http://e/a> <http://e/b> ?o } WHERE { SERVICE <http://127.0.0.1:9/> "
        b"{ ?s ?p ?o } }",
        400,
        "SERVICE is not supported",
    ),
    (
        "write into graph:inferred",
        "POST",
        "/sparql",
        {},
        UPDATE,
        f"INSERT DATA {{ GRAPH <{INFERRED}> {{ <{EX}a> <{EX}p> 1 }} }}".encode(),
        403,
        "graph:inferred is computed",
    ),
    (
        "PUT graph:inferred",
        "PUT",
        "/store",
        {"graph": INFERRED},
        TURTLE,
        b"",
        403,
        "graph:inferred is computed",
    ),
    (
        "PUT a virtual graph",
        "PUT",
        "/store",
        {"graph": G + "all"},
        TURTLE,
        b"",
        403,
        "union of graphs",
    ),
    (
        "malformed Turtle",
        "PUT",
        "/store",
        {"graph": f"{EX}bad"},
        TURTLE,
        b"<http://e/a> <http://e/b> <http://e/c> .\n<http://e/a> <http://e/b> .",
        400,
        "request body:2:",
    ),
    (
        "RDF/XML with a DOCTYPE",
        "POST",
        "/store",
        {"graph": f"{EX}bad"},
        "application/rdf+xml",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>',
        400,
        "DOCTYPE",
    ),
    (
        "JSON-LD with a remote context",
        "POST",
        "/store",
        {"graph": f"{EX}bad"},
        "application/ld+json",
        b'{"@context": "http://127.0.0.1:9/context.jsonld", "@id": "http://e/a"}',
        400,
        "remote @context",
    ),
    (
        "SHACL violation",
        "POST",
        "/sparql",
        {},
        UPDATE,
        b"INSERT DATA { <https://w3id.org/medkg/resource/nameless> a "
        b"<https://w3id.org/medkg/ontology#Hospital> }",
        422,
        "an organization needs a label",
    ),
    (
        "inconsistency",
        "POST",
        "/sparql",
        {},
        UPDATE,
        b"INSERT DATA { <http://e/a> <http://www.w3.org/2002/07/owl#sameAs> <http://e/b> . "
        b"<http://e/a> <http://www.w3.org/2002/07/owl#differentFrom> <http://e/b> }",
        422,
        "inconsistent",
    ),
    (
        "upload over the size limit",
        "POST",
        "/store",
        {"graph": f"{EX}big"},
        TURTLE,
        b"# " + b"x" * 30_000,
        413,
        "larger than 20000 bytes",
    ),
    (
        "unknown upload media type",
        "POST",
        "/store",
        {"graph": f"{EX}bad"},
        "text/plain",
        b"hello",
        415,
        "text/plain",
    ),
    ("DELETE of the dataset", "DELETE", "/store", {}, None, b"", 400, "needs a target"),
    (
        "graph and default",
        "PUT",
        "/store",
        {"graph": f"{EX}x", "default": ""},
        TURTLE,
        b"",
        400,
        "both graph and default",
    ),
    (
        "PUT the dataset with Turtle",
        "PUT",
        "/store",
        {},
        TURTLE,
        b"",
        400,
        "needs a TriG or N-Quads body",
    ),
    (
        "named graphs into one graph",
        "POST",
        "/store",
        {"graph": f"{EX}x"},
        "application/trig",
        b"<http://e/g> { <http://e/a> <http://e/b> 1 }",
        400,
        "names graphs",
    ),
    (
        "gzip-compressed body",
        "POST",
        "/store",
        {"graph": f"{EX}x"},
        TURTLE,
        gzip.compress(b"<http://e/a> <http://e/b> 1 ."),
        400,
        "not UTF-8",
    ),
]


@pytest.mark.parametrize(
    ("name", "method", "path", "params", "content_type", "body", "status", "detail"),
    REFUSALS,
    ids=[r[0] for r in REFUSALS],
)
def test_refused_writes_change_nothing(
    writable: Writable,
    name: str,
    method: str,
    path: str,
    params: dict[str, str],
    content_type: str | None,
    body: bytes,
    status: int,
    detail: str,
) -> None:
    before = writable.state()
    headers = dict(AUTH)
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = writable.http.request(method, path, params=params, content=body, headers=headers)
    problem = _problem(response, status, detail)
    if name == "malformed Turtle":
        assert (problem["line"], problem["column"]) == (2, 27)
    assert writable.state() == before
    assert writable.http.get("/health").json()["ready"]


def test_server_without_a_token_refuses_every_write(tmp_path: Path) -> None:
    with (
        running_server(
            *fixture_server_args(tmp_path, workers=0),
        ) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        for response in (
            http.post("/sparql", content=b"CLEAR ALL", headers={"Content-Type": UPDATE, **AUTH}),
            http.put("/store?default", content=b"", headers=_upload(TURTLE)),
            http.delete("/store?default", headers=AUTH),
        ):
            _problem(response, 403, "writes are disabled")
        assert http.get("/health").json()["writes"] == {"enabled": False, "committed": 0}


def test_service_description_advertises_update(writable: Writable) -> None:
    response = writable.http.get("/sparql", headers={"Accept": "application/n-triples"})
    assert response.status_code == 200
    update = "<http://www.w3.org/ns/sparql-service-description#SPARQL11Update>"
    assert f"<http://www.w3.org/ns/sparql-service-description#supportedLanguage> {update}" in (
        response.text
    )
