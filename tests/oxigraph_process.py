"""Start a real Oxigraph server (the ``oxigraph`` binary of the PyPI wheel, in the ``test``
extra) on 127.0.0.1 and a free port, and stop it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from server_process import free_port, stop_process

STARTUP_LIMIT = 30.0


def oxigraph_binary() -> str:
    """The ``oxigraph`` executable beside this Python, else on PATH (AssertionError if none:
    ``pip install '.[test]'`` installs it)."""
    beside = Path(sys.executable).parent / "oxigraph"
    found = str(beside) if beside.is_file() else shutil.which("oxigraph")
    assert found, "the oxigraph server is missing: pip install '.[test]' (or pip install oxigraph)"
    return found


@dataclass(frozen=True)
class Oxigraph:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def query_url(self) -> str:
        return f"{self.base_url}/query"

    @property
    def store_url(self) -> str:
        return f"{self.base_url}/store"


@contextmanager
def running_oxigraph(location: Path, *extra: str) -> Iterator[Oxigraph]:
    """``oxigraph serve --location DIR --bind 127.0.0.1:<free port> EXTRA``."""
    port = free_port()
    command = [oxigraph_binary(), "serve", "--location", str(location)]
    command += ["--bind", f"127.0.0.1:{port}", *extra]
    log = location.parent / f"oxigraph-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    server = Oxigraph(port, process)
    try:
        deadline = time.monotonic() + STARTUP_LIMIT
        while True:
            assert process.poll() is None, log.read_text(errors="replace")
            try:
                if httpx.get(server.query_url, params={"query": "ASK {}"}, timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "oxigraph did not start in time"
            time.sleep(0.1)
        yield server
    finally:
        stop_process(process, 10)
