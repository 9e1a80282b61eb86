"""execute(): datasets (virtual graphs, FROM, protocol), formats, caps, DESCRIBE."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from conftest import Bundled
from medkg.errors import InputError, NotAcceptable, QuerySyntaxError, QueryTooComplex
from medkg.execution import QueryAnswer, QueryJob, choose_format, execute
from medkg.formats import RdfSyntax, ResultFormat
from medkg.namespaces import ALL_GRAPH, ASSERTED_GRAPH, GRAPH_BASE, INFERRED_GRAPH, PREFIXES
from medkg.store import GraphMode, KnowledgeGraph, QueryKind

RES = "https://w3id.org/medkg/resource/"
MKG = "https://w3id.org/medkg/ontology#"
PART_OF = "SELECT ?x WHERE { res:ward mkg:partOf ?x } ORDER BY ?x"
SELECT = "SELECT ?s ?label WHERE { ?s rdfs:label ?label } ORDER BY ?s"
ASK = "ASK { res:ward mkg:partOf res:hospital }"
CONSTRUCT = "CONSTRUCT WHERE { ?s mkg:partOf ?o }"
QUERIES = Path(__file__).resolve().parents[1] / "queries"

JSON = "application/sparql-results+json"
XML = "application/sparql-results+xml"
CSV = "text/csv; charset=utf-8"
TSV = "text/tab-separated-values; charset=utf-8"
TURTLE = "text/turtle; charset=utf-8"
SPARQLSTORE = "application/sparql-results+xml, application/rdf+xml"


def _json_values(answer: QueryAnswer) -> list[str]:
    document = json.loads(answer.body)
    return [b["x"]["value"] for b in document["results"]["bindings"] if "x" in b]


def _part_of(kg: KnowledgeGraph, **job: object) -> list[str]:
    answer = execute(kg, QueryJob(job.pop("query", PART_OF), **job))  # type: ignore[arg-type]
    return [v.removeprefix(RES) for v in _json_values(answer)]


# --------------------------------------------------------------------------------------------
# Formats


@pytest.mark.parametrize(
    ("query", "accept", "format_name", "media_type"),
    [
        (SELECT, None, None, JSON),
        (SELECT, "*/*", None, JSON),
        (SELECT, XML, None, XML),
        (SELECT, "text/csv", None, CSV),
        (SELECT, "text/tab-separated-values;q=0.9, text/csv;q=0.5", None, TSV),
        (SELECT, "application/json", None, JSON),
        (SELECT, SPARQLSTORE, None, XML),
        (SELECT, "text/csv", "json", JSON),  # the parameter wins over Accept
        (SELECT, None, "tsv", TSV),
        (SELECT, None, "text/csv", CSV),
        (SELECT, None, "bogus, tsv, text/tab-separated-values", TSV),
        (ASK, None, None, JSON),
        (ASK, SPARQLSTORE, None, XML),
        (ASK, None, "xml", XML),
        (CONSTRUCT, None, None, TURTLE),
        (CONSTRUCT, SPARQLSTORE, None, "application/rdf+xml"),
        (CONSTRUCT, "application/n-triples", None, "application/n-triples"),
        (CONSTRUCT, "application/ld+json", None, "application/ld+json"),
        (CONSTRUCT, "application/trig", None, "application/trig"),
        (CONSTRUCT, "application/n-quads", None, "application/n-quads"),
        (CONSTRUCT, None, "xml", "application/rdf+xml"),  # SPARQLWrapper's name for RDF/XML
        (CONSTRUCT, None, "json-ld", "application/ld+json"),
        (CONSTRUCT, None, "n3", TURTLE),
        (CONSTRUCT, None, "rdf+xml", "application/rdf+xml"),
        ("DESCRIBE res:ward", "text/turtle", None, TURTLE),
    ],
)
def test_format_negotiation(
    kg: KnowledgeGraph, query: str, accept: str | None, format_name: str | None, media_type: str
) -> None:
    answer = execute(kg, QueryJob(query, accept=accept, format_name=format_name))
    assert answer.media_type == media_type
    assert answer.body


@pytest.mark.parametrize(
    ("query", "accept", "format_name", "offered"),
    [
        (ASK, "text/csv", None, [JSON, XML]),
        (SELECT, "text/turtle", None, [JSON, XML, "text/csv", "text/tab-separated-values"]),
        (CONSTRUCT, JSON, None, ["text/turtle"]),
        (CONSTRUCT, None, "csv", ["text/turtle"]),
        (SELECT, None, "html", [JSON]),
    ],
)
def test_nothing_acceptable(
    kg: KnowledgeGraph, query: str, accept: str | None, format_name: str | None, offered: list[str]
) -> None:
    with pytest.raises(NotAcceptable) as info:
        execute(kg, QueryJob(query, accept=accept, format_name=format_name))
    assert info.value.http_status == 406
    assert info.value.offered[: len(offered)] == offered


def test_choose_format_returns_format_values() -> None:
    assert choose_format(QueryKind.SELECT, None) is ResultFormat.JSON
    assert choose_format(QueryKind.GRAPH, "application/rdf+xml") is RdfSyntax.RDFXML
    assert choose_format(QueryKind.GRAPH, "application/x-turtle") is RdfSyntax.TURTLE


def test_every_graph_syntax_parses(kg: KnowledgeGraph) -> None:
    expected = len(kg.query(CONSTRUCT).triples)
    for syntax in RdfSyntax:
        answer = execute(kg, QueryJob(CONSTRUCT, accept=syntax.media_type))
        assert answer.count == expected
        assert len(list(ox.parse(answer.body, syntax.oxigraph_format))) == expected


def test_answer_fields(kg: KnowledgeGraph) -> None:
    select = execute(kg, QueryJob(SELECT))
    assert (select.kind, select.truncated) == (QueryKind.SELECT, False)
    assert select.count == len(json.loads(select.body)["results"]["bindings"])
    ask = execute(kg, QueryJob(ASK))
    assert (ask.kind, ask.count, json.loads(ask.body)["boolean"]) == (QueryKind.ASK, None, True)
    construct = execute(kg, QueryJob(CONSTRUCT))
    assert construct.kind is QueryKind.GRAPH and construct.count


# --------------------------------------------------------------------------------------------
# Caps


def test_select_cap_truncates_and_flags(kg: KnowledgeGraph) -> None:
    everything = execute(kg, QueryJob(SELECT))
    n = everything.count
    assert n is not None and n > 2
    capped = execute(kg, QueryJob(SELECT, accept="text/csv", max_rows=2))
    assert (capped.count, capped.truncated) == (2, True)
    assert capped.body.decode().count("\r\n") == 3  # header + 2 rows
    exact = execute(kg, QueryJob(SELECT, max_rows=n))
    assert (exact.count, exact.truncated, exact.body) == (n, False, everything.body)


@pytest.mark.parametrize("fmt", list(ResultFormat), ids=lambda f: f.cli_name)
def test_select_row_cap_in_every_format(kg: KnowledgeGraph, fmt: ResultFormat) -> None:
    """A whole answer (pyoxigraph's own bytes in JSON, XML and TSV) and a capped one (its
    query evaluated again, a prefix written) say the same about the rows they hold."""
    whole = execute(kg, QueryJob(SELECT, accept=fmt.media_type, max_bytes=10**7))
    n = whole.count
    assert n is not None and n > 2 and not whole.truncated
    if fmt is not ResultFormat.CSV:
        result = kg.store.query(SELECT, prefixes=PREFIXES)
        assert isinstance(result, ox.QuerySolutions)
        assert whole.body == result.serialize(format=fmt.oxigraph_format)
    capped = execute(kg, QueryJob(SELECT, accept=fmt.media_type, max_rows=2, max_bytes=10**7))
    assert (capped.count, capped.truncated) == (2, True)
    if fmt is ResultFormat.CSV:  # pyoxigraph does not read CSV answers
        rows = list(csv.reader(io.StringIO(capped.body.decode(), newline="")))[1:]
    else:
        rows = list(ox.parse_query_results(capped.body, format=fmt.oxigraph_format))
    assert len(rows) == 2
    assert capped.body.startswith(whole.body[:40])  # the same head
    at_cap = execute(kg, QueryJob(SELECT, accept=fmt.media_type, max_rows=n, max_bytes=10**7))
    assert (at_cap.count, at_cap.truncated, at_cap.body) == (n, False, whole.body)


def test_construct_cap_truncates_and_flags(kg: KnowledgeGraph) -> None:
    capped = execute(kg, QueryJob(CONSTRUCT, accept="application/n-triples", max_rows=1))
    assert (capped.count, capped.truncated) == (1, True)
    assert len(capped.body.decode().strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("query", "accept"),
    [
        ("SELECT * WHERE { ?s ?p ?o }", "application/sparql-results+json"),
        ("SELECT * WHERE { ?s ?p ?o }", "text/tab-separated-values"),
        ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "text/turtle"),
        ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "application/ld+json"),
    ],
)
def test_byte_cap_drops_rows_until_the_answer_fits(
    kg: KnowledgeGraph, query: str, accept: str
) -> None:
    whole = execute(kg, QueryJob(query, accept=accept))
    assert whole.count is not None and len(whole.body) > 2_000 and not whole.truncated
    capped = execute(kg, QueryJob(query, accept=accept, max_bytes=2_000))
    assert len(capped.body) <= 2_000 and capped.truncated
    assert capped.count is not None and 0 < capped.count < whole.count
    if "json" in accept:
        json.loads(capped.body)  # still a whole document
    elif accept == "text/turtle":
        assert len(rdflib.Graph().parse(data=capped.body, format="turtle")) == capped.count


def test_ask_is_never_truncated(kg: KnowledgeGraph) -> None:
    answer = execute(kg, QueryJob(ASK, max_rows=1))
    assert (answer.count, answer.truncated) == (None, False)


# --------------------------------------------------------------------------------------------
# DESCRIBE


def test_describe_is_the_concise_bounded_description(kg: KnowledgeGraph) -> None:
    """Every triple about the resource, and those of the blank nodes it reaches."""
    answer = execute(kg, QueryJob("DESCRIBE res:hospital", accept="application/n-triples"))
    graph = rdflib.Graph().parse(data=answer.body, format="nt")
    hospital = rdflib.URIRef(RES + "hospital")
    address = graph.value(hospital, rdflib.URIRef(MKG + "address"))
    assert isinstance(address, rdflib.BNode)
    assert (address, rdflib.URIRef(MKG + "city"), rdflib.Literal("Springfield")) in graph
    assert (hospital, rdflib.RDF.type, rdflib.URIRef(MKG + "Hospital")) in graph
    assert (
        hospital,
        rdflib.URIRef(MKG + "hasPart"),
        rdflib.URIRef(RES + "ward"),
    ) in graph  # inferred
    assert all(s in (hospital, address) for s in graph.subjects())


def test_describe_follows_the_dataset(kg: KnowledgeGraph) -> None:
    job = QueryJob("DESCRIBE res:hospital", default_graph_uris=(ASSERTED_GRAPH,))
    asserted = rdflib.Graph().parse(data=execute(kg, job).body, format="turtle")
    hospital = rdflib.URIRef(RES + "hospital")
    assert (hospital, rdflib.URIRef(MKG + "hasPart"), rdflib.URIRef(RES + "ward")) not in asserted
    assert (hospital, rdflib.RDF.type, rdflib.URIRef(MKG + "Hospital")) in asserted


# --------------------------------------------------------------------------------------------
# Datasets


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        ({}, ["clinic", "hospital"]),
        ({"mode": GraphMode.ASSERTED}, ["clinic"]),
        ({"mode": GraphMode.INFERRED}, ["hospital"]),
        ({"default_graph_uris": (ALL_GRAPH,)}, ["clinic", "hospital"]),
        ({"default_graph_uris": (ASSERTED_GRAPH,)}, ["clinic"]),
        ({"default_graph_uris": (INFERRED_GRAPH,)}, ["hospital"]),
        ({"default_graph_uris": (GRAPH_BASE + "units",)}, ["clinic"]),
        ({"default_graph_uris": (GRAPH_BASE + "people",)}, []),
        ({"default_graph_uris": ("http://example.org/unknown",)}, []),
        ({"default_graph_uris": (ASSERTED_GRAPH, INFERRED_GRAPH)}, ["clinic", "hospital"]),
        (
            {"default_graph_uris": (ALL_GRAPH, ASSERTED_GRAPH, INFERRED_GRAPH)},
            ["clinic", "hospital"],
        ),
        ({"named_graph_uris": (GRAPH_BASE + "units",)}, []),  # default graph then empty
        ({"default_graph_uris": (ASSERTED_GRAPH,), "mode": GraphMode.INFERRED}, ["clinic"]),
        ({"query": PART_OF.replace("WHERE", "FROM graph:inferred WHERE")}, ["hospital"]),
        ({"query": PART_OF.replace("WHERE", "FROM graph:asserted WHERE")}, ["clinic"]),
        (
            {"query": PART_OF.replace("WHERE", "FROM <https://w3id.org/medkg/graph/all> WHERE")},
            ["clinic", "hospital"],
        ),
        (
            {
                "query": PART_OF.replace("WHERE", "FROM graph:inferred WHERE"),
                "default_graph_uris": (ASSERTED_GRAPH,),
            },
            ["clinic"],
        ),  # the protocol overrides FROM
        ({"query": PART_OF.replace("WHERE", "FROM NAMED graph:units WHERE")}, []),
    ],
)
def test_dataset_selection(kg: KnowledgeGraph, job: dict[str, object], expected: list[str]) -> None:
    assert _part_of(kg, **job) == expected


GRAPHS = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        ({"named_graph_uris": (GRAPH_BASE + "units",)}, ["units"]),
        (
            {"named_graph_uris": (GRAPH_BASE + "units", INFERRED_GRAPH, "http://nowhere/")},
            ["inferred", "units"],
        ),
        ({"default_graph_uris": (ALL_GRAPH,)}, []),  # no named-graph-uri: no named graphs
        ({"named_graph_uris": (ALL_GRAPH,)}, []),  # virtual graphs are default graphs only
        ({"query": GRAPHS.replace("WHERE", "FROM NAMED graph:people WHERE")}, ["people"]),
        ({"mode": GraphMode.INFERRED}, ["inferred"]),
    ],
)
def test_named_graph_selection(
    kg: KnowledgeGraph, job: dict[str, object], expected: list[str]
) -> None:
    answer = execute(kg, QueryJob(job.pop("query", GRAPHS), **job))  # type: ignore[arg-type]
    bindings = json.loads(answer.body)["results"]["bindings"]
    assert [b["g"]["value"].removeprefix(GRAPH_BASE) for b in bindings] == expected


def test_all_named_graphs_by_default(kg: KnowledgeGraph) -> None:
    answer = execute(kg, QueryJob(GRAPHS))
    names = {b["g"]["value"] for b in json.loads(answer.body)["results"]["bindings"]}
    assert names == set(kg.graph_names())


def test_invalid_graph_iri_is_an_input_error(kg: KnowledgeGraph) -> None:
    with pytest.raises(InputError, match="invalid graph IRI"):
        execute(kg, QueryJob(PART_OF, default_graph_uris=("not an iri",)))


def test_virtual_graphs_match_the_modes_on_the_bundled_graph(bundled: Bundled) -> None:
    """Every example query without GRAPH: graph:asserted answers as --asserted-only does."""
    paths = sorted(QUERIES.glob("*.rq"))
    assert paths, f"no example queries in {QUERIES}"
    checked = 0
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if "GRAPH" in text.upper().replace("GRAPH:", ""):
            continue
        for virtual, mode in ((ASSERTED_GRAPH, GraphMode.ASSERTED), (ALL_GRAPH, GraphMode.ALL)):
            job = QueryJob(text, accept="application/n-triples, text/tab-separated-values")
            ours = execute(bundled.kg, replace(job, default_graph_uris=(virtual,)))
            reference = execute(bundled.kg, replace(job, mode=mode))
            assert sorted(ours.body.splitlines()) == sorted(reference.body.splitlines()), path.name
        checked += 1
    assert checked >= 20


# --------------------------------------------------------------------------------------------
# Guards and errors


def test_service_is_refused(kg: KnowledgeGraph) -> None:
    with pytest.raises(QuerySyntaxError, match="SERVICE"):
        execute(kg, QueryJob("SELECT * WHERE { ?s ?p ?o .SERVICE <http://127.0.0.1:9/> {} }"))


def test_nesting_beyond_the_safe_limit_is_refused_before_parsing(kg: KnowledgeGraph) -> None:
    deep = "SELECT * WHERE " + "{" * 20_000 + "?s ?p ?o" + "}" * 20_000
    with pytest.raises(QueryTooComplex):
        execute(kg, QueryJob(deep))


def test_syntax_error_has_a_position(kg: KnowledgeGraph) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        execute(kg, QueryJob("SELECT ?x WHERE {\n  ?x ?y }"))
    assert info.value.line == 2 and info.value.column is not None


def test_relative_iris_resolve_against_the_base(kg: KnowledgeGraph) -> None:
    job = QueryJob("CONSTRUCT { <s> <p> 1 } WHERE {}", base_iri="http://host/sparql")
    answer = execute(kg, replace(job, accept="application/n-triples"))
    assert answer.body.startswith(b"<http://host/s> <http://host/p> ")
    with pytest.raises(QuerySyntaxError):
        execute(kg, QueryJob("CONSTRUCT { <s> <p> 1 } WHERE {}"))
