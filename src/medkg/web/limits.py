"""Fairness: per-client limits on requests in flight and on the request rate.

A client is its network address (behind a proxy, every client shares the proxy's address:
set the limits there, or raise them here). Each client has a token bucket (``client_rate``
requests per second, up to ``client_burst`` at once) and a cap on concurrent requests
(``client_concurrency``). A request over either limit is answered at once with 429
``application/problem+json`` and ``Retry-After``; it never reaches the query workers.
``/health`` is exempt, so monitoring keeps working under load. 0 turns a limit off.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from medkg.errors import TooManyRequests
from medkg.web.problems import ProblemResponse, problem_document

EXEMPT_PATHS = frozenset({"/health"})
#: Clients remembered at most (the oldest idle ones are forgotten first).
MAX_CLIENTS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float
    in_flight: int = 0


class ClientLimits:
    """ASGI middleware enforcing the per-client limits (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, concurrency: int, rate: float, burst: int) -> None:
        self.app = app
        self.concurrency = concurrency
        self.rate = rate
        self.burst = burst
        self._clients: dict[str, _Bucket] = {}

    def _bucket(self, client: str, now: float) -> _Bucket:
        bucket = self._clients.get(client)
        if bucket is None:
            if len(self._clients) >= MAX_CLIENTS:
                self._forget_idle()
            bucket = self._clients[client] = _Bucket(float(self.burst), now)
        elif self.rate > 0:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        return bucket

    def _forget_idle(self) -> None:
        idle = sorted((b.updated, c) for c, b in self._clients.items() if b.in_flight == 0)
        for _updated, client in idle[: max(1, len(idle) // 2)]:
            del self._clients[client]

    def admit(self, client: str) -> _Bucket:
        """Count one request of ``client`` in; TooManyRequests if over a limit."""
        bucket = self._bucket(client, time.monotonic())
        if self.concurrency and bucket.in_flight >= self.concurrency:
            raise TooManyRequests(f"more than {self.concurrency} requests in flight", 1)
        if self.rate > 0:
            if bucket.tokens < 1:
                wait = math.ceil((1 - bucket.tokens) / self.rate)
                raise TooManyRequests(f"more than {self.rate:g} requests per second", wait)
            bucket.tokens -= 1
        bucket.in_flight += 1
        return bucket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        try:
            bucket = self.admit(client)
        except TooManyRequests as refusal:
            response = ProblemResponse(
                problem_document(refusal), status_code=429, headers=refusal.http_headers()
            )
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            bucket.in_flight -= 1
