"""``python -m bench pages``: latency of the browser pages on the seed graph.

Each request goes through the whole app in process (middleware, routing, rendering,
gzip), over Starlette's test client, after warm-up requests. The median (p50) and p95 of
``--repeat`` requests are reported per page. Every request renders its page: the app keeps
no rendered responses, only data derived once per graph version (labels, term views, n-ary
nodes' facts, source references, the ontology document; see ``medkg.versioned``). Two
targets are reported: the issue's, an entity page in under 200 ms (the exit status), and
the performance issue's, the slowest entity page's p50 under 20 ms. Results go to
``bench/results/pages.json`` and the pages section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import machine
from bench.lubm import REPO_ROOT
from bench.report import DOCS_FILE, DOCS_PREAMBLE, RESULTS_DIR, _write_atomically

JSON_NAME = "pages.json"
SECTION_START = "<!-- bench:pages:start -->"
SECTION_END = "<!-- bench:pages:end -->"
ENTITY_TARGET_S = 0.2
#: The performance issue's target: the slowest entity page's median under 20 ms.
ENTITY_P50_TARGET_S = 0.02
WARMUP = 3
RES = "https://w3id.org/medkg/resource/"
MKG = "https://w3id.org/medkg/ontology#"
HTML = "text/html"
JSON = "application/json"

#: (kind, name, path, Accept)
REQUESTS: tuple[tuple[str, str, str, str], ...] = (
    ("entity page", "sjtusm (the largest: ~390 facts)", "/resource/sjtusm.html", HTML),
    ("entity page", "joseph-sung", "/resource/joseph-sung.html", HTML),
    ("entity page", "lkcmedicine", "/resource/lkcmedicine.html", HTML),
    ("entity page", "ruijin-hospital", "/resource/ruijin-hospital.html", HTML),
    ("entity RDF", "sjtusm as Turtle", "/resource/sjtusm.ttl", "text/turtle"),
    ("search", "lkc", "/search?q=lkc", JSON),
    ("search", "Paris Cite", "/search?q=Paris+Cite", JSON),
    ("search", "ruijin (page)", "/search?q=ruijin", HTML),
    (
        "explanation",
        "sjtusm partnerOf ntu",
        "/explain?"
        + urlencode({"s": f"<{RES}sjtusm>", "p": f"<{MKG}partnerOf>", "o": f"<{RES}ntu>"}),
        HTML,
    ),
    ("network", "lkcmedicine, depth 2", "/neighbourhood?depth=2&iri=" + RES + "lkcmedicine", JSON),
    ("ontology page", "/ontology", "/ontology", HTML),
    ("editor", "/", "/", HTML),
)


def _measure(client: Any, path: str, accept: str, repeat: int) -> dict[str, object]:
    for _ in range(WARMUP):
        status = client.get(path, headers={"Accept": accept}).status_code
        assert status == 200, f"{path}: HTTP {status}"
    times: list[float] = []
    size = 0
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path, headers={"Accept": accept})
        times.append(time.perf_counter() - start)
        size = len(response.content)
    times.sort()
    return {
        "p50_s": statistics.median(times),
        "p95_s": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "max_s": times[-1],
        "bytes": size,
        "repeat": repeat,
    }


def run(repeat: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from medkg.config import Settings
    from medkg.store import KnowledgeGraph
    from medkg.web import create_app

    # the per-client rate limit (50/s) would answer 429 to a benchmark that asks faster
    settings = Settings(workers=0, client_rate=0, client_concurrency=0)
    opened = time.perf_counter()
    kg = KnowledgeGraph.open(settings)
    open_s = time.perf_counter() - opened
    rows: list[dict[str, object]] = []
    with TestClient(create_app(settings, kg=kg)) as client:
        for kind, name, path, accept in REQUESTS:
            rows.append(
                {"kind": kind, "name": name, "path": path, **_measure(client, path, accept, repeat)}
            )
    entity = [r for r in rows if r["kind"] == "entity page"]
    worst = max(float(r["p50_s"]) for r in entity)  # type: ignore[arg-type]
    return {
        "benchmark": "pages",
        "machine": machine.describe(),
        "graph": {"quads": len(kg.store), "from_cache": kg.from_cache, "open_s": open_s},
        "requests": rows,
        "target": {
            "limit_s": ENTITY_TARGET_S,
            "worst_entity_p50_s": worst,
            "met": worst < ENTITY_TARGET_S,
        },
        "p50_target": {
            "limit_s": ENTITY_P50_TARGET_S,
            "worst_entity_p50_s": worst,
            "met": worst < ENTITY_P50_TARGET_S,
        },
    }


def render_markdown(result: dict[str, Any]) -> str:
    host = result["machine"]
    target = result["target"]
    p50_target = result["p50_target"]
    worst_ms = target["worst_entity_p50_s"] * 1000
    repeat = result["requests"][0]["repeat"]
    lines = [
        SECTION_START,
        "## Browser pages on the seed graph",
        "",
        "Latency of the pages of `/resource`, `/search`, `/explain`, `/neighbourhood`, "
        "`/ontology` and `/`, through the whole app in process (middleware, rendering, gzip) "
        f"with Starlette's test client: {repeat} requests each after {WARMUP} warm-up "
        "requests. Regenerate with `python -m bench pages`.",
        "",
        f"Measured {str(host.get('date', ''))[:10]} on {host.get('cpu', '?')}, "
        f"{host.get('cores', '?')} cores, Python {host.get('python', '?')}, load average at "
        f"start {host.get('load_average_at_start', '?')}; the store holds "
        f"{result['graph']['quads']:,} quads. Every request renders its page (no rendered "
        "response is kept; labels, term views, n-ary nodes' facts and the ontology document "
        "are computed once per graph version).",
        "",
        f"Slowest entity page median: **{worst_ms:.1f} ms**. Target of the performance "
        f"issue, the slowest entity page's p50 under {p50_target['limit_s'] * 1000:.0f} ms: "
        f"**{'met' if p50_target['met'] else 'NOT met'}**. The issue's target, an entity page "
        f"in under {target['limit_s'] * 1000:.0f} ms: {'met' if target['met'] else 'NOT met'}.",
        "",
        "| request | what | p50 ms | p95 ms | bytes |",
        "|---|---|---|---|---|",
    ]
    for row in result["requests"]:
        lines.append(
            f"| {row['kind']} | {row['name']} | {row['p50_s'] * 1000:.1f} | "
            f"{row['p95_s'] * 1000:.1f} | {row['bytes']:,} |"
        )
    lines.append(SECTION_END)
    return "\n".join(lines) + "\n"


def update_docs(section: str, path: Path = DOCS_FILE) -> Path:
    """Put ``section`` into ``path`` in place of the previous pages section (appended if none)."""
    text = path.read_text(encoding="utf-8") if path.is_file() else DOCS_PREAMBLE
    start, end = text.find(SECTION_START), text.find(SECTION_END)
    if start != -1 and end > start:
        text = text[:start] + section.rstrip("\n") + text[end + len(SECTION_END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    _write_atomically(path, text)
    return path


def pages_command(repeat: int, out: Path | None, docs: bool, log: Any) -> int:
    result = run(repeat)
    out_dir = out or RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / JSON_NAME
    _write_atomically(path, json.dumps(result, indent=2) + "\n")
    log(f"wrote {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")
    section = render_markdown(result)
    if docs:
        log(f"updated {update_docs(section).relative_to(REPO_ROOT)}")
    print(section)
    return 0 if result["target"]["met"] else 1
