"""A curator's write on the bundled graph, through the real server and through
``medkg load/update --server``: a new hospital affiliated with SJTU's medical school
becomes, by inference, one of SJTU's affiliated hospitals, and stops being one when the
fact is deleted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from medkg.cli import app
from server_process import RunningServer, running_server

TOKEN = "bundled-writes-token-0123456789"
P = (
    "PREFIX mkg: <https://w3id.org/medkg/ontology#>\n"
    "PREFIX res: <https://w3id.org/medkg/resource/>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)
VIA_SCHOOL = "ASK { res:sjtu mkg:hasAffiliatedHospital res:test-hospital }"
HOSPITAL = (
    "res:test-hospital a mkg:Hospital ; "
    'rdfs:label "Test Teaching Hospital"@en ; '
    "mkg:affiliatedHospitalOf res:sjtusm ."
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    root = tmp_path_factory.mktemp("bundled-writes")
    with running_server(
        "--cache-dir",
        str(root / "cache"),
        "--store",
        str(root / "store"),
        "--workers",
        "1",
        env={"MEDKG_UPDATE_TOKEN": TOKEN},
    ) as running:
        yield running


def _ask(server: RunningServer, text: str) -> bool:
    response = httpx.get(
        server.endpoint,
        params={"query": P + text},
        headers={"Accept": "application/sparql-results+json"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return bool(response.json()["boolean"])


def _cli(server: RunningServer, *args: str) -> str:
    result = CliRunner().invoke(
        app, [*args, "--server", server.base_url], env={"MEDKG_UPDATE_TOKEN": TOKEN}
    )
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_new_affiliated_hospital_is_inferred_then_retracted(
    server: RunningServer, tmp_path: Path
) -> None:
    assert not _ask(server, VIA_SCHOOL)
    data = tmp_path / "test-hospital.ttl"
    data.write_text(P.replace("PREFIX ", "@prefix ").replace(">\n", "> .\n") + HOSPITAL + "\n")
    assert "committed as write 1 (201)" in _cli(server, "load", str(data))
    # SJTUSM is part of SJTU: the property chain makes it SJTU's affiliated hospital too.
    assert _ask(server, VIA_SCHOOL)
    assert _ask(server, "ASK { res:test-hospital a mkg:AffiliatedHospital }")
    graph = "<https://w3id.org/medkg/graph/test-hospital>"
    out = _cli(
        server,
        "update",
        P + f"DELETE DATA {{ GRAPH {graph} {{ res:test-hospital mkg:affiliatedHospitalOf "
        "res:sjtusm } }",
    )
    assert "committed as write 2" in out
    assert not _ask(server, VIA_SCHOOL)
    assert not _ask(server, "ASK { res:test-hospital a mkg:AffiliatedHospital }")
    assert _ask(server, "ASK { res:test-hospital a mkg:Hospital }")


def test_readers_are_not_blocked_by_a_write(server: RunningServer) -> None:
    """Queries answered while a write (re-inference, validation) is in progress see the
    state before it."""
    done = threading.Event()
    hospital = HOSPITAL.replace("test-hospital", "busy-hospital")

    def write() -> None:
        response = httpx.post(
            server.endpoint,
            content=(P + f"INSERT DATA {{ {hospital} }}").encode(),
            headers={
                "Content-Type": "application/sparql-update",
                "Authorization": f"Bearer {TOKEN}",
            },
            timeout=120,
        )
        assert response.status_code == 204, response.text
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    answered_during_write = 0
    seen: list[bool] = []
    half = (
        "ASK { res:busy-hospital a mkg:Hospital "
        "FILTER NOT EXISTS { res:sjtu mkg:hasAffiliatedHospital res:busy-hospital } }"
    )
    while not done.is_set():
        # Each version is whole: the asserted fact never shows without its inference.
        assert not _ask(server, half)
        seen.append(_ask(server, "ASK { res:busy-hospital a mkg:Hospital }"))
        answered_during_write += 1
    writer.join()
    assert answered_during_write > 0
    assert seen == sorted(seen)  # once the new version is visible, it stays visible
    assert _ask(server, "ASK { res:sjtu mkg:hasAffiliatedHospital res:busy-hospital }")


def test_cli_reports_the_servers_refusal(server: RunningServer) -> None:
    result = CliRunner().invoke(
        app,
        ["update", "CLEAR ALL", "--server", server.base_url],
        env={"MEDKG_UPDATE_TOKEN": "wrong-token-0123456789abc"},
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("medkg: error: the server refused the write (401)")
    assert result.stderr.count("\n") == 1
