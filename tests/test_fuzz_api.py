"""Fuzz the HTTP API of a real server from its OpenAPI schema (schemathesis): no answer is
a 5xx other than the documented 503 of a query past its time limit, and none hangs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
import schemathesis.openapi
from hypothesis import HealthCheck, given, settings
from schemathesis import Case

from conftest import KG_DATA, KG_ONTOLOGY
from server_process import running_server

TOKEN = "fuzz-test-token-0123456789"
#: Longest an answer may take: the 2 s query time limit plus the worker's replacement.
ANSWER_LIMIT = 15.0
#: Generated cases per operation.
EXAMPLES = 25
#: (operation, status) of every call made.
SEEN: list[tuple[str, int]] = []
TIMEOUT_DETAIL = "query exceeded the time limit"


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    root = tmp_path_factory.mktemp("fuzz-api")
    args = [
        "--ontology-dir", str(KG_ONTOLOGY), "--data-dir", str(KG_DATA),
        "--cache-dir", str(root / "cache"), "--store", str(root / "store"),
        "--workers", "1", "--timeout", "2",
    ]  # fmt: skip
    env = {
        "MEDKG_UPDATE_TOKEN": TOKEN,
        "MEDKG_CLIENT_RATE": "0",
        "MEDKG_CLIENT_CONCURRENCY": "0",
        "MEDKG_LOG_LEVEL": "warning",
    }
    with running_server(*args, env=env) as server:
        yield schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
        assert server.process.poll() is None, "the server died while fuzzed"


def _check(case: Case) -> None:
    # With the token, so the writes reach the parsers, validation and the journal.
    response = case.call(timeout=ANSWER_LIMIT, headers={"Authorization": f"Bearer {TOKEN}"})
    SEEN.append((case.operation.label, response.status_code))
    if response.status_code == 503:
        assert TIMEOUT_DETAIL in response.text, (case.as_curl_command(), response.text[:500])
    else:
        assert response.status_code < 500, (case.as_curl_command(), response.text[:500])


def test_no_server_error_and_no_hang(api_schema: schemathesis.BaseSchema) -> None:
    """Every operation of the schema, with generated parameters and bodies."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 3
    for operation in operations:
        fuzz = settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )(given(case=operation.as_strategy())(_check))
        fuzz()

    # The calls reached the server: every operation answered, and not only with errors.
    assert {label for label, _ in SEEN} == {op.label for op in operations}
    assert any(status < 400 for _, status in SEEN)
