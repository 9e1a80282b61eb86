"""Start the real ``medkg serve`` in a subprocess on 127.0.0.1 and a free port, and stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_LIMIT = 120.0


@dataclass(frozen=True)
class RunningServer:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/sparql"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(*args: str, env: dict[str, str] | None = None) -> Iterator[RunningServer]:
    """``medkg serve ARGS --host 127.0.0.1 --port <free>``; waits for /health to be ready."""
    port = free_port()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"medkg-test-server-{port}.log"
    command = [
        sys.executable,
        "-m",
        "medkg",
        "serve",
        *args,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("MEDKG_")}
    child_env.update(env or {})
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=child_env)
    server = RunningServer(port, process, log)
    try:
        _wait_ready(server)
        yield server
    finally:
        stop_process(process)
        log.unlink(missing_ok=True)


def stop_process(process: subprocess.Popen[bytes], grace: float = 15) -> None:
    """SIGTERM, then SIGKILL if ``process`` has not exited within ``grace`` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _wait_ready(server: RunningServer) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"medkg serve exited with {server.process.returncode}:\n"
                + server.log.read_text(errors="replace")[-3000:]
            )
        try:
            response = httpx.get(f"{server.base_url}/health", timeout=2)
            if response.status_code == 200 and response.json().get("ready"):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(
        "medkg serve did not become ready in time:\n"
        + server.log.read_text(errors="replace")[-3000:]
    )
