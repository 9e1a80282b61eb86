"""Join-order hints: cardinalities, estimates, the reordering of groups of triple patterns,
and proof that reordered queries give the same solutions."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medkg.errors import QuerySyntaxError
from medkg.lexer import declared_prefixes, reorder_flat_groups, rewrite_flat_groups
from medkg.namespaces import PREFIXES, RDF_NS
from medkg.planning import (
    Cardinalities,
    Planner,
    PredicateCount,
    order_patterns,
    write_plan,
)
from medkg.store import KnowledgeGraph

E = "http://e/"
TYPE = RDF_NS + "type"
QUERIES = Path(__file__).resolve().parents[1] / "queries"


def _store(triples: list[tuple[str, str, str]]) -> ox.Store:
    store = ox.Store()
    for s, p, o in triples:
        obj: ox.NamedNode | ox.Literal = ox.Literal(o[1:]) if o.startswith('"') else ox.NamedNode(o)
        store.add(ox.Quad(ox.NamedNode(s), ox.NamedNode(p), obj))
    return store


def _university() -> ox.Store:
    """Many students, few faculty: the shape of LUBM query 9."""
    triples = [(f"{E}s{i}", TYPE, f"{E}Student") for i in range(40)]
    triples += [(f"{E}f{i}", TYPE, f"{E}Faculty") for i in range(3)]
    triples += [(f"{E}s{i}", f"{E}advisor", f"{E}f{i % 3}") for i in range(20)]
    triples += [(f"{E}s{i}", f"{E}takes", f"{E}c{i % 7}") for i in range(40)]
    triples += [(f"{E}f{i}", f"{E}teaches", f"{E}c{i}") for i in range(3)]
    triples += [(f"{E}s1", f"{E}name", '"one')]
    return _store(triples)


# --------------------------------------------------------------------------------------------
# The text rewrite


def test_patterns_are_sorted_by_key_and_lists_written_out() -> None:
    query = "SELECT * WHERE { ?x <http://e/b> ?y ; <http://e/a> ?z . ?y <http://e/c> ?w }"
    reordered = reorder_flat_groups(query, lambda p: {"a": 0, "b": 2, "c": 1}[p[-5]])
    assert reordered == (
        "SELECT * WHERE { ?x <http://e/a> ?z . ?y <http://e/c> ?w . ?x <http://e/b> ?y }"
    )


def test_a_group_already_in_order_is_returned_as_it_is() -> None:
    query = "SELECT * WHERE { ?x <http://e/a> ?y . ?y <http://e/b> ?z }"
    assert reorder_flat_groups(query, lambda p: 0) is query


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { ?x <http://e/b> ?y . ?x <http://e/a> ?z FILTER(?z > 1) }",
        "SELECT * WHERE { ?x <http://e/b> ?y . OPTIONAL { ?x <http://e/a> ?z } }",
        "SELECT * WHERE { ?x <http://e/b> ?y . ?x <http://e/a> [] }",
        "SELECT * WHERE { ?x <http://e/b> _:y . ?x <http://e/a> ?z }",
        "SELECT * WHERE { ?x <http://e/b> ?y # note\n . ?x <http://e/a> ?z }",
        "CONSTRUCT { ?x <http://e/b> ?y . ?x <http://e/a> ?z } WHERE { ?x ?p ?y }",
    ],
)
def test_groups_with_more_than_plain_triples_are_left_alone(query: str) -> None:
    # keywords, blank nodes, nested groups, comments and CONSTRUCT templates stay as written
    assert reorder_flat_groups(query, lambda p: -len(p) if "/a>" in p else 0) == query


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("SELECT ?x WHERE { ?x ?p ?o . ?o ?q ?r }", True),
        ("SELECT ?x { ?x ?p ?o . ?o ?q ?r }", True),
        ("SELECT DISTINCT ?x { ?x ?p ?o . ?o ?q ?r }", True),
        ("ASK { ?x ?p ?o . ?o ?q ?r }", True),
        ("DESCRIBE ?x WHERE { ?x ?p ?o . ?o ?q ?r }", True),
        ("CONSTRUCT { ?x ?p ?o } WHERE { ?x ?p ?o . ?o ?q ?r }", True),
        ("SELECT * WHERE { { SELECT ?x WHERE { ?x ?p ?o . ?o ?q ?r } } ?x ?s ?t }", True),
        ("CONSTRUCT WHERE { ?x ?p ?o . ?o ?q ?r }", False),  # also the template
        ("SELECT * WHERE { ?a ?b ?c OPTIONAL { ?x ?p ?o . ?o ?q ?r } }", False),
        ("SELECT * WHERE { ?a ?b ?c FILTER EXISTS { ?x ?p ?o . ?o ?q ?r } }", False),
        ("SELECT * WHERE { ?a ?b ?c MINUS { ?x ?p ?o . ?o ?q ?r } }", False),
        ("SELECT * WHERE { GRAPH ?g { ?x ?p ?o . ?o ?q ?r } }", False),
        ("SELECT * WHERE { { ?x ?p ?o . ?o ?q ?r } UNION { ?a ?b ?c } }", False),
    ],
)
def test_only_where_clauses_are_flagged_for_plans(query: str, where: bool) -> None:
    seen: list[bool] = []

    def record(patterns: list[str], is_where: bool) -> None:
        if patterns == ["?x ?p ?o", "?o ?q ?r"]:
            seen.append(is_where)

    assert rewrite_flat_groups(query, record) == query  # None: nothing replaced
    assert seen == [where]


def test_wide_groups_are_left_to_the_splitter() -> None:
    patterns = [f"?s <http://e/p{i}> ?o{i}" for i in range(45)]
    query = "SELECT * WHERE { " + " . ".join(patterns) + " }"
    assert reorder_flat_groups(query, lambda p: -len(p)) == query


def test_declared_prefixes_override_and_drop_the_predeclared() -> None:
    query = "PREFIX mkg: <http://other/> PREFIX rel: <x/> PREFIX res: <rel/> SELECT * {}"
    declared = declared_prefixes(query, PREFIXES)
    assert declared["mkg"] == "http://other/"
    assert "rel" not in declared and "res" not in declared  # relative: resolved by BASE
    assert declared["rdf"] == RDF_NS


# --------------------------------------------------------------------------------------------
# Cardinalities and estimates


def test_cardinalities_are_measured_on_the_default_graph() -> None:
    measured = Cardinalities.measure(_university())
    assert measured.total == 40 + 3 + 20 + 40 + 3 + 1
    assert measured.predicates[f"{E}advisor"] == PredicateCount(20, 20, 3)
    assert measured.classes == {f"{E}Student": 40, f"{E}Faculty": 3}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("?x a e:Faculty", 3),
        ("?x rdf:type <http://e/Student>", 40),
        ("?x e:advisor ?y", 20),
        ("e:s1 e:advisor ?y", 1),  # 20 triples, 20 subjects
        ("?x e:advisor e:f0", 20 / 3),  # 20 triples, 3 objects
        ("e:s1 e:advisor e:f1", 1),
        ("?x e:unused ?y", 0),  # nothing matches
        ("?x ?p ?y", 107),  # a variable predicate: every triple
        ("?x e:advisor/e:teaches ?c", 107),  # a path
        ("?x e:takes e:c1 , e:c2", 107),  # an object list
        ("?x nope:advisor ?y", 107),  # an unknown prefix
    ],
)
def test_estimates(pattern: str, expected: float) -> None:
    measured = Cardinalities.measure(_university())
    prefixes = {**PREFIXES, "e": E}
    assert measured.estimate(pattern, prefixes) == pytest.approx(expected)


def test_smallest_patterns_are_written_first() -> None:
    query = (
        "PREFIX e: <http://e/> SELECT ?x ?y ?c WHERE { ?x a e:Student . ?y a e:Faculty . "
        "?x e:takes ?c . ?x e:advisor ?y . ?y e:teaches ?c }"
    )
    ordered = order_patterns(query, Cardinalities.measure(_university()))
    assert ordered == (
        "PREFIX e: <http://e/> SELECT ?x ?y ?c WHERE { ?y a e:Faculty . ?y e:teaches ?c . "
        "?x e:advisor ?y . ?x a e:Student . ?x e:takes ?c }"
    )


# --------------------------------------------------------------------------------------------
# Same solutions


def _rows(result: object) -> Counter[tuple[str, ...]]:
    assert isinstance(result, ox.QuerySolutions)
    return Counter(tuple(str(term) for term in row) for row in result)


_TERMS = st.sampled_from(["?a", "?b", "?c", "e:n0", "e:n1", "e:n2"])
_PREDICATES = st.sampled_from(["e:p", "e:q", "a", "?p"])
_PATTERN = st.tuples(_TERMS, _PREDICATES, _TERMS).map(" ".join)


def _random_triples(
    predicates: list[str], objects: list[str], min_size: int, max_size: int
) -> st.SearchStrategy[list[tuple[str, str, str]]]:
    """Triples over four nodes, as :func:`_store` takes them (``"x``: a literal)."""

    def absolute(term: str) -> str:
        return term if term.startswith('"') or ":" in term else E + term

    nodes = st.sampled_from(["n0", "n1", "n2", "n3"])
    triple = st.tuples(nodes, st.sampled_from(predicates), st.sampled_from(objects))
    return st.lists(triple, min_size=min_size, max_size=max_size).map(
        lambda triples: [(E + s, absolute(p), absolute(o)) for s, p, o in triples]
    )


@settings(max_examples=150, deadline=None)
@given(
    triples=_random_triples(["p", "q"], ["n0", "n1", "n2", "n3"], 0, 25),
    patterns=st.lists(_PATTERN, min_size=1, max_size=5),
    data=st.data(),
)
def test_any_order_of_a_group_gives_the_same_solutions(
    triples: list[tuple[str, str, str]], patterns: list[str], data: st.DataObject
) -> None:
    store = _store(triples)
    query = "PREFIX e: <http://e/> SELECT * WHERE { " + " . ".join(patterns) + " }"
    keys = data.draw(st.lists(st.integers(0, 9), min_size=len(patterns), max_size=len(patterns)))
    reordered = reorder_flat_groups(query, lambda p: keys[patterns.index(p)])
    assert _rows(store.query(reordered)) == _rows(store.query(query))
    ordered = order_patterns(query, Cardinalities.measure(store))
    assert _rows(store.query(ordered)) == _rows(store.query(query))


_PLAN_TERMS = st.sampled_from(["?a", "?b", "?c", "?d", "?a", "?b", "e:n0", "e:n1", '"n2"'])
_PLAN_PATTERN = st.tuples(_PLAN_TERMS, _PREDICATES, _PLAN_TERMS).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(
    triples=_random_triples(["p", "q", TYPE], ["n0", "n1", "n2", "n3", '"n2'], 10, 40),
    patterns=st.lists(_PLAN_PATTERN, min_size=1, max_size=6),
    data=st.data(),
)
def test_any_join_plan_gives_the_same_solutions(
    triples: list[tuple[str, str, str]], patterns: list[str], data: st.DataObject
) -> None:
    """Every plan :func:`write_plan` can write (any order, any joins hashed) answers as the
    group does as written: the subqueries and LATERAL groups lose and add nothing."""
    store = _store(triples)
    order = data.draw(st.permutations(patterns))
    hashed = data.draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)))
    written = "PREFIX e: <http://e/> SELECT * WHERE { " + " . ".join(patterns) + " }"
    plan = write_plan(list(zip(order, [False, *hashed[1:]], strict=True)))
    planned = "PREFIX e: <http://e/> SELECT * WHERE { " + plan + " }"
    assert _rows(store.query(planned)) == _rows(store.query(written))


def _triangles(students: int = 4000, faculty: int = 200, courses: int = 800) -> ox.Store:
    """LUBM query 9's shape: advisors, the courses their students take, the courses they
    teach (a cycle of three properties), and each node's class."""
    triples = [(f"{E}s{i}", TYPE, f"{E}Student") for i in range(students)]
    triples += [(f"{E}f{i}", TYPE, f"{E}Faculty") for i in range(faculty)]
    triples += [(f"{E}c{i}", TYPE, f"{E}Course") for i in range(courses)]
    triples += [
        (f"{E}s{i}", f"{E}advisor", f"{E}f{(i * 7) % faculty}") for i in range(0, students, 2)
    ]
    triples += [
        (f"{E}s{i}", f"{E}takes", f"{E}c{(i * k * 13 + k) % courses}")
        for i in range(students)
        for k in (1, 2, 3)
    ]
    triples += [(f"{E}f{i % faculty}", f"{E}teaches", f"{E}c{i}") for i in range(courses)]
    return _store(triples)


TRIANGLE = (
    "PREFIX e: <http://e/> SELECT ?x ?y ?c WHERE { ?x a e:Student . ?y a e:Faculty . "
    "?c a e:Course . ?x e:advisor ?y . ?y e:teaches ?c . ?x e:takes ?c }"
)


def test_a_cycle_is_closed_by_a_hash_join_with_class_checks_last() -> None:
    store = _triangles()
    planned = order_patterns(TRIANGLE, Cardinalities.measure(store))
    assert planned == (
        "PREFIX e: <http://e/> SELECT ?x ?y ?c WHERE { { SELECT * { { SELECT * { "
        "?x e:advisor ?y . ?x e:takes ?c } } { SELECT * { ?y e:teaches ?c } } } } "
        "LATERAL { ?x a e:Student . ?y a e:Faculty . ?c a e:Course } }"
    )
    rows = _rows(store.query(planned))
    assert rows == _rows(store.query(TRIANGLE))
    assert sum(rows.values()) > 0


@pytest.mark.parametrize(
    "query",
    [
        TRIANGLE.replace("WHERE {", "WHERE { ?x ?any ?thing OPTIONAL {") + " }",  # not WHERE
        TRIANGLE.replace("?c a e:Course", "?c e:takes/e:takes ?c"),  # a path
        TRIANGLE.replace("?c a e:Course", "?c ?p e:Course"),  # a variable predicate
    ],
)
def test_groups_the_model_does_not_cover_are_only_ordered(query: str) -> None:
    planned = order_patterns(query, Cardinalities.measure(_triangles()))
    assert "SELECT *" not in planned and "LATERAL" not in planned
    assert planned != query  # ordered all the same


def test_a_small_graph_is_only_ordered() -> None:
    # 600 students: the patterns match fewer than PLANNED_FROM triples between them.
    store = _triangles(students=600, faculty=40, courses=120)
    planned = order_patterns(TRIANGLE, Cardinalities.measure(store))
    assert "SELECT *" not in planned and planned != TRIANGLE


def test_a_chain_is_left_to_nested_loops() -> None:
    # No cycle: every join is on a fresh variable, and lookups beat scanning.
    query = (
        "PREFIX e: <http://e/> SELECT ?x ?y WHERE { ?x e:takes ?c . ?y e:teaches ?c . "
        "e:f1 e:teaches ?c }"
    )
    planned = order_patterns(query, Cardinalities.measure(_triangles()))
    assert "SELECT *" not in planned and "LATERAL" not in planned
    assert planned.index("e:f1 e:teaches ?c") < planned.index("?x e:takes ?c")


def test_every_example_query_gives_the_same_solutions_ordered(bundled_kg: KnowledgeGraph) -> None:
    files = sorted(QUERIES.glob("*.rq"))
    assert len(files) >= 20
    moved = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        dataset = bundled_kg.dataset_for()
        ordered = bundled_kg.evaluate(text, dataset=dataset)
        written = bundled_kg.evaluate(text, dataset=dataset, ordered=False)
        if isinstance(written, ox.QuerySolutions):
            assert _rows(ordered) == _rows(written), path.name
        elif isinstance(written, ox.QueryTriples):
            assert isinstance(ordered, ox.QueryTriples)
            assert set(map(str, ordered)) == set(map(str, written)), path.name
        moved += bundled_kg.planner.order(text) != text
    assert moved >= 3  # the hints do move patterns in the examples


@pytest.fixture(scope="module")
def bundled_kg(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeGraph:
    from medkg.config import Settings

    cache = tmp_path_factory.mktemp("planning-cache")
    return KnowledgeGraph.open(Settings(cache_dir=cache))


def test_a_syntax_error_keeps_its_position_as_written(kg: KnowledgeGraph) -> None:
    kg.planner.ready()
    query = "SELECT * WHERE {\n  ?x ?p ?y .\n  ?x a <http://e/Nothing>\n} ORDER BY ?x oops("
    assert kg.planner.order(query) != query  # the group does move
    with pytest.raises(QuerySyntaxError) as written:
        kg.evaluate(query, dataset=kg.dataset_for(), ordered=False)
    with pytest.raises(QuerySyntaxError) as error:
        kg.evaluate(query, dataset=kg.dataset_for())
    assert error.value.line == 4  # the ordered text has the group on one line
    assert (error.value.line, error.value.column) == (written.value.line, written.value.column)


# --------------------------------------------------------------------------------------------
# The planner


def test_the_planner_measures_on_first_use() -> None:
    planner = Planner(_university())
    assert planner.ready() is not None
    query = "SELECT * WHERE { ?x <http://e/takes> ?c . ?x a <http://e/Faculty> }"
    assert planner.order(query).index("Faculty") < planner.order(query).index("takes")


def test_queries_do_not_wait_for_a_background_measurement() -> None:
    planner = Planner(_university())
    planner.start()
    deadline = time.monotonic() + 30
    while planner.ready() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert planner.ready() is not None
    planner.start()  # again: nothing more to do


def test_remembered_orders_are_bounded() -> None:
    planner = Planner(_university())
    for i in range(Planner.REMEMBERED + 10):
        planner.order(f"SELECT * WHERE {{ ?x <http://e/a{i}> ?y . ?y a <http://e/Faculty> }}")
    assert len(planner._ordered) == Planner.REMEMBERED
