"""Benchmark results: a JSON document per benchmark, and a Markdown section rendered from it.

The Markdown section goes into ``docs/benchmarks.md`` between two marker comments, so the
file can hold other benchmarks' sections too; everything outside the markers is kept.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.engines import (
    MEDKG,
    MEDKG_SPARQL,
    MEDKG_WRITTEN,
    NOTABLE_OTHER_CPU,
    PYOXIGRAPH,
    PYOXIGRAPH_FLAT,
    RDFLIB,
    EngineResult,
)
from bench.lubm import REPO_ROOT, ClosureInfo
from bench.reasoner import LUBM1, WorkloadResult

DOCS_FILE = REPO_ROOT / "docs" / "benchmarks.md"
RESULTS_DIR = REPO_ROOT / "bench" / "results"
JSON_NAME = "engines.json"
SECTION_START = "<!-- bench:engines:start -->"
SECTION_END = "<!-- bench:engines:end -->"
REASONER_JSON_NAME = "reasoner.json"
REASONER_SECTION_START = "<!-- bench:reasoner:start -->"
REASONER_SECTION_END = "<!-- bench:reasoner:end -->"

#: The fast reasoner must be at least this many times faster than owlrl on LUBM(1).
REASONER_TARGET_RATIO = 10.0

#: (key, description, limit in seconds) for the sum of medkg's medians over the 14 queries.
TARGETS: tuple[tuple[str, str, float], ...] = (
    ("endpoint", "endpoint issue: the 14 LUBM queries through medkg's path", 0.5),
    ("issue-6", "issue 6: the 14 LUBM queries through medkg's path", 0.3),
)

DOCS_PREAMBLE = """# Benchmarks

Measurements of medkg, made by `python -m bench` from the repository root. Each section is
written by its benchmark; the figures and the machine they were measured on are also kept
as JSON under `bench/results/`.
"""


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def _ratios(top: EngineResult, bottom: EngineResult) -> dict[str, dict[str, object]]:
    """Per-query and summed ``top / bottom`` ratios of medians. When ``top`` timed out the
    ratio is a lower bound (its time limit over ``bottom``'s median)."""
    bottom_by_query = bottom.by_query()
    per_query: dict[str, object] = {}
    for m in top.measurements:
        other = bottom_by_query.get(m.query)
        if other is None:
            continue
        value = _ratio(m.median_s, other.median_s)
        bound = False
        if value is None and top.timeout_s is not None and m.cold_s is None:
            value, bound = _ratio(top.timeout_s, other.median_s), True
        per_query[m.query] = {"ratio": value, "lower_bound": bound}
    sum_value = _ratio(top.sum_median_s, bottom.sum_median_s)
    sum_bound = False
    if sum_value is None:
        sum_value = _ratio(top.sum_median_lower_bound_s, bottom.sum_median_s)
        sum_bound = True
    return {"per_query": per_query, "sum": {"ratio": sum_value, "lower_bound": sum_bound}}


def build(
    *,
    mode: str,
    settings: Mapping[str, object],
    machine: Mapping[str, object],
    closure: ClosureInfo,
    results: Sequence[EngineResult],
) -> dict[str, Any]:
    """The whole result as JSON-ready data."""
    engines = {r.key: r for r in results}
    medkg = engines.get(MEDKG)
    medkg_sum = medkg.sum_median_s if medkg is not None else None
    medkg_cold = (
        sum(m.cold_s or 0.0 for m in medkg.measurements)
        if medkg is not None and medkg.complete
        else None
    )
    ratios: dict[str, object] = {}
    if medkg is not None and MEDKG_SPARQL in engines:
        ratios["sparql_over_medkg"] = _ratios(engines[MEDKG_SPARQL], medkg)
    if medkg is not None and MEDKG_WRITTEN in engines:
        ratios["written_over_medkg"] = _ratios(engines[MEDKG_WRITTEN], medkg)
    if medkg is not None and RDFLIB in engines:
        ratios["rdflib_over_medkg"] = _ratios(engines[RDFLIB], medkg)
    if medkg is not None and PYOXIGRAPH in engines:
        ratios["medkg_over_pyoxigraph"] = _ratios(medkg, engines[PYOXIGRAPH])
    if medkg is not None and PYOXIGRAPH_FLAT in engines:
        ratios["medkg_over_pyoxigraph_flat"] = _ratios(medkg, engines[PYOXIGRAPH_FLAT])
    return {
        "benchmark": "engines",
        "title": "LUBM(1): the 14 LUBM queries on the OWL 2 RL closure, engine by engine",
        "mode": mode,
        "settings": dict(settings),
        "machine": dict(machine),
        "closure": closure.to_json(),
        "medkg_counts_correct": medkg.all_correct if medkg is not None else None,
        "sparql_counts_correct": engines[MEDKG_SPARQL].all_correct
        if MEDKG_SPARQL in engines
        else None,
        "targets": [
            {
                "key": key,
                "description": text,
                "limit_s": limit,
                "measured_s": medkg_sum,
                "measured_cold_s": medkg_cold,
                "met": medkg_sum is not None and medkg.all_correct and medkg_sum < limit
                if medkg is not None
                else False,
            }
            for key, text, limit in TARGETS
        ],
        "engines": {r.key: r.to_json() for r in results},
        "ratios": ratios,
    }


def write_json(report: Mapping[str, Any], out_dir: Path, name: str = JSON_NAME) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    _write_atomically(path, json.dumps(report, indent=2) + "\n")
    return path


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------------
# Markdown


def _ms(seconds: object) -> str:
    return f"{float(seconds) * 1000:.1f}" if isinstance(seconds, int | float) else "-"


def _s(seconds: object, digits: int = 3) -> str:
    return f"{float(seconds):.{digits}f} s" if isinstance(seconds, int | float) else "-"


def _times(ratio: Mapping[str, Any] | None) -> str:
    if not ratio or ratio.get("ratio") is None:
        return "-"
    value = float(ratio["ratio"])
    text = f"{value:.0f}x" if value >= 100 else f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"
    return f"> {text}" if ratio.get("lower_bound") else text


def _median_cell(query: Mapping[str, Any]) -> str:
    status = query["status"]
    if status == "timeout":
        return "timeout"
    if status == "error":
        return "error"
    cell = _ms(query["median_s"])
    return cell if status == "ok" else f"{cell} (count {query['count']}, wrong)"


def _engine_sum(engine: Mapping[str, Any]) -> str:
    if engine["sum_median_s"] is not None:
        return f"**{_ms(engine['sum_median_s'])}**"
    return f"**> {_ms(engine['sum_median_lower_bound_s'])}**"


#: The ratio columns of the side-by-side table: (key in the report's ratios, heading).
RATIO_COLUMNS = (
    ("sparql_over_medkg", "/sparql / medkg path"),
    ("written_over_medkg", "as written / medkg path"),
    ("rdflib_over_medkg", "rdflib / medkg"),
    ("medkg_over_pyoxigraph", "medkg / pyoxigraph"),
)


def _comparison_table(report: Mapping[str, Any]) -> list[str]:
    engines: Mapping[str, Any] = report["engines"]
    keys = list(engines)
    ratios: Mapping[str, Any] = report["ratios"]
    columns = [(ratios[key], heading) for key, heading in RATIO_COLUMNS if ratios.get(key)]
    head = ["query", "reference count"] + [f"{engines[k]['label']} ms" for k in keys]
    head += [heading for _ratio, heading in columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    first = engines[keys[0]]["queries"]
    for name, query in first.items():
        row = [name, str(query["expected"])]
        row += [_median_cell(engines[k]["queries"][name]) for k in keys]
        row += [_times(ratio["per_query"].get(name)) for ratio, _heading in columns]
        lines.append("| " + " | ".join(row) + " |")
    total = ["**sum of medians**", ""] + [_engine_sum(engines[k]) for k in keys]
    total += [f"**{_times(ratio['sum'])}**" for ratio, _heading in columns]
    lines.append("| " + " | ".join(total) + " |")
    return lines


def _engine_table(engine: Mapping[str, Any]) -> list[str]:
    lines = [
        "| query | count | reference | check | cold ms | median ms | min ms | max ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, q in engine["queries"].items():
        check = {"ok": "ok", "wrong-count": "**wrong**", "timeout": "timeout"}.get(
            q["status"], "error"
        )
        count = "-" if q["count"] is None else str(q["count"])
        cold = _ms(q["cold_s"]) if q["cold_s"] is not None else q["status"]
        lines.append(
            f"| {name} | {count} | {q['expected']} | {check} | {cold} | "
            f"{_ms(q['median_s'])} | {_ms(q['min_s'])} | {_ms(q['max_s'])} |"
        )
    return lines


def _closure_paragraph(closure: Mapping[str, Any]) -> str:
    asserted = sum(closure["asserted_triples"].values())
    text = (
        f"The closure holds {closure['closure_triples']:,} triples: {asserted:,} asserted "
        f"in {len(closure['asserted_triples'])} named graphs ({closure['default_graph_triples']:,} "
        f"distinct, the default graph) and {closure['inferred_triples']:,} inferred. "
    )
    cold = closure.get("cold")
    if cold:
        text += (
            f"Computing it cold through medkg's pipeline took **{_s(cold['total_s'], 1)}** "
            f"(parse {_s(cold['parse_s'], 1)}, inference {_s(cold['inference_s'], 1)}, "
            f"pyoxigraph store {_s(cold['mirror_s'], 1)}, cache write "
            f"{_s(cold['save_s'], 1)}; measured {cold['measured_at'][:10]}). "
        )
    else:
        text += "The cold closure time is unknown (cache entry without timings). "
    if closure["from_cache"]:
        text += f"This run read it from the closure cache in {_s(closure['open_s'], 2)}."
    else:
        text += "This run computed it (no cache entry)."
    return text


def _contention_note(report: Mapping[str, Any]) -> str:
    share = report["engines"].get(MEDKG, {}).get("other_cpu_share")
    if share is None:
        return ""
    text = f" Other processes used {share:.0%} of the machine's CPU while medkg's path was measured"
    if share < NOTABLE_OTHER_CPU:
        return text + "."
    return text + ", so its figures are on the slow side of what this machine does when idle."


#: What an engine's setup time measures, by engine key ("": the others).
SETUP_TEXT = {
    MEDKG_SPARQL: "Start-up (process start to `/health` ready, its closure read from its "
    "cache or computed)",
    "": "Setup (building what it queries)",
}


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report's section for docs/benchmarks.md (between the markers)."""
    machine: Mapping[str, Any] = report["machine"]
    settings: Mapping[str, Any] = report["settings"]
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items())
    lines = [
        SECTION_START,
        "## Query engines on LUBM(1)",
        "",
        "Which engine answers medkg's queries: the 14 LUBM queries on the OWL 2 RL closure "
        "of LUBM(1,0), side by side: through medkg's query path in this process, through "
        "`/sparql` of a running `medkg serve`, and on raw pyoxigraph and rdflib. A wrong "
        "answer count through medkg (either way) fails the run. Regenerate with "
        "`python -m bench engines` (`--quick` for a shorter run, `--smoke` to check the "
        "counts of medkg's query path only).",
        "",
        f"Measured {machine['date'][:10]} in `{report['mode']}` mode: "
        f"{settings['repeat']} timed run(s) per query after one cold run, median reported; "
        f"rdflib limited to {settings['rdflib_timeout_s']:g} s per run. Machine: "
        f"{machine['cpu']}, {machine['cores']} cores, {machine['ram_gib']} GiB RAM, "
        f"{machine['os']}, {machine['python']}; {packages}.{_contention_note(report)}",
        "",
        _closure_paragraph(report["closure"]),
        "",
        "### Targets",
        "",
        "| target | limit | measured (sum of medians) | first (cold) runs | status |",
        "|---|---|---|---|---|",
    ]
    for t in report["targets"]:
        status = "**met**" if t["met"] else "**not met**"
        lines.append(
            f"| {t['description']} | < {t['limit_s']:g} s | {_s(t['measured_s'])} | "
            f"{_s(t['measured_cold_s'])} | {status} |"
        )
    lines += ["", "### Medians side by side", "", *_comparison_table(report), ""]
    lines.append(
        "All figures are milliseconds from the query text to the last solution; through "
        "`/sparql`, from sending the request to having the whole answer (HTTP on 127.0.0.1). "
        '"/sparql / medkg path": what the HTTP round trip, the server and its query worker '
        "process add to medkg's own path, query by query. All engines but rdflib take turns "
        "run by run; rdflib runs after them. "
        '"timeout": the run passed the time limit and was killed; sums with a timeout are '
        "lower bounds that count it at the limit."
    )
    for key, engine in report["engines"].items():
        lines += ["", f"### {engine['label']}", "", engine["description"]]
        if engine.get("setup_s") is not None:
            lines.append(f"{SETUP_TEXT.get(key, SETUP_TEXT[''])}: {_s(engine['setup_s'], 1)}.")
        lines += ["", *_engine_table(engine)]
    lines.append(SECTION_END)
    return "\n".join(lines) + "\n"


def update_docs(
    section: str,
    path: Path = DOCS_FILE,
    *,
    markers: tuple[str, str] = (SECTION_START, SECTION_END),
) -> Path:
    """Put ``section`` into ``path`` in place of the previous one between ``markers``
    (appended if none)."""
    text = path.read_text(encoding="utf-8") if path.is_file() else DOCS_PREAMBLE
    start, end = text.find(markers[0]), text.find(markers[1])
    if start != -1 and end > start:
        rest = text[end + len(markers[1]) :].lstrip("\n")
        text = text[:start] + section + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, text)
    return path


# --------------------------------------------------------------------------------------------
# The reasoner benchmark


def build_reasoner(
    *,
    mode: str,
    settings: Mapping[str, object],
    machine: Mapping[str, object],
    results: Sequence[WorkloadResult],
) -> dict[str, Any]:
    """The reasoner benchmark's result as JSON-ready data."""
    lubm = next((r for r in results if r.workload.key == LUBM1), None)
    ratio = lubm.ratio if lubm is not None else None
    return {
        "benchmark": "reasoner",
        "title": "OWL 2 RL closure: medkg's fast reasoner against owlrl",
        "mode": mode,
        "settings": dict(settings),
        "machine": dict(machine),
        "workloads": {r.workload.key: r.to_json() for r in results},
        "target": {
            "description": "fast reasoner at least 10x faster than owlrl on LUBM(1), "
            "same inferred triples",
            "min_ratio": REASONER_TARGET_RATIO,
            "measured_ratio": ratio,
            "identical": lubm.identical if lubm is not None else None,
            "met": bool(
                lubm is not None and lubm.identical and ratio and ratio >= REASONER_TARGET_RATIO
            ),
        },
    }


def _reasoner_row(workload: Mapping[str, Any], name: str) -> str:
    run = workload["reasoners"].get(name)
    if run is None:
        return ""
    if run["error"]:
        outcome = f"error: {run['error']}"
    elif run["clashes"]:
        outcome = f"{len(run['clashes'])} clash(es)"
    else:
        outcome = f"{run['inferred_triples']:,}"
    runs = len(run["runs_s"])
    return (
        f"| {workload['label']} | {name} | {_s(run['median_s'], 2)} | {runs} | "
        f"{_s(run['min_s'], 2)} | {outcome} | {run['peak_rss_mib'] or '-'} | "
        f"{run['rss_growth_mib'] if run['rss_growth_mib'] is not None else '-'} |"
    )


def _identical_cell(workload: Mapping[str, Any]) -> str:
    if workload["identical"] is None:
        return "not compared"
    if workload["identical"]:
        return "**identical**"
    return f"**differ** ({workload['differing_triples']} triples)"


def render_reasoner_markdown(report: Mapping[str, Any]) -> str:
    """The reasoner benchmark's section for docs/benchmarks.md (between its markers)."""
    machine: Mapping[str, Any] = report["machine"]
    settings: Mapping[str, Any] = report["settings"]
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items())
    target = report["target"]
    lines = [
        REASONER_SECTION_START,
        "## OWL 2 RL reasoners: fast against owlrl",
        "",
        "The inferred triples of medkg's pipeline (`compute_inferred`: OWL 2 RL closure, "
        "CONSTRUCT rules, noise filter) computed by the `fast` reasoner (`medkg.reasoner`, "
        "the default) and by owlrl (`MEDKG_REASONER=owlrl`), on the same parsed input, each "
        "reasoner in its own forked process. The two results must be the same triple set; "
        "`python -m bench reasoner` fails when they differ. Regenerate with "
        "`python -m bench reasoner` (`--quick` for fewer repeats, `--smoke` for the LUBM(1) "
        "check alone).",
        "",
        f"Measured {machine['date'][:10]} in `{report['mode']}` mode "
        f"(repeats: {settings['repeats']}). Machine: {machine['cpu']}, {machine['cores']} "
        f"cores, {machine['ram_gib']} GiB RAM, {machine['os']}, {machine['python']}; "
        f"{packages}; load average at start {machine.get('load_average_at_start')}.",
        "",
        "### Target",
        "",
        "| target | measured | status |",
        "|---|---|---|",
        f"| {target['description']} | "
        f"{_times({'ratio': target['measured_ratio']})} faster, "
        f"{'identical' if target['identical'] else 'not identical'} | "
        f"{'**met**' if target['met'] else '**not met**'} |",
        "",
        "### Side by side",
        "",
        "| workload | asserted | rules | fast median | owlrl median | owlrl / fast | result |",
        "|---|---|---|---|---|---|---|",
    ]
    workloads: Mapping[str, Any] = report["workloads"]
    for workload in workloads.values():
        fast = workload["reasoners"].get("fast", {})
        owlrl = workload["reasoners"].get("owlrl", {})
        lines.append(
            f"| {workload['label']} | {workload['asserted_triples']:,} | "
            f"{len(workload['rules'])} | {_s(fast.get('median_s'), 2)} | "
            f"{_s(owlrl.get('median_s'), 2) if owlrl else 'not run'} | "
            f"{_times({'ratio': workload['owlrl_over_fast']})} | {_identical_cell(workload)} |"
        )
    lines += [
        "",
        '"asserted": triples summed over the input graphs. Times are one `compute_inferred` '
        "call on the parsed input (parsing excluded), median of the runs.",
        "",
        "### Runs and memory",
        "",
        "| workload | reasoner | median | runs | min | inferred triples | peak RSS MiB | "
        "RSS growth MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for workload in workloads.values():
        for name in ("fast", "owlrl"):
            row = _reasoner_row(workload, name)
            if row:
                lines.append(row)
    lines += [
        "",
        "Peak RSS: the child process's resident set high-water mark over all its runs, "
        "which includes the parsed input it inherits; growth: peak minus the resident set "
        "when the child started.",
    ]
    differing = [w for w in workloads.values() if w["identical"] is False]
    for workload in differing:
        lines += ["", f"### Differences on {workload['label']}", ""]
        lines += [f"- only fast: `{t}`" for t in workload["only_fast"]]
        lines += [f"- only owlrl: `{t}`" for t in workload["only_owlrl"]]
    lines.append(REASONER_SECTION_END)
    return "\n".join(lines) + "\n"
