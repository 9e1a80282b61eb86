from __future__ import annotations

from pathlib import Path

import pytest

from medkg.namespaces import (
    ALIGNMENTS_GRAPH,
    GRAPH_BASE,
    INFERRED_GRAPH,
    MKG,
    ONTOLOGY_GRAPH,
    PREFIXES,
    RES,
    graph_iri_for,
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("data/000_8b8f98a58fe20d8e.ttl", "https://w3id.org/medkg/graph/000_8b8f98a58fe20d8e"),
        ("data/sources.ttl", "https://w3id.org/medkg/graph/sources"),
        ("data/world.ttl", "https://w3id.org/medkg/graph/world"),
        (Path("/abs/dir/world.ttl"), "https://w3id.org/medkg/graph/world"),
        ("extra/more.nt.gz", "https://w3id.org/medkg/graph/more"),
        ("extra/x.jsonld", "https://w3id.org/medkg/graph/x"),
        ("extra/with space.ttl", "https://w3id.org/medkg/graph/with%20space"),
    ],
)
def test_graph_iri_for(path: str | Path, expected: str) -> None:
    assert graph_iri_for(path) == expected


def test_constants() -> None:
    assert str(MKG) == "https://w3id.org/medkg/ontology#"
    assert RES == "https://w3id.org/medkg/resource/"
    assert GRAPH_BASE + "ontology" == ONTOLOGY_GRAPH
    assert GRAPH_BASE + "alignments" == ALIGNMENTS_GRAPH
    assert GRAPH_BASE + "inferred" == INFERRED_GRAPH
    for prefix in (
        "mkg",
        "res",
        "graph",
        "rdf",
        "rdfs",
        "owl",
        "xsd",
        "skos",
        "schema",
        "org",
        "foaf",
        "prov",
        "dcterms",
        "sh",
    ):
        assert prefix in PREFIXES
    assert PREFIXES["schema"] == "https://schema.org/"
    assert PREFIXES["res"] == RES
