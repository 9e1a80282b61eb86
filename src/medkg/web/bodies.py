"""Reading request bodies with a size limit (the one place that does)."""

from __future__ import annotations

from fastapi import Request

from medkg.errors import PayloadTooLarge


async def read_body(request: Request, limit: int) -> bytes:
    """The request body; PayloadTooLarge as soon as it (or its declared length) passes ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(limit)
    return bytes(body)
