"""Join-order hints for pyoxigraph, from the graph's own cardinalities.

pyoxigraph (0.5) plans a basic graph pattern greedily from estimates that know nothing of
the data: a pattern's estimate depends only on which of its positions are bound. Patterns
with the same shape (``?x a ub:Student`` and ``?y a ub:Faculty``; ``?x ub:advisor ?y`` and
``?x ub:takesCourse ?z``) tie, and a tie goes to the pattern written first. So the order
a query is written in picks among tied plans, and a bad pick costs a lot: LUBM query 2
takes 24 ms as written and 0.3 ms with its patterns in order of size (a 7,790-student
scan against a 15-department one), query 9 37 ms against 20 ms.

medkg therefore writes the triple patterns of each group that holds nothing else in
increasing order of their estimated number of matches (:func:`order_patterns`, on
:func:`medkg.lexer.reorder_flat_groups`): what is written first wins a tie, and the data
says which pattern is smaller. The solutions are the same (a basic graph pattern is a set
of patterns); only the order they come out in may differ, which SPARQL leaves open
without ``ORDER BY``. Estimates come from :class:`Cardinalities`, measured once per
version of the graph on the closure (two ``GROUP BY`` queries):

==========================================  ==========================================
pattern                                     estimate
==========================================  ==========================================
``?s <p> ?o``                               triples with predicate ``p``
``?s rdf:type <C>``                         instances of ``C``
``<s> <p> ?o``                              triples of ``p`` per distinct subject
``?s <p> <o>``                              triples of ``p`` per distinct object
``<s> <p> <o>``                             at most 1
a predicate the graph does not use          0 (the whole group matches nothing)
a variable predicate, a path, a list        every triple (last: nothing is known)
==========================================  ==========================================

::

    KnowledgeGraph.evaluate ──> Planner.ready() ──> Cardinalities (per graph version)
            │                                             │
            └──> order_patterns(sparql, cardinalities) <──┘ ──> pyoxigraph
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

import pyoxigraph as ox

from medkg.lexer import (
    REMEMBERED_CHARS,
    declared_prefixes,
    pattern_terms,
    reorder_flat_groups,
)
from medkg.namespaces import PREFIXES, RDF_NS

RDF_TYPE = RDF_NS + "type"

_PREDICATES = (
    "SELECT ?p (COUNT(*) AS ?n) (COUNT(DISTINCT ?s) AS ?subjects) "
    "(COUNT(DISTINCT ?o) AS ?objects) WHERE { ?s ?p ?o } GROUP BY ?p"
)
_CLASSES = f"SELECT ?c (COUNT(*) AS ?n) WHERE {{ ?s <{RDF_TYPE}> ?c }} GROUP BY ?c"


@dataclass(frozen=True)
class PredicateCount:
    """How often a predicate is used, and on how many distinct subjects and objects."""

    triples: int
    subjects: int
    objects: int


@dataclass(frozen=True)
class Cardinalities:
    """The sizes the estimates rest on: per predicate, per class, and in all."""

    total: int
    predicates: Mapping[str, PredicateCount]
    classes: Mapping[str, int]

    @classmethod
    def measure(cls, store: ox.Store) -> Cardinalities:
        """The cardinalities of ``store``'s default graph."""
        predicates: dict[str, PredicateCount] = {}
        for row in _solutions(store, _PREDICATES):
            name, n, subjects, objects = row[0], row[1], row[2], row[3]
            if isinstance(name, ox.NamedNode) and isinstance(n, ox.Literal):
                predicates[name.value] = PredicateCount(
                    int(n.value), int(_value(subjects)), int(_value(objects))
                )
        classes = {
            row[0].value: int(_value(row[1]))
            for row in _solutions(store, _CLASSES)
            if isinstance(row[0], ox.NamedNode)
        }
        total = sum(p.triples for p in predicates.values())
        return cls(total, predicates, classes)

    def estimate(self, pattern: str, prefixes: Mapping[str, str]) -> float:
        """The estimated number of triples matching one triple pattern (see the table in
        the module docstring); ``prefixes`` resolve its prefixed names."""
        terms = pattern_terms(pattern)
        if len(terms) != 3:
            return float(self.total)  # a path, an object list, a typed or tagged literal
        subject, predicate, object_ = terms
        p = _iri(predicate, prefixes)
        if p is None:
            return float(self.total)
        count = self.predicates.get(p)
        if count is None:
            return 0.0  # no triple has this predicate: nothing matches
        s_bound, o_bound = _is_constant(subject), _is_constant(object_)
        if s_bound and o_bound:
            return min(1.0, float(count.triples))
        if p == RDF_TYPE and o_bound:
            cls = _iri(object_, prefixes)
            return float(self.classes.get(cls, 0)) if cls is not None else float(count.triples)
        if s_bound:
            return count.triples / max(count.subjects, 1)
        if o_bound:
            return count.triples / max(count.objects, 1)
        return float(count.triples)


def _solutions(store: ox.Store, query: str) -> list[ox.QuerySolution]:
    result = store.query(query)
    assert isinstance(result, ox.QuerySolutions)
    return list(result)


def _value(term: object) -> str:
    return term.value if isinstance(term, ox.Literal) else "0"


def _is_constant(term: str) -> bool:
    return not term.startswith(("?", "$"))


def _iri(term: str, prefixes: Mapping[str, str]) -> str | None:
    """The IRI a term names; None for variables, literals and what cannot be resolved."""
    if term == "a":
        return RDF_TYPE
    if term.startswith("<") and term.endswith(">"):
        iri = term[1:-1]
        return iri if ":" in iri else None  # relative IRIs depend on BASE: unknown here
    if term.startswith(("?", "$", '"', "'", "_:")) or ":" not in term:
        return None
    prefix, _, local = term.partition(":")
    namespace = prefixes.get(prefix)
    return None if namespace is None or "\\" in local else namespace + local


def order_patterns(sparql: str, cardinalities: Cardinalities) -> str:
    """``sparql`` with each group of plain triple patterns written smallest estimate first
    (``sparql`` itself when nothing moves)."""
    if "{" not in sparql:
        return sparql
    prefixes = declared_prefixes(sparql, PREFIXES)
    return reorder_flat_groups(sparql, lambda p: cardinalities.estimate(p, prefixes))


class Planner:
    """The cardinalities of one version of the graph, measured once.

    :meth:`ready` measures them on its first call (the first query pays, about 0.5 µs per
    closure triple) unless :meth:`start` already runs that in a background thread, in
    which case queries go unordered, never waiting, until it is done.
    """

    #: Queries whose ordered text is remembered (those up to the lexer's
    #: ``REMEMBERED_CHARS``): a service answers the same few queries again and again.
    REMEMBERED = 512

    def __init__(self, store: ox.Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._cardinalities: Cardinalities | None = None
        self._measuring = False
        self._ordered: dict[str, str] = {}

    def _measure(self) -> None:
        cardinalities = Cardinalities.measure(self._store)
        with self._lock:
            self._cardinalities = cardinalities
            self._measuring = False

    def start(self) -> None:
        """Measure in a background thread (at load, so that no query waits for it)."""
        with self._lock:
            if self._cardinalities is not None or self._measuring:
                return
            self._measuring = True
        threading.Thread(target=self._measure, daemon=True, name="medkg-planner").start()

    def order(self, sparql: str) -> str:
        """``sparql`` with its groups of triple patterns ordered (:func:`order_patterns`),
        or as it is while the cardinalities are not measured yet."""
        ordered = self._ordered.get(sparql)
        if ordered is not None:
            return ordered
        cardinalities = self.ready()
        if cardinalities is None:
            return sparql
        ordered = order_patterns(sparql, cardinalities)
        if len(sparql) <= REMEMBERED_CHARS:
            with self._lock:  # queries may run on several threads (the in-process engine)
                if len(self._ordered) >= self.REMEMBERED:
                    self._ordered.pop(next(iter(self._ordered)), None)  # the oldest
                self._ordered[sparql] = ordered
        return ordered

    def ready(self) -> Cardinalities | None:
        """The cardinalities; measured now on first use, None while a background
        measurement runs."""
        with self._lock:
            if self._cardinalities is not None or self._measuring:
                return self._cardinalities
            self._measuring = True
        self._measure()
        return self._cardinalities


__all__ = ["Cardinalities", "Planner", "PredicateCount", "order_patterns"]
