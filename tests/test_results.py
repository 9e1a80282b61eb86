"""medkg's SPARQL results writers against pyoxigraph's, and against the W3C formats."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import Bundled
from medkg.formats import ResultFormat
from medkg.namespaces import PREFIXES
from medkg.results import Row, write_boolean, write_solutions

QUERIES = Path(__file__).resolve().parents[1] / "queries"
XSD = "http://www.w3.org/2001/XMLSchema#"

TRICKY = r"""
SELECT ?iri ?text ?lang ?int ?dec ?dbl ?bool ?typed ?none ?triple ?dir WHERE {
  VALUES (?iri ?text ?lang ?int ?dec ?dbl ?bool ?typed) {
    (<http://ex/a?x=1&y=2> "plain, \"q\"	tab\nnl\r<&>'" "hi"@en-GB 42 4.5 1.5e3 true "x"^^<http://ex/dt>)
    (UNDEF "" "x"@de -3 ".5"^^xsd:decimal "1."^^xsd:decimal false "TRUE"^^xsd:boolean)
  }
  BIND(<<( <http://a> <http://b> "c" )>> AS ?triple)
  BIND(STRLANGDIR("x", "ar", "rtl") AS ?dir)
}
"""


def _solutions(store: ox.Store, sparql: str) -> tuple[list[str], list[Row]]:
    result = store.query(sparql, prefixes=PREFIXES)
    assert isinstance(result, ox.QuerySolutions)
    return [v.value for v in result.variables], [tuple(s) for s in result]


def _theirs(store: ox.Store, sparql: str, fmt: ResultFormat) -> bytes:
    data = store.query(sparql, prefixes=PREFIXES).serialize(format=fmt.oxigraph_format)
    assert data is not None
    return data


def _select_queries() -> list[Path]:
    found = sorted(QUERIES.glob("*.rq"))
    assert found, f"no example queries in {QUERIES}"
    return found


@pytest.mark.parametrize("fmt", list(ResultFormat), ids=lambda f: f.cli_name)
def test_same_bytes_as_pyoxigraph_for_tricky_terms(fmt: ResultFormat) -> None:
    store = ox.Store()
    variables, rows = _solutions(store, TRICKY)
    assert write_solutions(variables, rows, fmt) == _theirs(store, TRICKY, fmt)


def test_same_bytes_as_pyoxigraph_for_every_example_select(bundled: Bundled) -> None:
    store = bundled.kg.store
    compared = 0
    for path in _select_queries():
        sparql = path.read_text(encoding="utf-8")
        if not isinstance(store.query(sparql, prefixes=PREFIXES), ox.QuerySolutions):
            continue
        variables, rows = _solutions(store, sparql)
        for fmt in ResultFormat:
            ours = write_solutions(variables, rows, fmt)
            assert ours == _theirs(store, sparql, fmt), (path.name, fmt)
        compared += 1
    assert compared >= 20


@pytest.mark.parametrize("value", [True, False])
@pytest.mark.parametrize("fmt", list(ResultFormat), ids=lambda f: f.cli_name)
def test_boolean_same_as_pyoxigraph(value: bool, fmt: ResultFormat) -> None:
    sparql = "ASK { FILTER(true) }" if value else "ASK { FILTER(false) }"
    assert write_boolean(value, fmt) == _theirs(ox.Store(), sparql, fmt)


def test_csv_quotes_every_field_with_a_comma() -> None:
    """W3C: fields holding a comma, quote or line break are quoted (IRIs too)."""
    rows = [(ox.NamedNode("http://ex/a,b"), ox.Literal('say "hi"'), None)]
    data = write_solutions(["s", "o", "u"], rows, ResultFormat.CSV)
    assert data == b's,o,u\r\n"http://ex/a,b","say ""hi""",\r\n'
    assert list(csv.reader(io.StringIO(data.decode(), newline=""))) == [
        ["s", "o", "u"],
        ["http://ex/a,b", 'say "hi"', ""],
    ]


def test_tsv_uses_turtle_term_syntax() -> None:
    rows = [
        (
            ox.NamedNode("http://ex/a"),
            ox.Literal("7", datatype=ox.NamedNode(XSD + "integer")),
            ox.Literal("1000", datatype=ox.NamedNode(XSD + "double")),
            ox.Literal("a\tb", language="en"),
            ox.BlankNode("b0"),
        )
    ]
    data = write_solutions(["a", "b", "c", "d", "e"], rows, ResultFormat.TSV)
    assert data.decode().splitlines() == [
        "?a\t?b\t?c\t?d\t?e",
        f'<http://ex/a>\t7\t"1000"^^<{XSD}double>\t"a\\tb"@en\t_:b0',
    ]


def test_json_and_xml_parse_as_the_w3c_formats_say() -> None:
    rows = [(ox.NamedNode("http://ex/a"), None), (None, ox.Literal("x", language="en"))]
    document = json.loads(write_solutions(["s", "o"], rows, ResultFormat.JSON))
    assert document == {
        "head": {"vars": ["s", "o"]},
        "results": {
            "bindings": [
                {"s": {"type": "uri", "value": "http://ex/a"}},
                {"o": {"type": "literal", "value": "x", "xml:lang": "en"}},
            ]
        },
    }
    root = ET.fromstring(write_solutions(["s", "o"], rows, ResultFormat.XML))
    ns = "{http://www.w3.org/2005/sparql-results#}"
    assert [v.get("name") for v in root.iter(ns + "variable")] == ["s", "o"]
    assert len(root.findall(f"{ns}results/{ns}result")) == 2


_LITERALS = st.builds(
    lambda value, kind: (
        ox.Literal(value, language="en")
        if kind == "lang"
        else ox.Literal(value, datatype=ox.NamedNode(XSD + "integer"))
        if kind == "typed"
        else ox.Literal(value)
    ),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
    st.sampled_from(["plain", "lang", "typed"]),
)
_TERMS = st.one_of(
    st.none(),
    _LITERALS,
    st.builds(
        lambda s: ox.NamedNode("http://ex/" + s),
        st.from_regex(r"[a-z0-9_.~-]{0,8}", fullmatch=True),
    ),
    st.builds(ox.BlankNode, st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)),
)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(_TERMS, _TERMS), max_size=6))
def test_json_text_is_what_the_json_encoder_writes(rows: list[Row]) -> None:
    from medkg.results import _json_term

    document = {
        "head": {"vars": ["a", "b"]},
        "results": {
            "bindings": [
                {n: _json_term(t) for n, t in zip(["a", "b"], row, strict=True) if t is not None}
                for row in rows
            ]
        },
    }
    expected = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    assert write_solutions(["a", "b"], rows, ResultFormat.JSON) == expected
