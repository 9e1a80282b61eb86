"""The one place errors become HTTP responses: RFC 9457 ``application/problem+json``.

Every :class:`~medkg.errors.MedkgError` maps to its own ``http_status``, ``title`` and
extra headers; its one-line ``str()`` is the ``detail``, and ``line`` / ``column`` are added
when the error knows them (``offered`` for 406, ``allow`` for 405). Starlette's own HTTP
errors (unknown path, ...) get the same form. Anything else is a defect: it is logged with
its traceback and answered with a bare 500 problem, never with the traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from medkg.errors import MedkgError, MethodNotAllowed, NotAcceptable

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://w3id.org/medkg/problem/"


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem_type(error: MedkgError) -> str:
    """``QuerySyntaxError`` -> ``https://w3id.org/medkg/problem/query-syntax-error``."""
    return PROBLEM_BASE + re.sub(r"(?<!^)(?=[A-Z])", "-", type(error).__name__).lower()


def problem_document(error: MedkgError) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": problem_type(error),
        "title": error.title,
        "status": error.http_status,
        "detail": str(error),
    }
    if error.line is not None:
        document["line"] = error.line
    if error.column is not None:
        document["column"] = error.column
    if isinstance(error, NotAcceptable):
        document["offered"] = error.offered
    if isinstance(error, MethodNotAllowed):
        document["allow"] = list(error.allow)
    return document


def _http_document(exc: HTTPException) -> tuple[dict[str, Any], dict[str, str]]:
    document = {
        "type": "about:blank",
        "title": str(exc.detail),
        "status": exc.status_code,
        "detail": f"{exc.detail}",
    }
    return document, dict(exc.headers or {})


async def problem_response(request: Request, exc: Exception) -> Response:
    """The exception handler for MedkgError, Starlette's HTTPException and Exception."""
    if isinstance(exc, MedkgError):
        document, headers = problem_document(exc), exc.http_headers()
        if exc.http_status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
    elif isinstance(exc, HTTPException):
        document, headers = _http_document(exc)
    else:
        log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
        document = {
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": 500,
            "detail": "an unexpected error occurred; it has been logged",
        }
        # This response leaves through Starlette's outermost layer, past the CORS middleware.
        headers = {"Access-Control-Allow-Origin": "*"}
    return ProblemResponse(document, status_code=document["status"], headers=headers)


def install_problem_handler(app: FastAPI) -> None:
    """Route every error of ``app`` through :func:`problem_response`."""
    for error_class in (MedkgError, HTTPException, Exception):
        app.add_exception_handler(error_class, problem_response)
