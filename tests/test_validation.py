from __future__ import annotations

from pathlib import Path

from conftest import KG_DATA_INVALID, KG_ONTOLOGY
from medkg.config import Settings
from medkg.loading import shapes_file
from medkg.store import KnowledgeGraph
from medkg.validation import Violation, validate


def test_fixture_conforms(kg: KnowledgeGraph) -> None:
    assert validate(kg, shapes_file(kg.resources)) == []


def test_violation_needs_the_closure(tmp_path: Path) -> None:
    kg = KnowledgeGraph.open(
        Settings(ontology_dir=KG_ONTOLOGY, data_dir=KG_DATA_INVALID, cache_dir=tmp_path)
    )
    violations = validate(kg, shapes_file(kg.resources))
    assert violations == [
        Violation(
            focus_node="https://w3id.org/medkg/resource/nameless",
            path="http://www.w3.org/2000/01/rdf-schema#label",
            message="an organization needs a label",
            severity="Violation",
            source_shape=violations[0].source_shape,
        )
    ]
    assert violations[0].source_shape is not None
