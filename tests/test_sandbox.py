"""The outbound-access guard: inside ``sandboxed()`` nothing connects anywhere (a loopback
listener records every attempt) and no file outside medkg's directories opens."""

from __future__ import annotations

import socket
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import rdflib

from listener import Listener
from medkg import sandbox
from medkg.errors import Forbidden
from medkg.execution import QueryJob, execute
from medkg.store import KnowledgeGraph


def _parse_json_ld(document: str) -> None:
    with warnings.catch_warnings():  # rdflib's JSON-LD parser uses its own deprecated API
        warnings.simplefilter("ignore", DeprecationWarning)
        rdflib.Dataset().parse(data=document, format="json-ld")


@pytest.fixture
def listener() -> Iterator[Listener]:
    sandbox.install()
    running = Listener()
    yield running
    running.close()


def test_the_listener_sees_a_connection_outside_the_sandbox(listener: Listener) -> None:
    socket.create_connection(("127.0.0.1", listener.port), timeout=2).close()
    listener.wait_for(1)
    assert listener.attempts == 1  # so the checks below can fail


@pytest.mark.parametrize(
    "attempt",
    [
        lambda url: socket.create_connection(
            ("127.0.0.1", int(url.rsplit(":", 1)[1].split("/")[0]))
        ),
        lambda url: urllib.request.urlopen(url, timeout=2),
        lambda url: rdflib.Graph().parse(url + "data.ttl"),
        lambda url: _parse_json_ld('{"@context": "' + url + 'ctx.jsonld", "@id": "http://e/a"}'),
    ],
    ids=["socket", "urllib", "rdflib-parse-url", "rdflib-jsonld-remote-context"],
)
def test_no_connection_leaves_the_sandbox(listener: Listener, attempt: object) -> None:
    url = f"http://127.0.0.1:{listener.port}/"
    with sandbox.sandboxed(), pytest.raises(Exception) as info:
        attempt(url)  # type: ignore[operator]
    chain = [info.value, info.value.__cause__, info.value.__context__]
    assert any(isinstance(e, Forbidden) for e in chain) or "outbound access refused" in str(
        info.value
    )
    listener.wait_for(1)
    assert listener.attempts == 0


def test_files_outside_the_allowed_directories_stay_closed(tmp_path: Path) -> None:
    sandbox.install([tmp_path / "allowed"])
    (tmp_path / "allowed").mkdir()
    (tmp_path / "allowed" / "ok.txt").write_text("ok")
    (tmp_path / "secret.txt").write_text("secret")
    with sandbox.sandboxed():
        assert (tmp_path / "allowed" / "ok.txt").read_text() == "ok"
        with pytest.raises(Forbidden, match="file access refused"):
            (tmp_path / "secret.txt").read_text()
        with pytest.raises(Forbidden):
            rdflib.Graph().parse(f"file://{tmp_path / 'secret.txt'}", format="turtle")
    assert (tmp_path / "secret.txt").read_text() == "secret"  # outside: untouched


def test_queries_run_sandboxed(kg: KnowledgeGraph, listener: Listener) -> None:
    answer = execute(kg, QueryJob("ASK { ?s ?p ?o }", format_name="json"))
    assert b"true" in answer.body
    assert listener.attempts == 0
