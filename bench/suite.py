"""``python -m bench --quick|--scale|--full``: every benchmark part in sequence, the issue-6
targets. ``--scale`` is ``--quick`` plus LUBM(5) and the 10^6-triple growth point.

Runs the engines, reasoner (full mode only; quick mode reuses the last
``bench/results/reasoner.json``), pages, start-up, throughput and growth benchmarks, writes
``bench/results/suite.json`` and the targets section of ``docs/benchmarks.md`` (plus each
part's own section), and draws ``docs/images/growth.png``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import lubm, machine, report, serving, synthetic

SECTION_START = "<!-- bench:targets:start -->"
SECTION_END = "<!-- bench:targets:end -->"
JSON_NAME = "suite.json"
GROWTH_PNG = lubm.REPO_ROOT / "docs" / "images" / "growth.png"

Log = Callable[[str], None]

PLANS: dict[str, dict[str, Any]] = {
    "quick": {
        "engines": ["engines", "--smoke", "--out", str(report.RESULTS_DIR), "--no-docs"],
        "reasoner": None,
        "pages_repeat": 20,
        "lubm_sizes": [1],
        "throughput_s": 3.0,
        "growth": [10_000, 100_000],
    },
    # quick plus the large sizes: LUBM(5) start-up and the 10^6-triple growth point
    "scale": {
        "engines": ["engines", "--smoke", "--out", str(report.RESULTS_DIR), "--no-docs"],
        "reasoner": None,
        "pages_repeat": 20,
        "lubm_sizes": [1, 5],
        "throughput_s": 3.0,
        "growth": [10_000, 100_000, 1_000_000],
    },
    "full": {
        "engines": ["engines"],
        "reasoner": ["reasoner"],
        "pages_repeat": 50,
        "lubm_sizes": [1, 5],
        "throughput_s": 10.0,
        "growth": [10_000, 100_000, 1_000_000],
    },
}


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
                    "`--scale` and `--full` modes only",
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
    tp = results.get("throughput", {})
    medkg = tp.get("medkg", {})
    for key, label, limit in (
        ("rdflib_endpoint", "rdflib-endpoint", 4.0),
        ("oxigraph", "`oxigraph serve` (in memory)", 0.7),
    ):
        other = tp.get(key, {})
        ratio = tp.get(f"medkg_over_{key}")
        note = other.get("error", "")
        if not note and other:
            note = (
                f"medkg {medkg.get('qps', 0):.1f} q/s, {label} {other['qps']:.1f} q/s "
                f"({other['errors']} failed or timed-out requests)"
            )
        rows.append(
            _target(
                f"`/sparql`, {tp.get('clients', 8)} clients, LUBM(1): >= {limit:g}x {label}",
                "not measured" if ratio is None else f"{ratio:.2f}x",
                None if ratio is None else ratio >= limit,
                note,
            )
        )
    p99 = medkg.get("p99_s")
    rows.append(
        _target(
            "`/sparql` p99 under 8 clients < 50 ms", _ms(p99), None if p99 is None else p99 < 0.05
        )
    )
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


def _verdict(met: bool | None) -> str:
    return "not measured" if met is None else "**met**" if met else "**not met**"


def render(results: dict[str, Any]) -> str:
    host = results["machine"]
    lines = [
        SECTION_START,
        "## Issue 6 targets",
        "",
        f"All parts run in sequence by `python -m bench --{results['mode']}` on "
        f"{str(host['date'])[:10]}: {host['cpu']}, {host['cores']} cores, {host['ram_gib']} "
        f"GiB RAM, {host['os']}, {host['python']}; load average at start "
        f"{host.get('load_average_at_start')}. The machine is shared, so figures are on the "
        "slow side.",
        "",
        "| target | measured | status | how |",
        "|---|---|---|---|",
    ]
    for row in results["targets"]:
        lines.append(
            f"| {row['target']} | {row['measured']} | {_verdict(row['met'])} | {row['note']} |"
        )
    tp = results.get("throughput")
    if tp:
        lines += [
            "",
            f"### `/sparql` throughput ({tp['clients']} clients, {tp['seconds']:g} s "
            f"each, queries {', '.join(tp['queries'])} round-robin)",
            "",
            "| server | answers | failed | q/s | p50 | p99 |",
            "|---|---|---|---|---|---|",
        ]
        for key, label in (
            ("medkg", "medkg serve"),
            ("oxigraph", "oxigraph serve (memory)"),
            ("rdflib_endpoint", "rdflib-endpoint"),
        ):
            r = tp.get(key, {})
            if "qps" in r:
                lines.append(
                    f"| {label} | {r['requests']} | {r['errors']} | {r['qps']:.1f} | "
                    f"{_ms(r['p50_s'])} | {_ms(r['p99_s'])} |"
                )
            else:
                lines.append(f"| {label} | not measured: {r.get('error', '?')} | | | | |")
    start = results.get("startup")
    if start:
        lines += ["", "### Start-up", "", "| what | ready after | peak RSS |", "|---|---|---|"]
        for key, row in start.items():
            lines.append(f"| {key} | {_s(row['ready_s'])} | {row['peak_rss_mib']} MiB |")
    growth = results.get("growth")
    if growth:
        lines += [
            "",
            "### Growth on synthetic medkg-domain data (`bench/synthetic.py`)",
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
    results["startup"] = serving.measure_startups(files, plan["lubm_sizes"], log)
    log("== throughput")
    results["throughput"] = serving.measure_throughput(files, 8, plan["throughput_s"], log)
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
