"""The baseline medkg's start-up is compared with: plain owlrl on rdflib.

The same input files are parsed into one rdflib ``Graph``, then
``owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)`` computes the OWL 2 RL
closure; no serving, no cache, no CONSTRUCT rules, no store. Each run is a fresh Python
process (``python -m bench.baseline FILE ...``), so its memory is its own: the child times
parsing and inference, and reports its own peak resident set (``VmHWM`` of
``/proc/self/status``; ``ru_maxrss`` would include the parent's size, which Linux carries
over ``execve``) as one JSON line on standard output. The parent adds
the process's wall time, from its start (interpreter start and imports included, as for a
server's start-up) to its exit.
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, cast

from rdflib import Graph
from rdflib.util import guess_format

from bench.machine import clean_environment, proc_status_mib

#: Where ``bench`` can be imported from (the repository root).
_ROOT = Path(__file__).resolve().parent.parent


def rdf_format(path: Path) -> str:
    """rdflib's parser name for ``path`` (a ``.gz`` suffix is looked through)."""
    name = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
    found = guess_format(name)
    if found is None:
        raise ValueError(f"unknown RDF syntax: {path.name}")
    return found


def _open(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def parse_files(paths: Sequence[Path]) -> Graph:
    """Every file of ``paths`` parsed into one rdflib Graph."""
    graph = Graph()
    for path in paths:
        with _open(path) as source:
            graph.parse(source=source, format=rdf_format(path))
    return graph


def _peak_rss_mib() -> float:
    """This process's own peak resident set (``ru_maxrss`` would include the size of the
    process that started it: Linux carries it over ``execve``)."""
    peak = proc_status_mib("VmHWM")
    if peak is not None:
        return peak
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024  # KiB on Linux, bytes on macOS
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale, 1)


def close(paths: Sequence[Path]) -> dict[str, Any]:
    """Parse ``paths`` and expand the graph with owlrl; the timings and sizes."""
    import owlrl

    start = time.perf_counter()
    graph = parse_files(paths)
    parsed = time.perf_counter()
    asserted = len(graph)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    done = time.perf_counter()
    return {
        "parse_s": parsed - start,
        "inference_s": done - parsed,
        "total_s": done - start,
        "asserted_triples": asserted,
        "closure_triples": len(graph),
        "peak_rss_mib": _peak_rss_mib(),
    }


def run_baseline(paths: Sequence[Path], limit_s: float = 3600.0) -> dict[str, Any]:
    """One baseline run in a fresh process: :func:`close`'s figures plus ``wall_s``, or
    ``{"error": ...}`` when it fails or passes ``limit_s``."""
    env = clean_environment()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONWARNINGS"] = "ignore"
    command = [sys.executable, "-m", "bench.baseline", *map(str, paths)]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=_ROOT, env=env, capture_output=True, text=True, timeout=limit_s
        )
    except subprocess.TimeoutExpired:
        return {"error": f"time limit of {limit_s:g} s passed"}
    wall = time.perf_counter() - started
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return {"error": f"exit status {done.returncode}: {lines[-1] if lines else ''}"}
    try:
        figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": "no figures from the baseline process"}
    return {**figures, "wall_s": wall}


def main(argv: Sequence[str]) -> int:
    if not argv:
        print("usage: python -m bench.baseline FILE ...", file=sys.stderr)
        return 2
    print(json.dumps(close([Path(arg) for arg in argv])), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
