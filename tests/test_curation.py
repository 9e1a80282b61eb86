"""The write pipeline in-process: commit, re-inference, rejection without change, replay,
serialised writers, readers on consistent versions; and the CLI write commands."""

from __future__ import annotations

import threading
from pathlib import Path

import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

from conftest import KG_DATA, KG_DATA_INVALID, KG_ONTOLOGY, kg_args
from medkg.cli import app
from medkg.config import Settings
from medkg.curation import Curator, sparql_update
from medkg.errors import InputError, QuerySyntaxError, WriteRejected
from medkg.storage import JOURNAL, StoreDirectory

P = "PREFIX mkg: <https://w3id.org/medkg/ontology#> PREFIX res: <https://w3id.org/medkg/resource/> "


def _settings(tmp_path: Path, data: Path = KG_DATA) -> Settings:
    return Settings(
        ontology_dir=KG_ONTOLOGY,
        data_dir=data,
        cache_dir=tmp_path / "cache",
        store_dir=tmp_path / "store",
    )


def _ask(curator: Curator, text: str) -> bool:
    result = curator.kg.query(P + text)
    assert result.boolean is not None
    return result.boolean


def test_write_commits_reinfers_and_replays(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with Curator.open(settings) as curator:
        assert curator.seq == 0
        first = curator.kg
        outcome = curator.write(
            "update", sparql_update(P + "INSERT DATA { res:dan mkg:worksAt res:ward }")
        )
        assert outcome.change.summary().startswith("+1 -0 triples")
        assert curator.seq == 1 and curator.kg is not first
        assert _ask(curator, "ASK { res:dan a mkg:Person ; mkg:colleagueOf res:bob }")
        assert not first.query(P + "ASK { res:dan ?p ?o }").boolean  # old version unchanged
    with Curator.open(settings) as reopened:
        assert reopened.seq == 1
        assert reopened.kg.from_cache  # the closure of this state was cached at commit
        assert _ask(reopened, "ASK { res:dan mkg:colleagueOf res:alice }")
    uncached = settings.model_copy(update={"use_cache": False})
    with Curator.open(uncached) as recomputed:
        assert not recomputed.kg.from_cache
        assert _ask(recomputed, "ASK { res:dan mkg:colleagueOf res:alice }")


def test_deleting_blank_node_triples_survives_a_restart(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    on_property = (
        "ASK { GRAPH <https://w3id.org/medkg/graph/ontology> "
        "{ ?r <http://www.w3.org/2002/07/owl#onProperty> mkg:partOf } }"
    )
    with Curator.open(settings) as curator:
        assert _ask(curator, on_property)
        curator.write(
            "update",
            sparql_update(
                P + "DELETE WHERE { GRAPH <https://w3id.org/medkg/graph/ontology> "
                "{ ?r <http://www.w3.org/2002/07/owl#onProperty> mkg:partOf } }"
            ),
        )
        assert not _ask(curator, on_property)
    for use_cache in (True, False):
        with Curator.open(settings.model_copy(update={"use_cache": use_cache})) as reopened:
            assert not _ask(reopened, on_property)


@pytest.mark.parametrize(
    ("update", "error", "detail"),
    [
        (
            "INSERT DATA { res:nameless a mkg:Hospital }",
            WriteRejected,
            "organization needs a label",
        ),
        (
            "INSERT DATA { res:a <http://www.w3.org/2002/07/owl#sameAs> res:b . "
            "res:a <http://www.w3.org/2002/07/owl#differentFrom> res:b }",
            WriteRejected,
            "inconsistent",
        ),
        ("INSERT DATA { res:a res:b }", QuerySyntaxError, "SPARQL syntax error"),
        ("CREATE GRAPH <https://w3id.org/medkg/graph/units>", InputError, "update failed"),
        ("LOAD <http://127.0.0.1:9/x.ttl>", QuerySyntaxError, "LOAD is not supported"),
    ],
)
def test_rejected_writes_change_nothing(
    tmp_path: Path, update: str, error: type[Exception], detail: str
) -> None:
    with Curator.open(_settings(tmp_path)) as curator:
        curator.write("update", sparql_update(P + "INSERT DATA { res:erin mkg:worksAt res:ward }"))
        journal = (tmp_path / "store" / JOURNAL).read_bytes()
        version = curator.kg
        with pytest.raises(error, match=detail):
            curator.write("update", sparql_update(P + update))
        assert curator.kg is version and curator.seq == 1
        assert (tmp_path / "store" / JOURNAL).read_bytes() == journal


def test_a_write_that_changes_nothing_is_not_committed(tmp_path: Path) -> None:
    with Curator.open(_settings(tmp_path)) as curator:
        outcome = curator.write(
            "update", sparql_update(P + "DELETE DATA { res:nobody mkg:worksAt res:ward }")
        )
        assert outcome.change.empty and curator.seq == 0


def test_only_new_shacl_violations_reject_a_write(tmp_path: Path) -> None:
    with Curator.open(_settings(tmp_path, KG_DATA_INVALID)) as curator:
        curator.write("update", sparql_update(P + "INSERT DATA { res:fay mkg:worksAt res:ward }"))
        assert curator.seq == 1


def test_writers_are_serialised_and_readers_see_whole_versions(tmp_path: Path) -> None:
    pairs = (
        "SELECT (COUNT(*) AS ?n) WHERE { ?s <http://example.org/a> ?x ; <http://example.org/b> ?y }"
    )
    singles = "SELECT (COUNT(*) AS ?n) WHERE { ?s <http://example.org/a> ?x }"
    seen: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    with Curator.open(_settings(tmp_path)) as curator:

        def writer(name: str) -> None:
            try:
                for i in range(3):
                    curator.write(
                        "update",
                        sparql_update(
                            f"INSERT DATA {{ <http://example.org/{name}{i}> "
                            "<http://example.org/a> 1 ; <http://example.org/b> 2 }"
                        ),
                    )
            except BaseException as exc:  # reported below
                errors.append(exc)

        def count(kg_query: str, kg: object) -> int:
            row = kg.query(kg_query).rows[0]  # type: ignore[attr-defined]
            assert isinstance(row[0], ox.Literal)
            return int(row[0].value)

        threads = [threading.Thread(target=writer, args=(n,)) for n in ("p", "q")]
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            kg = curator.kg  # one version per read
            seen.append((count(pairs, kg), count(singles, kg)))
        for thread in threads:
            thread.join()
        assert not errors
        assert curator.seq == 6
        assert count(pairs, curator.kg) == 6
    assert all(p == s for p, s in seen)  # never half a write


# --------------------------------------------------------------------------------------------
# CLI


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_load_update_query_log_and_export(tmp_path: Path) -> None:
    common = [*kg_args(tmp_path), "--store", str(tmp_path / "store")]
    data = tmp_path / "new-unit.ttl"
    data.write_text(
        "@prefix mkg: <https://w3id.org/medkg/ontology#> .\n"
        "@prefix res: <https://w3id.org/medkg/resource/> .\n"
        "res:gus mkg:worksAt res:ward .\n"
    )
    code, out, err = _run("load", str(data), *common)
    assert code == 0, err
    assert "write 1: +1 -0 triples" in out and "graph/new-unit" in out
    code, out, err = _run("update", P + "INSERT DATA { res:hal mkg:worksAt res:ward }", *common)
    assert code == 0 and "write 2" in out, err
    code, out, err = _run(
        "query",
        P + "SELECT ?x WHERE { res:gus mkg:colleagueOf ?x } ORDER BY ?x",
        "-f",
        "tsv",
        *common,
    )
    assert code == 0, err
    assert "<https://w3id.org/medkg/resource/hal>" in out
    code, out, _ = _run("store", "log", "--store", str(tmp_path / "store"))
    assert code == 0 and out.count("\n") == 2 and "load new-unit.ttl" in out
    code, out, err = _run(
        "store", "export", "-o", str(tmp_path / "review"), "--store", str(tmp_path / "store")
    )
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "review").iterdir())
    assert names == ["added.nq", "new-unit.ttl", "removed.nq", "user.ttl"]
    assert (tmp_path / "review" / "removed.nq").read_text() == ""
    assert len((tmp_path / "review" / "added.nq").read_text().splitlines()) == 2
    assert "res:gus mkg:worksAt res:ward" in (tmp_path / "review" / "new-unit.ttl").read_text()


def test_cli_write_errors_are_one_line(tmp_path: Path) -> None:
    common = [*kg_args(tmp_path), "--store", str(tmp_path / "store")]
    bad = tmp_path / "bad.ttl"
    bad.write_text("<http://e/a> <http://e/b> .\n")
    code, _, err = _run("load", str(bad), *common)
    assert code == 2 and err.count("\n") == 1 and "bad.ttl:1:" in err, err
    code, _, err = _run("update", "INSERT DATA { <http://e/a> <http://e/b> }", *common)
    assert code == 2 and err.startswith("medkg: error: SPARQL syntax error"), err
    code, _, err = _run("update", "CLEAR ALL", *kg_args(tmp_path))
    assert code == 2 and "--store DIR" in err
    with StoreDirectory.open(tmp_path / "store"):
        code, _, err = _run("update", "CLEAR ALL", *common)
    assert code == 2 and "in use by process" in err and "--server" in err, err
