"""No outbound access, enforced: a process-wide audit hook (:func:`sys.addaudithook`).

medkg refuses every feature that fetches (``SERVICE``, ``LOAD``, ``FROM <http...>``, remote
JSON-LD contexts, ``owl:imports``) before a parser sees it. This module is the second
line: code that evaluates a query, parses an upload or reasons over user data runs inside
:func:`sandboxed`, and there the audit hook refuses

- every network connection and name lookup (``socket.connect``, ``socket.getaddrinfo``,
  ``urllib.Request``, ``http.client.connect``), loopback included;
- opening a file outside the allowed directories (the project's resources, the cache and
  store directories, and Python's own installation, for lazy imports).

The refusal is :class:`~medkg.errors.Forbidden`, raised before the connection or the open
happens. Outside :func:`sandboxed` the hook does nothing, so the server's own work (its
listening socket, its files) is unaffected. Audit hooks cannot be removed; :func:`install`
adds the hook once per process and only the allowed directories can be extended.

Code in native extensions (pyoxigraph's Rust) is not audited; it is covered by the first
line (pyoxigraph only reaches the network for ``SERVICE``, which is refused or allow-listed).
"""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from medkg.config import Resources
from medkg.errors import Forbidden

_ACTIVE: ContextVar[bool] = ContextVar("medkg_sandboxed", default=False)
_LOCK = threading.Lock()
_ALLOWED: list[str] = []
_INSTALLED = False
_NETWORK_EVENTS = frozenset(
    {"socket.connect", "socket.getaddrinfo", "urllib.Request", "http.client.connect"}
)


def _python_roots() -> list[str]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    roots.update(p for p in sys.path if p and os.path.isdir(p))
    return sorted(os.path.realpath(r) for r in roots)


def _within(path: str, roots: Iterable[str]) -> bool:
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root + os.sep) for root in roots)


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _ACTIVE.get():
        return
    if event in _NETWORK_EVENTS:
        raise Forbidden(
            "outbound access refused: medkg never connects anywhere while reading data",
            where=event,
        )
    if event == "open" and args and isinstance(args[0], str | bytes | os.PathLike):
        target = os.fsdecode(args[0])
        if not _within(target, _ALLOWED):
            raise Forbidden("file access refused outside medkg's directories", where=target)


def resource_dirs(resources: Resources) -> list[Path]:
    """The project directories a process reads: ontology, data and (if any) queries."""
    dirs = [resources.ontology_dir, resources.data_dir]
    return dirs if resources.queries_dir is None else [*dirs, resources.queries_dir]


def install(allowed: Iterable[Path | str] = ()) -> None:
    """Add the audit hook (once per process) and allow files under ``allowed``."""
    global _INSTALLED
    with _LOCK:
        for root in [*_python_roots(), *(str(a) for a in allowed)]:
            real = os.path.realpath(root)
            if real not in _ALLOWED:
                _ALLOWED.append(real)
        if not _INSTALLED:
            sys.addaudithook(_hook)
            _INSTALLED = True


@contextmanager
def sandboxed() -> Iterator[None]:
    """Run the body with outbound access refused (see the module docstring). A no-op
    until :func:`install` was called in this process."""
    token = _ACTIVE.set(True)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
