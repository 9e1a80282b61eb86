"""Large-stack threads: pyoxigraph parses and evaluates recursively on the calling thread,
so queries run on a thread whose stack a long chain in the query text cannot overflow."""

from __future__ import annotations

import subprocess
import sys
import threading

import pyoxigraph as ox
import pytest

from medkg.threads import call_with_large_stack, run_with_large_stack

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
    answers: list[bool] = []
    run_with_large_stack(lambda: answers.append(_ask(DEEP)))
    assert answers == [True]


def test_a_loop_runs_on_another_thread_and_its_exception_is_reraised() -> None:
    seen: list[int] = []
    run_with_large_stack(lambda: seen.append(threading.get_ident()))
    assert seen and seen[0] != threading.get_ident()
    with pytest.raises(ZeroDivisionError):
        run_with_large_stack(lambda: print(1 / 0))
