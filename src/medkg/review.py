"""Reviewing a store directory: its journal, and its changes as files a curator can diff.

The curated files stay the reviewed source. :func:`export_changes` writes what users
changed since the store was created, for a curator to review and fold back into ``data/``:

- ``<graph>.ttl`` for every graph whose content changed: its whole current content, sorted,
  with the project's prefixes (a deleted graph gets no file; it is listed in removed.nq);
- ``added.nq`` and ``removed.nq``: every quad added or removed, against the store's base.

Reading never takes the store's lock, so it works beside a running server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox

from medkg.changes import graph_names, graph_quads
from medkg.errors import StorageError
from medkg.journal import Entry, Journal
from medkg.namespaces import GRAPH_BASE, PREFIXES
from medkg.storage import JOURNAL, StoreDirectory


def read_journal(path: Path) -> Iterator[Entry]:
    """The committed writes of the store at ``path``, in order."""
    if not StoreDirectory.exists(path):
        raise StorageError("no store in this directory", where=str(path))
    journal = Journal(path / JOURNAL)
    if journal.path.exists():
        yield from journal.entries()


def graph_file_name(iri: str) -> str:
    """A file name for a graph: its stem under the project's graph base, else the IRI with
    unsafe characters replaced."""
    name = iri[len(GRAPH_BASE) :] if iri.startswith(GRAPH_BASE) else iri
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") + ".ttl"


def _write_sorted(path: Path, quads: list[ox.Quad], syntax: ox.RdfFormat) -> Path:
    items: list[ox.Quad] | list[ox.Triple] = sorted(quads, key=str)
    prefixes = None
    if syntax is ox.RdfFormat.TURTLE:
        items = [ox.Triple(q.subject, q.predicate, q.object) for q in items]
        prefixes = PREFIXES
    path.write_bytes(ox.serialize(items, format=syntax, prefixes=prefixes) or b"")
    return path


def export_changes(store_dir: Path, output: Path) -> list[Path]:
    """Write the review files (see the module docstring) into ``output``; their paths."""
    base = StoreDirectory.read_base(store_dir)
    current, _state = StoreDirectory.read(store_dir)
    output.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    added: list[ox.Quad] = []
    removed: list[ox.Quad] = []
    for name in sorted(graph_names(base) | graph_names(current)):
        before, after = graph_quads(base, name), graph_quads(current, name)
        if before == after:
            continue
        added.extend(after - before)
        removed.extend(before - after)
        if current.contains_named_graph(ox.NamedNode(name)):
            target = output / graph_file_name(name)
            written.append(_write_sorted(target, list(after), ox.RdfFormat.TURTLE))
    written.append(_write_sorted(output / "added.nq", added, ox.RdfFormat.N_QUADS))
    written.append(_write_sorted(output / "removed.nq", removed, ox.RdfFormat.N_QUADS))
    return written
