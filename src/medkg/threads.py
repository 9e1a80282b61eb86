"""Calls on a thread with a large stack, with an optional time limit.

pyoxigraph parses and evaluates a query recursively on the calling thread. Long chains
(``!!!!...``, ``a && b && ...``, ``{...} UNION {...} UNION ...``) of a few thousand links
overflow a default 8 MiB stack and kill the whole process. On a 256 MiB stack the same
chains need far more text than a request may carry (see ``max_query_bytes``). The stack is
virtual memory: only the pages a call touches are ever committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar, TypeVarTuple

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

LARGE_STACK_BYTES = 256 * 1024 * 1024
_STACK_SIZE_LOCK = threading.Lock()  # threading.stack_size() is process-wide


def call_with_large_stack(fn: Callable[[*Ts], T], *args: *Ts, timeout: float | None = None) -> T:
    """``fn(*args)`` on a new daemon thread with a large stack; its result or its exception.

    Raises TimeoutError if ``fn`` has not returned after ``timeout`` seconds. A thread
    cannot be stopped: it then runs on, and its outcome is dropped.
    """
    future: Future[T] = Future()

    def target() -> None:
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # handed over to the caller, who re-raises it
            future.set_exception(exc)

    _start_large(threading.Thread(target=target, name="medkg-query", daemon=True))
    return future.result(timeout)


def _start_large(thread: threading.Thread) -> None:
    """Start ``thread`` with a LARGE_STACK_BYTES stack (the setting is process-wide, so it
    is put back at once, under a lock)."""
    with _STACK_SIZE_LOCK:
        previous = threading.stack_size(LARGE_STACK_BYTES)
        try:
            thread.start()
        finally:
            threading.stack_size(previous)


def run_with_large_stack(fn: Callable[[*Ts], None], *args: *Ts) -> None:
    """``fn(*args)`` on a new thread with a large stack, waiting for it to return: for a
    whole loop of calls (a query worker's), so no call pays a hand-over between threads.
    An exception ``fn`` raises is re-raised here."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            fn(*args)
        except BaseException as exc:  # handed over to the caller, who re-raises it
            failure.append(exc)

    thread = threading.Thread(target=target, name="medkg-query", daemon=True)
    _start_large(thread)
    thread.join()
    if failure:
        raise failure[0]
