"""Process-wide safety switches for rdflib, set once, explicitly.

rdflib keeps a few module-level switches that, left at their defaults, let a SPARQL query
fetch remote data (``FROM <http://...>`` loads the IRI; ``SERVICE`` calls an endpoint).
medkg never wants network access while reading, reasoning or validating, so
:func:`configure_rdflib` turns those off. JSON-LD remote ``@context`` loading cannot be
switched off in rdflib; medkg therefore parses JSON-LD input with pyoxigraph, which has no
document loader (see :mod:`medkg.loading`).
"""

from __future__ import annotations

from typing import Any

import rdflib.plugins.sparql as rdflib_sparql

_SERVICE_GUARD = "medkg-no-service"


def _refuse_service(ctx: Any, part: Any) -> Any:
    """rdflib custom evaluation hook: refuse ``SERVICE``; defer everything else."""
    if getattr(part, "name", None) == "ServiceGraphPattern":
        from medkg.errors import InputError

        raise InputError("SPARQL SERVICE (federated query) is disabled in medkg")
    raise NotImplementedError


def configure_rdflib() -> None:
    """Set rdflib's global switches to safe, explicit values. Idempotent."""
    # FROM / FROM NAMED must never dereference IRIs.
    rdflib_sparql.SPARQL_LOAD_GRAPHS = False
    # A Dataset's default graph is the union of its named graphs (rdflib's default, made
    # explicit so that nothing else in the process can silently change our semantics).
    rdflib_sparql.SPARQL_DEFAULT_GRAPH_UNION = True
    # SERVICE would issue HTTP requests from inside rule / SHACL-SPARQL evaluation.
    rdflib_sparql.CUSTOM_EVALS[_SERVICE_GUARD] = _refuse_service
