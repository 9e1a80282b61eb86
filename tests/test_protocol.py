"""The SPARQL protocol read side: request parts -> QueryJob, DescriptionRequest or error."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pytest

from medkg.config import Settings
from medkg.errors import MedkgError, MethodNotAllowed, ProtocolError, QueryTooComplex
from medkg.execution import QueryJob
from medkg.protocol import (
    DescriptionRequest,
    UpdateJob,
    media_type_of,
    parse_params,
    parse_request,
)

FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UPDATE = "application/sparql-update"
ASK = "ASK {}"
Q = quote(ASK, safe="")
G1, G2 = "http://example.org/g1", "http://example.org/g2"
UNICODE = 'ASK { ?s ?p "é" }'


@dataclass(frozen=True)
class Request:
    method: str = "GET"
    query_string: str = ""
    content_type: str | None = None
    body: bytes = b""

    def parse(
        self, settings: Settings, **kwargs: object
    ) -> QueryJob | UpdateJob | DescriptionRequest:
        return parse_request(
            self.method,
            self.query_string.encode(),
            self.content_type,
            self.body,
            settings=settings,
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture
def limits() -> Settings:
    return Settings(max_query_bytes=200, max_url_bytes=300, max_nesting=5, max_rows=7)


@pytest.mark.parametrize(
    ("request_", "query", "default", "named", "format_name"),
    [
        (Request(query_string=f"query={Q}"), ASK, (), (), None),
        (Request("HEAD", f"query={Q}"), ASK, (), (), None),
        (Request(query_string="query=ASK+%7B%7D"), ASK, (), (), None),
        (Request("POST", "", FORM, f"query={Q}".encode()), ASK, (), (), None),
        (Request("POST", "", f"{FORM}; charset=UTF-8", f"query={Q}".encode()), ASK, (), (), None),
        (Request("POST", "", DIRECT, ASK.encode()), ASK, (), (), None),
        (Request("POST", "", f"{DIRECT}; charset=utf-8", ASK.encode()), ASK, (), (), None),
        (Request("POST", "", "Application/SPARQL-Query", ASK.encode()), ASK, (), (), None),
        (
            Request(
                query_string=f"query={Q}&default-graph-uri={quote(G1)}&default-graph-uri={quote(G2)}"
            ),
            ASK,
            (G1, G2),
            (),
            None,
        ),
        (
            Request("POST", f"named-graph-uri={quote(G1)}", DIRECT, ASK.encode()),
            ASK,
            (),
            (G1,),
            None,
        ),
        (
            Request(
                "POST",
                f"default-graph-uri={quote(G1)}",
                FORM,
                f"query={Q}&named-graph-uri={G2}".encode(),
            ),
            ASK,
            (G1,),
            (G2,),
            None,
        ),
        (Request(query_string=f"query={Q}&format=json"), ASK, (), (), "json"),
        (Request(query_string=f"query={Q}&output=xml&results=xml"), ASK, (), (), "xml,xml"),
        (
            Request(query_string=f"query={Q}&format=tsv&format=text%2Ftab-separated-values"),
            ASK,
            (),
            (),
            "tsv,text/tab-separated-values",
        ),
        (Request(query_string=f"query={Q}&format="), ASK, (), (), None),
        (Request(query_string=f"query={Q}&unknown=1&timeout=5"), ASK, (), (), None),
        (
            Request(query_string="query=" + quote(UNICODE)),
            UNICODE,
            (),
            (),
            None,
        ),
    ],
)
def test_requests_that_make_a_job(
    limits: Settings,
    request_: Request,
    query: str,
    default: tuple[str, ...],
    named: tuple[str, ...],
    format_name: str | None,
) -> None:
    job = request_.parse(limits, accept="text/csv", base_iri="http://host/sparql")
    assert isinstance(job, QueryJob)
    assert job.query == query
    assert (job.default_graph_uris, job.named_graph_uris) == (default, named)
    assert job.format_name == format_name
    assert (job.accept, job.base_iri, job.max_rows) == ("text/csv", "http://host/sparql", 7)


@pytest.mark.parametrize(
    ("request_", "format_name"),
    [
        (Request(), None),
        (Request("HEAD"), None),
        (Request(query_string="format=json-ld"), "json-ld"),
        (Request(query_string=f"default-graph-uri={quote(G1)}"), None),
    ],
)
def test_get_without_query_asks_for_the_description(
    limits: Settings, request_: Request, format_name: str | None
) -> None:
    assert request_.parse(limits) == DescriptionRequest(format_name)


@pytest.mark.parametrize(
    ("request_", "status", "detail"),
    [
        (Request("PUT", f"query={Q}"), 405, "method PUT"),
        (Request("DELETE"), 405, "method DELETE"),
        (Request("OPTIONS"), 405, "method OPTIONS"),
        (Request(query_string=f"query={Q}&query={Q}"), 400, "2 query parameters"),
        (Request("POST", f"query={Q}", DIRECT, ASK.encode()), 400, "2 query parameters"),
        (Request("POST", "", FORM, f"query={Q}&query={Q}".encode()), 400, "2 query parameters"),
        (Request(query_string="update=CLEAR+ALL"), 400, "updates must be sent with POST"),
        (Request(query_string=f"query={Q}&update=CLEAR+ALL"), 400, "both a query and an update"),
        (Request("POST", "", FORM, b"update=A&update=B"), 400, "2 update parameters"),
        (Request("POST", "", FORM, b"update=+"), 400, "empty update"),
        (Request("POST", f"query={Q}", UPDATE, b"CLEAR ALL"), 400, "both a query"),
        (Request("POST", "", f"{UPDATE}; charset=latin-1", b"CLEAR ALL"), 400, "must be UTF-8"),
        (Request("POST", "", UPDATE, b"INSERT DATA {" * 8), 400, "nesting too deep"),
        (
            Request("POST", "using-graph-uri=rel", UPDATE, b"CLEAR ALL"),
            400,
            "using-graph-uri is not an absolute IRI",
        ),
        (Request("POST", "", None, f"query={Q}".encode()), 415, "without Content-Type"),
        (Request("POST", "", "text/plain", ASK.encode()), 415, "'text/plain'"),
        (Request("POST", "", "application/json", b"{}"), 415, "supported: application/x-www"),
        (Request("POST", "", FORM, b""), 400, "missing query"),
        (Request("POST", "", DIRECT, b""), 400, "empty query"),
        (Request("POST", "", DIRECT, b"  \n "), 400, "empty query"),
        (Request(query_string="query="), 400, "empty query"),
        (Request("POST", "", DIRECT, "ASK {}".encode("utf-16")), 400, "not UTF-8"),
        (Request("POST", "", f"{DIRECT}; charset=UTF-16", ASK.encode()), 400, "must be UTF-8"),
        (Request("POST", "", FORM, b"query=ASK%FF"), 400, "form body is not UTF-8"),
        (Request(query_string="query=%FF"), 400, "query string is not UTF-8"),
        (Request("POST", "", DIRECT, b"ASK { " + b"#" * 300 + b" }"), 413, "larger than 200"),
        (Request(query_string="query=" + "A" * 400), 414, "longer than 300"),
        (Request(query_string="query=" + quote("ASK {{{{{{ }}}}}}")), 400, "nesting too deep"),
        (Request("POST", "", DIRECT, b"SELECT * { FILTER((((((1))))))}"), 400, "nesting too deep"),
        (Request(query_string=f"query={Q}&default-graph-uri=nope"), 400, "not an absolute IRI"),
        (Request(query_string=f"query={Q}&named-graph-uri="), 400, "not an absolute IRI"),
    ],
)
def test_requests_that_fail(limits: Settings, request_: Request, status: int, detail: str) -> None:
    with pytest.raises(MedkgError) as info:
        request_.parse(limits)
    assert info.value.http_status == status
    assert detail in str(info.value)


@pytest.mark.parametrize(
    ("request_", "update", "using", "using_named"),
    [
        (Request("POST", "", FORM, b"update=CLEAR+ALL"), "CLEAR ALL", (), ()),
        (Request("POST", "", UPDATE, b"CLEAR ALL"), "CLEAR ALL", (), ()),
        (
            Request(
                "POST",
                f"using-graph-uri={quote(G1)}&using-named-graph-uri={quote(G2)}",
                f"{UPDATE}; charset=utf-8",
                b"CLEAR ALL",
            ),
            "CLEAR ALL",
            (G1,),
            (G2,),
        ),
        (
            Request("POST", "", FORM, f"update=CLEAR+ALL&using-graph-uri={quote(G2)}".encode()),
            "CLEAR ALL",
            (G2,),
            (),
        ),
    ],
)
def test_requests_that_make_an_update_job(
    limits: Settings,
    request_: Request,
    update: str,
    using: tuple[str, ...],
    using_named: tuple[str, ...],
) -> None:
    job = request_.parse(limits, base_iri="http://host/sparql")
    assert isinstance(job, UpdateJob)
    assert (job.update, job.using_graph_uris, job.using_named_graph_uris) == (
        update,
        using,
        using_named,
    )
    assert job.base_iri == "http://host/sparql"


def test_update_job_writes_the_protocol_dataset_as_using_clauses() -> None:
    job = UpdateJob(
        "INSERT { ?s ?p ?o } WHERE { ?s ?p ?o }",
        using_graph_uris=(G1,),
        using_named_graph_uris=(G2,),
    )
    assert (
        job.text() == f"INSERT {{ ?s ?p ?o }} USING <{G1}> USING NAMED <{G2}> WHERE {{ ?s ?p ?o }}"
    )
    with pytest.raises(ProtocolError, match="cannot be combined with WITH"):
        UpdateJob(f"WITH <{G1}> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}", (G2,)).text()
    with pytest.raises(ProtocolError, match="cannot apply to DELETE WHERE"):
        UpdateJob("DELETE WHERE { ?s ?p ?o }", (G2,)).text()


def test_too_many_parameters() -> None:
    with pytest.raises(MedkgError, match="more than 1000 parameters") as info:
        Request(query_string=f"query={Q}&" + "a=1&" * 1001).parse(Settings())
    assert info.value.http_status == 400


def test_method_not_allowed_names_the_allowed_methods(limits: Settings) -> None:
    with pytest.raises(MethodNotAllowed) as info:
        Request("PATCH").parse(limits)
    assert info.value.http_headers() == {"Allow": "GET, HEAD, POST"}


def test_nesting_error_has_a_position(limits: Settings) -> None:
    with pytest.raises(QueryTooComplex) as info:
        Request("POST", "", DIRECT, b"SELECT * WHERE {\n {{{{{ }}}}} }").parse(limits)
    assert (info.value.line, info.value.column) == (2, 6)


def test_media_type_of() -> None:
    assert media_type_of('Application/SPARQL-Query ; charset="utf-8"') == (
        "application/sparql-query",
        {"charset": "utf-8"},
    )
    assert media_type_of(None) == ("", {})


def test_parse_params_keeps_order_blanks_and_repeats() -> None:
    assert parse_params(b"a=1&b=&a=2&c", "query string") == [
        ("a", "1"),
        ("b", ""),
        ("a", "2"),
        ("c", ""),
    ]
