"""The HTTP SPARQL 1.1 endpoint: ``create_app(settings)`` and its query engines.

The names below are imported on first use, so that importing a light submodule (the query
engines) does not import the web framework: ``medkg serve`` imports FastAPI while it
assembles the graph's store (see :func:`medkg.cli.serve`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medkg.web.app import create_app
    from medkg.web.engine import LocalEngine, QueryEngine, build_engine

__all__ = ["LocalEngine", "QueryEngine", "build_engine", "create_app"]

_HOMES = {
    "create_app": "medkg.web.app",
    "LocalEngine": "medkg.web.engine",
    "QueryEngine": "medkg.web.engine",
    "build_engine": "medkg.web.engine",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
