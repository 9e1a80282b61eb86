"""``python -m bench --quick|--scale|--full`` (every part in sequence, the issue-6 targets),
``python -m bench engines|reasoner [--quick|--smoke] [--out DIR] ...`` and
``python -m bench pages [--repeat N] [--out DIR] [--no-docs]``
``python -m bench load [--seconds N] [--readers N] [--out DIR]``

Exit status of ``engines``: 0 when medkg's query path and (when measured) its ``/sparql``
endpoint give every reference count, 1 when one does not (or a query fails on it). Of
``reasoner``: 0 when the fast reasoner infers exactly what owlrl infers on every compared
workload, 1 when not. Both: 2 when the benchmark cannot run (missing data, bad options).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench import lubm, machine, report
from bench import reasoner as reasoners
from bench.engines import (
    CHECKED,
    LABELS,
    MEDKG,
    MEDKG_SPARQL,
    MEDKG_WRITTEN,
    PYOXIGRAPH,
    PYOXIGRAPH_FLAT,
    RDFLIB,
    EngineResult,
    Status,
    run_engines,
)
from medkg.config import Reasoner

#: The engines of the default and ``--quick`` runs, in the order of the report's columns.
ALL_ENGINES = (MEDKG, MEDKG_SPARQL, MEDKG_WRITTEN, PYOXIGRAPH, PYOXIGRAPH_FLAT, RDFLIB)
DEFAULT_REPEAT = 5
DEFAULT_RDFLIB_TIMEOUT = 30.0
QUICK_REPEAT = 3
QUICK_RDFLIB_TIMEOUT = 10.0

#: Runs per reasoner and workload: (fast, owlrl) in each mode; owlrl on LUBM(1) takes
#: minutes, so it runs once.
REASONER_REPEATS = {
    "full": {reasoners.SEED: (5, 3), reasoners.LUBM1: (3, 1), reasoners.LUBM5: (1, 0)},
    "quick": {reasoners.SEED: (3, 1), reasoners.LUBM1: (1, 1)},
    "smoke": {reasoners.LUBM1: (1, 1)},
}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _engine_list(text: str) -> list[str]:
    keys = [key.strip() for key in text.split(",") if key.strip()]
    unknown = [key for key in keys if key not in LABELS]
    if unknown or not keys:
        raise argparse.ArgumentTypeError(
            f"unknown engine {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(ALL_ENGINES)}"
        )
    return list(dict.fromkeys(keys))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    engines = commands.add_parser(
        "engines",
        help="compare query engines on the LUBM(1) closure",
        description="The 14 LUBM queries on the LUBM(1) closure through medkg's query path, "
        "medkg's /sparql endpoint (a real medkg serve), raw pyoxigraph and rdflib, side by "
        "side. Writes bench/results/engines.json and the engines section of docs/benchmarks.md.",
    )
    size = engines.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_REPEAT} repeats, rdflib limited to {QUICK_RDFLIB_TIMEOUT:g} s",
    )
    size.add_argument(
        "--smoke",
        action="store_true",
        help="medkg's path only, 1 repeat, counts checked; writes results only with --out "
        "(with --engines medkg,medkg-sparql it checks /sparql too: about 10 s more, as the "
        "server computes its own closure when its cache is empty, as in CI)",
    )
    engines.add_argument(
        "--engines",
        type=_engine_list,
        metavar="KEY,...",
        help=f"measure only these ({', '.join(ALL_ENGINES)}); writes results only with --out, "
        "never the docs",
    )
    engines.add_argument(
        "--repeat",
        type=_positive_int,
        help=f"timed runs per query after the cold one (default {DEFAULT_REPEAT})",
    )
    engines.add_argument(
        "--rdflib-timeout",
        type=_positive_float,
        metavar="SECONDS",
        help=f"time limit per rdflib run (default {DEFAULT_RDFLIB_TIMEOUT:g})",
    )
    engines.add_argument(
        "--out", type=Path, metavar="DIR", help="where engines.json goes (default bench/results)"
    )
    engines.add_argument(
        "--lubm-dir",
        type=Path,
        metavar="DIR",
        help=f"the LUBM data (default ${lubm.LUBM_DIR_ENV}, else ../shared/lubm)",
    )
    engines.add_argument(
        "--rebuild-closure",
        action="store_true",
        help="recompute the closure (and its cold timing) even if it is cached",
    )
    engines.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    pages = commands.add_parser(
        "pages",
        help="latency of the browser pages on the seed graph",
        description="Entity pages, search, explanations, the network and the editor, p50 and "
        "p95 over repeated requests through the app. Writes bench/results/pages.json and the "
        "pages section of docs/benchmarks.md, with the 20 ms p50 target met or not; exit "
        "status 1 if an entity page misses 200 ms.",
    )
    pages.add_argument("--repeat", type=_positive_int, default=50, help="requests per page (50)")
    pages.add_argument("--out", type=Path, metavar="DIR", help="where pages.json goes")
    pages.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")

    reasoner = commands.add_parser(
        "reasoner",
        help="compare the fast OWL 2 RL reasoner with owlrl (time, memory, same triples)",
        description="The inferred triples of the bundled graph, LUBM(1) and (full mode) "
        "LUBM(5), computed by the fast reasoner and by owlrl side by side; fails when the "
        "two differ. Writes bench/results/reasoner.json and the reasoner section of "
        "docs/benchmarks.md.",
    )
    size = reasoner.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_true", help="fewer repeats, no LUBM(5) (about 5 minutes)"
    )
    size.add_argument(
        "--smoke",
        action="store_true",
        help="the LUBM(1) differential check only, once per reasoner; writes results only "
        "with --out",
    )
    reasoner.add_argument(
        "--out", type=Path, metavar="DIR", help="where reasoner.json goes (default bench/results)"
    )
    reasoner.add_argument(
        "--lubm-dir",
        type=Path,
        metavar="DIR",
        help=f"the LUBM data (default ${lubm.LUBM_DIR_ENV}, else ../shared/lubm)",
    )
    reasoner.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")

    load = commands.add_parser(
        "load",
        help="load and soak test of a real medkg serve (loopback only)",
        description="Cheap readers, paced expensive readers (killed at the time limit) and one "
        "writer against a medkg serve it starts, for a fixed duration. Writes "
        "bench/results/load.json; exit status 1 when a check fails (a 5xx other than the time "
        "limit, a lost acknowledged write, cheap p99 over 1 s, memory not back).",
    )
    load.add_argument("--seconds", type=_positive_float, default=20.0, help="duration (20)")
    load.add_argument("--readers", type=_positive_int, default=16, help="cheap readers (16)")
    load.add_argument("--expensive", type=int, default=1, help="expensive streams (1)")
    load.add_argument("--timeout", type=_positive_float, default=2.0, help="query limit (2 s)")
    load.add_argument("--workers", type=_positive_int, default=2, help="query workers (2)")
    load.add_argument("--ontology-dir", type=Path, help="default: the bundled ontology")
    load.add_argument("--data-dir", type=Path, help="default: the bundled data")
    load.add_argument("--out", type=Path, metavar="DIR", help="where load.json goes")
    return parser


def _summary(result: dict[str, object]) -> str:
    targets = result["targets"]
    assert isinstance(targets, list)
    parts = []
    for target in targets:
        measured = target["measured_s"]
        figure = f"{measured:.3f} s" if isinstance(measured, float) else "n/a"
        verdict = "met" if target["met"] else "NOT met"
        parts.append(f"target < {target['limit_s']:g} s ({target['key']}): {figure}, {verdict}")
    return "; ".join(parts)


def engines_command(args: argparse.Namespace) -> int:
    if args.smoke:
        mode, repeat, timeout = "smoke", 1, DEFAULT_RDFLIB_TIMEOUT
        engines = [MEDKG]
    elif args.quick:
        mode, repeat, timeout = "quick", QUICK_REPEAT, QUICK_RDFLIB_TIMEOUT
        engines = list(ALL_ENGINES)
    else:
        mode, repeat, timeout = "full", DEFAULT_REPEAT, DEFAULT_RDFLIB_TIMEOUT
        engines = list(ALL_ENGINES)
    partial = args.engines is not None
    engines = args.engines or engines
    repeat = args.repeat or repeat
    timeout = args.rdflib_timeout or timeout

    host = machine.describe()
    files = lubm.LubmFiles.locate(args.lubm_dir)
    queries = lubm.load_queries(files)
    kg, closure = lubm.open_closure(files, rebuild=args.rebuild_closure, log=_log)
    _log(
        f"closure: {closure.closure_triples:,} triples "
        f"({closure.default_graph_triples:,} asserted, {closure.inferred_triples:,} inferred)"
    )
    results = run_engines(
        kg,
        queries,
        engines=engines,
        repeat=repeat,
        rdflib_timeout_s=timeout,
        log=_log,
        files=files,
    )
    settings = {
        "repeat": repeat,
        "rdflib_timeout_s": timeout,
        "engines": engines,
        "lubm_dir": lubm.describe_dir(files.directory),
        "dataset": "LUBM(1,0)",
        "queries": [q.name for q in queries],
    }
    result = report.build(
        mode=mode,
        settings=settings,
        machine=host,
        closure=closure,
        results=results,
    )
    complete = not args.smoke and not partial
    if complete or args.out is not None:
        path = report.write_json(result, args.out or report.RESULTS_DIR)
        _log(f"wrote {lubm.describe_dir(path)}")
    section = report.render_markdown(result)
    if complete and not args.no_docs:
        path = report.update_docs(section)
        _log(f"updated {lubm.describe_dir(path)}")
    print(section)
    return _check_counts(results, result)


def _check_counts(results: Sequence[EngineResult], result: dict[str, object]) -> int:
    """0 when every checked engine (medkg's ways in) gives every reference count, else 1."""
    checked = [r for r in results if r.key in CHECKED]
    wrong = 0
    for engine in checked:
        failures = [m for m in engine.measurements if m.status is not Status.OK]
        for m in failures:
            detail = m.error or f"got {m.count} answers, the reference is {m.expected}"
            _log(f"FAIL: {engine.label}, LUBM {m.query}: {detail}")
        if failures:
            _log(f"FAIL: {engine.label}: {len(failures)} of {len(engine.measurements)} wrong")
        wrong += len(failures)
    if wrong:
        return 1
    names = " and ".join(engine.label for engine in checked) or "no checked engine"
    queries = len(checked[0].measurements) if checked else 0
    summary = _summary(result) if any(r.key == MEDKG for r in checked) else ""
    _log(f"OK: {names}: all {queries} reference counts" + (f"; {summary}" if summary else ""))
    return 0


def _reasoner_plan(
    mode: str, files: lubm.LubmFiles
) -> list[tuple[reasoners.Workload, dict[Reasoner, int]]]:
    plan: list[tuple[reasoners.Workload, dict[Reasoner, int]]] = []
    for key, (fast_runs, owlrl_runs) in REASONER_REPEATS[mode].items():
        if key == reasoners.SEED:
            workload = reasoners.seed_workload()
        else:
            workload = reasoners.lubm_workload(files, key)
        repeats = {Reasoner.FAST: fast_runs}
        if owlrl_runs:
            repeats[Reasoner.OWLRL] = owlrl_runs
        plan.append((workload, repeats))
    return plan


def reasoner_command(args: argparse.Namespace) -> int:
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    host = machine.describe()
    files = lubm.LubmFiles.locate(args.lubm_dir)
    plan = _reasoner_plan(mode, files)
    results = reasoners.run_all(plan, _log)
    settings = {
        "repeats": {
            workload.key: {r.value: n for r, n in repeats.items()} for workload, repeats in plan
        },
        "lubm_dir": lubm.describe_dir(files.directory),
    }
    result = report.build_reasoner(mode=mode, settings=settings, machine=host, results=results)
    if not args.smoke or args.out is not None:
        path = report.write_json(result, args.out or report.RESULTS_DIR, report.REASONER_JSON_NAME)
        _log(f"wrote {lubm.describe_dir(path)}")
    section = report.render_reasoner_markdown(result)
    if not args.smoke and not args.no_docs:
        markers = (report.REASONER_SECTION_START, report.REASONER_SECTION_END)
        path = report.update_docs(section, markers=markers)
        _log(f"updated {lubm.describe_dir(path)}")
    print(section)

    status = 0
    for outcome in results:
        if outcome.identical is False:
            only_fast, only_owlrl = outcome.differences()
            _log(
                f"FAIL: on {outcome.workload.label} the fast reasoner and owlrl differ: "
                f"{len(only_fast)} triple(s) only fast infers, {len(only_owlrl)} only owlrl"
            )
            for run in outcome.runs:
                if run.error:
                    _log(f"  {run.reasoner.value} failed: {run.error}")
                if run.clashes:
                    _log(f"  {run.reasoner.value} clashes: {run.clashes[:3]}")
            for line in only_fast[: reasoners.SHOWN_DIFFERENCES]:
                _log(f"  only fast:  {line}")
            for line in only_owlrl[: reasoners.SHOWN_DIFFERENCES]:
                _log(f"  only owlrl: {line}")
            status = 1
        elif outcome.identical:
            ratio = outcome.ratio
            figure = f", {ratio:.1f}x faster" if ratio else ""
            _log(f"OK: {outcome.workload.label}: fast == owlrl{figure}")
        else:
            fast = outcome.by_reasoner(Reasoner.FAST)
            if fast is not None and (fast.error or fast.clashes):
                _log(
                    f"FAIL: fast reasoner on {outcome.workload.label}: {fast.error or fast.clashes}"
                )
                status = 1
    target = result["target"]
    if not target["met"] and status == 0:
        _log(f"note: target not met: {target['description']}")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if given in (["--quick"], ["--scale"], ["--full"]):
        from bench import suite

        try:
            return suite.main(given[0][2:])
        except lubm.BenchError as exc:
            _log(f"bench: error: {exc}")
            return 2
    args = _parser().parse_args(given)
    try:
        if args.command == "engines":
            return engines_command(args)
        if args.command == "pages":
            from bench.pages import pages_command

            return pages_command(args.repeat, args.out, not args.no_docs, _log)
        if args.command == "reasoner":
            return reasoner_command(args)
        if args.command == "load":
            from bench.load import load_command

            extra = []
            if args.ontology_dir:
                extra += ["--ontology-dir", str(args.ontology_dir)]
            if args.data_dir:
                extra += ["--data-dir", str(args.data_dir)]
            return load_command(
                seconds=args.seconds,
                readers=args.readers,
                expensive=args.expensive,
                timeout=args.timeout,
                workers=args.workers,
                extra=extra,
                out=args.out,
                log=_log,
            )
    except lubm.BenchError as exc:
        _log(f"bench: error: {exc}")
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
