"""Writes as values: what a SPARQL Update or a Graph Store request changes in the asserted graphs.

A :class:`Change` is the *effective* difference a write makes to the asserted named graphs:
the graphs it creates and drops, the quads it removes and the quads it adds (removals are
applied first). It is computed against the current asserted state before anything is
committed, so replaying it (from the journal, after a restart) gives exactly the same state.

The asserted state is a pyoxigraph :class:`~pyoxigraph.Store` holding only named graphs:
one per curated source file, ``graph:user`` for writes that name no graph, and any graph a
user created. Its default graph is unused.

How writes address graphs:

- SPARQL Update runs on a *working copy* of the live store: its named graphs are the
  asserted ones plus ``graph:inferred``, and its default graph is the whole closure, so a
  ``WHERE`` clause without ``GRAPH`` matches what a query would. Afterwards the copy is
  compared with the live state: a changed named graph is taken as it is; triples the update
  added to the default graph go to ``graph:user``, triples it removed from the default graph
  are removed from ``graph:user`` (a curated fact is removed by naming its graph).
- Graph Store Protocol requests (``?graph=IRI``, ``?default`` = ``graph:user``) and
  ``medkg load`` replace, add to, or drop one graph (or, for TriG / N-Quads, several).

``graph:inferred`` is computed and the virtual graphs are names of unions: writing into them
is :class:`~medkg.errors.Forbidden` (an update that only *clears* ``graph:inferred``, such as
``CLEAR ALL``, changes the asserted graphs and leaves the recomputation to inference).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyoxigraph as ox

from medkg.errors import Forbidden
from medkg.namespaces import INFERRED_GRAPH, PREFIXES, RESERVED_GRAPHS, USER_GRAPH

_DEFAULT = ox.DefaultGraph()
_USER = ox.NamedNode(USER_GRAPH)
_INFERRED = ox.NamedNode(INFERRED_GRAPH)

OxGraph = ox.NamedNode | ox.BlankNode


@dataclass(frozen=True)
class Change:
    """The effective change of one write: graphs created / dropped, quads removed / added."""

    created: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    removed: tuple[ox.Quad, ...] = ()
    added: tuple[ox.Quad, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.created or self.dropped or self.removed or self.added)

    def summary(self) -> str:
        """``+3 -1 triples, created <g>`` (for logs and CLI output)."""
        parts = [f"+{len(self.added)} -{len(self.removed)} triples"]
        if self.created:
            parts.append("created " + ", ".join(f"<{g}>" for g in self.created))
        if self.dropped:
            parts.append("dropped " + ", ".join(f"<{g}>" for g in self.dropped))
        return "; ".join(parts)


@dataclass(frozen=True)
class Outcome:
    """A committed write: its change and whether the target graph was new (HTTP 201)."""

    change: Change
    created_target: bool = False
    location: str | None = None  # the graph a POST to the graph store created


def apply_change(store: ox.Store, change: Change) -> None:
    """Apply ``change`` to an asserted-state store (drops, removals, creations, additions)."""
    for name in change.dropped:
        graph = ox.NamedNode(name)
        if store.contains_named_graph(graph):
            store.remove_graph(graph)
    for quad in change.removed:
        store.remove(quad)
    for name in change.created:
        store.add_graph(ox.NamedNode(name))
    store.extend(change.added)


def graph_names(store: ox.Store) -> set[str]:
    """The IRIs of the store's named graphs (blank-node graph names are never stored)."""
    return {g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode)}


def graph_quads(store: ox.Store, name: str) -> set[ox.Quad]:
    return set(store.quads_for_pattern(None, None, None, ox.NamedNode(name)))


def check_writable(name: str) -> None:
    """Forbidden for the computed graph and the virtual graph names."""
    if name == INFERRED_GRAPH:
        raise Forbidden(
            "graph:inferred is computed by the reasoner and cannot be written",
            where="write the asserted facts it follows from instead",
        )
    if name in RESERVED_GRAPHS:
        raise Forbidden(
            "this graph name stands for a union of graphs and cannot be written", where=name
        )


# --------------------------------------------------------------------------------------------
# Graph Store operations


def _retarget(quads: Iterable[ox.Quad | ox.Triple], graph: ox.NamedNode) -> list[ox.Quad]:
    return [ox.Quad(q.subject, q.predicate, q.object, graph) for q in quads]


def replace_graph(
    asserted: ox.Store, name: str, triples: Iterable[ox.Quad | ox.Triple]
) -> tuple[Change, bool]:
    """PUT: the graph ``name`` becomes ``triples``. Also says whether the graph is new."""
    check_writable(name)
    graph = ox.NamedNode(name)
    new = set(_retarget(triples, graph))
    old = graph_quads(asserted, name)
    exists = asserted.contains_named_graph(graph)
    change = Change(
        created=() if exists else (name,),
        removed=tuple(sorted(old - new, key=str)),
        added=tuple(sorted(new - old, key=str)),
    )
    return change, not exists


def add_to_graph(
    asserted: ox.Store, name: str, triples: Iterable[ox.Quad | ox.Triple]
) -> tuple[Change, bool]:
    """POST: ``triples`` are added to graph ``name``. Also says whether the graph is new."""
    check_writable(name)
    graph = ox.NamedNode(name)
    exists = asserted.contains_named_graph(graph)
    fresh = {q for q in _retarget(triples, graph) if q not in asserted}
    return Change(created=() if exists else (name,), added=tuple(sorted(fresh, key=str))), (
        not exists
    )


def drop_graph(asserted: ox.Store, name: str) -> Change:
    """DELETE: graph ``name`` and its triples go (the caller checks that it exists)."""
    check_writable(name)
    return Change(dropped=(name,), removed=tuple(sorted(graph_quads(asserted, name), key=str)))


def dataset_quads(quads: Iterable[ox.Quad]) -> dict[str, list[ox.Quad]]:
    """Quads of an uploaded dataset (TriG / N-Quads) by graph IRI; the default graph's
    triples go to ``graph:user``."""
    by_graph: dict[str, list[ox.Quad]] = {}
    for quad in quads:
        graph = quad.graph_name
        name = USER_GRAPH if isinstance(graph, ox.DefaultGraph) else graph.value
        by_graph.setdefault(name, []).append(quad)
    return by_graph


def merge(changes: Sequence[Change]) -> Change:
    """Several changes to *different* graphs as one."""
    return Change(
        created=tuple(g for c in changes for g in c.created),
        dropped=tuple(g for c in changes for g in c.dropped),
        removed=tuple(q for c in changes for q in c.removed),
        added=tuple(q for c in changes for q in c.added),
    )


# --------------------------------------------------------------------------------------------
# SPARQL Update


def working_copy(asserted: ox.Store, closure: ox.Store) -> ox.Store:
    """A throwaway store for running an update: the asserted named graphs, graph:inferred,
    and the whole closure as the default graph."""
    work = ox.Store()
    for graph in asserted.named_graphs():
        work.add_graph(graph)
    work.extend(asserted.quads_for_pattern(None, None, None, None))
    work.extend(closure.quads_for_pattern(None, None, None, _INFERRED))
    work.extend(closure.quads_for_pattern(None, None, None, _DEFAULT))
    return work


_MISSING_GRAPH = re.compile(r"^The graph <([^>]*)> does not exist$")
#: How many absent graphs one update may name in CLEAR / DROP / ADD / MOVE / COPY.
MAX_IMPLICIT_GRAPHS = 100


def run_update(
    asserted: ox.Store, closure: ox.Store, update: str, base_iri: str | None = None
) -> Change:
    """The change ``update`` makes. Raises SyntaxError/OSError/RuntimeError from pyoxigraph
    (the caller maps them) and Forbidden for writes into graph:inferred or a virtual graph.
    The live stores are not touched.

    A graph that does not exist counts as an empty graph (as in most SPARQL stores, and as
    the W3C protocol tests expect of ``CLEAR GRAPH``): pyoxigraph's "graph does not exist"
    error makes the update run again with that graph present but empty; it is not created
    unless the update puts something in it.
    """
    implicit: set[str] = set()
    while True:
        work = working_copy(asserted, closure)
        for name in implicit:
            work.add_graph(ox.NamedNode(name))
        try:
            work.update(update, base_iri=base_iri, prefixes=PREFIXES)
        except RuntimeError as exc:
            match = _MISSING_GRAPH.match(str(exc))
            if match is None or len(implicit) >= MAX_IMPLICIT_GRAPHS:
                raise
            implicit.add(match.group(1))
            continue
        break
    for name in implicit:
        graph = ox.NamedNode(name)
        if (
            work.contains_named_graph(graph)
            and next(iter(work.quads_for_pattern(None, None, None, graph)), None) is None
        ):
            work.remove_graph(graph)
    return diff_working_copy(asserted, closure, work)


def diff_working_copy(asserted: ox.Store, closure: ox.Store, work: ox.Store) -> Change:
    """What an update did to ``work`` (see :func:`working_copy`), as a Change of the
    asserted graphs."""
    before = graph_names(asserted)
    after = graph_names(work) - {INFERRED_GRAPH}
    for name in sorted(after & RESERVED_GRAPHS):
        check_writable(name)
    new_inferred = set(work.quads_for_pattern(None, None, None, _INFERRED))
    if new_inferred - set(closure.quads_for_pattern(None, None, None, _INFERRED)):
        check_writable(INFERRED_GRAPH)

    removed: set[ox.Quad] = set()
    added: set[ox.Quad] = set()
    for name in before | after:
        old = graph_quads(asserted, name)
        new = graph_quads(work, name) if name in after else set()
        removed |= old - new
        added |= new - old

    old_default = {
        ox.Triple(q.subject, q.predicate, q.object)
        for q in closure.quads_for_pattern(None, None, None, _DEFAULT)
    }
    new_default = {
        ox.Triple(q.subject, q.predicate, q.object)
        for q in work.quads_for_pattern(None, None, None, _DEFAULT)
    }
    user_after = USER_GRAPH in after
    for triple in new_default - old_default:
        quad = ox.Quad(triple.subject, triple.predicate, triple.object, _USER)
        if quad not in asserted or quad in removed:
            added.add(quad)
            removed.discard(quad)
    for triple in old_default - new_default:
        quad = ox.Quad(triple.subject, triple.predicate, triple.object, _USER)
        if quad in asserted or quad in added:
            removed.add(quad)
            added.discard(quad)
    removed = {q for q in removed if q in asserted}
    added = {q for q in added if q not in asserted}
    created = sorted(after - before)
    dropped = sorted(before - after)
    if any(q.graph_name == _USER for q in added) and USER_GRAPH not in before | set(created):
        created.append(USER_GRAPH)
    if USER_GRAPH in dropped and (user_after or any(q.graph_name == _USER for q in added)):
        dropped.remove(USER_GRAPH)
    return Change(
        created=tuple(created),
        dropped=tuple(dropped),
        removed=tuple(sorted(removed, key=str)),
        added=tuple(sorted(added, key=str)),
    )
