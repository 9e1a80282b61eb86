"""The benchmark suite's pure parts (``bench/``): the seed graph's query mix and its PREFIX
declarations, the answer-count check of the throughput runs, the owlrl-on-rdflib baseline
on a tiny graph, and the targets section rendered with rows measured, failed and not run.
The benchmarks themselves start real servers; ``python -m bench`` runs them."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the bench package

from bench import baseline, serving, suite, synthetic, throughput

QUERIES = Path(__file__).resolve().parents[1] / "queries"
MKG = "PREFIX mkg: <https://w3id.org/medkg/ontology#>"
RDFS = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>"


# -- the seed mix ---------------------------------------------------------------------------


def test_prepare_declares_the_medkg_prefixes_a_query_uses() -> None:
    text = "# title: x\nSELECT ?u ?l WHERE { ?u a mkg:University ; rdfs:label ?l }\n"
    prepared = throughput.prepare(text)
    lines = prepared.splitlines()
    assert lines[0] == "# title: x"
    assert MKG in lines and RDFS in lines
    assert not any(line.startswith("PREFIX foaf:") for line in lines)
    # what another server needs: it parses with no prefixes given
    assert list(ox.Store().query(prepared)) == []


def test_prepare_keeps_declared_prefixes_and_ignores_strings_iris_comments() -> None:
    text = (
        "PREFIX mkg: <https://example.org/other#>\n"
        "# foaf:name in a comment\n"
        'SELECT ?x WHERE { ?x mkg:p "schema:Thing" ; <http://e.org/skos:x> ?y }\n'
    )
    prepared = throughput.prepare(text)
    assert prepared.count("PREFIX mkg:") == 1
    for prefix in ("foaf", "schema", "skos"):
        assert f"PREFIX {prefix}:" not in prepared


@pytest.mark.parametrize(
    ("text", "portable"),
    [
        ("SELECT ?x WHERE { ?x a mkg:University }", True),
        ("ASK { ?x a mkg:University }", True),
        ("# which graph states it, from which source\nSELECT ?x WHERE { ?x ?p ?o }", True),
        ('SELECT ?x WHERE { ?x rdfs:label "GRAPH FROM" }', True),
        ("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", False),
        ("SELECT ?s FROM <http://e.org/g> WHERE { ?s ?p ?o }", False),
        ("SELECT ?s WHERE { SERVICE <http://e.org/sparql> { ?s ?p ?o } }", False),
        ("SELECT ?s WHERE { ?s mkg:statedIn graph:inferred }", False),
        ("CONSTRUCT { ?a mkg:partnerOf ?b } WHERE { ?a mkg:partnerOf ?b }", False),
        ("DESCRIBE res:ntu", False),
    ],
)
def test_is_portable(text: str, portable: bool) -> None:
    assert throughput.is_portable(text) is portable


def test_seed_mix_of_the_bundled_queries_runs_without_medkg_prefixes() -> None:
    mix = throughput.seed_mix(QUERIES)
    names = {query.name for query in mix}
    assert "lookup-universities" in names
    # GRAPH, a CONSTRUCT: not in the mix
    assert not names & {"facts-per-source", "which-source-states", "partnership-network"}
    store = ox.Store()
    for query in mix:
        assert throughput.is_portable(query.text)
        store.query(query.text)  # parses and runs without any prefix from medkg


# -- the answer-count check -----------------------------------------------------------------


def test_answer_count() -> None:
    select = '{"head": {"vars": ["x"]}, "results": {"bindings": [{}, {}, {}]}}'
    assert throughput.answer_count(select.encode()) == 3
    assert throughput.answer_count(b'{"head": {}, "boolean": true}') == 1
    assert throughput.answer_count(b'{"head": {}, "boolean": false}') == 0
    assert throughput.answer_count(b"<html>") is None


def _run(server: str, clients: int, counts: dict[str, int | None], qps: float) -> dict[str, Any]:
    return {
        "server": server,
        "clients": clients,
        "status": throughput.OK,
        "requests": 10,
        "errors": 0,
        "timeouts": 0,
        "wall_s": 1.0,
        "qps": qps,
        "p50_s": 0.002,
        "p99_s": 0.02,
        "counts": counts,
    }


def test_counts_checked_against_medkg_on_the_seed_graph() -> None:
    workload = throughput.Workload("seed", (), (), throughput.export_seed_closure)
    runs = [
        _run(throughput.MEDKG, 1, {"a": 2, "b": 0}, 100.0),
        _run(throughput.OXIGRAPH, 1, {"a": 2, "b": 0}, 200.0),
        _run(throughput.RDFLIB_ENDPOINT, 1, {"a": 3}, 10.0),
    ]
    reference = throughput.reference_counts(workload, runs)
    assert reference == {"a": 2, "b": 0}
    for run in runs:
        throughput.check(run, reference, workload.reference)
    throughput._add_ratios(runs)
    medkg, oxigraph, rdflib = runs
    assert medkg["status"] == oxigraph["status"] == throughput.OK
    assert oxigraph["medkg_over"] == pytest.approx(0.5)
    assert rdflib["status"] == throughput.FAILED
    assert rdflib["mismatches"] == {"a": {"got": 3, "expected": 2}}
    assert rdflib["unchecked"] == ["b"]
    assert "a got 3, expected 2" in rdflib["error"]
    assert rdflib["medkg_over"] is None  # a failed row has no ratio


def test_medkg_checked_against_the_lubm_reference() -> None:
    workload = throughput.Workload("lubm1", (), (), throughput.export_seed_closure, {"q01": 4})
    run = _run(throughput.MEDKG, 8, {"q01": 5}, 100.0)
    throughput.check(run, throughput.reference_counts(workload, [run]), workload.reference)
    assert run["status"] == throughput.FAILED


# -- the baseline ---------------------------------------------------------------------------


def test_baseline_parses_and_closes_a_tiny_graph(tmp_path: Path) -> None:
    ontology = tmp_path / "o.ttl"
    ontology.write_text(
        "@prefix ex: <http://e.org/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "ex:B rdfs:subClassOf ex:A .\n"
    )
    data = tmp_path / "d.nt.gz"
    with gzip.open(data, "wt") as handle:
        handle.write(
            "<http://e.org/x> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
            "<http://e.org/B> .\n"
        )
    assert baseline.rdf_format(data) == "nt"
    assert len(baseline.parse_files([ontology, data])) == 2
    figures = baseline.close([ontology, data])
    assert figures["asserted_triples"] == 2
    assert figures["closure_triples"] > 2
    assert figures["total_s"] >= figures["inference_s"] > 0
    assert figures["peak_rss_mib"] > 0


def test_the_baseline_reports_its_own_peak_memory_not_its_parents(tmp_path: Path) -> None:
    ontology = tmp_path / "o.nt"
    ontology.write_text("<http://e.org/x> <http://e.org/p> <http://e.org/y> .\n")
    ballast = bytearray(400 * 1024 * 1024)  # this process, the baseline's parent, grows
    for offset in range(0, len(ballast), 4096):
        ballast[offset] = 1
    figures = baseline.run_baseline([ontology], limit_s=120)
    assert "error" not in figures, figures
    assert 0 < figures["peak_rss_mib"] < 300  # ru_maxrss would say at least 400 MiB
    del ballast


# -- the suite: plans, targets, rendering ---------------------------------------------------


def test_plans() -> None:
    assert suite.lubm_sizes(suite.PLANS["quick"]) == [1]
    assert suite.lubm_sizes(suite.PLANS["scale"]) == [1, 5]
    quick = suite.PLANS["quick"]["startup_modes"]
    assert set(quick[serving.SEED]) == set(serving.MODES)
    assert quick["lubm1"] == (serving.FAST,)
    assert set(suite.PLANS["scale"]["startup_modes"]["lubm1"]) == set(serving.MODES)
    assert suite.PLANS["scale"]["startup_modes"]["lubm5"] == (serving.FAST,)
    assert all(
        set(modes) == set(serving.MODES) for modes in suite.PLANS["full"]["startup_modes"].values()
    )


def _modes() -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for workload in serving.WORKLOADS:
        for mode in serving.MODES:
            rows.append({"workload": workload, "mode": mode, "status": serving.NOT_RUN})
    rows[0].update(status=serving.MEASURED, seconds=0.9, ready_s=0.9, peak_rss_mib=90.0)
    rows[1].update(status=serving.FAILED, error="server exited (1)")
    rows[2].update(
        status=serving.MEASURED,
        seconds=6.0,
        wall_s=6.0,
        parse_s=0.1,
        inference_s=5.5,
        total_s=5.6,
        closure_triples=8140,
        peak_rss_mib=70.0,
    )
    serving._add_ratios(rows)
    return {"rows": rows}


def _by_query(cheap: float, slow: float) -> dict[str, Any]:
    """Per-query figures of a run: q01 ten times as often as q09, which is slower."""
    return throughput.latency_by_query({"q01": [cheap] * 90 + [cheap * 2] * 10, "q09": [slow] * 10})


def _results() -> dict[str, Any]:
    lubm_runs = [
        {**_run(throughput.MEDKG, 8, {"q01": 4}, 240.0), **_by_query(0.002, 0.03)},
        {**_run(throughput.OXIGRAPH, 8, {"q01": 4}, 300.0), **_by_query(0.001, 0.2)},
        {"server": throughput.RDFLIB_ENDPOINT, "clients": 8, "status": throughput.FAILED,
         "error": "rdflib-endpoint is not installed"},
    ]  # fmt: skip
    for run in lubm_runs:
        run.setdefault("counts", {})
    throughput._add_ratios(lubm_runs)
    graph = {
        "label": "LUBM(1) closure",
        "triples": 138_863,
        "queries": ["q01"],
        "reference": "the reference counts",
        "expected_counts": {"q01": 4},
        "runs": lubm_runs,
    }
    results: dict[str, Any] = {
        "mode": "quick",
        "machine": {
            "date": "2026-01-01T00:00:00+00:00",
            "cpu": "a CPU",
            "cores": 2,
            "ram_gib": 8.0,
            "os": "Linux",
            "python": "CPython 3.11",
        },
        "startup": {"lubm1": {"ready_s": 3.5, "peak_rss_mib": 340.0}},
        "startup_modes": _modes(),
        "throughput": {"seconds": 3.0, "clients": [1, 8], "graphs": {"lubm1": graph}},
    }
    results["targets"] = suite.targets(results)
    return results


def test_targets_read_the_lubm1_8_client_runs() -> None:
    rows = {row["target"]: row for row in _results()["targets"]}
    oxigraph = rows["`/sparql`, 8 clients, LUBM(1): >= 0.7x `oxigraph serve` (in memory)"]
    assert oxigraph["measured"] == "0.80x" and oxigraph["met"] is True
    rdflib = rows["`/sparql`, 8 clients, LUBM(1): >= 4x rdflib-endpoint"]
    assert rdflib["met"] is None and "not installed" in rdflib["note"]
    p99 = rows["`/sparql` p99 under 8 clients < 50 ms"]
    assert p99["measured"] == "20.0 ms" and p99["met"] is True
    assert p99["note"].endswith("without its slowest query (q09): 4.0 ms")
    assert rows["LUBM(5) ready to serve from a cold start < 30 s"]["met"] is None


def test_targets_fail_when_medkg_answers_wrong() -> None:
    results = _results()
    medkg = throughput.find_run(results["throughput"], "lubm1", 8, throughput.MEDKG)
    assert medkg is not None
    throughput.check(medkg, {"q01": 5}, "the reference counts")
    rows = {row["target"]: row for row in suite.targets(results)}
    assert rows["`/sparql` p99 under 8 clients < 50 ms"]["met"] is False
    assert (
        rows["`/sparql`, 8 clients, LUBM(1): >= 0.7x `oxigraph serve` (in memory)"]["met"] is False
    )


def test_render_shows_rows_not_run() -> None:
    text = suite.render(_results())
    lines = text.splitlines()
    assert lines[0] == suite.SECTION_START and lines[-1] == suite.SECTION_END

    def row(*cells: str) -> str:
        found = [line for line in lines if line.startswith("| " + " | ".join(cells) + " |")]
        assert len(found) == 1, cells
        return found[0]

    # start-up by reasoning mode: measured, failed, baseline, not run
    fast = row("seed graph (cold start)", serving.MODE_LABELS[serving.FAST])
    assert "0.90 s | 90.0 MiB | 6.67x | 0.78x |" in fast
    assert "failed: server exited (1)" in row(
        "seed graph (cold start)", serving.MODE_LABELS[serving.OWLRL]
    )
    assert "inference 5.50 s" in row("seed graph (cold start)", serving.MODE_LABELS["baseline"])
    for workload in ("LUBM(1)", "LUBM(5)"):
        for mode in serving.MODES:
            assert suite.NOT_RUN in row(workload, serving.MODE_LABELS[mode])
    # throughput: the seed graph was not run, LUBM(1) 8 clients was
    for clients in ("1", "8"):
        for server in throughput.SERVERS:
            cells = ("seed graph", clients, throughput.SERVER_LABELS[server])
            assert suite.NOT_RUN in row(*cells)
    assert "0.80x" in row("LUBM(1) closure", "8", "oxigraph serve (memory)")
    assert "failed: rdflib-endpoint is not installed" in row(
        "LUBM(1) closure", "8", "rdflib-endpoint"
    )
    assert suite.NOT_RUN in row("LUBM(1) closure", "1", "medkg serve")
    # latency by query of the LUBM(1) 8-client runs: medkg's p50 and p99, then oxigraph's
    assert row("q01", "2.0 ms", "4.0 ms", "1.0 ms", "2.0 ms")
    assert row("q09", "30.0 ms", "30.0 ms", "200.0 ms", "200.0 ms")
    assert row("**p99 of all but the slowest**", "(q09 left out)", "4.0 ms", "(q09 left out)")


def test_latency_by_query_finds_where_the_tail_comes_from() -> None:
    figures = throughput.latency_by_query(
        {"cheap": [0.001] * 99 + [0.004], "slow": [0.04] * 9 + [0.08]}
    )
    assert figures["slowest"] == "slow"
    assert figures["per_query"]["slow"] == {"requests": 10, "p50_s": 0.04, "p99_s": 0.08}
    assert figures["per_query"]["cheap"]["p99_s"] == 0.004
    assert figures["p99_without_slowest_s"] == 0.004
    assert throughput.latency_by_query({}) == {
        "per_query": {},
        "slowest": None,
        "p99_without_slowest_s": None,
    }


def test_the_median_round_is_reported_with_every_rounds_rate() -> None:
    rounds = [
        {"qps": 300.0, "p99_s": 0.07},
        {"qps": 250.0, "p99_s": 0.09},
        {"qps": 320.0, "p99_s": 0.06},
    ]
    row = throughput._median_round(rounds)
    assert row["qps"] == 300.0 and row["p99_s"] == 0.07  # one real run's figures
    assert row["rounds_qps"] == [300.0, 250.0, 320.0]
    assert throughput._median_round(rounds[:2])["qps"] == 250.0  # even: the lower middle


def test_growth_is_measured_in_fresh_processes_with_medians() -> None:
    logged: list[str] = []
    growth = synthetic.measure_growth([300, 900], logged.append)
    small, large = growth["sizes"]
    for row in (small, large):
        samples = row["samples_s"]
        assert len(samples) == synthetic.REPEAT and samples == sorted(samples)
        assert row["load_inference_s"] == samples[len(samples) // 2]
        assert row["quads"] > row["triples"] > 0 and row["query_rows"] > 0
    assert large["triples"] > small["triples"]
    assert growth["growth_exponent"] is not None
    assert any("3x" in line for line in logged)
