"""Inference cases kept as Turtle files under tests/inference/<case>/.

Each case is run against the real ontology, alignments and rules:
- ``input.ttl``: the asserted data;
- ``expected.ttl``: triples that must be in the closure (asserted + inferred);
- ``absent.ttl`` (optional): triples that must not be in it;
- ``error.txt`` (instead of expected.ttl): inference must fail with an InconsistencyError
  whose message contains this text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Dataset, Graph, URIRef

from medkg.config import Settings, resolve_resources
from medkg.errors import InconsistencyError
from medkg.inference import compute_inferred
from medkg.loading import discover, discover_rules, load_dataset

CASES_DIR = Path(__file__).parent / "inference"
CASES = sorted(p for p in CASES_DIR.iterdir() if (p / "input.ttl").exists())


def test_cases_found() -> None:
    assert len(CASES) >= 8, f"inference cases missing under {CASES_DIR}"


def _closure(case: Path) -> Graph:
    resources = resolve_resources(Settings())
    ontology_sources = [s for s in discover(resources) if s.path.parent == resources.ontology_dir]
    assert {s.path.name for s in ontology_sources} == {"medkg.ttl", "alignments.ttl"}
    dataset: Dataset = load_dataset(ontology_sources)
    dataset.graph(URIRef("https://example.org/case")).parse(case / "input.ttl", format="turtle")
    inferred = compute_inferred(dataset, discover_rules(resources))
    closure = Graph()
    for s, p, o, _g in dataset.quads((None, None, None, None)):
        closure.add((s, p, o))
    for triple in inferred:
        closure.add(triple)
    return closure


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_inference_case(case: Path) -> None:
    error_file = case / "error.txt"
    if error_file.exists():
        with pytest.raises(InconsistencyError) as info:
            _closure(case)
        assert error_file.read_text(encoding="utf-8").strip() in str(info.value)
        return
    closure = _closure(case)
    expected = Graph().parse(case / "expected.ttl", format="turtle")
    assert len(expected) > 0
    missing = [t for t in expected if t not in closure]
    assert not missing, f"{case.name}: not inferred: {missing}"
    absent_file = case / "absent.ttl"
    if absent_file.exists():
        absent = Graph().parse(absent_file, format="turtle")
        assert len(absent) > 0
        present = [t for t in absent if t in closure]
        assert not present, f"{case.name}: wrongly inferred: {present}"
