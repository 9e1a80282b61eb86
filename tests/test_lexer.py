from __future__ import annotations

import pyoxigraph as ox
import pytest

from medkg.errors import QuerySyntaxError, QueryTooComplex
from medkg.lexer import (
    DatasetClause,
    check_nesting,
    dataset_clause,
    position,
    refuse_service,
    split_wide_groups,
    tokens,
)
from medkg.namespaces import PREFIXES

G = "https://w3id.org/medkg/graph/"


@pytest.mark.parametrize(
    ("sparql", "depth"),
    [
        ("SELECT * WHERE { ?s ?p ?o }", 1),
        ("SELECT * WHERE { { ?s ?p ?o } FILTER((1)) }", 3),
        ("SELECT * WHERE { ?s ?p [ ?q [ ?r 1 ] ] }", 3),
        ('SELECT * WHERE { ?s ?p "{{{{((((" }', 1),
        ("SELECT * WHERE { ?s ?p '''\n{{{{\n''' }", 1),
        ("SELECT * WHERE { ?s <http://x/{{{{> ?o }", 1),  # not an IRI: '{' may not be in one
        ("# {{{{{{{{\nSELECT * WHERE { ?s ?p ?o }", 1),
        ("SELECT * WHERE { BIND(<<( <a> <b> <<( <c> <d> <e> )>> )>> AS ?t) }", 6),
        ("}}}} SELECT * WHERE { ?s ?p ?o }", 1),  # unbalanced closers never go negative
    ],
)
def test_nesting_depth_is_counted_outside_strings_iris_and_comments(
    sparql: str, depth: int
) -> None:
    if "http://x/{" in sparql:
        depth = 1 + sparql.count("{", sparql.index("<http"))  # braces stay braces there
    check_nesting(sparql, depth)
    with pytest.raises(QueryTooComplex) as info:
        check_nesting(sparql, depth - 1)
    assert info.value.depth_limit == depth - 1
    assert info.value.line is not None and info.value.column is not None


def test_nesting_error_has_the_position_of_the_first_bracket_too_deep() -> None:
    sparql = "SELECT * WHERE {\n  { { ?s ?p ?o } }\n}"
    with pytest.raises(QueryTooComplex) as info:
        check_nesting(sparql, 2)
    assert (info.value.line, info.value.column) == (2, 5)
    assert "query nesting too deep" in str(info.value)


def test_huge_nesting_is_refused_without_parsing() -> None:
    sparql = "SELECT * WHERE " + "{" * 100_000 + "?s ?p ?o" + "}" * 100_000
    with pytest.raises(QueryTooComplex):
        check_nesting(sparql, 100)


@pytest.mark.parametrize(
    ("sparql", "refused"),
    [
        ("SELECT * WHERE { ?s ?p ?o .SERVICE <http://127.0.0.1:9/> { ?a ?b ?c } }", True),
        ("SELECT * WHERE { ?s ?p ?o.SERVICE <http://127.0.0.1:9/> { ?a ?b ?c } }", True),
        ("SELECT * WHERE { ?s ?p 1.SERVICE <http://127.0.0.1:9/> { ?a ?b ?c } }", True),
        ("SELECT * WHERE { ?s ?p ex:.SERVICE <http://127.0.0.1:9/> { ?a ?b ?c } }", True),
        ("SELECT * WHERE { ?s ?p ex:a.SERVICE }", False),  # one prefixed name: ex:a.SERVICE
        ("SELECT * WHERE {}SERVICE", True),
        ("SELECT * WHERE { ?s ?p ?o } # SERVICE", False),
        ("SELECT ?SERVICE WHERE { ?s ex:SERVICE $SERVICE }", False),
        ("SELECT * WHERE { ?s ?p _:SERVICE }", False),
        ("SELECT * WHERE { ?s ?p ex:x.SERVICE_NOT }", False),
    ],
)
def test_service_guard_on_tokens(sparql: str, refused: bool) -> None:
    if refused:
        with pytest.raises(QuerySyntaxError, match="SERVICE"):
            refuse_service(sparql)
    else:
        refuse_service(sparql)


def test_tokens_and_positions() -> None:
    kinds = [t.kind for t in tokens('PREFIX ex: <http://x/> SELECT ?v { ex:a "s" 1 } # c')]
    expected = "word pname iri word var open pname string close comment"
    assert kinds == expected.split()
    assert position("ab\ncd", 4) == (2, 2)


@pytest.mark.parametrize(
    ("sparql", "expected"),
    [
        ("SELECT * WHERE { ?s ?p ?o }", None),
        ("SELECT * FROM graph:world WHERE { ?s ?p ?o }", DatasetClause((G + "world",), ())),
        (
            "SELECT * FROM <http://a/> FROM NAMED <http://b/> from named graph:x WHERE {}",
            DatasetClause(("http://a/",), ("http://b/", G + "x")),
        ),
        (
            "PREFIX g: <http://g/> SELECT * FROM g:one FROM NAMED g:two WHERE {}",
            DatasetClause(("http://g/one",), ("http://g/two",)),
        ),
        (
            "PREFIX graph: <http://mine/> SELECT * FROM graph:one WHERE {}",
            DatasetClause(("http://mine/one",), ()),
        ),
        (
            "BASE <http://base/dir/> SELECT * FROM <g1> FROM NAMED <../g2> WHERE {}",
            DatasetClause(("http://base/dir/g1",), ("http://base/g2",)),
        ),
        ("SELECT * FROM nope:x WHERE {}", None),  # undeclared prefix: the parser reports it
        ("SELECT * WHERE { ?from ?p 'FROM <http://x/>' } # FROM <http://y/>", None),
    ],
)
def test_dataset_clause(sparql: str, expected: DatasetClause | None) -> None:
    assert dataset_clause(sparql, PREFIXES) == expected


def test_dataset_clause_resolves_relative_iris_against_the_given_base() -> None:
    clause = dataset_clause("SELECT * FROM <g> WHERE {}", {}, "http://host/sparql")
    assert clause == DatasetClause(("http://host/g",), ())


ALLOWED = "http://127.0.0.1:9/sparql"


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        (f"SELECT * WHERE {{ SERVICE <{ALLOWED}> {{ ?s ?p ?o }} }}", False),
        (f"SELECT * WHERE {{ SERVICE SILENT <{ALLOWED}> {{ ?s ?p ?o }} }}", False),
        (f"SELECT * WHERE {{ service # comment\n <{ALLOWED}> {{ ?s ?p ?o }} }}", False),
        ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/other> { ?s ?p ?o } }", True),
        ("SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } }", True),
        ("PREFIX e: <http://127.0.0.1:9/> SELECT * WHERE { SERVICE e:sparql { ?s ?p ?o } }", True),
        (
            f"SELECT * WHERE {{ SERVICE <{ALLOWED}> {{ ?s ?p ?o }} "
            "SERVICE <http://127.0.0.1:9/x> { ?a ?b ?c } }",
            True,
        ),
    ],
)
def test_service_allow_list(query: str, refused: bool) -> None:
    if refused:
        with pytest.raises(QuerySyntaxError, match="SERVICE is not supported"):
            refuse_service(query, allowed=(ALLOWED,))
    else:
        refuse_service(query, allowed=(ALLOWED,))


def test_service_refused_without_allow_list() -> None:
    with pytest.raises(QuerySyntaxError, match="no SERVICE endpoint is allowed"):
        refuse_service(f"SELECT * WHERE {{ SERVICE <{ALLOWED}> {{ ?s ?p ?o }} }}")


# --------------------------------------------------------------------------------------------
# Wide groups


def _star(n: int, extra: str = "") -> str:
    patterns = " ".join(f"?s <http://e/p{i}> ?o{i} ." for i in range(n))
    return f"SELECT * WHERE {{ {patterns} {extra}}}"


def test_wide_groups_are_split_into_subqueries() -> None:
    rewritten = split_wide_groups(_star(300))
    assert rewritten.count("{ SELECT * WHERE {") == 15
    assert split_wide_groups(_star(40)) == _star(40)  # at the limit: untouched


@pytest.mark.parametrize(
    "query",
    [
        _star(60, "FILTER(?o1 > 2) "),  # a keyword in the group
        _star(60, "_:b <http://e/q> ?s . "),  # a blank node label
        _star(60, "[] <http://e/q> ?s . "),  # an anonymous blank node
        _star(60, "{ ?x ?y ?z } "),  # a nested group
        "CONSTRUCT { " + " ".join(f"?s <http://e/p{i}> ?o{i} ." for i in range(60)) + " } "
        "WHERE { ?s ?p ?o }",  # a template
    ],
)
def test_groups_with_more_than_triples_are_left_alone(query: str) -> None:
    assert split_wide_groups(query) == query


def test_split_queries_give_the_same_answers() -> None:
    store = ox.Store()
    subject = ox.NamedNode("http://e/s")
    for i in range(300):
        store.add(ox.Quad(subject, ox.NamedNode(f"http://e/p{i}"), ox.Literal(str(i))))
    store.add(ox.Quad(subject, ox.NamedNode("http://e/a"), ox.Literal("1.5")))
    query = (
        'SELECT * WHERE { ?s <http://e/a> "1.5" ; <http://e/p0> "0" , "0" . '
        + " ".join(f"?s <http://e/p{i}> ?o{i} ." for i in range(300))
        + " }"
    )
    rows = list(store.query(split_wide_groups(query)))  # type: ignore[arg-type]
    assert len(rows) == 1
    assert rows[0]["s"] == subject and rows[0]["o299"] == ox.Literal("299")
    small = "SELECT * WHERE { " + " ".join(f"?s <http://e/p{i}> ?o{i} ." for i in range(45)) + " }"
    assert [tuple(r) for r in store.query(split_wide_groups(small))] == [  # type: ignore[union-attr]
        tuple(r)
        for r in store.query(small)  # type: ignore[union-attr]
    ]
