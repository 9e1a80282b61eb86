"""The exception tree of medkg. Every expected failure is a ``MedkgError``.

::

    MedkgError                          (exit 1, HTTP 500)
     +-- InputError                     bad input from the user (exit 2, HTTP 400)
     |    +-- QuerySyntaxError          SPARQL text that does not parse
     |    +-- QueryTooComplex           SPARQL text nested too deeply to parse safely
     |    +-- RdfSyntaxError            an RDF file that does not parse
     |    +-- UnknownFormatError        a format name / media type / extension we do not know
     |    +-- SourceNotFoundError       a named file or directory that does not exist
     |    +-- ResourceNotFound          an entity, graph or file the endpoint does not hold (404)
     |    +-- ProtocolError             an HTTP request the SPARQL protocol does not allow (400)
     |         +-- MethodNotAllowed     an HTTP method /sparql does not answer (405, Allow)
     |         +-- NotAcceptable        no representation the client accepts (406)
     |         +-- PayloadTooLarge      a request body over the size limit (413)
     |         +-- UriTooLong           a query string over the size limit (414)
     |         +-- UnsupportedMediaType a request body of a media type we do not read (415)
     |         +-- Unauthorized         a write without a valid bearer token (401)
     |         +-- Forbidden            a write the server never allows (403)
     |         +-- GraphNotFound        a Graph Store request for a missing graph (404)
     |         +-- TooManyRequests      a client over its rate or concurrency limit (429)
     |    +-- WriteRejected             a write leaving SHACL violations or a clash (422)
     +-- InconsistencyError             the OWL 2 RL closure found a clash (exit 1)
     +-- ValidationFailed               SHACL validation reported results (exit 1)
     +-- ConfigError                    settings or project layout unusable (exit 2)
     |    +-- StoreLocked               the store directory is in use by another process (exit 2)
     +-- StorageError                   the store directory cannot be read or written (HTTP 503)
     +-- ServiceUnavailable             the endpoint cannot answer now (HTTP 503)
     +-- QueryTimeout                   a query ran past its time limit (HTTP 503)
     +-- RemoteStoreError               another triple store failed or refused (exit 1, HTTP 502)
     +-- NotSupportedHere               a feature this backend does not provide (exit 2, HTTP 501)

``str()`` of each is one line: what went wrong, then where in parentheses. Each class
carries its CLI ``exit_code``, its ``http_status`` and a short ``title``; the web layer maps
every error to an HTTP response from these alone, in one handler. Every error survives a
pickle round trip (errors cross process boundaries from query workers).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_MAX_MESSAGE = 240


def one_line(text: str, limit: int = _MAX_MESSAGE) -> str:
    """Collapse whitespace (incl. newlines) and cut ``text`` to ``limit`` characters."""
    flat = re.sub(r"\s+", " ", text).strip()
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "\u2026"
    return flat


def _where(source: str | Path | None, line: int | None, column: int | None) -> str:
    parts: list[str] = []
    if source is not None:
        parts.append(str(source))
    if line is not None:
        if source is not None:
            parts.append(str(line) if column is None else f"{line}:{column}")
            return ":".join(parts)
        parts.append(f"line {line}" if column is None else f"line {line}, column {column}")
    return ", ".join(parts)


def _restore(cls: type[MedkgError], args: tuple[Any, ...], state: dict[str, Any]) -> MedkgError:
    """Rebuild a pickled MedkgError without calling its (subclass-specific) ``__init__``."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class MedkgError(Exception):
    """Base of every expected medkg failure."""

    exit_code: int = 1
    http_status: int = 500
    title: str = "Internal error"
    #: Position in the input the error refers to, when known (1-based).
    line: int | None = None
    column: int | None = None

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        what = one_line(self.message)
        return f"{what} ({one_line(self.where)})" if self.where else what

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's default pickling calls cls(*self.args), which subclasses with their
        # own __init__ signature cannot take; restore the instance state directly instead.
        return (_restore, (type(self), self.args, dict(self.__dict__)))

    def http_headers(self) -> dict[str, str]:
        """Extra HTTP response headers this error calls for (``Allow``, ``Vary``...)."""
        return {}


class InputError(MedkgError):
    """The user gave us something unusable."""

    exit_code = 2
    http_status = 400
    title = "Bad request"


class QuerySyntaxError(InputError):
    """A SPARQL query (or rule) that does not parse."""

    title = "SPARQL syntax error"

    def __init__(
        self,
        message: str,
        line: int | None = None,
        column: int | None = None,
        *,
        source: str | Path | None = None,
    ) -> None:
        self.line = line
        self.column = column
        self.source = source
        where = _where(source, line, column) or None
        super().__init__(f"SPARQL syntax error: {message}", where=where)


class QueryTooComplex(InputError):
    """SPARQL text nested deeper than the limit (checked before any parser sees it)."""

    title = "Query too complex"

    def __init__(self, depth_limit: int, line: int, column: int) -> None:
        self.depth_limit = depth_limit
        self.line = line
        self.column = column
        super().__init__(
            f"query nesting too deep: more than {depth_limit} levels of brackets",
            where=_where(None, line, column),
        )


class RdfSyntaxError(InputError):
    """An RDF file that does not parse (or holds terms that are not valid RDF)."""

    title = "RDF syntax error"

    def __init__(
        self,
        path: str | Path,
        message: str,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        super().__init__(f"RDF syntax error: {message}", where=_where(path, line, column))


class UnknownFormatError(InputError):
    """A format name, media type or file extension that medkg does not know."""

    title = "Unknown format"

    def __init__(self, value: str, kind: str = "format", choices: Sequence[str] = ()) -> None:
        self.value = value
        self.kind = kind
        self.choices = tuple(choices)
        where = f"choose one of: {', '.join(self.choices)}" if self.choices else None
        super().__init__(f"unknown {kind} {value!r}", where=where)


class SourceNotFoundError(InputError):
    """A file or directory the user named does not exist."""

    title = "Not found"

    def __init__(self, path: str | Path, what: str = "file") -> None:
        self.path = Path(path)
        super().__init__(f"{what} not found", where=str(path))


class ResourceNotFound(InputError):
    """A resource (entity, named graph, static file) that the knowledge graph does not hold."""

    http_status = 404
    title = "Not found"

    def __init__(self, what: str, name: str) -> None:
        self.what = what
        self.name = name
        super().__init__(f"no {what} {name!r} in the knowledge graph", where=name)


class InconsistencyError(MedkgError):
    """The OWL 2 RL closure is inconsistent; ``clashes`` holds the reasoner's messages."""

    title = "Inconsistent knowledge graph"

    def __init__(self, clashes: list[str]) -> None:
        self.clashes = list(clashes)
        first = self.clashes[0] if self.clashes else "unknown clash"
        more = f"; and {len(self.clashes) - 1} more" if len(self.clashes) > 1 else ""
        super().__init__(f"inconsistent knowledge graph: {first}{more}", where="OWL 2 RL closure")


class ValidationFailed(MedkgError):
    """SHACL validation produced results; ``violations`` holds them."""

    title = "SHACL validation failed"

    def __init__(self, violations: Sequence[Any], shapes: str | Path | None = None) -> None:
        self.violations = list(violations)
        n = len(self.violations)
        noun = "result" if n == 1 else "results"
        super().__init__(
            f"SHACL validation failed with {n} {noun}",
            where=str(shapes) if shapes is not None else None,
        )


class ConfigError(MedkgError):
    """Settings or the project layout are unusable."""

    exit_code = 2
    title = "Configuration error"


# --------------------------------------------------------------------------------------------
# The SPARQL protocol (HTTP)


class ProtocolError(InputError):
    """An HTTP request that the SPARQL 1.1 protocol (or this read-only endpoint) refuses."""

    title = "Bad SPARQL protocol request"


class MethodNotAllowed(ProtocolError):
    """An HTTP method the endpoint does not answer; ``allow`` lists the ones it does."""

    http_status = 405
    title = "Method not allowed"

    def __init__(self, method: str, allow: Sequence[str]) -> None:
        self.method = method
        self.allow = tuple(allow)
        super().__init__(
            f"method {method} is not allowed here", where=f"allowed: {', '.join(self.allow)}"
        )

    def http_headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allow)}


class NotAcceptable(ProtocolError):
    """No offered representation satisfies the request's ``Accept`` (or format parameter)."""

    http_status = 406
    title = "Not acceptable"

    def __init__(self, offered: Sequence[str], what: str = "the result") -> None:
        self.offered = list(offered)
        super().__init__(
            f"no acceptable representation of {what}",
            where=f"offered: {', '.join(self.offered)}",
        )

    def http_headers(self) -> dict[str, str]:
        return {"Vary": "Accept"}


class PayloadTooLarge(ProtocolError):
    """A request body larger than ``limit`` bytes."""

    http_status = 413
    title = "Payload too large"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"request body larger than {limit} bytes")


class UriTooLong(ProtocolError):
    """A request query string longer than ``limit`` bytes."""

    http_status = 414
    title = "URI too long"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"query string longer than {limit} bytes", where="send long queries with POST"
        )


class UnsupportedMediaType(ProtocolError):
    """A request body whose media type the endpoint does not read."""

    http_status = 415
    title = "Unsupported media type"

    def __init__(self, media_type: str | None, supported: Sequence[str]) -> None:
        self.media_type = media_type
        self.supported = tuple(supported)
        what = f"media type {media_type!r}" if media_type else "a body without Content-Type"
        super().__init__(f"cannot read {what}", where=f"supported: {', '.join(self.supported)}")


class ServiceUnavailable(MedkgError):
    """The endpoint cannot answer now (starting, shutting down, or every worker busy)."""

    http_status = 503
    title = "Service unavailable"


class QueryTimeout(MedkgError):
    """A query ran longer than ``limit_seconds`` and was stopped; nothing was sent."""

    http_status = 503
    title = "Query timeout"

    def __init__(self, limit_seconds: float) -> None:
        self.limit_seconds = limit_seconds
        super().__init__(
            f"query exceeded the time limit of {limit_seconds:g} s",
            where="simplify the query or add a LIMIT",
        )


class Unauthorized(ProtocolError):
    """A write without a valid ``Authorization: Bearer`` token."""

    http_status = 401
    title = "Unauthorized"

    def __init__(self, message: str = "a valid bearer token is required to write") -> None:
        super().__init__(message, where="send Authorization: Bearer <token>")

    def http_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="medkg"'}


class Forbidden(ProtocolError):
    """A write this server never allows (writes disabled, a computed or virtual graph)."""

    http_status = 403
    title = "Forbidden"


class GraphNotFound(ProtocolError):
    """A Graph Store Protocol request for a named graph the store does not hold."""

    http_status = 404
    title = "Graph not found"

    def __init__(self, graph: str) -> None:
        self.graph = graph
        super().__init__("no such graph in the store", where=graph)


class WriteRejected(InputError):
    """A write that parses but would leave the graph invalid (SHACL) or inconsistent
    (OWL 2 RL). Nothing was changed; ``reasons`` lists what is wrong."""

    http_status = 422
    title = "Write rejected"

    def __init__(self, reason: str, reasons: Sequence[str] = ()) -> None:
        self.reasons = list(reasons) or [reason]
        super().__init__(f"write rejected, nothing changed: {reason}")


class StoreLocked(ConfigError):
    """The store directory is locked by another medkg process (a server, a CLI command)."""

    title = "Store in use"

    def __init__(self, directory: str | Path, holder: str = "") -> None:
        self.directory = str(directory)
        detail = f" by {holder}" if holder else ""
        super().__init__(
            f"the store directory is in use{detail}; write through that server "
            "(medkg load/update --server URL) or stop it first",
            where=str(directory),
        )


class StorageError(MedkgError):
    """The store directory cannot be read or written; the write was not acknowledged."""

    http_status = 503
    title = "Storage unavailable"


class TooManyRequests(ProtocolError):
    """A client over its request rate or its number of requests in flight."""

    http_status = 429
    title = "Too many requests"

    def __init__(self, reason: str, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(f"too many requests: {reason}", where=f"retry after {self.retry_after} s")

    def http_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class RemoteStoreError(MedkgError):
    """Another triple store (a push target, a remote backend) failed, refused a request,
    or holds other counts than were sent."""

    http_status = 502
    title = "Remote store error"


class NotSupportedHere(MedkgError):
    """A feature that the configured backend does not provide (e.g. writes or entity pages
    on a remote SPARQL store); ``feature`` names it."""

    exit_code = 2
    http_status = 501
    title = "Not implemented on this backend"

    def __init__(self, feature: str, backend: str = "a remote SPARQL backend") -> None:
        self.feature = feature
        super().__init__(f"{feature} is not available on {backend}", where=backend)
