"""OWL 2 RL forward chaining over integer-encoded terms, rule for rule as owlrl applies it.

The engine behind the ``fast`` reasoner (:mod:`medkg.reasoner`). It computes the same
closure as ``owlrl.DeductiveClosure(OWLRL_Semantics, axiomatic_triples=False,
datatype_axioms=False)``, including owlrl's deviations from the OWL 2 RL specification,
but in time proportional to the work done instead of "every rule on every triple, again
and again until nothing changes".

Design
------
- **Terms** are interned as integers (:class:`TermTable`); the vocabulary the rules read
  gets the first ids, so rules compare plain ints.
- **Store**: two hash indexes, ``pso[p][s] -> {o}`` and ``pos[p][o] -> {s}``, plus ``log``,
  every triple in the order it was added. Generalized RDF is allowed, as in owlrl: literals
  may be subjects (a literal predicate is refused, as owlrl refuses it).
- **Evaluation** is a worklist form of semi-naive evaluation: ``log`` doubles as the queue.
  Each triple is processed exactly once, and processing it fires every rule instance in
  which it fills *any* premise, the other premises looked up in the store. Conclusions are
  buffered and written to the store after the triple is done (so no index changes while
  rules iterate it); the new ones join the queue. Every rule instance fires: when its last
  premise is processed, the others are already in the store.
- **Plans**: what the plain rules derive from a triple of property ``p`` (prp-dom, prp-rng,
  prp-spo1, prp-eqp1/2, prp-inv1/2) and from ``x rdf:type c`` (cax-sco, cax-eqc1/2, cls-int2,
  cls-uni) is looked up once per property and class and kept until a triple of an axiom
  those lookups read is added; the other rules are checked case by case, and only for the
  properties and classes they can apply to.
- **Consistency rules** (the ones that only report a clash) are evaluated once over the
  finished closure, with owlrl's messages (:meth:`Owl2RlEngine.clashes`); owlrl re-checks
  them on every cycle, but a closure only grows, so the final check finds the same set.
- **One-time rules** (owlrl's ``one_time_rules``: cls-thing, cls-nothing1, the dt-* typing
  of literals with owlrl's own datatype tables) run at the start of every pass, as owlrl
  runs them at the start of every ``expand``.

Where the result is noise to medkg anyway (see :func:`medkg.inference.is_noise`), two
owlrl rules are not materialized: eq-ref (``x owl:sameAs x`` for every term; its only
non-noise effect, the sameAs/differentFrom clash on ``x owl:differentFrom x``, is checked
directly) and prp-ap (typing the nine built-in annotation properties).

Rules implemented (names from the OWL 2 RL specification, section 4.3)
----------------------------------------------------------------------

=============  ==========================================================================
group          rules
=============  ==========================================================================
equality       eq-sym, eq-trans, eq-rep-s, eq-rep-p, eq-rep-o, eq-diff1, eq-diff2,
               eq-diff3 (eq-ref: see above)
properties     prp-dom, prp-rng, prp-fp, prp-ifp, prp-irp, prp-symp, prp-asyp, prp-trp,
               prp-spo1, prp-spo2 (property chains), prp-eqp1, prp-eqp2, prp-pdw,
               prp-adp, prp-inv1, prp-inv2, prp-key, prp-npa1, prp-npa2
classes        cls-thing, cls-nothing1, cls-nothing2, cls-int1, cls-int2, cls-uni,
               cls-com, cls-svf1, cls-svf2, cls-avf, cls-hv1, cls-hv2, cls-maxc1,
               cls-maxc2, cls-maxqc1..4, cls-oo
class axioms   cax-sco, cax-eqc1, cax-eqc2, cax-dw, cax-adc
schema         scm-cls, scm-sco, scm-eqc1, scm-eqc2, scm-op, scm-dp, scm-spo, scm-eqp1,
               scm-eqp2, scm-dom1, scm-dom2, scm-rng1, scm-rng2, scm-hv, scm-svf1,
               scm-svf2, scm-avf1, scm-avf2, scm-int, scm-uni
datatypes      dt-type2, dt-not-type (lexical form check), owlrl's datatype subsumption
               and disjointness triples for the datatypes in use
=============  ==========================================================================

owlrl's behaviour is kept where it differs from the specification: prp-key compares only
the first n-1 key properties (so a one-property key makes every two keyed instances the
same), prp-adp and eq-diff2/3 skip the last list member in the second position, cls-avf
types literals, cls-maxc2/cls-maxqc3 equate distinct literals, and cls-com's message names
the second class twice. As rdflib's ``Graph.items`` does for owlrl, a list cell with
several ``rdf:first`` or ``rdf:rest`` values (owl:sameAs on list members) is read through
the one added first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from owlrl.AxiomaticTriples import OWLRL_Datatypes_Disjointness
from owlrl.DatatypeHandling import AltXSDToPYTHON
from owlrl.XsdDatatypes import OWL_Datatype_Subsumptions, OWL_RL_Datatypes
from rdflib import BNode, Literal
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.term import Node

Triple = tuple[int, int, int]

#: The vocabulary the rules read; its terms get the ids 0, 1, 2, ... in this order.
VOCABULARY: tuple[Node, ...] = (
    RDF.type,
    RDFS.subClassOf,
    RDFS.subPropertyOf,
    RDFS.domain,
    RDFS.range,
    OWL.equivalentClass,
    OWL.equivalentProperty,
    OWL.inverseOf,
    OWL.sameAs,
    OWL.differentFrom,
    OWL.propertyChainAxiom,
    OWL.intersectionOf,
    OWL.unionOf,
    OWL.oneOf,
    OWL.complementOf,
    OWL.onProperty,
    OWL.onClass,
    OWL.someValuesFrom,
    OWL.allValuesFrom,
    OWL.hasValue,
    OWL.maxCardinality,
    OWL.maxQualifiedCardinality,
    OWL.hasKey,
    OWL.disjointWith,
    OWL.propertyDisjointWith,
    OWL.members,
    OWL.distinctMembers,
    OWL.sourceIndividual,
    OWL.assertionProperty,
    OWL.targetIndividual,
    OWL.targetValue,
    RDF.first,
    RDF.rest,
    OWL.Thing,
    OWL.Nothing,
    OWL.Class,
    OWL.ObjectProperty,
    OWL.DatatypeProperty,
    RDF.Property,
    OWL.FunctionalProperty,
    OWL.InverseFunctionalProperty,
    OWL.SymmetricProperty,
    OWL.TransitiveProperty,
    OWL.IrreflexiveProperty,
    OWL.AsymmetricProperty,
    OWL.AllDifferent,
    OWL.AllDisjointClasses,
    OWL.AllDisjointProperties,
    RDFS.Datatype,
)
(
    TYPE,
    SCO,
    SPO,
    DOMAIN,
    RANGE,
    EQC,
    EQP,
    INV,
    SAME,
    DIFFERENT,
    CHAIN,
    INTER,
    UNION,
    ONE_OF,
    COMPLEMENT,
    ON_PROPERTY,
    ON_CLASS,
    SVF,
    AVF,
    HAS_VALUE,
    MAX_CARD,
    MAX_QCARD,
    HAS_KEY,
    DISJOINT,
    PROP_DISJOINT,
    MEMBERS,
    DISTINCT_MEMBERS,
    SOURCE_INDIVIDUAL,
    ASSERTION_PROPERTY,
    TARGET_INDIVIDUAL,
    TARGET_VALUE,
    FIRST,
    REST,
    THING,
    NOTHING,
    CLASS,
    OBJECT_PROPERTY,
    DATATYPE_PROPERTY,
    PROPERTY,
    FUNCTIONAL,
    INVERSE_FUNCTIONAL,
    SYMMETRIC,
    TRANSITIVE,
    IRREFLEXIVE,
    ASYMMETRIC,
    ALL_DIFFERENT,
    ALL_DISJOINT_CLASSES,
    ALL_DISJOINT_PROPERTIES,
    DATATYPE,
) = range(len(VOCABULARY))

#: Predicates whose triples make up rdf:Lists and the axioms that read them.
_LIST_PREDICATES = frozenset({FIRST, REST, CHAIN, INTER, UNION, ONE_OF, HAS_KEY})
#: The property kinds whose rules :meth:`Owl2RlEngine._property_rules` runs case by case.
_PROPERTY_KINDS = frozenset({SYMMETRIC, TRANSITIVE, FUNCTIONAL, INVERSE_FUNCTIONAL})
#: The classes whose instances :meth:`Owl2RlEngine._on_type` handles case by case.
_SPECIAL_CLASSES = _PROPERTY_KINDS | {CLASS, OBJECT_PROPERTY, DATATYPE_PROPERTY, PROPERTY}
#: Predicates of the axioms the plans of properties and classes are made of.
_PLAN_PREDICATES = _LIST_PREDICATES | {
    DOMAIN,
    RANGE,
    SPO,
    EQP,
    INV,
    ON_PROPERTY,
    SCO,
    EQC,
    SVF,
    ON_CLASS,
}
_PROPERTY_TYPES = frozenset({OBJECT_PROPERTY, DATATYPE_PROPERTY, PROPERTY})
_EMPTY: frozenset[int] = frozenset()

Index = dict[int, dict[int, set[int]]]


class ClassPlan(NamedTuple):
    """What :meth:`Owl2RlEngine._on_type` derives from ``?x rdf:type c`` for one class."""

    types: tuple[int, ...]
    special: bool  # an intersection, restriction, key or schema class: check case by case


class Plan(NamedTuple):
    """What :meth:`Owl2RlEngine._property_rules` derives from a triple of one property."""

    domains: tuple[int, ...]
    ranges: tuple[int, ...]
    supers: tuple[int, ...]  # super-properties and equivalent properties
    inverses: tuple[int, ...]
    special: bool  # a property kind, restriction, chain or key applies: check case by case


class TermTable:
    """RDF terms <-> dense integer ids; the :data:`VOCABULARY` comes first."""

    def __init__(self) -> None:
        self.ids: dict[Node, int] = {}
        self.nodes: list[Node] = []
        self.literals: set[int] = set()
        for node in VOCABULARY:
            self.intern(node)

    def intern(self, node: Node) -> int:
        found = self.ids.get(node)
        if found is None:
            found = self.ids[node] = len(self.nodes)
            self.nodes.append(node)
            if isinstance(node, Literal):
                self.literals.add(found)
        return found

    def cardinality(self, term: int) -> Any:
        """The Python value of a cardinality literal (owlrl compares ``literal.value``)."""
        node = self.nodes[term]
        return node.value if isinstance(node, Literal) else None


class Owl2RlEngine:
    """The store, the rules and the worklist. Use :meth:`add`, then :meth:`run_pass`."""

    def __init__(self, terms: TermTable | None = None) -> None:
        self.terms = terms if terms is not None else TermTable()
        self.pso: Index = {}
        self.pos: Index = {}
        self.log: list[Triple] = []  # every triple in insertion order; also the queue
        self._processed = 0
        self._pending: list[Triple] = []
        self._list_version = 0
        # A list cell's first rdf:first / rdf:rest, the one rdflib's Graph.items reads.
        self._first: dict[int, int] = {}
        self._rest: dict[int, int] = {}
        self._structures_version = -1
        self._intersections: dict[int, list[tuple[int, list[int]]]] = {}
        self._unions: dict[int, list[int]] = {}
        self._chains: dict[int, list[tuple[int, list[int], int]]] = {}
        self._keys: dict[int, list[list[int]]] = {}
        self._keyed_by_property: dict[int, set[int]] = {}
        self._lexical_errors: list[str] = []
        self._asserted_count = 0
        # Per property: what prp-dom/rng/spo1/eqp/inv derive from its triples, and whether
        # it needs the case-by-case rules; dropped whenever an axiom they read is added.
        self._plans: dict[int, Plan] = {}
        self._class_plans: dict[int, ClassPlan] = {}  # the same for instances of a class
        self._handlers: dict[int, Callable[[int, int], None]] = {
            TYPE: self._on_type,
            SCO: self._on_subclass,
            EQC: self._on_equivalent_class,
            SPO: self._on_subproperty,
            EQP: self._on_equivalent_property,
            INV: self._on_inverse,
            DOMAIN: self._on_domain,
            RANGE: self._on_range,
            SAME: self._on_same_as,
            CHAIN: self._on_chain,
            INTER: self._on_intersection,
            UNION: self._on_union,
            ONE_OF: self._on_one_of,
            SVF: self._on_some_values,
            AVF: self._on_all_values,
            HAS_VALUE: self._on_has_value,
            ON_PROPERTY: self._on_restriction_part,
            ON_CLASS: self._on_restriction_part,
            MAX_CARD: self._on_restriction_part,
            MAX_QCARD: self._on_restriction_part,
            HAS_KEY: self._on_has_key,
            FIRST: self._on_list_cell,
            REST: self._on_list_cell,
        }

    # -- the store ---------------------------------------------------------------------

    def objects(self, s: int, p: int) -> Iterable[int]:
        by_s = self.pso.get(p)
        return by_s.get(s, _EMPTY) if by_s is not None else _EMPTY

    def subjects(self, p: int, o: int) -> Iterable[int]:
        by_o = self.pos.get(p)
        return by_o.get(o, _EMPTY) if by_o is not None else _EMPTY

    def has(self, s: int, p: int, o: int) -> bool:
        by_s = self.pso.get(p)
        if by_s is None:
            return False
        found = by_s.get(s)
        return found is not None and o in found

    def pairs(self, p: int) -> Iterator[tuple[int, int]]:
        for s, objects in self.pso.get(p, {}).items():
            for o in objects:
                yield s, o

    def __len__(self) -> int:
        return len(self.log)

    def add(self, triples: Iterable[Triple]) -> int:
        """Put triples into the store (queued for processing); how many were new."""
        before = len(self.log)
        self._pending.extend(triples)
        self._flush()
        return len(self.log) - before

    def _derive(self, s: int, p: int, o: int) -> None:
        self._pending.append((s, p, o))

    def _flush(self) -> None:
        pso, pos, log, literals = self.pso, self.pos, self.log, self.terms.literals
        for triple in self._pending:
            s, p, o = triple
            if p in literals:
                continue
            by_s = pso.get(p)
            if by_s is None:
                by_s = pso[p] = {}
                pos[p] = {}
            objects = by_s.get(s)
            if objects is None:
                by_s[s] = {o}
            elif o in objects:
                continue
            else:
                objects.add(o)
            subjects = pos[p].get(o)
            if subjects is None:
                pos[p][o] = {s}
            else:
                subjects.add(s)
            log.append(triple)
            if p in _PLAN_PREDICATES:
                if self._plans or self._class_plans:
                    self._plans, self._class_plans = {}, {}
                if p in _LIST_PREDICATES:
                    self._list_version += 1
                    if p == FIRST:
                        self._first.setdefault(s, o)
                    elif p == REST:
                        self._rest.setdefault(s, o)
            elif p == TYPE and o in _PROPERTY_KINDS and self._plans:
                self._plans = {}  # a property's kind is no class axiom
        self._pending.clear()

    # -- passes ------------------------------------------------------------------------

    def run_pass(self) -> None:
        """One owlrl ``expand``: the one-time rules, then the rules to a fixpoint."""
        self.add(self.one_time_triples())
        self.saturate()

    def saturate(self) -> None:
        """Process every queued triple: the rules to a fixpoint."""
        log, process = self.log, self._process
        while self._processed < len(log):
            s, p, o = log[self._processed]
            self._processed += 1
            process(s, p, o)
            if self._pending:
                self._flush()

    def one_time_triples(self) -> list[Triple]:
        """What owlrl's ``one_time_rules`` conclude from the current store (not added):
        cls-thing, cls-nothing1 and the dt-* rules; lexical clashes are recorded."""
        self._flush()
        self._derive(THING, TYPE, CLASS)  # cls-thing
        self._derive(NOTHING, TYPE, CLASS)  # cls-nothing1
        self._datatype_rules()
        found, self._pending = self._pending, []
        return found

    def _datatype_rules(self) -> None:
        """owlrl's ``_one_time_rules_datatypes``: literal typing, lexical checks (dt-not-type),
        datatype subsumption and disjointness, over the current store."""
        terms, intern = self.terms, self.terms.intern
        datatypes = {intern(dt) for dt in OWL_RL_Datatypes}
        subsumptions = {
            intern(dt): [intern(sup) for sup in sups]
            for dt, sups in OWL_Datatype_Subsumptions.items()
        }
        implicit: dict[int, int] = {}
        for by_o in self.pos.values():
            for o in by_o:
                if o in terms.literals and o not in implicit:
                    node = terms.nodes[o]
                    assert isinstance(node, Literal)
                    if node.datatype is not None and intern(node.datatype) in datatypes:
                        implicit[o] = intern(node.datatype)
        used = set(implicit.values())
        for literal, datatype in implicit.items():
            self._derive(literal, TYPE, datatype)
            node = terms.nodes[literal]
            assert isinstance(node, Literal)
            try:
                AltXSDToPYTHON.get(node.datatype, lambda v: v)(str(node))
            except ValueError:
                message = (
                    f"Lexical value of the literal '{node}' does not match its datatype "
                    f"({node.datatype})"
                )
                if message not in self._lexical_errors:
                    self._lexical_errors.append(message)
        explicit: defaultdict[int, set[int]] = defaultdict(set)
        for datatype in datatypes:
            for s in self.subjects(TYPE, datatype):
                used.add(datatype)
                if s not in implicit:
                    explicit[s].add(datatype)
        for s, o in list(self.pairs(SAME)):
            if o in implicit:
                explicit[s].add(implicit[o])
            if o in explicit:
                explicit[s].add(o)
            if s in explicit:
                explicit[o].add(s)
        for datatype in datatypes:
            self._derive(datatype, TYPE, DATATYPE)
        for found in explicit.values():
            for datatype in found:
                self._derive(datatype, TYPE, DATATYPE)
        for subject, found in list(explicit.items()):
            for datatype in found:
                self._datatype_supertypes(subject, datatype, subsumptions, used)
        for literal, datatype in implicit.items():
            self._datatype_supertypes(literal, datatype, subsumptions, used)
        for left, predicate, right in OWLRL_Datatypes_Disjointness:
            if intern(left) in used and intern(right) in used:
                self._derive(intern(left), intern(predicate), intern(right))

    def _datatype_supertypes(
        self, node: int, datatype: int, subsumptions: dict[int, list[int]], used: set[int]
    ) -> None:
        for supertype in subsumptions.get(datatype, ()):
            self._derive(node, TYPE, supertype)
            self._derive(supertype, TYPE, DATATYPE)
            used.add(supertype)

    # -- lists and the structures built on them ------------------------------------------

    def items(self, head: int) -> list[int]:
        """The members of the rdf:List at ``head`` (rdflib's ``Graph.items``)."""
        members: list[int] = []
        seen: set[int] = set()
        node: int | None = head
        while node is not None and node not in seen:
            seen.add(node)
            first = self._first.get(node)
            if first is not None:
                members.append(first)
            node = self._rest.get(node)
        return members

    def _structures(self) -> None:
        """(Re)build the list-based lookup tables when a list triple has been added."""
        if self._structures_version == self._list_version:
            return
        self._structures_version = self._list_version
        self._intersections = defaultdict(list)
        for c, head in self.pairs(INTER):
            members = self.items(head)
            for member in set(members):
                self._intersections[member].append((c, members))
        self._unions = defaultdict(list)
        for c, head in self.pairs(UNION):
            for member in set(self.items(head)):
                self._unions[member].append(c)
        self._chains = defaultdict(list)
        for p, head in self.pairs(CHAIN):
            chain = self.items(head)
            for position, link in enumerate(chain):
                self._chains[link].append((p, chain, position))
        self._keys = defaultdict(list)
        self._keyed_by_property = defaultdict(set)
        for c, head in self.pairs(HAS_KEY):
            key = self.items(head)
            if key:
                self._keys[c].append(key)
                for p in key:
                    self._keyed_by_property[p].add(c)

    # -- rules -------------------------------------------------------------------------

    def _process(self, s: int, p: int, o: int) -> None:
        self._property_rules(s, p, o)
        handler = self._handlers.get(p)
        if handler is not None:
            handler(s, o)

    def _plan(self, p: int) -> Plan:
        """What the plain rules derive from a triple ``?x p ?y``: the domains, the ranges,
        the super-properties (prp-spo1), the equivalent properties (prp-eqp1/2) and the
        inverses (prp-inv1/2) of ``p``; and whether the other rules of
        :meth:`_property_rules` (property kinds, restrictions, chains, keys) apply."""
        pso, pos = self.pso, self.pos

        def related(index: Index, axiom: int) -> tuple[int, ...]:
            by_key = index.get(axiom)
            return tuple(by_key.get(p, _EMPTY)) if by_key is not None else ()

        kinds = pso[TYPE].get(p, _EMPTY) if TYPE in pso else _EMPTY
        restrictions = pos[ON_PROPERTY].get(p) if ON_PROPERTY in pos else None
        self._structures()
        return Plan(
            related(pso, DOMAIN),
            related(pso, RANGE),
            related(pso, SPO) + tuple(q for q in related(pso, EQP) + related(pos, EQP) if q != p),
            related(pso, INV) + related(pos, INV),
            bool(kinds & _PROPERTY_KINDS)
            or bool(restrictions)
            or p in self._chains
            or p in self._keyed_by_property,
        )

    def _property_rules(self, x: int, p: int, y: int) -> None:
        """Every rule with a premise ``?x ?p ?y`` whose predicate is a variable: the plain
        ones from ``p``'s :meth:`_plan`, the others case by case; then eq-rep-*."""
        plan = self._plans.get(p)
        if plan is None:
            plan = self._plans[p] = self._plan(p)
        append = self._pending.append
        for c in plan.domains:  # prp-dom
            append((x, TYPE, c))
        for c in plan.ranges:  # prp-rng
            append((y, TYPE, c))
        for q in plan.supers:  # prp-spo1, prp-eqp1/2
            append((x, q, y))
        for q in plan.inverses:  # prp-inv1/2
            append((y, q, x))
        if plan.special:
            self._special_property_rules(x, p, y)
        by_s = self.pso.get(SAME)
        if by_s is not None:  # eq-rep-s, eq-rep-p, eq-rep-o, this triple as the data
            for z in by_s.get(x, _EMPTY):
                append((z, p, y))
            for z in by_s.get(p, _EMPTY):
                append((x, z, y))
            for z in by_s.get(y, _EMPTY):
                append((x, p, z))

    def _special_property_rules(self, x: int, p: int, y: int) -> None:
        """prp-symp/trp/fp/ifp, the restrictions on ``p``, prp-spo2 and prp-key."""
        pso, derive = self.pso, self._derive
        kinds = pso[TYPE].get(p) if TYPE in pso else None
        if kinds:
            if SYMMETRIC in kinds:  # prp-symp
                derive(y, p, x)
            if TRANSITIVE in kinds:  # prp-trp, this triple first or second
                for z in self.objects(y, p):
                    derive(x, p, z)
                for w in self.subjects(p, x):
                    derive(w, p, y)
            if FUNCTIONAL in kinds:  # prp-fp
                self._equate_all(y, self.objects(x, p))
            if INVERSE_FUNCTIONAL in kinds:  # prp-ifp
                self._equate_all(x, self.subjects(p, y))
        by_o = self.pos.get(ON_PROPERTY)
        if by_o is not None:
            restrictions = by_o.get(p)
            if restrictions:
                self._restrictions_on(x, p, y, restrictions)
        self._structures()
        for q, chain, position in self._chains.get(p, ()):  # prp-spo2
            self._chain_through(q, chain, position, x, y)
        for c in self._keyed_by_property.get(p, ()):  # prp-key
            if self.has(x, TYPE, c):
                self._key_instance(c, x)

    def _equate_all(self, y: int, others: Iterable[int]) -> None:
        for other in others:
            if other != y:
                self._derive(y, SAME, other)
                self._derive(other, SAME, y)

    def _restrictions_on(self, x: int, p: int, y: int, restrictions: Iterable[int]) -> None:
        """cls-svf1/2, cls-avf, cls-hv2, cls-maxc2, cls-maxqc3/4 for the data ``x p y``."""
        pso, derive, terms = self.pso, self._derive, self.terms
        for r in restrictions:
            for filler in self.objects(r, SVF):
                if filler == THING or self.has(y, TYPE, filler):
                    derive(x, TYPE, r)
            if self.has(r, HAS_VALUE, y):
                derive(x, TYPE, r)
            if not self.has(x, TYPE, r):
                continue
            for filler in self.objects(r, AVF):
                derive(y, TYPE, filler)
            if any(terms.cardinality(n) == 1 for n in self.objects(r, MAX_CARD)):
                self._equate_all(y, self.objects(x, p))
            if MAX_QCARD in pso and any(
                terms.cardinality(n) == 1 for n in self.objects(r, MAX_QCARD)
            ):
                for cc in self.objects(r, ON_CLASS):
                    if cc == THING:
                        self._equate_all(y, self.objects(x, p))
                    elif self.has(y, TYPE, cc):
                        others = [z for z in self.objects(x, p) if self.has(z, TYPE, cc)]
                        self._equate_all(y, others)

    def _class_plan(self, c: int) -> ClassPlan:
        """The classes every instance of ``c`` belongs to by cax-sco, cax-eqc1/2, cls-int2
        and cls-uni; and whether the other rules of :meth:`_on_type` apply to them."""
        pso, pos = self.pso, self.pos

        def related(index: Index, axiom: int) -> tuple[int, ...]:
            by_key = index.get(axiom)
            return tuple(by_key.get(c, _EMPTY)) if by_key is not None else ()

        self._structures()
        types = [q for q in related(pso, SCO) + related(pso, EQC) + related(pos, EQC) if q != c]
        for head in self.objects(c, INTER):
            types.extend(self.items(head))
        types.extend(self._unions.get(c, ()))
        return ClassPlan(
            tuple(types),
            c in self._intersections
            or bool(related(pos, SVF))
            or (ON_PROPERTY in pso and c in pso[ON_PROPERTY])
            or bool(related(pos, ON_CLASS))
            or c in self._keys
            or c in _SPECIAL_CLASSES,
        )

    def _on_type(self, x: int, c: int) -> None:
        plan = self._class_plans.get(c)
        if plan is None:
            plan = self._class_plans[c] = self._class_plan(c)
        append = self._pending.append
        for sup in plan.types:  # cax-sco, cax-eqc1/2, cls-int2, cls-uni
            append((x, TYPE, sup))
        if plan.special:
            self._special_type_rules(x, c)

    def _special_type_rules(self, x: int, c: int) -> None:
        """cls-int1, cls-svf1, the restriction ``c``'s rules, cls-maxqc3, prp-key and the
        schema rules of a new class or property ``x``."""
        derive, pso, pos = self._derive, self.pso, self.pos
        for whole, members in self._intersections.get(c, ()):  # cls-int1
            if members and all(self.has(x, TYPE, m) for m in members):
                derive(x, TYPE, whole)
        by_o = pos.get(SVF)
        if by_o is not None:
            for r in by_o.get(c, _EMPTY):  # cls-svf1, x as the value
                for p in self.objects(r, ON_PROPERTY):
                    for u in self.subjects(p, x):
                        derive(u, TYPE, r)
        if c in pso.get(ON_PROPERTY, {}):  # x is an instance of the restriction c
            self._restriction_instance(x, c)
        by_o = pos.get(ON_CLASS)
        if by_o is not None:
            for r in by_o.get(c, _EMPTY):  # cls-maxqc3, x as a qualified value
                self._qualified_value(r, c, x)
        if c in self._keys:  # prp-key
            self._key_instance(c, x)
        if c == CLASS:  # scm-cls
            derive(x, SCO, x)
            derive(x, EQC, x)
            derive(x, SCO, THING)
            derive(NOTHING, SCO, x)
        elif c in _PROPERTY_TYPES:  # scm-op, scm-dp
            derive(x, SPO, x)
            derive(x, EQP, x)
        elif c == SYMMETRIC:
            for s, o in self.pairs(x):
                derive(o, x, s)
        elif c == TRANSITIVE:
            for s, o in self.pairs(x):
                for z in self.objects(o, x):
                    derive(s, x, z)
        elif c == FUNCTIONAL:
            for objects in pso.get(x, {}).values():
                for y in objects:
                    self._equate_all(y, objects)
        elif c == INVERSE_FUNCTIONAL:
            for subjects in pos.get(x, {}).values():
                for y in subjects:
                    self._equate_all(y, subjects)

    def _restriction_instance(self, x: int, r: int) -> None:
        """cls-avf, cls-hv1, cls-maxc2, cls-maxqc3/4 for a new instance ``x`` of ``r``."""
        derive, terms = self._derive, self.terms
        for p in self.objects(r, ON_PROPERTY):
            values = self.objects(x, p)
            for filler in self.objects(r, AVF):
                for v in values:
                    derive(v, TYPE, filler)
            for value in self.objects(r, HAS_VALUE):
                derive(x, p, value)
            if any(terms.cardinality(n) == 1 for n in self.objects(r, MAX_CARD)):
                for y in values:
                    self._equate_all(y, values)
            if any(terms.cardinality(n) == 1 for n in self.objects(r, MAX_QCARD)):
                for cc in self.objects(r, ON_CLASS):
                    typed = [v for v in values if cc == THING or self.has(v, TYPE, cc)]
                    for y in typed:
                        self._equate_all(y, typed)

    def _qualified_value(self, r: int, cc: int, y: int) -> None:
        """cls-maxqc3 with ``y`` newly typed ``cc``, the onClass of ``r``."""
        if not any(self.terms.cardinality(n) == 1 for n in self.objects(r, MAX_QCARD)):
            return
        for p in self.objects(r, ON_PROPERTY):
            for u in self.subjects(p, y):
                if self.has(u, TYPE, r):
                    others = [z for z in self.objects(u, p) if self.has(z, TYPE, cc)]
                    self._equate_all(y, others)

    def _on_restriction_part(self, r: int, _value: int) -> None:
        """A new onProperty/onClass/maxCardinality/maxQualifiedCardinality of ``r``: redo
        every rule about ``r`` (each handler fires all instances of its own triple)."""
        for filler in list(self.objects(r, SVF)):
            self._on_some_values(r, filler)
        for filler in list(self.objects(r, AVF)):
            self._on_all_values(r, filler)
        for value in list(self.objects(r, HAS_VALUE)):
            self._on_has_value(r, value)
        for x in self.subjects(TYPE, r):
            self._restriction_instance(x, r)

    def _on_some_values(self, r: int, filler: int) -> None:
        derive = self._derive
        for p in self.objects(r, ON_PROPERTY):
            for u, values in self.pso.get(p, {}).items():  # cls-svf1/2
                if filler == THING or any(self.has(v, TYPE, filler) for v in values):
                    derive(u, TYPE, r)
        self._restriction_subsumption(r, filler, SVF, reverse=False)

    def _on_all_values(self, r: int, filler: int) -> None:
        derive = self._derive
        for p in self.objects(r, ON_PROPERTY):
            for u in self.subjects(TYPE, r):  # cls-avf
                for v in self.objects(u, p):
                    derive(v, TYPE, filler)
        self._restriction_subsumption(r, filler, AVF, reverse=True)

    def _restriction_subsumption(self, r: int, filler: int, kind: int, *, reverse: bool) -> None:
        """scm-svf1/2 (kind SVF) and scm-avf1/2 (kind AVF) with ``r kind filler`` in either
        restriction's place. scm-avf2 concludes the reverse subclass, as owlrl does."""
        derive = self._derive
        for p in self.objects(r, ON_PROPERTY):
            for other in self.subjects(ON_PROPERTY, p):  # scm-*1: same property
                for other_filler in self.objects(other, kind):
                    if self.has(filler, SCO, other_filler):
                        derive(r, SCO, other)
                    if self.has(other_filler, SCO, filler):
                        derive(other, SCO, r)
            for other in self.subjects(kind, filler):  # scm-*2: same filler
                for q in self.objects(other, ON_PROPERTY):
                    if self.has(p, SPO, q):
                        derive(*((other, SCO, r) if reverse else (r, SCO, other)))
                    if self.has(q, SPO, p):
                        derive(*((r, SCO, other) if reverse else (other, SCO, r)))

    def _on_has_value(self, r: int, value: int) -> None:
        derive = self._derive
        for p in self.objects(r, ON_PROPERTY):
            for u in self.subjects(TYPE, r):  # cls-hv1
                derive(u, p, value)
            for u in self.subjects(p, value):  # cls-hv2
                derive(u, TYPE, r)
            for other in self.subjects(HAS_VALUE, value):  # scm-hv, r in either place
                for q in self.objects(other, ON_PROPERTY):
                    if self.has(p, SPO, q):
                        derive(r, SCO, other)
                    if self.has(q, SPO, p):
                        derive(other, SCO, r)

    def _on_subclass(self, c1: int, c2: int) -> None:
        derive = self._derive
        if c1 != c2:
            for x in self.subjects(TYPE, c1):  # cax-sco
                derive(x, TYPE, c2)
            for c3 in self.objects(c2, SCO):  # scm-sco, this triple first
                if c1 != c3:
                    derive(c1, SCO, c3)
            for p in self.subjects(DOMAIN, c1):  # scm-dom1
                derive(p, DOMAIN, c2)
            for p in self.subjects(RANGE, c1):  # scm-rng1
                derive(p, RANGE, c2)
        for c0 in self.subjects(SCO, c1):  # scm-sco, this triple second
            if c0 != c1 and c0 != c2:
                derive(c0, SCO, c2)
        if self.has(c2, SCO, c1):  # scm-eqc2, this triple in either place
            derive(c1, EQC, c2)
            derive(c2, EQC, c1)
        for kind in (SVF, AVF):  # scm-svf1, scm-avf1 with c1 sco c2 as the fillers
            for r1 in self.subjects(kind, c1):
                for p in self.objects(r1, ON_PROPERTY):
                    for r2 in self.subjects(ON_PROPERTY, p):
                        if self.has(r2, kind, c2):
                            derive(r1, SCO, r2)

    def _on_equivalent_class(self, c1: int, c2: int) -> None:
        if c1 == c2:
            return
        derive = self._derive
        for x in self.subjects(TYPE, c1):  # cax-eqc1
            derive(x, TYPE, c2)
        for x in self.subjects(TYPE, c2):  # cax-eqc2
            derive(x, TYPE, c1)
        derive(c1, SCO, c2)  # scm-eqc1
        derive(c2, SCO, c1)

    def _on_subproperty(self, p1: int, p2: int) -> None:
        derive = self._derive
        if p1 != p2:
            for x, y in self.pairs(p1):  # prp-spo1 (for p1 == p2 it adds nothing)
                derive(x, p2, y)
            for p3 in self.objects(p2, SPO):  # scm-spo, this triple first
                if p1 != p3:
                    derive(p1, SPO, p3)
            for p0 in self.subjects(SPO, p1):  # scm-spo, this triple second
                if p0 != p1 and p0 != p2:
                    derive(p0, SPO, p2)
            if self.has(p2, SPO, p1):  # scm-eqp2, this triple in either place
                derive(p1, EQP, p2)
                derive(p2, EQP, p1)
            for c in self.objects(p2, DOMAIN):  # scm-dom2
                derive(p1, DOMAIN, c)
            for c in self.objects(p2, RANGE):  # scm-rng2
                derive(p1, RANGE, c)
        # scm-hv, scm-svf2, scm-avf2 with p1 spo p2 relating the two restrictions
        for r1 in self.subjects(ON_PROPERTY, p1):
            for r2 in self.subjects(ON_PROPERTY, p2):
                for value in self.objects(r1, HAS_VALUE):
                    if self.has(r2, HAS_VALUE, value):
                        derive(r1, SCO, r2)
                for filler in self.objects(r1, SVF):
                    if self.has(r2, SVF, filler):
                        derive(r1, SCO, r2)
                for filler in self.objects(r1, AVF):
                    if self.has(r2, AVF, filler):
                        derive(r2, SCO, r1)

    def _on_equivalent_property(self, p1: int, p2: int) -> None:
        if p1 == p2:
            return
        derive = self._derive
        for x, y in self.pairs(p1):  # prp-eqp1
            derive(x, p2, y)
        for x, y in self.pairs(p2):  # prp-eqp2
            derive(x, p1, y)
        derive(p1, SPO, p2)  # scm-eqp1
        derive(p2, SPO, p1)

    def _on_inverse(self, p1: int, p2: int) -> None:
        derive = self._derive
        for x, y in self.pairs(p1):  # prp-inv1
            derive(y, p2, x)
        for x, y in self.pairs(p2):  # prp-inv2
            derive(y, p1, x)

    def _on_domain(self, p: int, c: int) -> None:
        derive = self._derive
        for x in self.pso.get(p, {}):  # prp-dom
            derive(x, TYPE, c)
        for sup in self.objects(c, SCO):  # scm-dom1
            if sup != c:
                derive(p, DOMAIN, sup)
        for sub in self.subjects(SPO, p):  # scm-dom2
            if sub != p:
                derive(sub, DOMAIN, c)

    def _on_range(self, p: int, c: int) -> None:
        derive = self._derive
        for y in self.pos.get(p, {}):  # prp-rng
            derive(y, TYPE, c)
        for sup in self.objects(c, SCO):  # scm-rng1
            if sup != c:
                derive(p, RANGE, sup)
        for sub in self.subjects(SPO, p):  # scm-rng2
            if sub != p:
                derive(sub, RANGE, c)

    def _on_same_as(self, x: int, y: int) -> None:
        derive = self._derive
        derive(y, SAME, x)  # eq-sym
        for z in self.objects(y, SAME):  # eq-trans, this triple first
            derive(x, SAME, z)
        for w in self.subjects(SAME, x):  # eq-trans, this triple second
            derive(w, SAME, y)
        if x == y:
            return
        for p, by_s in self.pso.items():  # eq-rep-s, eq-rep-o: x's triples for y
            for o in by_s.get(x, _EMPTY):
                derive(y, p, o)
            for s in self.pos[p].get(x, _EMPTY):
                derive(s, p, y)
        for s, o in self.pairs(x):  # eq-rep-p
            derive(s, y, o)

    def _on_chain(self, p: int, head: int) -> None:
        chain = self.items(head)
        if chain:
            for x, y in self.pairs(chain[0]):
                self._chain_through(p, chain, 0, x, y)

    def _chain_through(self, p: int, chain: list[int], position: int, x: int, y: int) -> None:
        """prp-spo2 for every chain path whose link ``position`` is ``x chain[position] y``."""
        starts = {x}
        for link in reversed(chain[:position]):
            starts = {s for node in starts for s in self.subjects(link, node)}
            if not starts:
                return
        ends = {y}
        for link in chain[position + 1 :]:
            ends = {o for node in ends for o in self.objects(node, link)}
            if not ends:
                return
        for s in starts:
            for o in ends:
                self._derive(s, p, o)

    def _on_intersection(self, c: int, head: int) -> None:
        derive = self._derive
        members = self.items(head)
        for member in members:
            derive(c, SCO, member)  # scm-int
            for x in self.subjects(TYPE, c):  # cls-int2
                derive(x, TYPE, member)
        if members:  # cls-int1
            for x in self.subjects(TYPE, members[0]):
                if all(self.has(x, TYPE, m) for m in members[1:]):
                    derive(x, TYPE, c)

    def _on_union(self, c: int, head: int) -> None:
        derive = self._derive
        for member in self.items(head):
            derive(member, SCO, c)  # scm-uni
            for x in self.subjects(TYPE, member):  # cls-uni
                derive(x, TYPE, c)

    def _on_one_of(self, c: int, head: int) -> None:
        for member in self.items(head):  # cls-oo
            self._derive(member, TYPE, c)

    def _on_has_key(self, c: int, head: int) -> None:
        if self.items(head):
            for x in list(self.subjects(TYPE, c)):
                self._key_instance(c, x)

    def _key_instance(self, c: int, x: int) -> None:
        """prp-key as owlrl computes it, ``x`` in either place: ``a sameAs b`` for two
        instances of ``c`` when ``a`` has a value for every key property and shares a value
        with ``b`` for each key property but the last."""
        for key in self._keys_of(c):
            head = key[:-1]  # owlrl never compares the last key property
            instances = self.subjects(TYPE, c)
            if all(self.objects(x, p) for p in key):
                for y in instances:
                    if y != x and self._share_values(x, y, head):
                        self._derive(x, SAME, y)
            for a in instances:
                if (
                    a != x
                    and all(self.objects(a, p) for p in key)
                    and self._share_values(a, x, head)
                ):
                    self._derive(a, SAME, x)

    def _keys_of(self, c: int) -> list[list[int]]:
        self._structures()
        return self._keys.get(c, [])

    def _share_values(self, a: int, b: int, properties: list[int]) -> bool:
        for p in properties:
            values = self.objects(a, p)
            if not any(v in values for v in self.objects(b, p)):
                return False
        return True

    def _on_list_cell(self, _node: int, _value: int) -> None:
        """A list triple added after the start: redo the axioms that read lists."""
        if self._processed <= self._asserted_count:
            return
        for c, head in list(self.pairs(INTER)):
            self._on_intersection(c, head)
        for c, head in list(self.pairs(UNION)):
            self._on_union(c, head)
        for c, head in list(self.pairs(ONE_OF)):
            self._on_one_of(c, head)
        for p, head in list(self.pairs(CHAIN)):
            self._on_chain(p, head)
        for c, head in list(self.pairs(HAS_KEY)):
            self._on_has_key(c, head)

    def mark_asserted(self) -> None:
        """Everything added so far is input: its lists are complete before rules run."""
        self._asserted_count = len(self.log)

    # -- consistency -------------------------------------------------------------------

    def clashes(self) -> list[str]:
        """owlrl's inconsistency messages for the current closure, sorted, no duplicates."""
        found: set[str] = set(self._lexical_errors)
        text = self.terms.nodes
        for s, o in self.pairs(SAME):  # eq-diff1
            if self.has(s, DIFFERENT, o) or self.has(o, DIFFERENT, s):
                found.add(
                    "'sameAs' and 'differentFrom' cannot be used on the same subject-object "
                    f"pair: ({text[s]}, {text[o]})"
                )
        for s, o in self.pairs(DIFFERENT):  # eq-diff1 with eq-ref's x sameAs x
            if s == o:
                found.add(
                    "'sameAs' and 'differentFrom' cannot be used on the same subject-object "
                    f"pair: ({text[s]}, {text[s]})"
                )
        for x in self.subjects(TYPE, ALL_DIFFERENT):  # eq-diff2, eq-diff3
            for head in [*self.objects(x, MEMBERS), *self.objects(x, DISTINCT_MEMBERS)]:
                members = self.items(head)
                for i in range(len(members) - 1):
                    for j in range(i + 1, len(members) - 1):
                        a, b = members[i], members[j]
                        if a != b and (self.has(a, SAME, b) or self.has(b, SAME, a)):
                            found.add(
                                "'sameAs' and 'AllDifferent' cannot be used on the same "
                                f"subject-object pair: ({text[a]}, {text[b]})"
                            )
        for p in self.subjects(TYPE, IRREFLEXIVE):  # prp-irp
            for x, y in self.pairs(p):
                if x == y:
                    found.add(f"Irreflexive property used on {text[x]} with {text[p]}")
        for p in self.subjects(TYPE, ASYMMETRIC):  # prp-asyp
            for x, y in self.pairs(p):
                if self.has(y, p, x):
                    found.add(
                        f"Erroneous usage of asymmetric property {text[p]} on {text[x]} "
                        f"and {text[y]}"
                    )
        for p1, p2 in self.pairs(PROP_DISJOINT):  # prp-pdw
            for x, y in self.pairs(p1):
                if self.has(x, p2, y):
                    found.add(
                        f"Erroneous usage of disjoint properties {text[p1]} and {text[p2]} "
                        f"on {text[x]} and {text[y]}"
                    )
        for axiom in self.subjects(TYPE, ALL_DISJOINT_PROPERTIES):  # prp-adp
            for head in self.objects(axiom, MEMBERS):
                ps = self.items(head)
                for i in range(len(ps) - 1):
                    for j in range(i + 1, len(ps) - 1):
                        for x, y in self.pairs(ps[i]):
                            if self.has(x, ps[j], y):
                                found.add(
                                    "Disjoint properties in an 'AllDisjointProperties' are "
                                    f"not really disjoint: ({text[x]}, {text[ps[i]]},"
                                    f"{text[y]}) and ({text[x]},{text[ps[j]]},{text[y]})"
                                )
        for x, i1 in self.pairs(SOURCE_INDIVIDUAL):  # prp-npa1, prp-npa2
            for p in self.objects(x, ASSERTION_PROPERTY):
                for kind, target in (("object", TARGET_INDIVIDUAL), ("datatype", TARGET_VALUE)):
                    for i2 in self.objects(x, target):
                        if self.has(i1, p, i2):
                            found.add(
                                f"Negative ({kind}) property assertion violated for: "
                                f"({text[i1]}, {text[p]}, {text[i2]})"
                            )
        for c in self.subjects(TYPE, NOTHING):  # cls-nothing2
            found.add(f"{text[c]} is defined of type 'Nothing'")
        for c1, c2 in self.pairs(COMPLEMENT):  # cls-com
            if any(self.has(x, TYPE, c2) for x in self.subjects(TYPE, c1)):
                found.add(
                    f"Violation of complementarity for classes {text[c1]} and {text[c2]} "
                    f"on element {text[c2]}"
                )
        found.update(self._cardinality_clashes())
        for c1, c2 in self.pairs(DISJOINT):  # cax-dw
            for x in self.subjects(TYPE, c1):
                if self.has(x, TYPE, c2):
                    found.add(self._disjoint_message(c1, c2, x))
        for axiom in self.subjects(TYPE, ALL_DISJOINT_CLASSES):  # cax-adc
            for head in self.objects(axiom, MEMBERS):
                classes = self.items(head)
                for i in range(len(classes) - 1):
                    for x in self.subjects(TYPE, classes[i]):
                        for other in classes[i + 1 :]:
                            if self.has(x, TYPE, other):
                                found.add(self._disjoint_message(classes[i], other, x))
        return sorted(found)

    def _disjoint_message(self, c1: int, c2: int, x: int) -> str:
        text = self.terms.nodes
        return f"Disjoint classes {text[c1]} and {text[c2]} have a common individual {text[x]}"

    def _cardinality_clashes(self) -> Iterator[str]:
        """cls-maxc1 and cls-maxqc1/2: a max cardinality 0 restriction with a value."""
        text, terms = self.terms.nodes, self.terms
        for r, n in self.pairs(MAX_CARD):
            if terms.cardinality(n) == 0:
                for p in self.objects(r, ON_PROPERTY):
                    for u, y in self.pairs(p):
                        if self.has(u, TYPE, r):
                            yield (
                                f"Erroneous usage of maximum cardinality with {text[r]} "
                                f"and {text[y]}"
                            )
        for r, n in self.pairs(MAX_QCARD):
            if terms.cardinality(n) == 0:
                for p in self.objects(r, ON_PROPERTY):
                    for cc in self.objects(r, ON_CLASS):
                        for u, y in self.pairs(p):
                            if (cc == THING or self.has(y, TYPE, cc)) and self.has(u, TYPE, r):
                                yield (
                                    "Erroneous usage of maximum qualified cardinality with "
                                    f"{text[r]}, {text[cc]} and {text[y]}"
                                )

    # -- results -----------------------------------------------------------------------

    def asserted_ids(self) -> list[Triple]:
        """The triples added before :meth:`mark_asserted` (the input), as ids."""
        return self.log[: self._asserted_count]

    def derived_ids(self) -> Iterator[Triple]:
        """The ids of :meth:`derived`'s triples (those with a blank node predicate left out)."""
        nodes = self.terms.nodes
        for triple in self.log[self._asserted_count :]:
            if not isinstance(nodes[triple[1]], BNode):
                yield triple

    def derived(self) -> Iterator[tuple[Node, Node, Node]]:
        """The triples added after :meth:`mark_asserted`, as rdflib terms; owlrl's
        post-processing drops those with a blank node predicate."""
        nodes = self.terms.nodes
        for s, p, o in self.derived_ids():
            yield nodes[s], nodes[p], nodes[o]
