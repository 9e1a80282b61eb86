"""Writing to a running medkg server over HTTP (``medkg load`` / ``update --server URL``).

The server does the validation (it answers exactly as for any client): an upload goes to
the Graph Store Protocol at ``<URL>/store``, an update to ``<URL>/sparql``, each with
``Authorization: Bearer <token>``. A refusal becomes a :class:`~medkg.errors.MedkgError`
whose one-line message is the server's problem ``detail``.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from medkg.errors import InputError, MedkgError, ServiceUnavailable
from medkg.formats import RdfSyntax

SEQ_HEADER = "MEDKG-Write-Seq"


@dataclass(frozen=True)
class Acknowledgement:
    """A write the server committed: its HTTP status and the journal's sequence number."""

    status: int
    seq: int | None
    location: str | None = None


def _detail(response: httpx.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(document, dict):
        return str(document.get("detail") or document.get("title") or document)
    return str(document)[:200]


class Client:
    """Writes to the medkg server at ``base_url`` with bearer ``token``."""

    def __init__(self, base_url: str, token: str | None, *, timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _headers(self, content_type: str) -> dict[str, str]:
        headers = {"Content-Type": content_type}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _send(
        self, method: str, path: str, body: bytes, content_type: str, params: dict[str, str]
    ) -> Acknowledgement:
        url = self.base_url + path
        try:
            response = httpx.request(
                method,
                url,
                params=params,
                content=body,
                headers=self._headers(content_type),
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"cannot reach the server: {exc}", where=url) from exc
        if response.status_code >= 500:
            raise MedkgError(f"server error {response.status_code}: {_detail(response)}", where=url)
        if response.status_code >= 400:
            raise InputError(
                f"the server refused the write ({response.status_code}): {_detail(response)}",
                where=url,
            )
        seq = response.headers.get(SEQ_HEADER)
        return Acknowledgement(
            response.status_code,
            int(seq) if seq and seq.isdigit() else None,
            response.headers.get("location"),
        )

    def upload(
        self, body: bytes, syntax: RdfSyntax, *, graph: str | None, replace: bool = False
    ) -> Acknowledgement:
        """POST (add) or PUT (replace) ``body`` to ``graph``, or to the dataset."""
        params = {"graph": graph} if graph is not None else {}
        method = "PUT" if replace else "POST"
        return self._send(method, "/store", body, syntax.media_type, params)

    def update(self, text: str) -> Acknowledgement:
        """Run a SPARQL Update."""
        return self._send("POST", "/sparql", text.encode("utf-8"), "application/sparql-update", {})
