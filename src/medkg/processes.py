"""How query worker processes are started: forked from a fork server where the platform
has one, else spawned.

A spawned worker is a fresh interpreter that imports medkg (rdflib, owlrl, pydantic, ...)
before it can load a graph: more than half a second of CPU per worker, and again for each
replacement of a killed worker. The fork server is one clean, single-threaded process that
imports the worker code once (:data:`PRELOAD`); each worker is a fork of it, ready in
milliseconds, and never inherits the server's threads or locks.

:func:`start_worker_server` starts the fork server without waiting for it, so that its
imports overlap with the server's own start-up (imports, loading the graph). This module
imports only the standard library: ``medkg serve`` calls it before importing the rest.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.context import ForkServerContext, SpawnContext

#: What the fork server imports before forking workers: the main module (as spawn would,
#: for a script such as the ``medkg`` console script) and the worker code with everything
#: it needs.
PRELOAD = ["__main__", "medkg.workers"]

WorkerContext = ForkServerContext | SpawnContext


def worker_context() -> WorkerContext:
    """The multiprocessing context query workers are started with."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def start_worker_server() -> None:
    """Start the fork server now, without waiting for its imports (nothing to do with
    spawn, or when it runs already)."""
    if isinstance(worker_context(), ForkServerContext):
        from multiprocessing import forkserver

        forkserver.ensure_running()
