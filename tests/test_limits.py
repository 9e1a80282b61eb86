"""Per-client limits: 429 with Retry-After past the rate or the concurrency cap."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from conftest import fixture_server_args
from medkg.errors import TooManyRequests
from medkg.web.limits import ClientLimits
from server_process import running_server


def _limits(**kwargs: float) -> ClientLimits:
    values = {"concurrency": 0, "rate": 0.0, "burst": 1, **kwargs}
    return ClientLimits(
        None,  # type: ignore[arg-type]  # admit() is tested without an app
        concurrency=int(values["concurrency"]),
        rate=float(values["rate"]),
        burst=int(values["burst"]),
    )


def test_burst_then_rate() -> None:
    limits = _limits(rate=0.5, burst=3)
    for _ in range(3):
        limits.admit("a").in_flight -= 1
    with pytest.raises(TooManyRequests) as info:
        limits.admit("a")
    assert info.value.http_status == 429
    assert info.value.http_headers() == {"Retry-After": "2"}
    limits.admit("b")  # another client has its own bucket


def test_concurrency_cap_frees_on_completion() -> None:
    limits = _limits(concurrency=2)
    first, _second = limits.admit("a"), limits.admit("a")
    with pytest.raises(TooManyRequests, match="more than 2 requests in flight"):
        limits.admit("a")
    first.in_flight -= 1
    limits.admit("a")


def test_zero_turns_limits_off() -> None:
    limits = _limits()
    for _ in range(1000):
        limits.admit("a")


def test_the_real_server_answers_429_with_retry_after(tmp_path: Path) -> None:
    with (
        running_server(
            *fixture_server_args(tmp_path, workers=0),
            env={"MEDKG_CLIENT_RATE": "0.2", "MEDKG_CLIENT_BURST": "3"},
        ) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        statuses = [http.get("/sparql", params={"query": "ASK {}"}).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        refused = http.get("/sparql", params={"query": "ASK {}"})
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) >= 1
        assert "too many requests" in refused.json()["detail"]
        assert http.get("/health").status_code == 200  # exempt
