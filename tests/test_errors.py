from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from medkg.errors import (
    ConfigError,
    Forbidden,
    GraphNotFound,
    InconsistencyError,
    InputError,
    MedkgError,
    MethodNotAllowed,
    NotAcceptable,
    NotSupportedHere,
    PayloadTooLarge,
    ProtocolError,
    QuerySyntaxError,
    QueryTimeout,
    QueryTooComplex,
    RdfSyntaxError,
    RemoteStoreError,
    ResourceNotFound,
    ServiceUnavailable,
    SourceNotFoundError,
    StorageError,
    StoreLocked,
    TooManyRequests,
    Unauthorized,
    UnknownFormatError,
    UnsupportedMediaType,
    UriTooLong,
    ValidationFailed,
    WriteRejected,
)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            QuerySyntaxError("expected '}'", 3, 14),
            "SPARQL syntax error: expected '}' (line 3, column 14)",
        ),
        (
            QuerySyntaxError("bad\n  token", 2, 5, source="q.rq"),
            "SPARQL syntax error: bad token (q.rq:2:5)",
        ),
        (QuerySyntaxError("oops"), "SPARQL syntax error: oops"),
        (
            RdfSyntaxError(Path("data/x.ttl"), "expected '.'", 4, 7),
            "RDF syntax error: expected '.' (data/x.ttl:4:7)",
        ),
        (RdfSyntaxError("data/x.nt", "Invalid line"), "RDF syntax error: Invalid line (data/x.nt)"),
        (
            UnknownFormatError("yaml", "output format", ["json", "csv"]),
            "unknown output format 'yaml' (choose one of: json, csv)",
        ),
        (SourceNotFoundError("q.rq", "query file"), "query file not found (q.rq)"),
        (
            InconsistencyError(["Irreflexive property used on ex:a", "second"]),
            "inconsistent knowledge graph: Irreflexive property used on ex:a; and 1 more "
            "(OWL 2 RL closure)",
        ),
        (
            ValidationFailed([1, 2], "shapes.ttl"),
            "SHACL validation failed with 2 results (shapes.ttl)",
        ),
        (ValidationFailed([1]), "SHACL validation failed with 1 result"),
        (
            ConfigError("ontology file missing", where="/x/medkg.ttl"),
            "ontology file missing (/x/medkg.ttl)",
        ),
    ],
)
def test_str_is_one_line_what_and_where(error: MedkgError, expected: str) -> None:
    assert str(error) == expected
    assert "\n" not in str(error)


def test_long_messages_are_cut() -> None:
    text = str(QuerySyntaxError("x" * 5000, 1, 1))
    assert len(text) < 400
    assert "\n" not in text


@pytest.mark.parametrize(
    ("cls", "base", "code"),
    [
        (QuerySyntaxError, InputError, 2),
        (RdfSyntaxError, InputError, 2),
        (UnknownFormatError, InputError, 2),
        (SourceNotFoundError, InputError, 2),
        (InconsistencyError, MedkgError, 1),
        (ValidationFailed, MedkgError, 1),
        (ConfigError, MedkgError, 2),
    ],
)
def test_tree_and_exit_codes(cls: type[MedkgError], base: type[MedkgError], code: int) -> None:
    assert issubclass(cls, base)
    assert cls.exit_code == code


def test_attributes_are_kept() -> None:
    err = RdfSyntaxError("a.ttl", "m", 1, 2)
    assert (err.path, err.line, err.column) == (Path("a.ttl"), 1, 2)
    q = QuerySyntaxError("m", 5, 6)
    assert (q.line, q.column) == (5, 6)
    assert InconsistencyError(["a"]).clashes == ["a"]


# --------------------------------------------------------------------------------------------
# HTTP mapping and pickling (errors cross process boundaries from the query workers)

ONE_OF_EACH: list[MedkgError] = [
    MedkgError("plain", where="somewhere"),
    InputError("bad input"),
    QuerySyntaxError("expected '}'", 3, 14, source="q.rq"),
    QueryTooComplex(100, 2, 7),
    RdfSyntaxError(Path("data/x.ttl"), "expected '.'", 4, 7),
    UnknownFormatError("yaml", "output format", ["json", "csv"]),
    SourceNotFoundError("q.rq", "query file"),
    ResourceNotFound("entity", "https://w3id.org/medkg/resource/nobody"),
    ProtocolError("read-only endpoint"),
    MethodNotAllowed("PUT", ["GET", "HEAD", "POST"]),
    NotAcceptable(["text/turtle", "application/n-triples"]),
    PayloadTooLarge(1000),
    UriTooLong(2000),
    UnsupportedMediaType("text/plain", ["application/sparql-query"]),
    InconsistencyError(["Irreflexive property used on ex:a", "second"]),
    ValidationFailed([1, 2], "shapes.ttl"),
    ConfigError("ontology file missing", where="/x/medkg.ttl"),
    ServiceUnavailable("all 2 query workers are busy"),
    QueryTimeout(2.5),
    Unauthorized(),
    Forbidden("writes are disabled on this server"),
    GraphNotFound("https://example.org/g"),
    WriteRejected("1 new SHACL violation(s)", ["a", "b"]),
    StoreLocked("/tmp/store", "process 42"),
    StorageError("cannot write the journal", where="journal.jsonl"),
    TooManyRequests("more than 2 requests in flight", 1),
    RemoteStoreError("PUT answered 500", where="http://127.0.0.1:7878/store"),
    NotSupportedHere("the entity pages"),
]


def _all_subclasses(cls: type[MedkgError]) -> set[type[MedkgError]]:
    found: set[type[MedkgError]] = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_all_subclasses(sub)}
    return found


def test_one_of_each_covers_every_class() -> None:
    classes = _all_subclasses(MedkgError) | {MedkgError}
    assert len(classes) >= 18
    assert classes == {type(error) for error in ONE_OF_EACH}


@pytest.mark.parametrize("error", ONE_OF_EACH, ids=lambda e: type(e).__name__)
def test_pickle_round_trip(error: MedkgError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.args == error.args
    assert copy.__dict__ == error.__dict__
    assert (copy.exit_code, copy.http_status, copy.title) == (
        error.exit_code,
        error.http_status,
        error.title,
    )
    assert copy.http_headers() == error.http_headers()


@pytest.mark.parametrize(
    ("error", "status", "headers"),
    [
        (QuerySyntaxError("x", 1, 2), 400, {}),
        (QueryTooComplex(5, 1, 9), 400, {}),
        (ProtocolError("x"), 400, {}),
        (MethodNotAllowed("PUT", ["GET", "POST"]), 405, {"Allow": "GET, POST"}),
        (NotAcceptable(["text/csv"]), 406, {"Vary": "Accept"}),
        (PayloadTooLarge(10), 413, {}),
        (UriTooLong(10), 414, {}),
        (UnsupportedMediaType(None, ["a/b"]), 415, {}),
        (ServiceUnavailable("busy"), 503, {}),
        (QueryTimeout(30), 503, {}),
        (ConfigError("x"), 500, {}),
        (MedkgError("x"), 500, {}),
        (Unauthorized(), 401, {"WWW-Authenticate": 'Bearer realm="medkg"'}),
        (Forbidden("x"), 403, {}),
        (GraphNotFound("https://example.org/g"), 404, {}),
        (WriteRejected("x"), 422, {}),
        (StoreLocked("/tmp/store"), 500, {}),
        (StorageError("x"), 503, {}),
        (TooManyRequests("x", 3), 429, {"Retry-After": "3"}),
        (RemoteStoreError("x"), 502, {}),
        (NotSupportedHere("writes"), 501, {}),
    ],
)
def test_http_status_and_headers(error: MedkgError, status: int, headers: dict[str, str]) -> None:
    assert error.http_status == status
    assert error.http_headers() == headers
    assert error.title and "\n" not in str(error)


def test_protocol_errors_are_input_errors() -> None:
    for cls in (MethodNotAllowed, NotAcceptable, PayloadTooLarge, UriTooLong):
        assert issubclass(cls, ProtocolError) and issubclass(cls, InputError)
        assert cls.exit_code == 2
    assert not issubclass(QueryTimeout, InputError)


def test_positions_are_known_where_they_exist() -> None:
    assert (QueryTooComplex(3, 4, 5).line, QueryTooComplex(3, 4, 5).column) == (4, 5)
    assert str(QueryTooComplex(3, 4, 5)) == (
        "query nesting too deep: more than 3 levels of brackets (line 4, column 5)"
    )
    assert MedkgError("x").line is None and ProtocolError("x").column is None
    assert str(QueryTimeout(2.5)).startswith("query exceeded the time limit of 2.5 s")
