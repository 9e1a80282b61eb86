"""The bundled ontology and data: validation, named graphs, profile, closure hygiene."""

from __future__ import annotations

import re
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS
from typer.testing import CliRunner

from conftest import Bundled
from medkg.cli import app
from medkg.loading import shapes_file
from medkg.namespaces import GRAPH_BASE, INFERRED_GRAPH, MKG, RES
from medkg.store import GraphMode
from medkg.validation import validate

ROOT = Path(__file__).resolve().parents[1]
DATA_FILES = sorted((ROOT / "data").glob("*.ttl"))
SOURCE_FILES = [p for p in DATA_FILES if re.fullmatch(r"\d{3}_[0-9a-f]{16}", p.stem)]
ONTOLOGY = ROOT / "ontology" / "medkg.ttl"
ALIGNMENTS = ROOT / "ontology" / "alignments.ttl"


def test_one_data_file_per_source_document(bundled: Bundled) -> None:
    assert len(SOURCE_FILES) == 5, [p.name for p in DATA_FILES]
    rows = bundled.kg.query(
        "SELECT ?file WHERE { ?doc a mkg:SourceDocument ; mkg:fileName ?file }"
    ).rows
    described = sorted(str(r[0].value) for r in rows if r[0] is not None)
    assert described == sorted(p.stem + ".txt" for p in SOURCE_FILES)


def test_every_source_has_its_named_graph(bundled: Bundled) -> None:
    names = bundled.kg.graph_names()
    for path in SOURCE_FILES:
        assert GRAPH_BASE + path.stem in names
    for extra in ("sources", "world", "ontology", "alignments", "inferred"):
        assert GRAPH_BASE + extra in names


def test_bundled_data_conforms_to_shapes(bundled: Bundled) -> None:
    violations = validate(bundled.kg, shapes_file(bundled.kg.resources))
    assert violations == []


def test_validate_and_stats_commands(bundled: Bundled) -> None:
    runner = CliRunner()
    args = ["--cache-dir", str(bundled.cache_dir)]
    validated = runner.invoke(app, [*args, "validate"])
    assert validated.exit_code == 0, validated.output
    assert "conforms" in validated.output
    stats = runner.invoke(app, [*args, "stats"], env={"COLUMNS": "200"})
    assert stats.exit_code == 0, stats.output
    for path in SOURCE_FILES:
        assert path.stem in stats.output
    assert "graph:inferred" in stats.output
    assert "mkg:Organization" in stats.output


def test_closure_has_no_noise(bundled: Bundled) -> None:
    """Checked on the rdflib graph, where literal subjects and generalised RDF could exist."""
    inferred = bundled.kg.dataset.graph(URIRef(INFERRED_GRAPH))
    assert len(inferred) > 1000
    vocab = (str(RDF), str(RDFS), str(OWL), "http://www.w3.org/2001/XMLSchema#")
    for s, p, o in inferred:
        assert not isinstance(s, Literal), (s, p, o)
        assert not (p == OWL.sameAs and s == o), (s, p, o)
        assert not (p in (RDF.type, RDFS.subClassOf) and o in (OWL.Thing, RDFS.Resource))
        assert not str(s).startswith(vocab), (s, p, o)
        assert "daml.org" not in str(p)


def test_inferred_graph_is_disjoint_from_asserted(bundled: Bundled) -> None:
    inferred = f"<{INFERRED_GRAPH}>"
    both = bundled.kg.query(
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH " + inferred + " { ?s ?p ?o } "
        "FILTER EXISTS { GRAPH ?g { ?s ?p ?o } FILTER(?g != " + inferred + ") } }"
    )
    assert both.rows[0][0] is not None and both.rows[0][0].value == "0"


def test_asserted_only_mode_hides_inferred_triples(bundled: Bundled) -> None:
    query = "ASK { res:ntu mkg:partnerOf res:sjtusm }"
    assert bundled.kg.query(query).boolean is True
    assert bundled.kg.query(query, mode=GraphMode.ASSERTED).boolean is False
    assert bundled.kg.query(query, mode=GraphMode.INFERRED).boolean is True


# OWL 2 RL forbids these on the right-hand side; medkg uses none of them anywhere.
NOT_IN_RL = {
    OWL.someValuesFrom,
    OWL.unionOf,
    OWL.minCardinality,
    OWL.cardinality,
    OWL.minQualifiedCardinality,
    OWL.qualifiedCardinality,
    OWL.hasKey,
    OWL.complementOf,
    OWL.oneOf,
    OWL.disjointUnionOf,
    OWL.hasSelf,
    OWL.imports,
}


def test_ontology_stays_in_owl2_rl_and_uses_no_risky_axioms() -> None:
    for path in (ONTOLOGY, ALIGNMENTS, *DATA_FILES):
        graph = Graph().parse(path)
        used = {p for _, p, _ in graph} & NOT_IN_RL
        assert not used, f"{path.name} uses {used}"
        assert not list(graph.triples((None, OWL.sameAs, None))), path.name
    alignments = Graph().parse(ALIGNMENTS)
    assert not list(alignments.triples((None, OWL.equivalentClass, None)))
    ontology = Graph().parse(ONTOLOGY)
    functional = set(ontology.subjects(RDF.type, OWL.FunctionalProperty))
    assert functional == {MKG.holder, MKG.value}, "no functional time-varying properties"


def test_every_ontology_term_is_labelled_and_commented() -> None:
    ontology = Graph().parse(ONTOLOGY)
    terms = {
        s
        for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
        for s in ontology.subjects(RDF.type, kind)
    } | set(ontology.subjects(RDF.type, MKG.Role))
    assert len(terms) > 120
    for term in terms:
        labels = [o for o in ontology.objects(term, RDFS.label) if o.language == "en"]
        comments = [o for o in ontology.objects(term, RDFS.comment) if o.language == "en"]
        assert len(labels) == 1 and comments, term


def test_required_vocabulary_is_covered() -> None:
    ontology = Graph().parse(ONTOLOGY)
    classes = set(ontology.subjects(RDF.type, OWL.Class))
    required = [
        "University",
        "MedicalSchool",
        "Hospital",
        "AffiliatedHospital",
        "ResearchInstitute",
        "AdministrativeOffice",
        "JointSchool",
        "GovernmentBody",
        "InternationalOrganization",
        "Foundation",
        "LearnedSociety",
        "AwardingBody",
        "Person",
        "Appointment",
        "Role",
        "Agreement",
        "MemorandumOfUnderstanding",
        "StudentExchangeAgreement",
        "CooperationAgreement",
        "Programme",
        "JointDegreeProgramme",
        "ExchangeProgramme",
        "StudyTourProgramme",
        "ResidencyProgramme",
        "Event",
        "Visit",
        "SigningCeremony",
        "Forum",
        "Award",
        "AwardConferral",
        "Place",
        "City",
        "Country",
        "Region",
        "Figure",
    ]
    for name in required:
        assert MKG[name] in classes, name
    assert (MKG.partOf, RDF.type, OWL.TransitiveProperty) in ontology
    assert (MKG.partnerOf, RDF.type, OWL.SymmetricProperty) in ontology
    assert (MKG.partnerOf, RDF.type, OWL.IrreflexiveProperty) in ontology
    assert (MKG.partOf, OWL.inverseOf, MKG.hasPart) in ontology


def test_entity_iris_are_readable_slugs() -> None:
    for path in DATA_FILES:
        graph = Graph().parse(path)
        for node in set(graph.subjects()):
            text = str(node)
            if text.startswith(RES):
                assert re.fullmatch(r"[a-z0-9][a-z0-9_\-]*", text[len(RES) :]), text
