"""Start-up of the endpoint with query worker processes: the workers start while the graph
loads, ``/health`` says ready only once they have the graph, and a query that arrives
before that waits and is answered, never refused."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest
from fastapi import FastAPI

from conftest import INCONSISTENT, KG_DATA, KG_ONTOLOGY, kg_args
from medkg import cli
from medkg.cli import _workers_likely
from medkg.config import Settings
from medkg.store import KnowledgeGraph
from medkg.web import create_app, engine
from medkg.workers import WorkerPool, write_snapshot
from server_process import free_port, stop_process

ASK = "ASK { res:ward mkg:partOf res:hospital }"
JSON = {"Accept": "application/sparql-results+json"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def starting_pool() -> AsyncIterator[WorkerPool]:
    pool = WorkerPool(None, size=1, timeout=10, queue_timeout=60)
    try:
        yield pool
    finally:
        pool.close()


@pytest.mark.anyio
async def test_health_waits_for_the_workers_and_early_queries_are_answered(
    kg: KnowledgeGraph, tmp_path: Path, starting_pool: WorkerPool
) -> None:
    settings = Settings(cache_dir=tmp_path / "cache", workers=1)
    app = create_app(settings, kg=kg, engine=starting_pool)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        health = (await client.get("/health")).json()
        assert health["ready"] is False and health["status"] == "starting"

        answers: list[httpx.Response] = []

        async def early_query() -> None:
            answers.append(await client.get("/sparql", params={"query": ASK}, headers=JSON))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(early_query)
            await anyio.sleep(0.5)
            assert not answers, "the query waits for a worker with the graph"
            starting_pool.switch(write_snapshot(kg, tmp_path / "snapshot"))
        (answer,) = answers
        assert answer.status_code == 200, answer.text
        assert answer.json()["boolean"] is True

        health = (await client.get("/health")).json()
        assert health["ready"] is True and health["status"] == "ok"
        assert health["workers"]["alive"] == 1


@asynccontextmanager
async def _answering(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` once it has answered a query (``app``'s lifespan closes its
    worker pool at the end)."""
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        answer = await client.get("/sparql", params={"query": ASK}, headers=JSON)
        assert answer.status_code == 200 and answer.json()["boolean"] is True
        yield client


@pytest.mark.anyio
async def test_create_app_starts_the_workers_and_answers_at_once(
    kg: KnowledgeGraph, tmp_path: Path
) -> None:
    settings = Settings(cache_dir=tmp_path / "cache", workers=2, timeout=10)
    async with _answering(create_app(settings, kg=kg)) as client:
        deadline = time.monotonic() + 60
        while not (await client.get("/health")).json()["ready"]:
            assert time.monotonic() < deadline, "the workers did not become ready"
            await anyio.sleep(0.05)
        workers = (await client.get("/health")).json()["workers"]
        assert workers["size"] == 2 and workers["alive"] == 2


def test_served_queries_before_the_workers_are_ready_are_answered(tmp_path: Path) -> None:
    """``medkg serve`` with its default worker pool, queried from the moment it starts:
    every request that reaches it is answered 200."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDKG_")}
    command = [sys.executable, "-m", "medkg", "serve", *kg_args(tmp_path)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    statuses: list[int] = []
    try:
        deadline = time.monotonic() + 120
        with httpx.Client(timeout=60) as client:
            while not statuses or statuses[-1] != 200:
                assert process.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                try:
                    response = client.get(f"{base}/sparql", params={"query": ASK}, headers=JSON)
                except httpx.TransportError:  # not listening yet
                    time.sleep(0.02)
                    continue
                statuses.append(response.status_code)
            assert response.json()["boolean"] is True
            # ready once both workers have the graph (the first answer needed only one)
            while not (health := client.get(f"{base}/health").json())["ready"]:
                assert time.monotonic() < deadline, health
                time.sleep(0.05)
    finally:
        stop_process(process)
    assert set(statuses) == {200}, statuses
    assert health["workers"]["size"] == health["workers"]["alive"] == 2


def test_worker_guess_before_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _workers_likely(None, None)
    assert _workers_likely(3, None)
    assert not _workers_likely(0, None)
    assert not _workers_likely(None, "sparql:http://127.0.0.1:9/q")
    monkeypatch.setenv("MEDKG_WORKERS", "0")
    assert not _workers_likely(None, None)
    assert _workers_likely(1, None)  # the flag wins over the environment
    monkeypatch.setenv("MEDKG_WORKERS", "many")
    assert not _workers_likely(None, None)
    monkeypatch.setenv("MEDKG_WORKERS", "4")
    monkeypatch.setenv("MEDKG_BACKEND", "sparql:http://127.0.0.1:9/q")
    assert not _workers_likely(None, None)


def test_a_thread_is_not_left_behind_by_a_closed_starting_pool() -> None:
    before = {t.name for t in threading.enumerate()}
    pool = WorkerPool(None, size=1, timeout=10)
    pool.close()
    deadline = time.monotonic() + 30
    while any(t.name == "medkg-worker-start" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the start thread did not end"
        time.sleep(0.05)
    assert "medkg-worker-start" not in before


@pytest.mark.parametrize("problem", ["inconsistent", "missing"])
def test_a_failed_start_reports_one_line(tmp_path: Path, problem: str) -> None:
    """The workers started before the graph loads are stopped quietly when it fails to."""
    if problem == "inconsistent":
        args = kg_args(tmp_path, INCONSISTENT / "data", INCONSISTENT / "ontology")
    else:
        args = kg_args(tmp_path, tmp_path / "missing")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDKG_")}
    command = [sys.executable, "-m", "medkg", "serve", *args, "--port", str(free_port())]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode in (1, 2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("medkg: error: "), result.stderr


@pytest.mark.anyio
async def test_serve_hands_the_closure_over_and_imports_the_web_stack_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``medkg serve``'s start-up (no cache): the workers get the closure before the store
    is assembled and keep it (one switch), the web stack is imported by the start-up
    thread meanwhile, and the app answers from the workers, named graphs too."""
    probe = tmp_path / "startup_probe.py"
    probe.write_text("import threading\n\nTHREAD = threading.current_thread().name\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "_WEB_MODULES", (*cli._WEB_MODULES, "startup_probe"))
    settings = Settings(
        ontology_dir=KG_ONTOLOGY,
        data_dir=KG_DATA,
        cache_dir=tmp_path / "cache",
        use_cache=False,
        workers=1,
        timeout=10,
    )
    pools: list[WorkerPool] = []
    original = engine.start_workers

    def start_workers(settings: Settings) -> WorkerPool | None:
        pool = original(settings)
        pools.extend([pool] if pool is not None else [])
        return pool

    monkeypatch.setattr(engine, "start_workers", start_workers)
    app = cli._local_app(settings)
    import startup_probe  # type: ignore[import-not-found]

    assert startup_probe.THREAD == "medkg-start-up"
    async with _answering(app) as client:
        named = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
        answer = await client.get("/sparql", params={"query": named}, headers=JSON)
        assert int(answer.json()["results"]["bindings"][0]["n"]["value"]) > 0
        health = (await client.get("/health")).json()
        assert health["ready"] is True and health["workers"]["restarts"] == 0
    (pool,) = pools
    assert pool.generation == 1, "the workers were switched once"
