"""Reading RDF that users send (Graph Store uploads, ``medkg load``): checked, then parsed.

Before any parser sees the bytes:

- RDF/XML with a ``<!DOCTYPE`` or ``<!ENTITY`` declaration is refused (entity expansion
  bombs, external entities);
- JSON-LD whose ``@context`` (anywhere in the document) names a remote context, or uses
  ``@import``, is refused: medkg never fetches anything;
- the text must be UTF-8.

Parsing is pyoxigraph's (it never fetches either). Syntax errors become
:class:`~medkg.errors.RdfSyntaxError` with line and column. Every blank node of the upload
is given a fresh label, so an upload's ``_:b1`` is never confused with a stored node.
RDF-star triple terms are refused (the reasoner and the exports handle plain RDF only).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pyoxigraph as ox

from medkg.errors import InputError, RdfSyntaxError
from medkg.formats import RdfSyntax
from medkg.sandbox import sandboxed

_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_OX_POSITION = re.compile(
    r"^Parser error at line \d+ (?:column \d+|between columns \d+ and \d+):\s*", re.IGNORECASE
)
_MAX_JSON_DEPTH = 200


def refuse_unsafe(body: bytes, syntax: RdfSyntax, where: str) -> None:
    """Raise InputError for input medkg refuses to parse (see the module docstring)."""
    if syntax is RdfSyntax.RDFXML and _DOCTYPE.search(body):
        raise InputError(
            "RDF/XML with a DOCTYPE or ENTITY declaration is refused "
            "(entity expansion and external entities)",
            where=where,
        )
    if syntax is RdfSyntax.JSONLD:
        _refuse_remote_contexts(body, where)


def _refuse_remote_contexts(body: bytes, where: str) -> None:
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("JSON-LD is not UTF-8", where=where) from None
    except RecursionError:
        raise InputError("JSON-LD nested too deeply", where=where) from None
    except json.JSONDecodeError as exc:
        raise RdfSyntaxError(where, f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    _walk_contexts(document, where, 0)


def _walk_contexts(node: Any, where: str, depth: int) -> None:
    if depth > _MAX_JSON_DEPTH:
        raise InputError(f"JSON-LD nested deeper than {_MAX_JSON_DEPTH} levels", where=where)
    if isinstance(node, list):
        for item in node:
            _walk_contexts(item, where, depth + 1)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "@context":
            _check_context(value, where)
        if key == "@import":
            raise InputError("JSON-LD @import is refused: medkg never fetches", where=where)
        _walk_contexts(value, where, depth + 1)


def _check_context(value: Any, where: str) -> None:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, str):
            raise InputError(
                f"JSON-LD remote @context {item!r} is refused: medkg never fetches; "
                "inline the context",
                where=where,
            )


def _fresh_bnodes(quads: list[ox.Quad]) -> list[ox.Quad]:
    fresh: dict[str, ox.BlankNode] = {}

    def term(node: Any) -> Any:
        if isinstance(node, ox.BlankNode):
            found = fresh.get(node.value)
            if found is None:
                found = fresh[node.value] = ox.BlankNode()
            return found
        return node

    return [
        ox.Quad(term(q.subject), q.predicate, term(q.object), term(q.graph_name)) for q in quads
    ]


def parse_upload(
    body: bytes, syntax: RdfSyntax, *, where: str, base_iri: str | None = None
) -> list[ox.Quad]:
    """The quads of an uploaded document (triple syntaxes: all in the default graph).
    Parsed :func:`~medkg.sandbox.sandboxed`."""
    with sandboxed():
        return _parse(body, syntax, where, base_iri)


def _parse(body: bytes, syntax: RdfSyntax, where: str, base_iri: str | None) -> list[ox.Quad]:
    refuse_unsafe(body, syntax, where)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"the upload is not UTF-8 (byte {exc.start})", where=where) from None
    try:
        quads = list(ox.parse(body, format=syntax.oxigraph_format, base_iri=base_iri))
    except SyntaxError as exc:
        message = str(exc)
        match = _OX_POSITION.match(message)
        if match:
            message = message[match.end() :]
        line = exc.lineno if isinstance(exc.lineno, int) else None
        column = exc.offset if isinstance(exc.offset, int) else None
        raise RdfSyntaxError(where, message, line, column) from None
    for quad in quads:
        if isinstance(quad.subject, ox.Triple) or isinstance(quad.object, ox.Triple):
            raise InputError("RDF-star triple terms are not supported", where=where)
    return _fresh_bnodes(quads)
