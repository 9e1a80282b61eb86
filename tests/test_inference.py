from __future__ import annotations

import shutil
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from conftest import INCONSISTENT, KG_DATA, KG_ONTOLOGY
from medkg.config import Settings
from medkg.errors import InconsistencyError, InputError, MedkgError, QuerySyntaxError
from medkg.inference import ERRNS, INFERENCE_VERSION, individual_bnodes, is_noise
from medkg.namespaces import ASSERTED_GRAPH, INFERRED_GRAPH, MKG, RES
from medkg.store import KnowledgeGraph

A = URIRef(RES + "a")
B = URIRef(RES + "b")
P = MKG.partOf
C = MKG.Hospital
ANON = BNode("anon")
KEPT = BNode("kept")


@pytest.mark.parametrize(
    ("triple", "noise"),
    [
        # real inferences are kept
        ((A, P, B), False),
        ((A, RDF.type, C), False),
        ((C, RDFS.subClassOf, MKG.Organization), False),
        ((A, OWL.sameAs, B), False),
        ((P, RDFS.domain, MKG.Department), False),
        ((A, RDFS.label, Literal("x")), False),
        ((KEPT, RDF.type, MKG.Address), False),  # a data blank node
        ((A, MKG.address, KEPT), False),
        # literal subject
        ((Literal("1", datatype=XSD.integer), RDF.type, XSD.integer), True),
        ((Literal("x"), OWL.sameAs, Literal("x")), True),
        # reflexive tautologies
        ((A, OWL.sameAs, A), True),
        ((C, OWL.equivalentClass, C), True),
        ((P, OWL.equivalentProperty, P), True),
        ((C, RDFS.subClassOf, C), True),
        ((P, RDFS.subPropertyOf, P), True),
        # top classes
        ((A, RDF.type, OWL.Thing), True),
        ((A, RDF.type, RDFS.Resource), True),
        ((C, RDFS.subClassOf, OWL.Thing), True),
        ((C, RDFS.subClassOf, RDFS.Resource), True),
        ((P, RDFS.domain, OWL.Thing), True),
        ((P, RDFS.range, OWL.Thing), True),
        # statements about the rdf/rdfs/owl/xsd vocabularies
        ((RDF.type, RDF.type, RDF.Property), True),
        ((RDFS.label, RDF.type, OWL.AnnotationProperty), True),
        ((OWL.Thing, RDF.type, OWL.Class), True),
        ((XSD.integer, RDF.type, RDFS.Datatype), True),
        ((OWL.Nothing, RDFS.subClassOf, C), True),
        # blank nodes that are not data individuals (restrictions, lists, unknown)
        ((ANON, RDF.type, OWL.Class), True),
        ((A, RDF.type, ANON), True),
        ((C, RDFS.subClassOf, ANON), True),
        # owlrl's error bookkeeping
        ((A, ERRNS.error, Literal("clash")), True),
        ((A, RDF.type, ERRNS.ErrorMessage), True),
    ],
)
def test_is_noise(triple: tuple[URIRef, URIRef, URIRef], noise: bool) -> None:
    assert is_noise(triple, frozenset({KEPT})) is noise


def test_is_noise_defaults_to_dropping_all_blank_nodes() -> None:
    assert is_noise((KEPT, RDF.type, MKG.Address))


def test_individual_bnodes() -> None:
    graph = Graph()
    graph.parse(
        data="""
        @prefix mkg: <https://w3id.org/medkg/ontology#> .
        @prefix owl: <http://www.w3.org/2002/07/owl#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        mkg:D rdfs:subClassOf [ a owl:Restriction ; owl:onProperty mkg:p ;
                                 owl:someValuesFrom mkg:O ] .
        mkg:U owl:unionOf ( mkg:A mkg:B ) .
        mkg:x mkg:address [ a mkg:Address ] .
        mkg:y mkg:knows [ a owl:NamedIndividual ] .
        mkg:z mkg:knows [ mkg:name "plain" ] .
        """,
        format="turtle",
    )
    kept = individual_bnodes(graph)
    assert len(kept) == 3
    for node in kept:
        assert (None, OWL.onProperty, None) not in graph.triples((node, None, None))
        assert (node, RDF.first, None) not in graph


def _inferred(kg: KnowledgeGraph) -> set[ox.Quad]:
    return set(kg.store.quads_for_pattern(None, None, None, ox.NamedNode(INFERRED_GRAPH)))


def _canonical(kg: KnowledgeGraph) -> ox.Dataset:
    """All quads with blank nodes canonically relabelled (fresh parses relabel them)."""
    dataset = ox.Dataset(kg.store.quads_for_pattern(None, None, None, None))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return dataset


def _project_copy(tmp_path: Path) -> tuple[Path, Path]:
    onto, data = tmp_path / "ontology", tmp_path / "data"
    shutil.copytree(KG_ONTOLOGY, onto)
    shutil.copytree(KG_DATA, data)
    return onto, data


def test_closure_content(kg: KnowledgeGraph) -> None:
    inferred = _inferred(kg)
    assert inferred, "the fixture must infer something"
    ward, hospital = ox.NamedNode(RES + "ward"), ox.NamedNode(RES + "hospital")
    # transitivity, inverse, rules (+ symmetry), subclass, domain
    expected = [
        (ward, ox.NamedNode(MKG.partOf), hospital),
        (hospital, ox.NamedNode(MKG.hasPart), ward),
        (ox.NamedNode(RES + "alice"), ox.NamedNode(MKG.colleagueOf), ox.NamedNode(RES + "bob")),
        (ox.NamedNode(RES + "bob"), ox.NamedNode(MKG.colleagueOf), ox.NamedNode(RES + "alice")),
        (hospital, ox.NamedNode(str(RDF.type)), ox.NamedNode(MKG.Organization)),
        (hospital, ox.NamedNode(str(RDF.type)), ox.NamedNode("https://schema.org/Organization")),
        (ox.NamedNode(RES + "alice"), ox.NamedNode(str(RDF.type)), ox.NamedNode(MKG.Person)),
    ]
    triples = {(q.subject, q.predicate, q.object) for q in inferred}
    for triple in expected:
        assert triple in triples
    # nothing asserted is repeated as inferred, no noise survives
    for quad in inferred:
        assert not isinstance(quad.subject, ox.Literal)
        assert not quad.subject.value.startswith("http://www.w3.org/2002/07/owl#")  # type: ignore[union-attr]
        asserted = kg.store.quads_for_pattern(
            quad.subject, quad.predicate, quad.object, ox.NamedNode(ASSERTED_GRAPH)
        )
        assert next(iter(asserted), None) is None


def test_inferred_type_of_data_blank_node(kg: KnowledgeGraph) -> None:
    result = kg.query(
        "ASK { res:hospital mkg:address ?a . GRAPH graph:inferred { ?a a mkg:Location } }"
    )
    assert result.boolean is True


def test_cache_miss_then_hit(tmp_path: Path) -> None:
    settings = Settings(ontology_dir=KG_ONTOLOGY, data_dir=KG_DATA, cache_dir=tmp_path / "c")
    start = time.perf_counter()
    first = KnowledgeGraph.open(settings)
    assert time.perf_counter() - start < 5
    assert first.from_cache is False
    # exactly one entry and no temporaries left behind by the atomic write
    assert [p.name for p in (tmp_path / "c").iterdir()] == [f"{first.cache_key}.nq"]

    second = KnowledgeGraph.open(settings)
    assert second.from_cache is True
    assert second.cache_key == first.cache_key
    assert len(_inferred(second)) == len(_inferred(first))
    assert _canonical(second) == _canonical(first)
    assert second.stats() == first.stats()
    # blank nodes still join asserted and inferred triples after a cache hit
    assert second.query(
        "ASK { res:hospital mkg:address ?a . GRAPH graph:inferred { ?a a mkg:Location } }"
    ).boolean
    assert len(second.dataset) == len(first.dataset)

    forced = KnowledgeGraph.open(settings.model_copy(update={"use_cache": False}))
    assert forced.from_cache is False
    assert len(_inferred(forced)) == len(_inferred(first))
    assert _canonical(forced) == _canonical(first)


def test_cache_key_follows_inputs(tmp_path: Path) -> None:
    onto, data = _project_copy(tmp_path)
    settings = Settings(ontology_dir=onto, data_dir=data, cache_dir=tmp_path / "c")
    first = KnowledgeGraph.open(settings)
    (data / "people.ttl").write_text(
        (data / "people.ttl").read_text() + "\nres:carol mkg:worksAt res:ward .\n"
    )
    second = KnowledgeGraph.open(settings)
    assert second.cache_key != first.cache_key
    assert second.from_cache is False
    assert second.query("ASK { res:carol mkg:colleagueOf res:alice }").boolean
    rule = onto / "rules" / "colleagues.rq"
    rule.write_text(rule.read_text() + "\n# edited\n")
    assert KnowledgeGraph.open(settings).cache_key != second.cache_key
    assert INFERENCE_VERSION


def test_corrupt_cache_entry_is_recomputed(tmp_path: Path) -> None:
    settings = Settings(ontology_dir=KG_ONTOLOGY, data_dir=KG_DATA, cache_dir=tmp_path / "c")
    first = KnowledgeGraph.open(settings)
    entry = tmp_path / "c" / f"{first.cache_key}.nq"
    assert entry.is_file()
    entry.write_text("this is not n-quads\n")
    again = KnowledgeGraph.open(settings)
    assert again.from_cache is False
    assert _canonical(again) == _canonical(first)


def test_no_cache_writes_nothing(tmp_path: Path) -> None:
    settings = Settings(
        ontology_dir=KG_ONTOLOGY, data_dir=KG_DATA, cache_dir=tmp_path / "c", use_cache=False
    )
    KnowledgeGraph.open(settings)
    assert not (tmp_path / "c").exists()


def test_irreflexive_clash(tmp_path: Path) -> None:
    settings = Settings(
        ontology_dir=INCONSISTENT / "ontology",
        data_dir=INCONSISTENT / "data",
        cache_dir=tmp_path,
    )
    with pytest.raises(InconsistencyError) as info:
        KnowledgeGraph.open(settings)
    assert "Irreflexive" in str(info.value)
    assert "narcissus" in str(info.value)
    assert info.value.clashes
    assert not any(tmp_path.iterdir()), "an inconsistent closure is never cached"


def test_disjoint_classes_clash(tmp_path: Path) -> None:
    onto, data = _project_copy(tmp_path)
    (onto / "medkg.ttl").write_text(
        (onto / "medkg.ttl").read_text() + "\nmkg:Person owl:disjointWith mkg:Organization .\n"
    )
    (data / "odd.ttl").write_text(
        "@prefix mkg: <https://w3id.org/medkg/ontology#> .\n"
        "@prefix res: <https://w3id.org/medkg/resource/> .\n"
        "res:hospital mkg:worksAt res:ward .\n"  # domain makes the hospital a Person
    )
    with pytest.raises(InconsistencyError, match="hospital"):
        KnowledgeGraph.open(Settings(ontology_dir=onto, data_dir=data, use_cache=False))


def test_rule_syntax_error_names_file_and_position(tmp_path: Path) -> None:
    onto, data = _project_copy(tmp_path)
    (onto / "rules" / "zz_broken.rq").write_text("CONSTRUCT { ?a ?b ?c }\nWHERE { ?a ?b }\n")
    with pytest.raises(QuerySyntaxError) as info:
        KnowledgeGraph.open(Settings(ontology_dir=onto, data_dir=data, use_cache=False))
    assert "zz_broken.rq" in str(info.value)
    assert info.value.line is not None


def test_rule_must_be_construct(tmp_path: Path) -> None:
    onto, data = _project_copy(tmp_path)
    (onto / "rules" / "select.rq").write_text("SELECT * WHERE { ?s ?p ?o }\n")
    with pytest.raises(InputError, match="CONSTRUCT"):
        KnowledgeGraph.open(Settings(ontology_dir=onto, data_dir=data, use_cache=False))


def test_rules_without_fixpoint_are_capped(tmp_path: Path) -> None:
    onto, data = _project_copy(tmp_path)
    (onto / "rules" / "fresh.rq").write_text(
        "PREFIX mkg: <https://w3id.org/medkg/ontology#>\n"
        "CONSTRUCT { ?x mkg:address [] } WHERE { ?x a mkg:Hospital }\n"
    )
    with pytest.raises(MedkgError, match="fixpoint"):
        KnowledgeGraph.open(Settings(ontology_dir=onto, data_dir=data, use_cache=False))
