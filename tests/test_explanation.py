"""Explanations of inferred triples, kept as cases under tests/explanation/<case>/.

Each case runs against the real ontology, alignments and rules:
- ``input.ttl``: the asserted data;
- ``explain.txt``: the triple to explain, one N-Triples line;
- ``expected.txt``: blocks separated by blank lines (``#`` lines are comments): a rule
  name, then N-Triples premises that one derivation of that rule must include.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from medkg.config import Settings
from medkg.errors import InputError
from medkg.explanation import explain, parse_term, parse_triple
from medkg.labels import Labeller
from medkg.store import KnowledgeGraph

CASES_DIR = Path(__file__).parent / "explanation"
CASES = sorted(p for p in CASES_DIR.iterdir() if (p / "input.ttl").exists())


def _triples(text: str) -> list[ox.Triple]:
    return [
        ox.Triple(q.subject, q.predicate, q.object)
        for q in ox.parse(text.encode(), format=ox.RdfFormat.N_TRIPLES)
    ]


def _expected(case: Path) -> list[tuple[str, list[ox.Triple]]]:
    blocks: list[tuple[str, list[ox.Triple]]] = []
    text = (case / "expected.txt").read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
        if lines:
            blocks.append((lines[0].strip(), _triples("\n".join(lines[1:]))))
    return blocks


def test_cases_found() -> None:
    assert len(CASES) >= 4


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_explanation_case(case: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(case / "input.ttl", data / "input.ttl")
    kg = KnowledgeGraph.open(Settings(data_dir=data, cache_dir=tmp_path / "cache", use_cache=False))
    (triple,) = _triples((case / "explain.txt").read_text(encoding="utf-8"))
    explanation = explain(kg.store, triple, rules=kg.rules)
    assert explanation.statement.holds and explanation.statement.inferred
    for rule, premises in _expected(case):
        candidates = [d for d in explanation.derivations if d.rule == rule]
        assert candidates, (
            f"{case.name}: no {rule} derivation in {[d.rule for d in explanation.derivations]}"
        )
        assert any(set(premises) <= {p.triple for p in d.premises} for d in candidates), (
            f"{case.name}: {rule} lacks premises {premises}"
        )
        for derivation in candidates:
            assert all(p.holds for p in derivation.premises)
            assert triple not in {p.triple for p in derivation.premises}


def test_premises_say_where_they_stand(kg: KnowledgeGraph) -> None:
    """On the fixture graph: ward partOf hospital follows from two asserted facts."""
    triple = parse_triple(
        "https://w3id.org/medkg/resource/ward",
        "https://w3id.org/medkg/ontology#partOf",
        "https://w3id.org/medkg/resource/hospital",
    )
    explanation = explain(kg.store, triple, rules=kg.rules, labeller=Labeller(kg.store))
    (derivation,) = [d for d in explanation.derivations if d.rule == "prp-trp"]
    facts = [p for p in derivation.premises if not p.axiom]
    assert [p.inferred for p in facts] == [False, False]
    assert all(p.sources for p in facts)
    assert any(p.axiom and not p.inferred for p in derivation.premises)
    assert "transitive" in derivation.reading


def test_a_triple_not_in_the_graph(kg: KnowledgeGraph) -> None:
    triple = parse_triple("https://example.org/x", "https://example.org/p", '"y"@en')
    explanation = explain(kg.store, triple, rules=kg.rules)
    assert not explanation.statement.holds
    assert explanation.derivations == ()


@pytest.mark.parametrize("text", ["<not an iri", '"unterminated', "a b", ""])
def test_bad_terms_are_input_errors(text: str) -> None:
    with pytest.raises(InputError):
        parse_term(text, what="object")


def test_literal_subjects_are_refused() -> None:
    with pytest.raises(InputError, match="subject"):
        parse_triple('"x"', "https://example.org/p", "https://example.org/o")
