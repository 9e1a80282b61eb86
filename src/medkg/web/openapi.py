"""OpenAPI declarations of the /sparql operations (the protocol layer reads the request).

The parameters are declared here for the generated documentation (``/docs``) only:
:func:`medkg.protocol.parse_request` reads the raw request, because the SPARQL protocol
repeats parameters, mixes query string and form body, and takes raw ``application/
sparql-query`` bodies.
"""

from __future__ import annotations

from typing import Any

from medkg.execution import OFFERS
from medkg.store import QueryKind


def _parameter(name: str, description: str, *, repeat: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if repeat:
        schema = {"type": "array", "items": {"type": "string"}}
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **({"style": "form", "explode": True} if repeat else {}),
    }


_FORMAT_HELP = (
    "Result format, overriding Accept: a short name (json, xml, csv, tsv; turtle, ntriples, "
    "jsonld, rdfxml, trig, nquads) or a media type."
)
DATASET_PARAMETERS = [
    _parameter(
        "default-graph-uri",
        "Graph merged into the default graph (repeatable). Virtual graphs: "
        "https://w3id.org/medkg/graph/all, https://w3id.org/medkg/graph/asserted.",
        repeat=True,
    ),
    _parameter("named-graph-uri", "Graph GRAPH may name (repeatable).", repeat=True),
    _parameter("format", _FORMAT_HELP),
    _parameter("output", "Same as format."),
    _parameter("results", "Same as format."),
]
QUERY_PARAMETER = _parameter(
    "query", "The SPARQL query. Without it, GET answers the service description."
)


def _media_types() -> list[str]:
    return list(dict.fromkeys(o.media_type for kind in QueryKind for o in OFFERS[kind]))


_ANSWERS = {
    "200": {
        "description": "The query result, or the service description; negotiated on Accept.",
        "content": {media_type: {} for media_type in _media_types()},
    },
    **{
        str(status): {
            "description": description,
            "content": {"application/problem+json": {}},
        }
        for status, description in (
            (400, "Bad request (syntax error, protocol error, query too deep)"),
            (405, "Method not allowed"),
            (406, "No acceptable result format"),
            (413, "Request body too large"),
            (414, "Query string too long"),
            (415, "Unsupported request media type"),
            (429, "Too many requests from this client (Retry-After)"),
            (503, "Query timeout or service unavailable"),
        )
    },
}
_UPDATE_ANSWERS = {
    "204": {"description": "The update is committed (MEDKG-Write-Seq: its number)."},
    **{
        str(status): {
            "description": description,
            "content": {"application/problem+json": {}},
        }
        for status, description in (
            (401, "Update without a valid bearer token"),
            (403, "Writes disabled, or a computed or virtual graph"),
            (422, "The update would add SHACL violations or an inconsistency"),
        )
    },
}

GET_OPERATION: dict[str, Any] = {
    "parameters": [QUERY_PARAMETER, *DATASET_PARAMETERS],
    "responses": _ANSWERS,
}
POST_OPERATION: dict[str, Any] = {
    "parameters": DATASET_PARAMETERS,
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "query": {"type": "string", "description": "The SPARQL query."},
                        "update": {
                            "type": "string",
                            "description": "A SPARQL Update (needs a bearer token).",
                        },
                        "default-graph-uri": {"type": "array", "items": {"type": "string"}},
                        "named-graph-uri": {"type": "array", "items": {"type": "string"}},
                        "using-graph-uri": {"type": "array", "items": {"type": "string"}},
                        "using-named-graph-uri": {"type": "array", "items": {"type": "string"}},
                    },
                }
            },
            "application/sparql-query": {
                "schema": {"type": "string", "description": "The SPARQL query (UTF-8)."}
            },
            "application/sparql-update": {
                "schema": {
                    "type": "string",
                    "description": "A SPARQL Update (UTF-8; needs a bearer token).",
                }
            },
        },
    },
    "responses": {**_ANSWERS, **_UPDATE_ANSWERS},
}
