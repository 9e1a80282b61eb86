"""Process-wide safety switches for rdflib, set once, explicitly.

rdflib keeps a few module-level switches that, left at their defaults, let a SPARQL query
fetch remote data (``FROM <http://...>`` loads the IRI; ``SERVICE`` calls an endpoint).
medkg never wants network access while reading, reasoning or validating, so
:func:`configure_rdflib` turns those off. JSON-LD remote ``@context`` loading cannot be
switched off in rdflib; medkg therefore parses JSON-LD input with pyoxigraph, which has no
document loader (see :mod:`medkg.loading`).

Importing rdflib's SPARQL package takes a quarter of a second, and a process that only
serves a cached closure may not need it before its start-up is done. So importing
``medkg`` calls :func:`guard_rdflib`: it sets the switches at once if rdflib's SPARQL
package is already loaded, and otherwise the moment it is loaded, by whoever imports it,
before that import returns. Either way no code in the process sees the package with its
defaults.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

_SERVICE_GUARD = "medkg-no-service"
_SPARQL_PACKAGE = "rdflib.plugins.sparql"
_HOOK_LOCK = threading.Lock()


def _refuse_service(ctx: Any, part: Any) -> Any:
    """rdflib custom evaluation hook: refuse ``SERVICE``; defer everything else."""
    if getattr(part, "name", None) == "ServiceGraphPattern":
        from medkg.errors import InputError

        raise InputError("SPARQL SERVICE (federated query) is disabled in medkg")
    raise NotImplementedError


def _set_switches(rdflib_sparql: Any) -> None:
    # FROM / FROM NAMED must never dereference IRIs.
    rdflib_sparql.SPARQL_LOAD_GRAPHS = False
    # A Dataset's default graph is the union of its named graphs (rdflib's default, made
    # explicit so that nothing else in the process can silently change our semantics).
    rdflib_sparql.SPARQL_DEFAULT_GRAPH_UNION = True
    # SERVICE would issue HTTP requests from inside rule / SHACL-SPARQL evaluation.
    rdflib_sparql.CUSTOM_EVALS[_SERVICE_GUARD] = _refuse_service


def configure_rdflib() -> None:
    """Set rdflib's global switches to safe, explicit values (importing rdflib's SPARQL
    package if needed). Idempotent."""
    import rdflib.plugins.sparql as rdflib_sparql

    _set_switches(rdflib_sparql)


class _SwitchingLoader(importlib.abc.Loader):
    """Runs the real loader of rdflib's SPARQL package, then sets the switches."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _set_switches(module)

    def __getattr__(self, name: str) -> Any:  # get_filename, get_resource_reader, ...
        return getattr(self._loader, name)


class _SwitchOnImport(importlib.abc.MetaPathFinder):
    """Finds rdflib's SPARQL package with the other finders and wraps its loader."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _SPARQL_PACKAGE:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec: importlib.machinery.ModuleSpec | None = finder.find_spec(fullname, path, target)
            if spec is None:
                continue
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _SwitchingLoader(spec.loader)
            return spec
        return None


def guard_rdflib() -> None:
    """Make sure rdflib's switches are set before any code uses its SPARQL package: now if
    the package is loaded, else as soon as it is. Idempotent."""
    with _HOOK_LOCK:
        module = sys.modules.get(_SPARQL_PACKAGE)
        if module is not None:
            _set_switches(module)
            return
        if not any(isinstance(finder, _SwitchOnImport) for finder in sys.meta_path):
            sys.meta_path.insert(0, _SwitchOnImport())
