"""``python -m bench --quick|--scale|--full``: every benchmark part in sequence, the issue-6
targets. ``--scale`` is ``--quick`` plus LUBM(1) with owlrl (in medkg and in the baseline),
LUBM(5) and the 10^6-triple growth point; ``--full`` adds LUBM(5) with owlrl and the full
engine and reasoner comparisons.

Runs the engines, reasoner (full mode only; quick mode reuses the last
``bench/results/reasoner.json``), pages, start-up (the fast reasoner's cold and warm
starts, then every workload by reasoning mode against owlrl on rdflib: :data:`PLANS`),
throughput (seed graph and LUBM(1), 1 and 8 clients, medkg against ``oxigraph serve`` and
rdflib-endpoint) and growth benchmarks, writes
``bench/results/suite.json`` and the targets section of ``docs/benchmarks.md`` (plus each
part's own section), and draws ``docs/images/growth.png``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import lubm, machine, report, serving, synthetic, throughput

SECTION_START = "<!-- bench:targets:start -->"
SECTION_END = "<!-- bench:targets:end -->"
JSON_NAME = "suite.json"
GROWTH_PNG = lubm.REPO_ROOT / "docs" / "images" / "growth.png"

Log = Callable[[str], None]

#: What a row the mode does not run shows.
NOT_RUN = "not run in this mode"

#: What each mode starts, by workload: the reasoning modes (medkg's fast and owlrl
#: reasoners, the owlrl-on-rdflib baseline). owlrl takes about 1 to 2 minutes on LUBM(1) and
#: many on LUBM(5), so those rows wait for ``--scale`` and ``--full``. The LUBM sizes with a
#: fast row are also the cold starts of the targets (``startup["lubm1"]``, ...).
_ALL_MODES = (serving.FAST, serving.OWLRL, serving.BASELINE)
STARTUP_MODES: dict[str, dict[str, tuple[str, ...]]] = {
    "quick": {serving.SEED: _ALL_MODES, "lubm1": (serving.FAST,)},
    "scale": {serving.SEED: _ALL_MODES, "lubm1": _ALL_MODES, "lubm5": (serving.FAST,)},
    "full": {serving.SEED: _ALL_MODES, "lubm1": _ALL_MODES, "lubm5": _ALL_MODES},
}

PLANS: dict[str, dict[str, Any]] = {
    "quick": {
        "engines": ["engines", "--smoke", "--out", str(report.RESULTS_DIR), "--no-docs"],
        "reasoner": None,
        "pages_repeat": 20,
        "startup_modes": STARTUP_MODES["quick"],
        "throughput_s": 3.0,
        "throughput_clients": throughput.CLIENTS,
        "throughput_rounds": 3,
        "lubm_repeat": 1,
        "growth": [10_000, 100_000],
    },
    # quick plus the large sizes: LUBM(1) with owlrl, LUBM(5) start-up and the 10^6-triple
    # growth point
    "scale": {
        "engines": ["engines", "--smoke", "--out", str(report.RESULTS_DIR), "--no-docs"],
        "reasoner": None,
        "pages_repeat": 20,
        "startup_modes": STARTUP_MODES["scale"],
        "throughput_s": 3.0,
        "throughput_clients": throughput.CLIENTS,
        "throughput_rounds": 3,
        "lubm_repeat": 3,
        "growth": [10_000, 100_000, 1_000_000],
    },
    "full": {
        "engines": ["engines"],
        "reasoner": ["reasoner"],
        "pages_repeat": 50,
        "startup_modes": STARTUP_MODES["full"],
        "throughput_s": 10.0,
        "throughput_clients": throughput.CLIENTS,
        "throughput_rounds": 3,
        "lubm_repeat": 3,
        "growth": [10_000, 100_000, 1_000_000],
    },
}


def lubm_sizes(plan: dict[str, Any]) -> list[int]:
    """The LUBM sizes whose cold start (fast reasoner) ``plan`` measures."""
    sizes = (
        serving.lubm_size(workload)
        for workload, modes in plan["startup_modes"].items()
        if serving.FAST in modes
    )
    return sorted(size for size in sizes if size is not None)


def _load(name: str) -> dict[str, Any] | None:
    path = report.RESULTS_DIR / name
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _target(description: str, measured: str, met: bool | None, note: str = "") -> dict[str, Any]:
    return {"target": description, "measured": measured, "met": met, "note": note}


def _s(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} s"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:.1f} ms"


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    start = results.get("startup", {})
    for size, limit in ((1, 5.0), (5, 30.0)):
        row = start.get(f"lubm{size}")
        if row is None:
            rows.append(
                _target(
                    f"LUBM({size}) ready to serve from a cold start < {limit:g} s",
                    "not measured",
                    None,
                    NOT_RUN,
                )
            )
            continue
        rows.append(
            _target(
                f"LUBM({size}) ready to serve from a cold start < {limit:g} s",
                _s(row["ready_s"], 1),
                row["ready_s"] < limit,
                "`medkg serve --data <ontology> --data <data> --no-cache` to `/health` ready",
            )
        )
        if size == 5:
            rss = row["peak_rss_mib"]
            rows.append(
                _target(
                    "LUBM(5) peak memory < 3 GB", f"{rss} MiB", rss is not None and rss < 3 * 1024
                )
            )
    engines = results.get("engines") or {}
    correct = engines.get("medkg_counts_correct")
    rows.append(_target("all 14 LUBM queries correct", "yes" if correct else "no", bool(correct)))
    issue6 = next((t for t in engines.get("targets", []) if t["key"] == "issue-6"), None)
    if issue6:
        rows.append(
            _target(
                "sum of medians of the 14 LUBM queries (medkg's path) < 0.3 s",
                _s(issue6["measured_s"], 3),
                bool(issue6["met"]),
            )
        )
    rows += _throughput_targets(results.get("throughput") or {})
    for key, label, limit in (
        ("seed_cold", "seed graph: cold start to first answer", 2.0),
        ("seed_warm", "seed graph: warm start to first answer", 1.0),
    ):
        row = start.get(key)
        value = row["ready_s"] if row else None
        rows.append(
            _target(f"{label} < {limit:g} s", _s(value), None if value is None else value < limit)
        )
    pages = results.get("pages") or {}
    worst = pages.get("target", {}).get("worst_entity_p50_s")
    rows.append(
        _target(
            "entity page p50 < 20 ms (slowest of the measured entity pages)",
            _ms(worst),
            None if worst is None else worst < 0.02,
        )
    )
    growth = results.get("growth")
    if growth:
        sizes = growth["sizes"]
        exponent = growth["growth_exponent"]
        rows.append(
            _target(
                f"load + inference grows no worse than linearly "
                f"({sizes[0]['triples']:,} to {sizes[-1]['triples']:,} triples)",
                "n/a" if exponent is None else f"exponent {exponent:.2f}",
                growth["met"],
                "time ~ size^exponent; met when the exponent is at most 1.1",
            )
        )
    reasoner = results.get("reasoner") or {}
    if reasoner.get("target"):
        t = reasoner["target"]
        ratio = t["measured_ratio"]
        rows.append(
            _target(
                "fast reasoner >= 10x owlrl on LUBM(1), same triples",
                "n/a" if ratio is None else f"{ratio:.1f}x",
                bool(t["met"]),
                f"from the reasoner run of {reasoner['machine']['date'][:10]}",
            )
        )
    return rows


def _throughput_targets(tp: dict[str, Any]) -> list[dict[str, Any]]:
    """The `/sparql` targets, read from the 8-client runs on the LUBM(1) closure."""
    rows: list[dict[str, Any]] = []
    medkg = throughput.find_run(tp, throughput.LUBM1, 8, throughput.MEDKG)
    medkg_failed = medkg is not None and medkg["status"] != throughput.OK
    for key, label, limit in (
        (throughput.RDFLIB_ENDPOINT, "rdflib-endpoint", 4.0),
        (throughput.OXIGRAPH, "`oxigraph serve` (in memory)", 0.7),
    ):
        description = f"`/sparql`, 8 clients, LUBM(1): >= {limit:g}x {label}"
        other = throughput.find_run(tp, throughput.LUBM1, 8, key)
        if medkg is None or other is None:
            rows.append(_target(description, "not measured", None))
            continue
        if medkg_failed:
            rows.append(_target(description, "medkg failed", False, medkg.get("error", "")))
            continue
        ratio = other.get("medkg_over")
        note = other.get("error", "")
        if not note and ratio is not None:
            note = (
                f"medkg {medkg['qps']:.1f} q/s, {label} {other['qps']:.1f} q/s "
                f"({other['errors']} failed or timed-out requests)"
            )
        rows.append(
            _target(
                description,
                "not measured" if ratio is None else f"{ratio:.2f}x",
                None if ratio is None else ratio >= limit,
                note,
            )
        )
    p99 = None if medkg is None or medkg_failed else medkg.get("p99_s")
    note = "LUBM(1) closure, the LUBM query mix"
    if p99 is not None and medkg is not None and medkg.get("slowest"):
        note += (
            f"; without its slowest query ({medkg['slowest']}): "
            f"{_ms(medkg.get('p99_without_slowest_s'))}"
        )
    rows.append(
        _target(
            "`/sparql` p99 under 8 clients < 50 ms",
            "medkg failed" if medkg_failed else _ms(p99),
            False if medkg_failed else None if p99 is None else p99 < 0.05,
            note,
        )
    )
    return rows


def _verdict(met: bool | None) -> str:
    return "not measured" if met is None else "**met**" if met else "**not met**"


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _cell(text: str, limit: int = 200) -> str:
    """``text`` fit for a Markdown table cell."""
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render_throughput(tp: dict[str, Any] | None) -> list[str]:
    """The throughput matrix: every graph x client count x server, measured or not."""
    if not tp:
        return []
    graphs = tp.get("graphs", {})
    lines = [
        "",
        f"### `/sparql` throughput ({tp['seconds']:g} s a run)",
        "",
        "Each server on 127.0.0.1, its clients sending the graph's queries round-robin for "
        f"{tp['seconds']:g} s (each client a thread POSTing on one kept-alive connection "
        "with Python's `http.client`, which takes far less of the shared CPU than httpx); "
        f"a request unanswered {throughput.GRACE_S:g} s after that "
        "counts as failed (timed out). The answer count of each query's first answer is "
        "checked; a server whose counts differ fails its row. medkg runs without its "
        "per-client limiter; `oxigraph serve` and rdflib-endpoint serve the same closure "
        "(medkg's default graph: every asserted graph plus the inferred one).",
    ]
    rounds = tp.get("rounds", 1)
    if rounds > 1:
        lines.append(
            f"medkg and `oxigraph serve` run side by side: both started, then measured in "
            f"turn, {rounds} rounds over, so that a drift of the machine's speed touches both; "
            "each row is the round with the median q/s (its p50 and p99), and the q/s of "
            "every round follow it. rdflib-endpoint is measured once."
        )
    lines += [""]
    for key in (throughput.SEED, throughput.LUBM1):
        graph = graphs.get(key)
        if graph:
            lines.append(
                f"- {graph['label']} ({graph['triples']:,} triples): "
                f"{len(graph['queries'])} queries ({', '.join(graph['queries'])}), answer "
                f"counts checked against {graph['reference']}."
            )
    lines += [
        "",
        "| graph | clients | server | q/s | p50 | p99 | answers | failed (timed out) "
        "| medkg's q/s over this |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    clients = tp.get("clients", list(throughput.CLIENTS))
    for key in (throughput.SEED, throughput.LUBM1):
        for count in clients:
            for server in throughput.SERVERS:
                where = (
                    f"| {throughput.GRAPH_LABELS[key]} | {count} | "
                    f"{throughput.SERVER_LABELS[server]} |"
                )
                run = throughput.find_run(tp, key, count, server)
                lines.append(where + _throughput_cells(run, server))
    return lines + render_latency_by_query(tp)


def render_latency_by_query(tp: dict[str, Any], clients: int = 8) -> list[str]:
    """p50 and p99 by query of the LUBM(1) runs with ``clients`` clients (the rows above),
    and the p99 of every query but the slowest: where the tail comes from."""
    runs = [
        (server, run)
        for server in throughput.SERVERS
        if (run := throughput.find_run(tp, throughput.LUBM1, clients, server)) is not None
        and run.get("per_query")
    ]
    if not runs:
        return []
    names = [n for n in runs[0][1]["per_query"]]
    head = ["query"] + [
        f"{throughput.SERVER_LABELS[server]} {what}"
        for server, _ in runs
        for what in ("p50", "p99")
    ]
    lines = [
        "",
        f"Latency by query, LUBM(1) closure, {clients} clients (the same runs): each query "
        "is a tenth of the requests, so the whole run's p99 is about its slowest query's "
        "90th percentile.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for name in names:
        cells = [name]
        for _server, run in runs:
            stats = run["per_query"].get(name)
            cells += ["-", "-"] if stats is None else [_ms(stats["p50_s"]), _ms(stats["p99_s"])]
        lines.append("| " + " | ".join(cells) + " |")
    cells = ["**p99 of all but the slowest**"]
    for _server, run in runs:
        cells += [f"({run.get('slowest')} left out)", _ms(run.get("p99_without_slowest_s"))]
    lines.append("| " + " | ".join(cells) + " |")
    return lines


def _throughput_cells(run: dict[str, Any] | None, server: str) -> str:
    if run is None:
        return f" {NOT_RUN} | | | | | |"
    if "qps" not in run:
        return f" failed: {_cell(run.get('error', '?'))} | | | | | |"
    if run["status"] != throughput.OK:
        ratio = f"**failed**: {_cell(run.get('error', '?'))}"
    elif server == throughput.MEDKG:
        ratio = "1.00x"
    else:
        ratio = _times(run.get("medkg_over"))
    qps = f"{run['qps']:.1f}"
    if len(run.get("rounds_qps", ())) > 1:
        qps += " (" + ", ".join(f"{q:.0f}" for q in run["rounds_qps"]) + ")"
    return (
        f" {qps} | {_ms(run['p50_s'])} | {_ms(run['p99_s'])} | {run['requests']} "
        f"| {run['errors']} ({run['timeouts']}) | {ratio} |"
    )


def render_modes(modes: dict[str, Any] | None, mode: str) -> list[str]:
    """Start-up by reasoning mode: every workload x mode, measured or not run."""
    if not modes:
        return []
    lines = [
        "",
        "### Start-up by reasoning mode, against owlrl on rdflib",
        "",
        "medkg rows: a cold start (`--no-cache`, default query workers) of "
        "`medkg --reasoner fast|owlrl serve`, from the process start to `/health` ready "
        "(LUBM) or to the first `/sparql` answer (seed graph; the fast row is the median "
        "of 3 starts); peak RSS is the server process's. Baseline: a fresh Python process "
        "that parses the same files into an rdflib `Graph` and runs "
        "`owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)` (no serving, no "
        "CONSTRUCT rules), from its start to its exit; its peak RSS from `getrusage`. "
        "The ratios are the baseline's figure over the row's, on the same workload "
        f"(above 1: medkg is faster or smaller). Rows `--{mode}` does not run say so.",
        "",
        "| workload | mode | ready (medkg) / done (baseline) | peak RSS "
        "| baseline / this, time | baseline / this, memory |",
        "|---|---|---|---|---|---|",
    ]
    for row in modes.get("rows", []):
        where = (
            f"| {serving.WORKLOAD_LABELS[row['workload']]} | {serving.MODE_LABELS[row['mode']]} |"
        )
        lines.append(where + _mode_cells(row))
    return lines


def _mode_cells(row: dict[str, Any]) -> str:
    if row["status"] == serving.NOT_RUN:
        return f" {NOT_RUN} | | | |"
    if row["status"] != serving.MEASURED:
        return f" failed: {_cell(row.get('error', '?'))} | | | |"
    seconds = _s(row["seconds"])
    if row["mode"] == serving.BASELINE:
        seconds += (
            f" (parse {_s(row['parse_s'])}, inference {_s(row['inference_s'])}; "
            f"{row['closure_triples']:,} triples)"
        )
        ratios = "| |"
    else:
        ratios = (
            f"{_times(row.get('baseline_over_time'))} | {_times(row.get('baseline_over_rss'))} |"
        )
    return f" {seconds} | {row['peak_rss_mib']} MiB | {ratios}"


def render(results: dict[str, Any]) -> str:
    host = results["machine"]
    lines = [
        SECTION_START,
        "## Issue 6 targets",
        "",
        f"All parts run in sequence by `python -m bench --{results['mode']}` on "
        f"{str(host['date'])[:10]}: {host['cpu']}, {host['cores']} cores, {host['ram_gib']} "
        f"GiB RAM, {host['os']}, {host['python']}; load average at start "
        f"{host.get('load_average_at_start')}. The machine is a shared virtual machine whose "
        "speed drifts from run to run, so a row near its limit can pass or fail with it.",
        "",
        "| target | measured | status | how |",
        "|---|---|---|---|",
    ]
    for row in results["targets"]:
        lines.append(
            f"| {row['target']} | {row['measured']} | {_verdict(row['met'])} | {row['note']} |"
        )
    lines += render_throughput(results.get("throughput"))
    lines += render_modes(results.get("startup_modes"), results["mode"])
    start = results.get("startup")
    if start:
        lines += [
            "",
            "### Start-up (fast reasoner, default query workers)",
            "",
            "| what | ready after | peak RSS |",
            "|---|---|---|",
        ]
        for key, row in start.items():
            lines.append(f"| {key} | {_s(row['ready_s'])} | {row['peak_rss_mib']} MiB |")
    growth = results.get("growth")
    if growth:
        lines += [
            "",
            "### Growth on synthetic medkg-domain data (`bench/synthetic.py`)",
            "",
            "Each size loaded and closed in a fresh process; up to "
            f"{synthetic.REPEATED_UP_TO:,} triples the median of {synthetic.REPEAT} processes.",
            "",
            "| triples | load + inference | per triple | quads served | typical query |",
            "|---|---|---|---|---|",
        ]
        for r in growth["sizes"]:
            lines.append(
                f"| {r['triples']:,} | {_s(r['load_inference_s'])} | "
                f"{r['us_per_triple']:.0f} us | {r['quads']:,} | "
                f"{_ms(r['query_median_s'])} |"
            )
        if results.get("growth_plot"):
            lines += ["", "![growth](images/growth.png)"]
    lines.append(SECTION_END)
    return "\n".join(lines) + "\n"


def run(mode: str, log: Log) -> int:
    from bench.__main__ import main as bench_main

    plan = PLANS[mode]
    files = lubm.LubmFiles.locate(None)
    results: dict[str, Any] = {"mode": mode, "machine": machine.describe()}
    status = 0
    log(f"== engines ({' '.join(plan['engines'])})")
    status |= bench_main(plan["engines"])
    results["engines"] = _load(report.JSON_NAME)
    if plan["reasoner"]:
        log("== reasoner")
        status |= bench_main(plan["reasoner"])
    results["reasoner"] = _load(report.REASONER_JSON_NAME)
    log("== pages")
    status |= bench_main(["pages", "--repeat", str(plan["pages_repeat"])])
    results["pages"] = _load("pages.json")
    log("== start-up")
    results["startup"] = serving.measure_startups(
        files, lubm_sizes(plan), log, lubm_repeat=plan["lubm_repeat"]
    )
    log("== start-up by reasoning mode")
    results["startup_modes"] = serving.measure_modes(
        files, plan["startup_modes"], results["startup"], log
    )
    log("== throughput")
    results["throughput"] = throughput.measure_matrix(
        files,
        plan["throughput_s"],
        log,
        plan["throughput_clients"],
        rounds=plan["throughput_rounds"],
    )
    log("== growth")
    results["growth"] = synthetic.measure_growth(plan["growth"], log)
    results["growth_plot"] = synthetic.plot(results["growth"], GROWTH_PNG)
    results["targets"] = targets(results)
    slim = {k: v for k, v in results.items() if k not in ("engines", "reasoner", "pages")}
    path = report.write_json(slim, report.RESULTS_DIR, JSON_NAME)
    log(f"wrote {lubm.describe_dir(path)}")
    section = render(results)
    report.update_docs(section, markers=(SECTION_START, SECTION_END))
    print(section)
    return status


def main(mode: str) -> int:
    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    return run(mode, log)


__all__ = ["Path", "main", "render", "run", "targets"]
