"""The example queries in queries/ are tests.

Every ``NAME.rq`` has a comment header (``# title:``, ``# question:``, ``# inference:``)
and its expected results beside it: ``NAME.tsv`` (SELECT, SPARQL TSV) or ``NAME.nt``
(CONSTRUCT, N-Triples) on the full graph, and ``NAME.asserted.tsv`` / ``NAME.asserted.nt``
with ``--asserted-only``. A query whose header says ``inference: required`` must give a
different answer without inference, one that says ``inference: none`` the same answer.
A ``# counterpart: OTHER.rq`` header (standard-vocabulary queries) must return the same
rows as OTHER.rq. ``*-violation.rq`` checks must return no rows.

Rows are compared as sorted multisets (ties in ORDER BY are engine-dependent).
Set MEDKG_REGENERATE_EXPECTED=1 to rewrite the expected files after a reviewed data change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import Bundled
from medkg.formats import RdfSyntax, ResultFormat
from medkg.store import GraphMode, KnowledgeGraph, QueryKind, QueryResult

QUERIES = Path(__file__).resolve().parents[1] / "queries"
REGENERATE = os.environ.get("MEDKG_REGENERATE_EXPECTED") == "1"


@dataclass(frozen=True)
class ExampleQuery:
    path: Path
    header: dict[str, str]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def is_violation_check(self) -> bool:
        return self.name.endswith("-violation")

    @property
    def needs_full_closure(self) -> bool:
        return self.header.get("inference", "").startswith("checked on the full closure")

    @property
    def needs_inference(self) -> bool:
        return self.header.get("inference", "").startswith("required")


def _header(path: Path) -> dict[str, str]:
    header: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line.lstrip("# ").partition(":")
        if sep:
            header[key.strip()] = value.strip()
    return header


def _all_queries() -> list[ExampleQuery]:
    paths = sorted(QUERIES.glob("*.rq"))
    assert paths, f"no .rq files found in {QUERIES}"
    return [ExampleQuery(p, _header(p)) for p in paths]


ALL = _all_queries()
EXAMPLES = [q for q in ALL if not q.is_violation_check]
VIOLATIONS = [q for q in ALL if q.is_violation_check]


@pytest.fixture(scope="module")
def real_kg(bundled: Bundled) -> KnowledgeGraph:
    """The bundled knowledge graph (ontology + all five sources)."""
    return bundled.kg


def _rows(result: QueryResult) -> list[str]:
    """The result as sorted lines: SPARQL TSV rows, or N-Triples lines."""
    if result.kind is QueryKind.GRAPH:
        text = result.serialize(RdfSyntax.NTRIPLES).decode("utf-8")
        return sorted(line for line in text.splitlines() if line.strip())
    assert result.kind is QueryKind.SELECT, "example queries are SELECT or CONSTRUCT"
    lines = result.serialize(ResultFormat.TSV).decode("utf-8").splitlines()
    return [lines[0], *sorted(lines[1:])]


def _expected_path(query: ExampleQuery, result: QueryResult, mode: GraphMode) -> Path:
    ext = ".nt" if result.kind is QueryKind.GRAPH else ".tsv"
    infix = ".asserted" if mode is GraphMode.ASSERTED else ""
    return query.path.with_name(query.name + infix + ext)


def test_there_are_enough_examples() -> None:
    assert len(EXAMPLES) >= 20
    assert len(VIOLATIONS) >= 3
    assert sum(q.needs_inference for q in EXAMPLES) >= 8


@pytest.mark.parametrize("query", ALL, ids=lambda q: q.name)
def test_header(query: ExampleQuery) -> None:
    for key in ("title", "question", "inference"):
        assert query.header.get(key), f"{query.path.name}: header lacks '# {key}:'"


@pytest.mark.parametrize("mode", [GraphMode.ALL, GraphMode.ASSERTED], ids=["all", "asserted"])
@pytest.mark.parametrize("query", EXAMPLES, ids=lambda q: q.name)
def test_expected_results(real_kg: KnowledgeGraph, query: ExampleQuery, mode: GraphMode) -> None:
    result = real_kg.query(query.text, mode=mode, source=query.path)
    rows = _rows(result)
    expected_file = _expected_path(query, result, mode)
    if REGENERATE:
        expected_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert expected_file.exists(), f"missing expected results {expected_file.name}"
    expected = expected_file.read_text(encoding="utf-8").splitlines()
    assert rows == expected


@pytest.mark.parametrize("query", EXAMPLES, ids=lambda q: q.name)
def test_asserted_only_changes_as_declared(real_kg: KnowledgeGraph, query: ExampleQuery) -> None:
    full = _rows(real_kg.query(query.text, mode=GraphMode.ALL))
    asserted = _rows(real_kg.query(query.text, mode=GraphMode.ASSERTED))
    if query.needs_inference:
        assert full != asserted, f"{query.name} says it needs inference but gives the same rows"
        assert len(full) > len(asserted), "inference only adds answers in these examples"
    else:
        assert full == asserted, f"{query.name} says it needs no inference but answers differ"
    assert len(full) > 1, f"{query.name} returns no rows on the full graph"


COUNTERPARTS = [q for q in EXAMPLES if "counterpart" in q.header]


def test_counterparts_found() -> None:
    assert len(COUNTERPARTS) >= 4


@pytest.mark.parametrize("query", COUNTERPARTS, ids=lambda q: q.name)
def test_standard_vocabulary_matches_mkg(real_kg: KnowledgeGraph, query: ExampleQuery) -> None:
    other = QUERIES / query.header["counterpart"]
    assert other.exists(), f"counterpart {other.name} not found"
    mine = _rows(real_kg.query(query.text))
    theirs = _rows(real_kg.query(other.read_text(encoding="utf-8")))
    assert mine == theirs
    assert len(mine) > 1


VIOLATION_RUNS = [(q, GraphMode.ALL) for q in VIOLATIONS] + [
    (q, GraphMode.ASSERTED) for q in VIOLATIONS if not q.needs_full_closure
]


@pytest.mark.parametrize(
    ("query", "mode"),
    VIOLATION_RUNS,
    ids=lambda v: v.name if isinstance(v, ExampleQuery) else v.value,
)
def test_violation_checks_return_nothing(
    real_kg: KnowledgeGraph, query: ExampleQuery, mode: GraphMode
) -> None:
    result = real_kg.query(query.text, mode=mode)
    assert result.kind is QueryKind.SELECT
    assert result.rows == [], f"{query.name}: {result.rows[:5]}"


def test_violation_checks_can_fail(real_kg: KnowledgeGraph) -> None:
    """The checks are live: asymmetric partnership does show up without inference."""
    check = QUERIES / "asymmetric-partnership-violation.rq"
    result = real_kg.query(check.read_text(encoding="utf-8"), mode=GraphMode.ASSERTED)
    assert len(result.rows) > 5
