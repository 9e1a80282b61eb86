from __future__ import annotations

import csv
import gc
import io
import json
import threading
import xml.etree.ElementTree as ET

import pyoxigraph as ox
import pytest
import rdflib

from medkg.errors import QuerySyntaxError, UnknownFormatError
from medkg.formats import RdfSyntax, ResultFormat
from medkg.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH
from medkg.store import GraphMode, KnowledgeGraph, QueryKind, collector_paused, refuse_service

PART_OF = "SELECT ?x WHERE { res:ward mkg:partOf ?x } ORDER BY ?x"


def _values(kg: KnowledgeGraph, sparql: str, mode: GraphMode = GraphMode.ALL) -> list[str]:
    result = kg.query(sparql, mode=mode)
    return [row[0].value for row in result.rows]  # type: ignore[union-attr]


def test_modes(kg: KnowledgeGraph) -> None:
    res = "https://w3id.org/medkg/resource/"
    assert _values(kg, PART_OF) == [res + "clinic", res + "hospital"]
    assert _values(kg, PART_OF, GraphMode.ASSERTED) == [res + "clinic"]
    assert _values(kg, PART_OF, GraphMode.INFERRED) == [res + "hospital"]


def test_named_graphs_follow_the_mode(kg: KnowledgeGraph) -> None:
    q = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"
    assert INFERRED_GRAPH in _values(kg, q)
    assert INFERRED_GRAPH not in _values(kg, q, GraphMode.ASSERTED)
    assert ONTOLOGY_GRAPH in _values(kg, q, GraphMode.ASSERTED)
    assert _values(kg, q, GraphMode.INFERRED) == [INFERRED_GRAPH]


def test_union_is_a_set(kg: KnowledgeGraph) -> None:
    """res:hospital a mkg:Hospital is asserted in two files but is one triple."""
    result = kg.query("SELECT (COUNT(*) AS ?n) WHERE { res:hospital a mkg:Hospital }")
    assert result.rows[0][0].value == "1"  # type: ignore[union-attr]
    result = kg.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { res:hospital a mkg:Hospital } }")
    assert result.rows[0][0].value == "2"  # type: ignore[union-attr]


def test_result_kinds(kg: KnowledgeGraph) -> None:
    select = kg.query("SELECT ?s ?unbound WHERE { ?s a mkg:Hospital }")
    assert select.kind is QueryKind.SELECT
    assert select.variables == ("s", "unbound")
    assert select.rows and select.rows[0][1] is None
    ask = kg.query("ASK { res:alice mkg:colleagueOf res:bob }")
    assert (ask.kind, ask.boolean) == (QueryKind.ASK, True)
    construct = kg.query("CONSTRUCT WHERE { res:ward ?p ?o }")
    assert construct.kind is QueryKind.GRAPH and construct.triples
    describe = kg.query("DESCRIBE res:ward")
    assert describe.kind is QueryKind.GRAPH and describe.triples


def test_user_prefixes_are_predeclared_and_overridable(kg: KnowledgeGraph) -> None:
    assert kg.query("ASK { ?s rdf:type owl:Class }").boolean is True
    assert kg.query("PREFIX mkg: <urn:nothing#> ASK { ?s a mkg:Hospital }").boolean is False


@pytest.mark.parametrize(
    ("sparql", "line", "column"),
    [
        ("SELECT ?x WHERE { ?x ?y }", 1, 26),
        ("SELECT ?x\nWHERE {\n  ?x nope:bar ?y }", 3, 6),
        ("garbage", 1, 1),
    ],
)
def test_syntax_errors_have_positions(
    kg: KnowledgeGraph, sparql: str, line: int, column: int
) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        kg.query(sparql, source="q.rq")
    assert info.value.line == line
    assert info.value.column is not None
    assert str(info.value).startswith("SPARQL syntax error: ")
    assert f"(q.rq:{line}:" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("sparql", "refused"),
    [
        ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", True),
        ("select * where { service silent <http://x/> { ?s ?p ?o } }", True),
        ("SELECT * WHERE {\n  SeRvIcE ?ep { ?s ?p ?o } }", True),
        ("SELECT ?service WHERE { ?service ?p ?o }", False),
        ("SELECT * WHERE { ?s ex:SERVICE ?o }", False),
        ('SELECT * WHERE { ?s ?p "SERVICE" }', False),
        ("SELECT * WHERE { ?s ?p '''multi\nSERVICE''' }", False),
        ("# SERVICE in a comment\nSELECT * WHERE { ?s ?p ?o }", False),
        ("SELECT * WHERE { ?s <http://x/SERVICE> ?o }", False),
        ("SELECT * WHERE { ?s ?p ?o FILTER(?o < 3 && ?o > 1) }", False),
    ],
)
def test_service_guard(sparql: str, refused: bool) -> None:
    if refused:
        with pytest.raises(QuerySyntaxError, match="SERVICE"):
            refuse_service(sparql)
    else:
        refuse_service(sparql)


def test_service_is_refused_by_query(kg: KnowledgeGraph) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        kg.query("SELECT * WHERE {\n  SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")
    assert (info.value.line, info.value.column) == (2, 3)


def test_select_serializations_parse(kg: KnowledgeGraph) -> None:
    result = kg.query("SELECT ?s ?label WHERE { ?s rdfs:label ?label } ORDER BY ?s")
    n = len(result.rows)
    assert n >= 4
    data = json.loads(result.serialize(ResultFormat.JSON))
    assert data["head"]["vars"] == ["s", "label"]
    assert len(data["results"]["bindings"]) == n
    root = ET.fromstring(result.serialize(ResultFormat.XML))
    assert len(root.findall(".//{http://www.w3.org/2005/sparql-results#}result")) == n
    rows = list(csv.reader(io.StringIO(result.serialize(ResultFormat.CSV).decode())))
    assert rows[0] == ["s", "label"] and len(rows) == n + 1
    tsv = result.serialize(ResultFormat.TSV).decode().splitlines()
    assert tsv[0] == "?s\t?label" and len(tsv) == n + 1
    for fmt in (ResultFormat.JSON, ResultFormat.XML, ResultFormat.TSV):  # CSV is lossy
        parsed = ox.parse_query_results(result.serialize(fmt), fmt.oxigraph_format)
        assert len(list(parsed)) == n  # type: ignore[arg-type]


def test_ask_serializations(kg: KnowledgeGraph) -> None:
    ask = kg.query("ASK { res:ward mkg:partOf res:hospital }")
    assert json.loads(ask.serialize(ResultFormat.JSON))["boolean"] is True
    assert b"true" in ask.serialize(ResultFormat.XML)


@pytest.mark.parametrize("syntax", list(RdfSyntax))
def test_construct_serializations_parse(kg: KnowledgeGraph, syntax: RdfSyntax) -> None:
    result = kg.query("CONSTRUCT WHERE { ?s mkg:partOf ?o }")
    data = result.serialize(syntax)
    graph = rdflib.Dataset() if syntax.carries_graphs else rdflib.Graph()
    if syntax is RdfSyntax.JSONLD:
        quads = list(ox.parse(data, ox.RdfFormat.JSON_LD))
        assert len(quads) == len(result.triples)
        assert b'"@context"' in data
        return
    if syntax.carries_graphs:
        assert len(list(ox.parse(data, syntax.oxigraph_format))) == len(result.triples)
        return
    graph.parse(data=data, format=syntax.rdflib_format)
    assert len(graph) == len(result.triples)


def test_format_must_fit_the_kind(kg: KnowledgeGraph) -> None:
    with pytest.raises(UnknownFormatError):
        kg.query("SELECT * WHERE { ?s ?p ?o } LIMIT 1").serialize(RdfSyntax.TURTLE)
    with pytest.raises(UnknownFormatError):
        kg.query("CONSTRUCT WHERE { ?s ?p ?o }").serialize(ResultFormat.CSV)


def test_stats(kg: KnowledgeGraph) -> None:
    stats = kg.stats()
    names = [name for name, _ in stats.graphs]
    assert names == sorted(names)
    assert INFERRED_GRAPH in names and ONTOLOGY_GRAPH in names
    assert stats.total_triples == sum(n for _, n in stats.graphs)
    counts = [n for _, n in stats.classes]
    assert counts == sorted(counts, reverse=True)
    for (c1, n1), (c2, n2) in zip(stats.classes, stats.classes[1:], strict=False):
        assert n1 > n2 or c1 < c2
    by_class = dict(stats.classes)
    mkg = "https://w3id.org/medkg/ontology#"
    assert by_class[mkg + "Organization"] == 1  # inferred from mkg:Hospital
    assert by_class[mkg + "Department"] == 2


def test_dataset_and_union_graph(kg: KnowledgeGraph) -> None:
    graph_names = {str(g.identifier) for g in kg.dataset.graphs() if len(g)}
    assert INFERRED_GRAPH in graph_names
    union = kg.union_graph()
    asserted = kg.union_graph(GraphMode.ASSERTED)
    inferred = kg.union_graph(GraphMode.INFERRED)
    assert len(union) == len(asserted) + len(inferred)


def test_undeclared_prefix_message(kg: KnowledgeGraph) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        kg.query("SELECT ?x WHERE { ?x nope:thing ?y }")
    assert "undeclared prefix 'nope:'" in str(info.value)
    assert "..=" not in str(info.value)


def test_default_graph_queries_run_on_the_closure_store(kg: KnowledgeGraph) -> None:
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    in_full = kg.store.query(count, default_graph=[ox.DefaultGraph()])
    in_closure = kg.closure_store.query(count)
    assert next(iter(in_full))[0] == next(iter(in_closure))[0]  # type: ignore[arg-type, index]
    assert list(kg.closure_store.named_graphs()) == []
    # With GRAPH the named graphs are needed, and found.
    graphs = kg.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }").rows
    assert len(graphs) >= 3


def test_the_collector_is_paused_while_building_and_restored_after() -> None:
    assert gc.isenabled()
    inner_started, outer_may_end = threading.Event(), threading.Event()

    def other_block() -> None:
        with collector_paused():
            inner_started.set()
            outer_may_end.wait(10)

    thread = threading.Thread(target=other_block)
    with collector_paused():
        assert not gc.isenabled()
        thread.start()
        inner_started.wait(10)
    assert not gc.isenabled(), "another build is still running"
    outer_may_end.set()
    thread.join(10)
    assert gc.isenabled()

    gc.disable()  # a program that turned it off itself keeps it off
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
