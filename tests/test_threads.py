"""Large-stack threads: pyoxigraph parses and evaluates recursively on the calling thread,
so queries run on a thread whose stack a long chain in the query text cannot overflow."""

from __future__ import annotations

import subprocess
import sys
import threading

import pyoxigraph as ox
import pytest

from medkg.threads import LargeStackThread, call_with_large_stack

DEEP = "ASK { FILTER(" + "!" * 10_000 + "true) }"


def _ask(query: str) -> bool:
    return bool(ox.Store().query(query))


def test_a_deep_query_kills_a_default_thread() -> None:
    """The control: the same query on a thread with the default stack kills the process."""
    code = (
        "import threading, pyoxigraph as ox\n"
        f"t = threading.Thread(target=lambda: ox.Store().query({DEEP!r})); t.start(); t.join()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode != 0


def test_a_deep_query_runs_on_a_large_stack() -> None:
    assert call_with_large_stack(_ask, DEEP) is True
    assert LargeStackThread().call(_ask, DEEP) is True


def test_the_long_lived_thread_runs_every_call_on_one_thread_and_reraises() -> None:
    runner = LargeStackThread()
    first = runner.call(threading.get_ident)
    assert first != threading.get_ident()
    with pytest.raises(ZeroDivisionError):
        runner.call(lambda: 1 / 0)
    assert runner.call(threading.get_ident) == first  # an exception does not end it
