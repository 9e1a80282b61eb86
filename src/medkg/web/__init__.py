"""The HTTP SPARQL 1.1 endpoint: ``create_app(settings)`` and its query engines."""

from medkg.web.app import create_app
from medkg.web.engine import LocalEngine, QueryEngine, build_engine

__all__ = ["LocalEngine", "QueryEngine", "build_engine", "create_app"]
