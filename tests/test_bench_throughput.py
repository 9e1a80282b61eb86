"""The throughput benchmark's load generator against a real ``medkg serve`` and against a
server that never answers (bounded runs: unanswered requests count as timed out)."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the bench package

from bench import throughput

from conftest import Bundled
from server_process import running_server

COUNTED = throughput.Query(
    "partners", "SELECT ?p WHERE { res:ntu mkg:partnerOf ?p }"
)  # medkg's own prefixes
ASK = throughput.Query("ask", "ASK { res:ntu mkg:partnerOf res:sjtusm }")


def test_clients_on_kept_alive_connections_get_every_answer(bundled: Bundled) -> None:
    partners = len(bundled.kg.query(COUNTED.text).rows)
    assert partners > 0
    with running_server(
        "--cache-dir",
        str(bundled.cache_dir),
        env={"MEDKG_CLIENT_RATE": "0", "MEDKG_CLIENT_CONCURRENCY": "0"},
    ) as server:
        run = throughput.hammer(server.endpoint, [COUNTED, ASK], clients=2, seconds=1.0)
    assert run["errors"] == 0 and run["timeouts"] == 0
    assert run["requests"] > 20
    assert run["counts"] == {"partners": partners, "ask": 1}
    assert 0 < run["p50_s"] <= run["p99_s"] < 1.0
    assert 1.0 <= run["wall_s"] < 1.0 + throughput.GRACE_S
    per_query = run["per_query"]
    assert set(per_query) == {"partners", "ask"}
    assert sum(q["requests"] for q in per_query.values()) == run["requests"]
    assert all(0 < q["p50_s"] <= q["p99_s"] <= run["p99_s"] * 10 for q in per_query.values())
    assert run["slowest"] in per_query and run["p99_without_slowest_s"] is not None


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback server that reads requests and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/sparql"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    sock.close()


def test_a_server_that_never_answers_times_out_within_the_grace(
    silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(throughput, "GRACE_S", 0.3)
    started = time.perf_counter()
    run = throughput.hammer(silent_server, [ASK], clients=3, seconds=0.5)
    assert time.perf_counter() - started < 0.5 + 0.3 + 1.0
    assert run["requests"] == 0 and run["p99_s"] is None
    assert run["timeouts"] == run["errors"] == 3  # one per client: each waited out its run
