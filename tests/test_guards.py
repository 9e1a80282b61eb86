from __future__ import annotations

import subprocess
import sys

import pytest
import rdflib
import rdflib.plugins.sparql as rdflib_sparql

from medkg.errors import InputError
from medkg.guards import configure_rdflib


def test_switches_are_set_and_idempotent() -> None:
    configure_rdflib()
    configure_rdflib()
    assert rdflib_sparql.SPARQL_LOAD_GRAPHS is False
    assert rdflib_sparql.SPARQL_DEFAULT_GRAPH_UNION is True
    guards = [k for k in rdflib_sparql.CUSTOM_EVALS if k.startswith("medkg")]
    assert guards == ["medkg-no-service"]


def test_rdflib_sparql_refuses_service() -> None:
    configure_rdflib()
    graph = rdflib.Graph()
    with pytest.raises(InputError, match="SERVICE"):
        list(graph.query("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"))


def test_rdflib_sparql_still_works() -> None:
    graph = rdflib.Graph()
    graph.add((rdflib.URIRef("urn:a"), rdflib.URIRef("urn:p"), rdflib.Literal(1)))
    assert len(list(graph.query("SELECT * WHERE { ?s ?p ?o }"))) == 1


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # rdflib's own Dataset.query
def test_from_does_not_load(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_rdflib()

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("FROM must not dereference anything")

    monkeypatch.setattr(rdflib.Graph, "parse", no_parse)
    dataset = rdflib.Dataset()
    rows = list(dataset.query("SELECT * FROM <http://127.0.0.1:9/x.ttl> WHERE { ?s ?p ?o }"))
    assert rows == []


def test_switches_are_set_when_rdflib_sparql_is_imported_after_medkg() -> None:
    """``import medkg`` does not load rdflib's SPARQL package (a start-up cost), yet it is
    configured before whoever imports it later gets it."""
    code = (
        "import sys, medkg\n"
        "assert 'rdflib.plugins.sparql' not in sys.modules\n"
        "from rdflib.plugins.sparql import prepareQuery\n"
        "import rdflib.plugins.sparql as s\n"
        "assert s.SPARQL_LOAD_GRAPHS is False and s.SPARQL_DEFAULT_GRAPH_UNION is True\n"
        "assert list(s.CUSTOM_EVALS) == ['medkg-no-service']\n"
        "assert prepareQuery('ASK {}') is not None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_switches_are_set_when_rdflib_sparql_was_imported_first() -> None:
    code = (
        "import rdflib.plugins.sparql as s, medkg\n"
        "assert s.SPARQL_LOAD_GRAPHS is False and 'medkg-no-service' in s.CUSTOM_EVALS\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
