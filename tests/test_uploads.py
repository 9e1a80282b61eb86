"""Uploaded RDF: refused before parsing when unsafe, syntax errors with positions, fresh
blank nodes."""

from __future__ import annotations

import contextlib
import json

import pyoxigraph as ox
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medkg.errors import InputError, MedkgError, RdfSyntaxError
from medkg.formats import RdfSyntax
from medkg.uploads import parse_upload

BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
)
XXE = (
    b'<?xml version="1.0"?><!doctype r [<!entity x SYSTEM "file:///etc/passwd">]>'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
)


@pytest.mark.parametrize(
    ("body", "syntax", "detail"),
    [
        (BOMB, RdfSyntax.RDFXML, "DOCTYPE"),
        (XXE, RdfSyntax.RDFXML, "DOCTYPE"),
        (b'{"@context": "http://127.0.0.1:9/c.jsonld"}', RdfSyntax.JSONLD, "remote @context"),
        (b'{"@context": ["https://schema.org/", {}]}', RdfSyntax.JSONLD, "remote @context"),
        (
            b'{"@graph": [{"@context": "file:///etc/passwd", "@id": "http://e/a"}]}',
            RdfSyntax.JSONLD,
            "remote @context",
        ),
        (b'{"@context": {"@import": "http://e/c"}}', RdfSyntax.JSONLD, "@import"),
        (b"[" * 300 + b"]" * 300, RdfSyntax.JSONLD, "nested"),
        (b"\xff\xfe<a> <b> <c> .", RdfSyntax.TURTLE, "not UTF-8"),
        (
            b"<< <http://e/a> <http://e/b> <http://e/c> >> <http://e/p> 1 .",
            RdfSyntax.TURTLE,
            "RDF-star",
        ),
    ],
)
def test_refused_uploads(body: bytes, syntax: RdfSyntax, detail: str) -> None:
    with pytest.raises(InputError, match=detail):
        parse_upload(body, syntax, where="upload")


def test_syntax_errors_have_line_and_column() -> None:
    body = b"@prefix e: <http://e/> .\ne:a e:b e:c .\ne:a e:b ."
    with pytest.raises(RdfSyntaxError) as info:
        parse_upload(body, RdfSyntax.TURTLE, where="upload.ttl")
    assert (info.value.line, info.value.column) == (3, 9)
    assert str(info.value).startswith("RDF syntax error: ")
    assert "Parser error" not in str(info.value)
    assert "upload.ttl:3:9" in str(info.value)


def test_invalid_json_has_a_position() -> None:
    with pytest.raises(RdfSyntaxError) as info:
        parse_upload(b'{\n  "@id": }', RdfSyntax.JSONLD, where="x.jsonld")
    assert info.value.line == 2


def test_blank_nodes_get_fresh_labels_consistently() -> None:
    body = b"_:b1 <http://e/p> _:b2 .\n_:b2 <http://e/p> _:b1 .\n"
    first = parse_upload(body, RdfSyntax.NTRIPLES, where="u")
    second = parse_upload(body, RdfSyntax.NTRIPLES, where="u")
    labels = {q.subject.value for q in first}
    assert "b1" not in labels and len(labels) == 2
    assert first[0].object == first[1].subject  # the same node within one upload
    assert not labels & {q.subject.value for q in second}


def test_inline_json_ld_context_is_fine() -> None:
    document = {"@context": {"p": "http://e/p"}, "@id": "http://e/a", "p": "v"}
    quads = parse_upload(json.dumps(document).encode(), RdfSyntax.JSONLD, where="u")
    assert quads == [
        ox.Quad(ox.NamedNode("http://e/a"), ox.NamedNode("http://e/p"), ox.Literal("v"))
    ]


def test_relative_iris_resolve_against_the_base() -> None:
    quads = parse_upload(b"<a> <b> <c> .", RdfSyntax.TURTLE, where="u", base_iri="http://g/x")
    assert quads[0].subject == ox.NamedNode("http://g/a")


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(list(RdfSyntax)))
def test_arbitrary_bytes_give_quads_or_a_medkg_error(body: bytes, syntax: RdfSyntax) -> None:
    with contextlib.suppress(MedkgError):
        parse_upload(body, syntax, where="fuzz")
