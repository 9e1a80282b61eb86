from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from typer.testing import CliRunner

from conftest import INCONSISTENT, KG_DATA, KG_DATA_INVALID, KG_ONTOLOGY, kg_args
from medkg import __version__
from medkg.cli import app

runner = CliRunner()
PART_OF = "SELECT ?x WHERE { res:ward mkg:partOf ?x } ORDER BY ?x"


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("medkg: error: ")
    assert "Traceback" not in stderr
    return lines[0]


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.stdout


def test_default_table_with_compact_iris(tmp_path: Path) -> None:
    result = runner.invoke(app, ["query", PART_OF, *kg_args(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert "?x" in result.stdout
    assert "res:clinic" in result.stdout and "res:hospital" in result.stdout
    assert "2 rows" in result.stdout


def test_asserted_only_differs(tmp_path: Path) -> None:
    everything = runner.invoke(app, ["query", PART_OF, "-f", "csv", *kg_args(tmp_path)])
    asserted = runner.invoke(
        app, ["query", PART_OF, "--format", "csv", "--asserted-only", *kg_args(tmp_path)]
    )
    inferred = runner.invoke(
        app, ["query", PART_OF, "--format", "csv", "--inferred-only", *kg_args(tmp_path)]
    )
    for result in (everything, asserted, inferred):
        assert result.exit_code == 0, result.stderr
    assert everything.stdout.split() == [
        "x",
        "https://w3id.org/medkg/resource/clinic",
        "https://w3id.org/medkg/resource/hospital",
    ]
    assert asserted.stdout.split() == ["x", "https://w3id.org/medkg/resource/clinic"]
    assert inferred.stdout.split() == ["x", "https://w3id.org/medkg/resource/hospital"]


def test_both_only_flags_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["query", PART_OF, "--asserted-only", "--inferred-only", *kg_args(tmp_path)]
    )
    assert result.exit_code == 2
    _one_error_line(result.stderr)


@pytest.mark.parametrize(
    ("sparql", "where"),
    [
        ("SELECT ?x WHERE { ?x ?y }", "(line 1, column 26)"),
        ("SELECT ?x\nWHERE {\n  ?x ?y }", "(line 3, column"),
    ],
)
def test_bad_sparql_is_one_line(tmp_path: Path, sparql: str, where: str) -> None:
    result = runner.invoke(app, ["query", sparql, *kg_args(tmp_path)])
    assert result.exit_code == 2
    line = _one_error_line(result.stderr)
    assert "SPARQL syntax error" in line
    assert where in line
    assert result.stdout == ""


def test_bad_sparql_file_names_the_file(tmp_path: Path) -> None:
    query = tmp_path / "broken.rq"
    query.write_text("PREFIX ex: <http://example.org/>\nSELECT * WHERE {\n  ?s ex:p }\n")
    result = runner.invoke(app, ["query", str(query), *kg_args(tmp_path)])
    assert result.exit_code == 2
    line = _one_error_line(result.stderr)
    assert f"({query}:3:" in line


def test_bad_sparql_subprocess_has_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "medkg", "query", "SELECT ?x WHERE { ?x ?y }", *kg_args(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert _one_error_line(proc.stderr) == (
        "medkg: error: SPARQL syntax error: "
        + proc.stderr.split("SPARQL syntax error: ", 1)[1].strip()
    )
    assert "(line 1, column 26)" in proc.stderr
    assert proc.stdout == ""


def test_query_from_file(tmp_path: Path) -> None:
    query = tmp_path / "q.sparql"
    query.write_text("ASK { res:ward mkg:partOf res:hospital }")
    result = runner.invoke(app, ["query", str(query), *kg_args(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "true"


def test_query_from_stdin(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["query", "-", *kg_args(tmp_path)], input="ASK { res:nobody ?p ?o }"
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "false"


def test_missing_query_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.rq"
    result = runner.invoke(app, ["query", str(missing), *kg_args(tmp_path)])
    assert result.exit_code == 2
    line = _one_error_line(result.stderr)
    assert "query file not found" in line and str(missing) in line


@pytest.mark.parametrize("fmt", ["yaml", "JSONX", ""])
def test_unknown_format(tmp_path: Path, fmt: str) -> None:
    result = runner.invoke(app, ["query", PART_OF, "--format", fmt, *kg_args(tmp_path)])
    assert result.exit_code == 2
    line = _one_error_line(result.stderr)
    assert "unknown output format" in line
    assert "table" in line


def test_format_that_does_not_fit(tmp_path: Path) -> None:
    result = runner.invoke(app, ["query", PART_OF, "--format", "turtle", *kg_args(tmp_path)])
    assert result.exit_code == 2
    assert "SELECT" in _one_error_line(result.stderr)


def test_select_formats_parse(tmp_path: Path) -> None:
    args = kg_args(tmp_path)

    def run(fmt: str) -> str:
        result = runner.invoke(app, ["query", PART_OF, "--format", fmt, *args])
        assert result.exit_code == 0, result.stderr
        return result.stdout

    assert len(json.loads(run("json"))["results"]["bindings"]) == 2
    root = ET.fromstring(run("xml"))
    assert len(root.findall(".//{http://www.w3.org/2005/sparql-results#}result")) == 2
    assert len(list(csv.reader(io.StringIO(run("csv"))))) == 3
    tsv = run("tsv")
    assert len(list(ox.parse_query_results(tsv.encode(), ox.QueryResultsFormat.TSV))) == 2  # type: ignore[arg-type]


CONSTRUCT = "CONSTRUCT { ?s mkg:partOf ?o } WHERE { ?s mkg:partOf ?o }"


@pytest.mark.parametrize(
    ("fmt", "rdflib_format"),
    [(None, "turtle"), ("turtle", "turtle"), ("ntriples", "nt"), ("jsonld", "json-ld")],
)
def test_construct_formats_parse(tmp_path: Path, fmt: str | None, rdflib_format: str) -> None:
    args = ["query", CONSTRUCT, *kg_args(tmp_path)]
    if fmt is not None:
        args += ["--format", fmt]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    graph = rdflib.Graph()
    if rdflib_format == "json-ld":
        triples = list(ox.parse(result.stdout.encode(), ox.RdfFormat.JSON_LD))
        assert len(triples) == 3
        return
    graph.parse(data=result.stdout, format=rdflib_format)
    assert len(graph) == 3  # ward-clinic, clinic-hospital, ward-hospital (inferred)


def test_construct_as_table(tmp_path: Path) -> None:
    result = runner.invoke(app, ["query", CONSTRUCT, "--format", "table", *kg_args(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert "3 triples" in result.stdout


def test_global_options_before_the_command(tmp_path: Path) -> None:
    result = runner.invoke(app, [*kg_args(tmp_path), "query", PART_OF, "-f", "csv"])
    assert result.exit_code == 0, result.stderr
    assert "hospital" in result.stdout


def test_env_then_flag_override(tmp_path: Path) -> None:
    env = {
        "MEDKG_ONTOLOGY_DIR": str(KG_ONTOLOGY),
        "MEDKG_DATA_DIR": str(tmp_path / "does-not-exist"),
        "MEDKG_CACHE_DIR": str(tmp_path / "cache"),
    }
    failing = runner.invoke(app, ["query", PART_OF], env=env)
    assert failing.exit_code == 2
    assert "does-not-exist" in _one_error_line(failing.stderr)
    fixed = runner.invoke(app, ["query", PART_OF, "--data-dir", str(KG_DATA)], env=env)
    assert fixed.exit_code == 0, fixed.stderr


def test_no_cache_flag(tmp_path: Path) -> None:
    result = runner.invoke(app, ["stats", *kg_args(tmp_path), "--no-cache"])
    assert result.exit_code == 0, result.stderr
    assert "closure: computed" in result.stdout
    assert not (tmp_path / "cache").exists()


def test_stats_and_cache(tmp_path: Path) -> None:
    first = runner.invoke(app, ["stats", *kg_args(tmp_path)])
    assert first.exit_code == 0, first.stderr
    assert "graph:inferred" in first.stdout
    assert "mkg:Department" in first.stdout
    assert "closure: computed" in first.stdout
    second = runner.invoke(app, ["stats", *kg_args(tmp_path)])
    assert "closure: from cache" in second.stdout


def test_validate_conforms(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", *kg_args(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().count("\n") == 0
    assert result.stdout.startswith("conforms")


def test_validate_reports_violations(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", *kg_args(tmp_path, data_dir=KG_DATA_INVALID)])
    assert result.exit_code == 1
    assert "res:nameless rdfs:label: an organization needs a label" in result.stdout
    assert "SHACL validation failed with 1 result" in _one_error_line(result.stderr)


def test_inconsistency_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "query",
            "ASK {}",
            *kg_args(tmp_path, INCONSISTENT / "data", INCONSISTENT / "ontology"),
        ],
    )
    assert result.exit_code == 1
    assert "Irreflexive" in _one_error_line(result.stderr)


def test_rdf_syntax_error_is_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "bad.ttl").write_text("@prefix ex: <http://example.org/> .\nex:a ex:b .\n")
    result = runner.invoke(app, ["stats", *kg_args(tmp_path, data_dir=data)])
    assert result.exit_code == 2
    line = _one_error_line(result.stderr)
    assert f"{data / 'bad.ttl'}:2:" in line


def test_missing_data_dir_is_config_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["stats", *kg_args(tmp_path, data_dir=tmp_path / "nope")])
    assert result.exit_code == 2
    _one_error_line(result.stderr)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "-1"], "invalid setting workers"),
        (["--port", "70000"], "invalid setting port"),
        (["--timeout", "0"], "invalid setting timeout"),
        (["--log-level", "loud"], "invalid setting log_level"),
    ],
)
def test_serve_rejects_bad_settings_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["serve", *args, *kg_args(tmp_path)])
    assert result.exit_code == 2
    assert message in _one_error_line(result.stderr)


def test_serve_reports_a_broken_project_in_one_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["serve", "--workers", "0", *kg_args(tmp_path, data_dir=tmp_path / "missing")]
    )
    assert result.exit_code == 2
    assert "data directory does not exist" in _one_error_line(result.stderr)


def test_serve_help_lists_its_options() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--data", "--timeout", "--workers", "--public-url"):
        assert option in result.stdout
    assert "--max-rows" in result.stdout and "--no-cache" in result.stdout
