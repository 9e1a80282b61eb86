"""The benchmark's ``/sparql`` engine (``bench/engines.py``) against a real ``medkg serve``
on the fixture graph: answer counts, and truncated or failed answers reported as errors
(never as counts); the run fails on a wrong count through either of medkg's ways in."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the bench package

from bench import engines
from bench.__main__ import _check_counts
from bench.engines import (
    MEDKG,
    MEDKG_SPARQL,
    EngineResult,
    QueryMeasurement,
    SparqlAnswerError,
    SparqlEndpoint,
    Status,
    measure_in_turns,
    sparql_endpoint,
)
from bench.lubm import LubmQuery, describe_dir

from conftest import fixture_server_args
from medkg.store import GraphMode, KnowledgeGraph
from medkg.web import app

PREFIXES = (
    "PREFIX mkg: <https://w3id.org/medkg/ontology#>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)
#: Two answers on the fixture graph (alice and bob work at the ward).
WORKERS = PREFIXES + "SELECT ?person WHERE { ?person mkg:worksAt ?unit }"
#: More answers than the row cap below: every label.
LABELS = PREFIXES + "SELECT ?thing ?label WHERE { ?thing rdfs:label ?label }"
MAX_ROWS = 3


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparqlEndpoint]:
    root = tmp_path_factory.mktemp("bench-sparql")
    with sparql_endpoint([*fixture_server_args(root), "--max-rows", str(MAX_ROWS)]) as started:
        yield started


def test_headers_are_the_servers() -> None:
    assert engines.TRUNCATED_HEADER == app.TRUNCATED_HEADER
    assert engines.LIMIT_HEADER == app.LIMIT_HEADER


def test_count_is_the_number_of_bindings(endpoint: SparqlEndpoint, kg: KnowledgeGraph) -> None:
    expected = len(kg.query(WORKERS, mode=GraphMode.ALL).rows)
    assert expected == 2
    seconds, count = endpoint.runner(WORKERS)
    assert count == expected
    assert seconds > 0
    assert endpoint.runner(WORKERS + " LIMIT 1")[1] == 1
    assert endpoint.runner(PREFIXES + "SELECT ?x WHERE { ?x mkg:worksAt mkg:Nowhere }")[1] == 0


def test_truncated_answer_is_an_error(endpoint: SparqlEndpoint, kg: KnowledgeGraph) -> None:
    assert len(kg.query(LABELS, mode=GraphMode.ALL).rows) > MAX_ROWS
    with pytest.raises(SparqlAnswerError, match="truncated"):
        endpoint.runner(LABELS)


def test_failed_or_non_select_answer_is_an_error(endpoint: SparqlEndpoint) -> None:
    with pytest.raises(SparqlAnswerError, match="HTTP 400"):
        endpoint.runner("SELECT ?x WHERE { ?x")
    with pytest.raises(SparqlAnswerError, match="not a SELECT answer"):
        endpoint.runner("ASK { ?s ?p ?o }")


def test_measurement_statuses(endpoint: SparqlEndpoint) -> None:
    runners = {MEDKG_SPARQL: endpoint.runner}
    right = measure_in_turns(runners, LubmQuery("right", WORKERS, 2), repeat=2)[MEDKG_SPARQL]
    assert right.status is Status.OK
    assert (right.count, len(right.runs_s)) == (2, 2)
    wrong = measure_in_turns(runners, LubmQuery("wrong", WORKERS, 3), repeat=1)[MEDKG_SPARQL]
    assert wrong.status is Status.WRONG_COUNT
    assert wrong.count == 2
    cut = measure_in_turns(runners, LubmQuery("cut", LABELS, 5), repeat=1)[MEDKG_SPARQL]
    assert cut.status is Status.ERROR
    assert cut.count is None
    assert cut.error is not None and "truncated" in cut.error
    assert cut.median_s is None


def _engine(key: str, status: Status) -> EngineResult:
    count = 4 if status is Status.OK else 5
    measurement = QueryMeasurement("q01", 4, status, count, 0.001, [0.001])
    return EngineResult(key, engines.LABELS[key], "", [measurement])


def test_a_wrong_count_through_sparql_fails_the_run() -> None:
    ok = {"targets": []}
    assert _check_counts([_engine(MEDKG, Status.OK), _engine(MEDKG_SPARQL, Status.OK)], ok) == 0
    wrong = [_engine(MEDKG, Status.OK), _engine(MEDKG_SPARQL, Status.WRONG_COUNT)]
    assert _check_counts(wrong, ok) == 1
    assert _check_counts([_engine(MEDKG_SPARQL, Status.ERROR)], ok) == 1
    # only medkg's ways in are checked
    assert _check_counts([_engine(MEDKG, Status.OK), _engine("rdflib", Status.TIMEOUT)], ok) == 0


def test_a_linked_lubm_directory_is_described_by_its_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "lubm"
    target.mkdir(parents=True)
    (tmp_path / "shared").symlink_to(tmp_path / "elsewhere")
    described = describe_dir(tmp_path / "shared" / "lubm")
    assert Path(described).parts[-2:] == ("shared", "lubm")
    assert not Path(described).is_absolute()
