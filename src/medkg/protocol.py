"""The SPARQL 1.1 Protocol, read side: an HTTP request's parts -> a QueryJob, or an error.

Pure functions, no I/O: :func:`parse_request` takes the method, the raw query string, the
``Content-Type`` header and the body, and returns the :class:`~medkg.execution.QueryJob`
to run, a :class:`DescriptionRequest` (``GET`` without a query asks for the service
description), or raises a :class:`~medkg.errors.ProtocolError` (or
:class:`~medkg.errors.QueryTooComplex`). The three query operations of the protocol:

- ``GET /sparql?query=...``
- ``POST /sparql`` with ``application/x-www-form-urlencoded`` body ``query=...``
- ``POST /sparql`` with ``application/sparql-query`` body (the query, UTF-8)

``default-graph-uri`` and ``named-graph-uri`` (repeatable) set the dataset; they may be in
the query string in every form, or in the form body. ``format``, ``output`` and ``results``
(as sent by SPARQLWrapper and others) choose the result format and win over ``Accept``.

The two update operations (whether the server accepts writes, and from whom, is the web
layer's business) become an :class:`UpdateJob`:

- ``POST /sparql`` with ``application/x-www-form-urlencoded`` body ``update=...``
- ``POST /sparql`` with ``application/sparql-update`` body (the update, UTF-8)

with ``using-graph-uri`` / ``using-named-graph-uri`` (repeatable) for the ``WHERE`` dataset.
An update sent with GET, a request with both ``query`` and ``update``, or with several of
either, is refused with 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

import pyoxigraph as ox

from medkg.config import Settings
from medkg.errors import (
    MethodNotAllowed,
    PayloadTooLarge,
    ProtocolError,
    UnsupportedMediaType,
    UriTooLong,
)
from medkg.execution import QueryJob
from medkg.lexer import check_nesting, inject_using

ALLOWED_METHODS = ("GET", "HEAD", "POST")
FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"
READABLE_BODIES = (FORM, SPARQL_QUERY, SPARQL_UPDATE)
FORMAT_PARAMETERS = ("format", "output", "results")
MAX_PARAMETERS = 1000
_UTF8_NAMES = ("utf-8", "utf8", "us-ascii", "ascii")

Params = list[tuple[str, str]]


@dataclass(frozen=True)
class UpdateJob:
    """A SPARQL Update request: the text, the protocol's dataset for ``WHERE``, the base."""

    update: str
    using_graph_uris: tuple[str, ...] = ()
    using_named_graph_uris: tuple[str, ...] = ()
    base_iri: str | None = None

    def text(self) -> str:
        """The update with the protocol dataset written in as USING clauses."""
        return inject_using(self.update, self.using_graph_uris, self.using_named_graph_uris)


@dataclass(frozen=True)
class DescriptionRequest:
    """A ``GET`` without a query: the client asks for the SPARQL service description."""

    format_name: str | None = None


def media_type_of(content_type: str | None) -> tuple[str, dict[str, str]]:
    """``type/subtype`` (lower case) and the parameters of a Content-Type header value."""
    if not content_type:
        return "", {}
    bare, *raw_params = content_type.split(";")
    params: dict[str, str] = {}
    for raw in raw_params:
        name, _, value = raw.partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    return bare.strip().lower(), params


def parse_params(raw: bytes, where: str) -> Params:
    """The ``name=value`` pairs of a query string or form body, in order (UTF-8 only)."""
    try:
        text = raw.decode("utf-8")
        return parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_PARAMETERS,
        )
    except UnicodeDecodeError:
        raise ProtocolError(f"the {where} is not UTF-8") from None
    except ValueError:
        raise ProtocolError(f"the {where} has more than {MAX_PARAMETERS} parameters") from None


def _values(params: Params, name: str) -> list[str]:
    return [value for key, value in params if key == name]


def _direct_body(body: bytes, params: dict[str, str], what: str) -> str:
    charset = params.get("charset", "utf-8").lower()
    if charset not in _UTF8_NAMES:
        raise ProtocolError(f"the {what} must be UTF-8, not {charset}")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(f"the {what} is not UTF-8") from None


def request_params(
    method: str, query_string: bytes, content_type: str | None, body: bytes
) -> Params:
    """Every protocol parameter of the request: query string, then form body or direct query."""
    params = parse_params(query_string, "query string")
    if method != "POST":
        return params
    media_type, media_params = media_type_of(content_type)
    if media_type == FORM:
        return params + parse_params(body, "form body")
    if media_type == SPARQL_QUERY:
        return [*params, ("query", _direct_body(body, media_params, "query"))]
    if media_type == SPARQL_UPDATE:
        return [*params, ("update", _direct_body(body, media_params, "update"))]
    raise UnsupportedMediaType(media_type or None, READABLE_BODIES)


def _graph_iris(params: Params, name: str) -> tuple[str, ...]:
    iris = _values(params, name)
    for iri in iris:
        try:
            ox.NamedNode(iri)
        except ValueError:
            raise ProtocolError(f"{name} is not an absolute IRI: {iri!r}") from None
    return tuple(iris)


def _format_name(params: Params) -> str | None:
    names = [v.strip() for key in FORMAT_PARAMETERS for v in _values(params, key) if v.strip()]
    return ",".join(names) or None


def check_limits(query_string: bytes, body: bytes, settings: Settings) -> None:
    if len(query_string) > settings.max_url_bytes:
        raise UriTooLong(settings.max_url_bytes)
    if len(body) > settings.max_query_bytes:
        raise PayloadTooLarge(settings.max_query_bytes)


def parse_request(
    method: str,
    query_string: bytes,
    content_type: str | None,
    body: bytes,
    *,
    settings: Settings,
    accept: str | None = None,
    base_iri: str | None = None,
) -> QueryJob | UpdateJob | DescriptionRequest:
    """The query job, update job or service description request an HTTP request to /sparql
    makes."""
    if method not in ALLOWED_METHODS:
        raise MethodNotAllowed(method, ALLOWED_METHODS)
    check_limits(query_string, body, settings)
    params = request_params(method, query_string, content_type, body)
    queries, updates = _values(params, "query"), _values(params, "update")
    if updates and queries:
        raise ProtocolError("both a query and an update; send one of them")
    if updates:
        return _update_job(method, params, updates, settings, base_iri)
    if len(queries) > 1:
        raise ProtocolError(f"{len(queries)} query parameters; send exactly one")
    if not queries:
        if method == "POST":
            raise ProtocolError("missing query: no query parameter or body")
        return DescriptionRequest(_format_name(params))
    (query,) = queries
    if not query.strip():
        raise ProtocolError("empty query")
    check_nesting(query, settings.max_nesting)
    return QueryJob(
        query,
        accept=accept,
        format_name=_format_name(params),
        default_graph_uris=_graph_iris(params, "default-graph-uri"),
        named_graph_uris=_graph_iris(params, "named-graph-uri"),
        max_rows=settings.max_rows,
        max_bytes=settings.max_result_bytes,
        base_iri=base_iri,
        service_allow=settings.service_allow,
    )


def _update_job(
    method: str, params: Params, updates: list[str], settings: Settings, base_iri: str | None
) -> UpdateJob:
    if method != "POST":
        raise ProtocolError("updates must be sent with POST, never GET")
    if len(updates) > 1:
        raise ProtocolError(f"{len(updates)} update parameters; send exactly one")
    (update,) = updates
    if not update.strip():
        raise ProtocolError("empty update")
    check_nesting(update, settings.max_nesting)
    return UpdateJob(
        update,
        using_graph_uris=_graph_iris(params, "using-graph-uri"),
        using_named_graph_uris=_graph_iris(params, "using-named-graph-uri"),
        base_iri=base_iri,
    )
