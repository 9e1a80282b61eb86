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

pyoxigraph joins the patterns of a group by nested loops (an index lookup per solution)
in the order its planner picks, and that is slow where a group is a cycle: in LUBM query
9 the last of advisor, teacherOf and takesCourse checks each of thousands of solutions
with a lookup, where a hash join with one scan of the 1,627 teacherOf triples costs far
less (20 ms against 12 ms). So a group that is a whole ``WHERE``
clause of plain triple patterns (at most :data:`MOST_PLANNED`, matching at least
:data:`PLANNED_FROM` triples between them) is also planned with a cost model
(:func:`plan_group`): left-deep plans over every subset of its patterns, each join a
nested loop or a hash join, rows estimated from the same cardinalities with the usual
containment assumption (of two value sets, the smaller lies in the larger). When the best
plan with a hash join is :data:`HASH_GAIN` times cheaper than the best plan of nested
loops alone, the group is written as that plan (:func:`write_plan`): hash joins as joins
of ``SELECT *`` subqueries, which pyoxigraph neither merges nor reorders, nested loops
after them in a ``LATERAL`` group, class checks last. Any other group is only ordered.

::

    KnowledgeGraph.evaluate ──> Planner.ready() ──> Cardinalities (per graph version)
            │                                             │
            └──> order_patterns(sparql, cardinalities) <──┘ ──> pyoxigraph
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import pyoxigraph as ox

from medkg.lexer import (
    REMEMBERED_CHARS,
    declared_prefixes,
    pattern_terms,
    rewrite_flat_groups,
    sorted_body,
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


# --------------------------------------------------------------------------------------------
# Join plans


#: The cost model's units (about a microsecond in pyoxigraph's in-memory store): an index
#: lookup per solution in a nested-loop join, a triple scanned for a hash join, a
#: solution the hash join matches against the other side, and a solution produced.
LOOKUP, SCAN, PROBE, ROW = 1.0, 0.4, 0.2, 0.3
#: How much cheaper (in the model) a plan with hash joins must be than the best plan of
#: nested loops alone before a group is rewritten as one.
HASH_GAIN = 1.3
#: Groups with more patterns are only ordered (the search visits every subset: about
#: 2.5 ms for 6 patterns that share one variable, 17 ms for 8).
MOST_PLANNED = 6
#: Groups whose patterns match fewer triples than this between them are only ordered:
#: however they are joined, they cost less than planning them would.
PLANNED_FROM = 10_000


@dataclass(frozen=True)
class _Pattern:
    """One triple pattern as the planner sees it: its text and, per position, a variable
    name or None (a constant), with the sizes of the domains the position ranges over."""

    text: str
    variables: tuple[str | None, str | None]  # subject, object
    domains: tuple[float, float]  # distinct subjects, distinct objects
    triples: float  # triples with this predicate (instances of the class for ``a C``)
    scanned: float  # triples matching it with its variables free
    is_class: bool = False  # ``?x a C``: instances of a class

    def matches(self, bound: Mapping[str, float]) -> float:
        """Estimated matches per solution that binds ``bound`` (variable: distinct values),
        assuming the smaller of two value sets is contained in the larger."""
        n = self.triples
        for variable, domain in zip(self.variables, self.domains, strict=True):
            if variable is None:
                n /= max(domain, 1.0)
            elif variable in bound:
                n /= max(domain, bound[variable], 1.0)
        return n


@dataclass(frozen=True)
class _Step:
    pattern: _Pattern
    hashed: bool  # joined by a hash join on a scan of the pattern, not by index lookups


@dataclass(frozen=True)
class _Plan:
    cost: float
    rows: float
    bound: Mapping[str, float]
    steps: tuple[_Step, ...]


def _planned_pattern(
    pattern: str, cardinalities: Cardinalities, prefixes: Mapping[str, str]
) -> _Pattern | None:
    """The pattern with its sizes; None for what the model does not cover (a variable or
    unknown predicate, a path, a list, one variable twice)."""
    terms = pattern_terms(pattern)
    if len(terms) != 3:
        return None
    subject, predicate, object_ = terms
    p = _iri(predicate, prefixes)
    count = cardinalities.predicates.get(p) if p is not None else None
    if count is None:
        return None
    variables = tuple(t if not _is_constant(t) else None for t in (subject, object_))
    if variables[0] is not None and variables[0] == variables[1]:
        return None
    domains = (float(count.subjects), float(count.objects))
    triples = float(count.triples)
    is_class = p == RDF_TYPE and variables[1] is None
    if is_class:
        cls = _iri(object_, prefixes)
        instances = float(cardinalities.classes.get(cls, 0)) if cls is not None else 0.0
        triples, domains = instances, (instances, 1.0)
    shape = _Pattern(pattern, (variables[0], variables[1]), domains, triples, 0.0, is_class)
    return replace(shape, scanned=shape.matches({}))  # matches with nothing bound


def _extend(plan: _Plan, pattern: _Pattern, hashed: bool) -> _Plan:
    rows = plan.rows * pattern.matches(plan.bound)
    if hashed:
        cost = plan.cost + pattern.scanned * SCAN + plan.rows * PROBE + rows * ROW
    else:
        cost = plan.cost + plan.rows * LOOKUP + rows * ROW
    bound = dict(plan.bound)
    for variable, domain in zip(pattern.variables, pattern.domains, strict=True):
        if variable is not None:
            bound[variable] = max(1.0, min(bound.get(variable, domain), domain, rows))
    return _Plan(cost, rows, bound, (*plan.steps, _Step(pattern, hashed)))


def _best_plan(patterns: list[_Pattern], *, hashing: bool = False) -> _Plan:
    """The cheapest left-deep plan in the model (every subset visited once): each pattern
    after the first shares a variable with those before it where any does."""
    everything = (1 << len(patterns)) - 1
    best: dict[int, _Plan] = {}
    empty = _Plan(0.0, 1.0, {}, ())
    for i, pattern in enumerate(patterns):
        first = _extend(empty, pattern, hashed=False)  # a scan: one lookup, then its triples
        best[1 << i] = _Plan(first.cost + first.rows * SCAN, first.rows, first.bound, first.steps)
    for subset in range(1, everything + 1):
        plan = best.get(subset)
        if plan is None:
            continue
        connected = [
            i for i, p in enumerate(patterns)
            if not subset & (1 << i) and any(v in plan.bound for v in p.variables if v)
        ]  # fmt: skip
        if not connected:
            connected = [i for i in range(len(patterns)) if not subset & (1 << i)]
        for i in connected:
            joined = [False, True] if hashing and patterns[i].variables != (None, None) else [False]
            for hashed in joined:
                candidate = _extend(plan, patterns[i], hashed)
                key = subset | (1 << i)
                if key not in best or candidate.cost < best[key].cost:
                    best[key] = candidate
    return best[everything]


def write_plan(steps: Sequence[tuple[str, bool]]) -> str:
    """A left-deep join plan (triple patterns in join order, each with whether it is joined
    by a hash join; the first is scanned) as a group body pyoxigraph follows: patterns
    joined by nested loops before the first hash join are written in order (its planner
    keeps the order of patterns of equal estimates); a hash join is a join of two
    ``SELECT *`` subqueries, which it neither reorders nor turns into loops; patterns
    joined by nested loops after that go in a ``LATERAL`` group. The same solutions as the
    patterns in one group: each subquery projects every variable, and every variable of
    the left side of a ``LATERAL`` is bound (it is a basic graph pattern's)."""
    text = steps[0][0]
    lateral: list[str] = []
    hashed_yet = False

    def closed() -> str:
        if not lateral:
            return text
        return "{ SELECT * { " + text + " } } LATERAL { " + " . ".join(lateral) + " }"

    for pattern, hashed in steps[1:]:
        if hashed:
            text = "{ SELECT * { " + closed() + " } } { SELECT * { " + pattern + " } }"
            lateral, hashed_yet = [], True
        elif hashed_yet:
            lateral.append(pattern)
        else:
            text += " . " + pattern
    return closed()


def _hash_plan(patterns: list[_Pattern]) -> _Plan | None:
    """The cheapest plan with a hash join, class checks last; None when it has none.

    A class check is ``?x a C`` on a variable another pattern binds. In a plan written
    with subqueries, checks go last (in its ``LATERAL`` group): pyoxigraph's planner puts
    one-variable patterns first in any group, and in a closure a class seldom filters
    the subjects or objects of a property much (they have its domain's or range's class).
    The model still counts their cost and what they filter, at the end."""
    core_variables = {v for p in patterns if not p.is_class for v in p.variables if v}
    checks = [p for p in patterns if p.is_class and p.variables[0] in core_variables]
    core = [p for p in patterns if p not in checks]
    plan = _best_plan(core, hashing=True)
    if not any(step.hashed for step in plan.steps):
        return None
    for check in checks:
        plan = _extend(plan, check, hashed=False)
    return plan


def plan_group(
    patterns: list[str], where: bool, cardinalities: Cardinalities, prefixes: Mapping[str, str]
) -> str | None:
    """A group's patterns rewritten: as a plan with hash joins where the model finds one
    :data:`HASH_GAIN` times cheaper than nested loops alone (a ``WHERE`` clause of plain
    triple patterns only), else smallest estimate first; None when nothing moves."""
    if where and len(patterns) <= MOST_PLANNED:
        planned = [_planned_pattern(p, cardinalities, prefixes) for p in patterns]
        known = [p for p in planned if p is not None]
        if len(known) == len(patterns) and sum(p.scanned for p in known) >= PLANNED_FROM:
            hashed = _hash_plan(known)
            if hashed is not None and hashed.cost * HASH_GAIN <= _best_plan(known).cost:
                return write_plan([(step.pattern.text, step.hashed) for step in hashed.steps])
    return sorted_body(patterns, lambda p: cardinalities.estimate(p, prefixes))


def order_patterns(sparql: str, cardinalities: Cardinalities) -> str:
    """``sparql`` with each group of plain triple patterns planned (:func:`plan_group`)
    (``sparql`` itself when nothing moves)."""
    if "{" not in sparql:
        return sparql
    prefixes = declared_prefixes(sparql, PREFIXES)
    return rewrite_flat_groups(
        sparql, lambda patterns, where: plan_group(patterns, where, cardinalities, prefixes)
    )


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


__all__ = [
    "Cardinalities",
    "Planner",
    "PredicateCount",
    "order_patterns",
    "plan_group",
    "write_plan",
]
