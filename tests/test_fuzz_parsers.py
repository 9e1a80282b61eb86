"""Property tests of the parsers that read what clients send: the protocol parser, content
negotiation and the upload parser. Whatever the input, the answer is a valid result or a
``MedkgError``, never another exception, and it comes in bounded time."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medkg.config import Settings
from medkg.errors import MedkgError
from medkg.execution import QueryJob
from medkg.formats import RdfSyntax, negotiate
from medkg.protocol import DescriptionRequest, UpdateJob, parse_request
from medkg.uploads import parse_upload

FUZZ = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
SETTINGS = Settings(max_url_bytes=4096, max_query_bytes=4096)
METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "get", "", "OPTIONS"])
CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/sparql-query",
            "application/sparql-update",
            "application/sparql-query; charset=latin-1",
            "application/x-www-form-urlencoded; charset=utf-8",
            "text/plain",
            "",
        ]
    ),
    st.text(max_size=40),
)
PARAM_NAMES = st.sampled_from(
    ["query", "update", "default-graph-uri", "named-graph-uri", "using-graph-uri", "format"]
)
QUERY_STRINGS = st.one_of(
    st.binary(max_size=200),
    st.lists(st.tuples(PARAM_NAMES, st.text(max_size=40)), max_size=4).map(
        lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")
    ),
)
BODIES = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"query=SELECT+*+WHERE+{?s+?p+?o}", b"update=INSERT+DATA+{}", b"SELECT * {}"]),
)


@FUZZ
@given(METHODS, QUERY_STRINGS, CONTENT_TYPES, BODIES, st.one_of(st.none(), st.text(max_size=30)))
def test_parse_request_gives_a_job_or_a_medkg_error(
    method: str, query_string: bytes, content_type: str | None, body: bytes, accept: str | None
) -> None:
    try:
        job = parse_request(
            method, query_string, content_type, body, settings=SETTINGS, accept=accept
        )
    except MedkgError:
        return
    assert isinstance(job, QueryJob | UpdateJob | DescriptionRequest)
    assert method in ("GET", "HEAD", "POST")
    if isinstance(job, UpdateJob):
        assert method == "POST" and job.update.strip()
    if isinstance(job, QueryJob):
        assert job.query.strip()


OFFERED = st.lists(
    st.sampled_from(
        [
            "application/sparql-results+json",
            "application/sparql-results+xml",
            "text/csv",
            "text/turtle",
            "application/ld+json",
            "application/n-triples",
        ]
    ),
    max_size=5,
    unique=True,
)
ACCEPT_PIECES = st.sampled_from(
    ["*/*", "text/*", "application/*", "text/turtle", "application/json", ";q=0", ";q=0.5",
     ";q=x", ";charset=utf-8", ",", " ", ";", "/", "=", "q=1.0", "application/sparql-results+json"]
)  # fmt: skip
ACCEPTS = st.one_of(
    st.none(), st.text(max_size=80), st.lists(ACCEPT_PIECES, max_size=12).map("".join)
)


@FUZZ
@given(ACCEPTS, OFFERED)
def test_negotiate_returns_an_offered_type_or_none(accept: str | None, offered: list[str]) -> None:
    chosen = negotiate(accept, offered)
    assert chosen is None or chosen in offered
    if offered and not (accept or "").strip():
        assert chosen == offered[0]


TURTLE_PIECES = st.sampled_from(
    ["@prefix ex: <http://e/> .", "ex:a", "ex:b", "ex:c", "<http://e/x>", '"lit"', "@en",
     "^^", "[", "]", "(", ")", ";", ",", ".", " ", "\n", "_:b", "a", '"""', "\\u0041", "#",
     "{", "}", '"@context"', ":", '"@id"', '"http://e/"', "<<", ">>"]
)  # fmt: skip
DOCUMENTS = st.one_of(
    st.binary(max_size=400),
    st.lists(TURTLE_PIECES, max_size=40).map(lambda pieces: " ".join(pieces).encode()),
)
UPLOAD_LIMIT_S = 2.0


@FUZZ
@given(DOCUMENTS, st.sampled_from([RdfSyntax.TURTLE, RdfSyntax.JSONLD, RdfSyntax.TRIG]))
def test_parse_upload_gives_quads_or_a_medkg_error(body: bytes, syntax: RdfSyntax) -> None:
    start = time.perf_counter()
    try:
        quads = parse_upload(body, syntax, where="fuzz")
    except MedkgError:
        quads = None
    assert time.perf_counter() - start < UPLOAD_LIMIT_S
    if quads is not None:
        assert isinstance(quads, list)
