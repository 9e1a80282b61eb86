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
from medkg.results import NATIVE, Row, count_rows, write_boolean, write_solutions

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


# -- rows counted in pyoxigraph's own answers ----------------------------------------------

# Text that looks like the JSON row separator, XML markup, or a TSV line end.
_TRAPS = st.lists(
    st.sampled_from([*'},{"a:[]\\<>&\n\t ', "<result>", '},{"a":', '},{"', "{}"]), max_size=6
).map("".join)
_CELLS = st.one_of(
    st.none(),
    st.builds(ox.Literal, _TRAPS),
    st.builds(lambda t: ox.Literal(t, language="en"), _TRAPS),
    st.builds(
        lambda s: ox.NamedNode("http://ex/" + s), st.from_regex(r"[a-z:,]{0,5}", fullmatch=True)
    ),
)


def _answer_store(rows: list[tuple[OxCell, OxCell]]) -> ox.Store:
    """A store whose ROWS query answers ``rows`` (a cell left None is unbound)."""
    store = ox.Store()
    for i, row in enumerate(rows):
        subject = ox.NamedNode(f"urn:row:{i}")
        store.add(ox.Quad(subject, ox.NamedNode("urn:row"), ox.Literal(str(i))))
        for name, cell in zip("ab", row, strict=True):
            if cell is not None:
                store.add(ox.Quad(subject, ox.NamedNode(f"urn:{name}"), cell))
    return store


ROWS = (
    "SELECT ?a ?b WHERE { ?r <urn:row> ?i OPTIONAL { ?r <urn:a> ?a } OPTIONAL { ?r <urn:b> ?b } }"
)
OxCell = ox.NamedNode | ox.Literal | None


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(_CELLS, _CELLS), max_size=6))
def test_rows_are_counted_in_pyoxigraphs_bytes(rows: list[tuple[OxCell, OxCell]]) -> None:
    store = _answer_store(rows)
    for fmt in NATIVE:
        body = _theirs(store, ROWS, fmt)
        assert count_rows(body, fmt) == len(rows), (fmt, body)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(_TERMS, _TERMS), max_size=4))
def test_written_as_pyoxigraph_writes(rows: list[Row]) -> None:
    """A capped answer (medkg's writers) reads exactly as a whole one (pyoxigraph's)."""
    cells = [tuple(t if not isinstance(t, ox.BlankNode) else None for t in row) for row in rows]
    store = _answer_store(cells)  # type: ignore[arg-type]
    variables, solved = _solutions(store, ROWS)
    for fmt in NATIVE:
        assert write_solutions(variables, solved, fmt) == _theirs(store, ROWS, fmt), fmt


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE {}",  # one row, no variable
        "SELECT ?x WHERE { FILTER(false) }",  # no row
        "SELECT ?x WHERE { VALUES ?y { 1 2 3 } }",  # three empty rows
        'SELECT ?x WHERE { VALUES ?x { "},{\\"x\\":" "a},{" "a},{"@en "{}" } }',
        # the same without "{}": counted in the bytes, the strings' "},{" told apart
        'SELECT ?x WHERE { VALUES ?x { "},{\\"x\\":" "a},{" "a},{"@en "},{\\"" } }',
    ],
)
def test_rows_are_counted_in_edge_answers(query: str) -> None:
    store = ox.Store()
    expected = len(list(store.query(query)))  # type: ignore[arg-type]
    for fmt in NATIVE:
        assert count_rows(_theirs(store, query, fmt), fmt) == expected, fmt


def test_csv_rows_are_not_counted_in_bytes() -> None:
    with pytest.raises(ValueError, match="csv"):
        count_rows(b"x\r\n", ResultFormat.CSV)
