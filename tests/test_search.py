"""The label index: folding, ranking, and the seed graph's names."""

from __future__ import annotations

import pytest

from conftest import Bundled
from medkg.search import LabelIndex, fold, index_for
from medkg.store import KnowledgeGraph

RES = "https://w3id.org/medkg/resource/"


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Université Paris Cité", "universite paris cite"),
        ("  LKCMedicine ", "lkcmedicine"),
        ("Sino\u2013French  forum", "sino french forum"),
        ("ÉDOUARD", "edouard"),
        ("!!!", ""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("query", "iri"),
    [
        ("lkc", "lkcmedicine"),
        ("LKCMEDICINE", "lkcmedicine"),
        ("ruijin", "ruijin-hospital"),
        ("Paris Cite", "universite-paris-cite"),
        ("paris cité", "universite-paris-cite"),
        ("Shanghai Jiao Tong University School of Medicine", "sjtusm"),
        ("rueon", "university-of-rouen"),  # a printed misspelling (hidden label)
    ],
)
def test_seed_names_are_found_first(bundled: Bundled, query: str, iri: str) -> None:
    hits = index_for(bundled.kg).search(query)
    assert hits and hits[0].iri == RES + iri, [h.iri for h in hits[:5]]


def test_hits_carry_label_and_types(bundled: Bundled) -> None:
    (hit,) = index_for(bundled.kg).search("sjtusm", limit=1)
    assert hit.label == "Shanghai Jiao Tong University School of Medicine"
    assert hit.matched == "SJTUSM"
    assert "https://w3id.org/medkg/ontology#MedicalSchool" in hit.types
    assert set(hit.as_json()) == {"iri", "label", "matched", "types", "typeLabels"}


def test_ranking_and_limits(kg: KnowledgeGraph) -> None:
    index = LabelIndex(kg.store)
    assert len(index) > 0
    assert [h.label for h in index.search("ward")] == ["Ward 7"]
    assert index.search("   ") == []
    assert index.search("zzzz-nothing") == []
    assert len(index.search("a", limit=1)) == 1


def test_one_index_per_graph(kg: KnowledgeGraph) -> None:
    assert index_for(kg) is index_for(kg)
