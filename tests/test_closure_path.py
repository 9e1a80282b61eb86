"""The knowledge graph's own inference path (pyoxigraph quads in, pyoxigraph triples out)
must infer exactly what the rdflib path (``compute_inferred``) infers, with either reasoner,
keep every term's exact form, and lay the store out as :mod:`medkg.store` says."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset, URIRef

from conftest import INCONSISTENT
from medkg.config import Reasoner, Settings, resolve_resources
from medkg.errors import InconsistencyError
from medkg.inference import _prepare_rule, _read_predicates, compute_inferred, infer_triples
from medkg.loading import SourceFile, discover, discover_rules, load_quads
from medkg.namespaces import ASSERTED_GRAPH, INFERRED_GRAPH
from medkg.store import KnowledgeGraph, assemble
from medkg.terms import to_rdflib

CASES_DIR = Path(__file__).parent / "inference"
CASES = sorted(p for p in CASES_DIR.iterdir() if (p / "input.ttl").exists())
EX = "https://example.org/t#"
MKG = "https://w3id.org/medkg/ontology#"


def _union(quads: list[ox.Quad]) -> set[ox.Triple]:
    return {ox.Triple(q.subject, q.predicate, q.object) for q in quads}


def _dataset(quads: list[ox.Quad]) -> Dataset:
    """The same quads (same blank nodes) as an rdflib Dataset."""
    dataset = Dataset()
    for q in quads:
        graph = dataset.graph(to_rdflib(q.graph_name))  # type: ignore[arg-type]
        graph.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
    return dataset


def _both_ways(quads: list[ox.Quad], rules: list[Path], reasoner: Reasoner) -> set[object]:
    ours = {
        (to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object))
        for t in infer_triples(_union(quads), rules, reasoner=reasoner)
    }
    reference = set(compute_inferred(_dataset(quads), rules, reasoner=reasoner))
    assert ours == reference, (sorted(map(str, ours - reference))[:5], len(reference - ours))
    return ours


def _case_sources(case: Path) -> list[SourceFile]:
    resources = resolve_resources(Settings())
    ontology = [s for s in discover(resources) if s.path.parent == resources.ontology_dir]
    return [*ontology, SourceFile(case / "input.ttl", "https://example.org/case", "extra")]


def test_bundled_graph_same_as_rdflib_path() -> None:
    resources = resolve_resources(Settings())
    quads = load_quads(discover(resources))
    inferred = _both_ways(quads, discover_rules(resources), Reasoner.FAST)
    partner = URIRef(MKG + "partnerOf")
    assert len(inferred) > 1000
    assert any(p == partner for _s, p, _o in inferred)  # the CONSTRUCT rule ran


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_inference_cases_same_as_rdflib_path(case: Path) -> None:
    rules = discover_rules(resolve_resources(Settings()))
    quads = load_quads(_case_sources(case))
    try:
        fast = _both_ways(quads, rules, Reasoner.FAST)
    except InconsistencyError as exc:
        with pytest.raises(InconsistencyError) as reference:
            compute_inferred(_dataset(quads), rules, reasoner=Reasoner.FAST)
        assert exc.clashes == reference.value.clashes
        return
    assert fast


def test_owlrl_reasoner_same_as_rdflib_path() -> None:
    rules = discover_rules(resolve_resources(Settings()))
    quads = load_quads(_case_sources(CASES_DIR / "partnership-from-agreement"))
    assert _both_ways(quads, rules, Reasoner.OWLRL)


def test_inconsistency_is_reported_with_owlrl_messages() -> None:
    resources = resolve_resources(
        Settings(ontology_dir=INCONSISTENT / "ontology", data_dir=INCONSISTENT / "data")
    )
    quads = load_quads(discover(resources))
    with pytest.raises(InconsistencyError, match="Irreflexive property used on"):
        infer_triples(_union(quads), discover_rules(resources))


def test_terms_keep_their_exact_form(tmp_path: Path) -> None:
    """An inferred triple reuses the asserted literal, lexical form and all ("01" stays
    "01": rdflib would normalize it to "1")."""
    data = tmp_path / "forms.ttl"
    data.write_text(
        f"@prefix ex: <{EX}> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        f"@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        'ex:sub rdfs:subPropertyOf ex:super . ex:a ex:sub "01"^^xsd:integer, "x"@en-GB .\n'
    )
    quads = load_quads([SourceFile(data, "https://example.org/g", "extra")])
    inferred = set(infer_triples(_union(quads), []))
    a, sup = ox.NamedNode(EX + "a"), ox.NamedNode(EX + "super")
    integer = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
    assert ox.Triple(a, sup, ox.Literal("01", datatype=integer)) in inferred
    assert ox.Triple(a, sup, ox.Literal("x", language="en-GB")) in inferred


def test_rule_reads_only_the_predicates_it_names(tmp_path: Path) -> None:
    rules = discover_rules(resolve_resources(Settings()))
    partnership = next(r for r in rules if r.name == "partnership.rq")
    reads = _read_predicates(_prepare_rule(partnership)[1].algebra)
    assert reads == {MKG + "hasParty", MKG + "partOf"}
    anything = tmp_path / "anything.rq"
    anything.write_text("CONSTRUCT { ?s <urn:x> ?o } WHERE { ?s ?p ?o }")
    assert _read_predicates(_prepare_rule(anything)[1].algebra) is None
    path = tmp_path / "path.rq"
    path.write_text("CONSTRUCT { ?s <urn:x> ?o } WHERE { ?s <urn:a>/<urn:b> ?o }")
    assert _read_predicates(_prepare_rule(path)[1].algebra) is None


def test_rule_with_any_predicate_sees_the_whole_closure(tmp_path: Path) -> None:
    """A rule whose pattern has a variable predicate reads inferred triples of every kind."""
    data = tmp_path / "d.ttl"
    data.write_text(
        f"@prefix ex: <{EX}> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "ex:A rdfs:subClassOf ex:B . ex:x a ex:A .\n"
    )
    rule = tmp_path / "copy.rq"
    rule.write_text(f"CONSTRUCT {{ ?s <{EX}seen> ?o }} WHERE {{ ?s ?p ?o FILTER(?o = <{EX}B>) }}")
    quads = load_quads([SourceFile(data, "https://example.org/g", "extra")])
    inferred = set(infer_triples(_union(quads), [rule]))
    x, seen, b = ox.NamedNode(EX + "x"), ox.NamedNode(EX + "seen"), ox.NamedNode(EX + "B")
    assert ox.Triple(x, seen, b) in inferred  # from the inferred x rdf:type ex:B


def test_assemble_layout() -> None:
    ex = {name: ox.NamedNode(EX + name) for name in ("a", "p", "b", "c", "g1", "g2")}
    shared = ox.Triple(ex["a"], ex["p"], ex["b"])
    asserted = [
        ox.Quad(shared.subject, shared.predicate, shared.object, ex["g1"]),
        ox.Quad(shared.subject, shared.predicate, shared.object, ex["g2"]),
    ]
    inferred = [ox.Triple(ex["a"], ex["p"], ex["c"])]
    store = assemble(asserted, inferred)

    def graph(name: ox.NamedNode | ox.DefaultGraph) -> list[ox.Triple]:
        return [
            ox.Triple(q.subject, q.predicate, q.object)
            for q in store.quads_for_pattern(None, None, None, name)
        ]

    assert graph(ex["g1"]) == graph(ex["g2"]) == [shared]
    assert graph(ox.NamedNode(ASSERTED_GRAPH)) == [shared]
    assert graph(ox.NamedNode(INFERRED_GRAPH)) == inferred
    assert sorted(map(str, graph(ox.DefaultGraph()))) == sorted(map(str, [shared, *inferred]))


def test_open_matches_the_bundled_fixture(tmp_path: Path) -> None:
    """KnowledgeGraph.open (this path) gives the store layout the rest of medkg reads."""
    kg = KnowledgeGraph.open(Settings(cache_dir=tmp_path, use_cache=False))
    names = set(kg.graph_names())
    assert INFERRED_GRAPH in names and ASSERTED_GRAPH not in names
    default = {
        ox.Triple(q.subject, q.predicate, q.object)
        for q in kg.store.quads_for_pattern(None, None, None, ox.DefaultGraph())
    }
    asserted = {
        ox.Triple(q.subject, q.predicate, q.object)
        for q in kg.store.quads_for_pattern(None, None, None, ox.NamedNode(ASSERTED_GRAPH))
    }
    inferred = {
        ox.Triple(q.subject, q.predicate, q.object)
        for q in kg.store.quads_for_pattern(None, None, None, ox.NamedNode(INFERRED_GRAPH))
    }
    assert default == asserted | inferred and not asserted & inferred
