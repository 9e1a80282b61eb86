"""Why an inferred triple holds: the rule instances that derive it, computed on demand.

The reasoner keeps no provenance, so explanations are worked out afterwards and
independently of it: for a triple, :func:`explain` finds every instance of a supported
OWL 2 RL rule (and of the project's SPARQL rules) whose conclusion is the triple and whose
premises all hold in the closure (the store's default graph). Each premise is an
:class:`Statement` that says whether it is asserted (with the named graphs that state it)
or inferred (then it has an explanation of its own), and whether it is an ontology axiom.

Supported rules (the names of the OWL 2 RL profile, section 4.3): ``cax-sco``,
``cax-eqc``, ``prp-dom``, ``prp-rng``, ``prp-spo1``, ``prp-eqp``, ``prp-inv``,
``prp-symp``, ``prp-trp``, ``prp-spo2`` (property chains), ``cls-svf1``, ``cls-hv1``,
``cls-hv2``, ``cls-int1``, ``cls-uni``, ``eq-rep-s``, ``eq-rep-o``, ``eq-sym``,
``scm-sco``, ``scm-spo``, ``scm-dom1/2``, ``scm-rng1/2``, and every CONSTRUCT rule
in ``rules/`` (for each triple of its template).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef, Variable

from medkg.describe import SourceCatalogue, SourceRef, TermView, view
from medkg.errors import InputError
from medkg.labels import DEFAULT_GRAPH, RDF_TYPE, Labeller, Node, Term
from medkg.namespaces import ASSERTED_GRAPH, INFERRED_GRAPH, OWL_NS, RDF_NS, RDFS_NS
from medkg.terms import TermConverter

_ASSERTED = ox.NamedNode(ASSERTED_GRAPH)
_INFERRED = ox.NamedNode(INFERRED_GRAPH)

SUBCLASS_OF = ox.NamedNode(RDFS_NS + "subClassOf")
SUBPROPERTY_OF = ox.NamedNode(RDFS_NS + "subPropertyOf")
DOMAIN = ox.NamedNode(RDFS_NS + "domain")
RANGE = ox.NamedNode(RDFS_NS + "range")
EQUIVALENT_CLASS = ox.NamedNode(OWL_NS + "equivalentClass")
EQUIVALENT_PROPERTY = ox.NamedNode(OWL_NS + "equivalentProperty")
INVERSE_OF = ox.NamedNode(OWL_NS + "inverseOf")
SYMMETRIC = ox.NamedNode(OWL_NS + "SymmetricProperty")
TRANSITIVE = ox.NamedNode(OWL_NS + "TransitiveProperty")
CHAIN = ox.NamedNode(OWL_NS + "propertyChainAxiom")
ON_PROPERTY = ox.NamedNode(OWL_NS + "onProperty")
SOME_VALUES_FROM = ox.NamedNode(OWL_NS + "someValuesFrom")
HAS_VALUE = ox.NamedNode(OWL_NS + "hasValue")
INTERSECTION_OF = ox.NamedNode(OWL_NS + "intersectionOf")
UNION_OF = ox.NamedNode(OWL_NS + "unionOf")
SAME_AS = ox.NamedNode(OWL_NS + "sameAs")
THING = ox.NamedNode(OWL_NS + "Thing")
RDF_FIRST = ox.NamedNode(RDF_NS + "first")
RDF_REST = ox.NamedNode(RDF_NS + "rest")
RDF_NIL = ox.NamedNode(RDF_NS + "nil")

#: Predicates whose triples are ontology axioms (and ``rdf:type`` of these classes).
AXIOM_PREDICATES = frozenset(
    {
        SUBCLASS_OF,
        SUBPROPERTY_OF,
        DOMAIN,
        RANGE,
        EQUIVALENT_CLASS,
        EQUIVALENT_PROPERTY,
        INVERSE_OF,
        CHAIN,
        ON_PROPERTY,
        SOME_VALUES_FROM,
        HAS_VALUE,
        INTERSECTION_OF,
        UNION_OF,
        RDF_FIRST,
        RDF_REST,
    }
)
AXIOM_CLASSES = frozenset({SYMMETRIC, TRANSITIVE})
MAX_DERIVATIONS = 12
_MAX_CHAIN_PATHS = 50


@dataclass(frozen=True)
class Statement:
    """A triple and where it stands: asserted (``sources``), inferred, or not in the graph."""

    triple: ox.Triple
    subject: TermView
    predicate: TermView
    object: TermView
    holds: bool
    inferred: bool
    sources: tuple[SourceRef, ...]
    axiom: bool


@dataclass(frozen=True)
class Derivation:
    """One rule instance that concludes the explained triple."""

    rule: str  # the OWL 2 RL rule name, or "rule <file>" for a SPARQL rule
    title: str
    reading: str  # the rule instance in words
    premises: tuple[Statement, ...]

    @property
    def inferred_premises(self) -> int:
        return sum(1 for p in self.premises if p.inferred)


@dataclass(frozen=True)
class Explanation:
    statement: Statement
    derivations: tuple[Derivation, ...]


# --------------------------------------------------------------------------------------------
# Reading the closure


class _Closure:
    """Pattern lookups on the store's default graph (the whole closure)."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store

    def has(self, s: Term, p: ox.NamedNode, o: Term) -> bool:
        if isinstance(s, ox.Literal):
            return False
        found = self.store.quads_for_pattern(s, p, o, DEFAULT_GRAPH)
        return next(iter(found), None) is not None

    def objects(self, s: Term, p: ox.NamedNode) -> list[Term]:
        if isinstance(s, ox.Literal):
            return []
        return [q.object for q in self.store.quads_for_pattern(s, p, None, DEFAULT_GRAPH)]  # type: ignore[misc]

    def subjects(self, p: ox.NamedNode, o: Term) -> list[Node]:
        return [q.subject for q in self.store.quads_for_pattern(None, p, o, DEFAULT_GRAPH)]  # type: ignore[misc]

    def items(self, head: Term) -> list[Term] | None:
        """The members of the RDF list at ``head``; None if it is not a well-formed list."""
        members: list[Term] = []
        seen: set[Term] = set()
        node = head
        while node != RDF_NIL:
            if node in seen or len(members) > 64:
                return None
            seen.add(node)
            first, rest = self.objects(node, RDF_FIRST), self.objects(node, RDF_REST)
            if len(first) != 1 or len(rest) != 1:
                return None
            members.append(first[0])
            node = rest[0]
        return members


def _t(s: Term, p: ox.NamedNode, o: Term) -> ox.Triple:
    return ox.Triple(s, p, o)  # type: ignore[arg-type]


def _list_triples(closure: _Closure, head: Term) -> list[ox.Triple]:
    """The rdf:first / rdf:rest triples of the list at ``head`` (axiom detail)."""
    triples: list[ox.Triple] = []
    node = head
    while node != RDF_NIL and isinstance(node, ox.NamedNode | ox.BlankNode):
        firsts, rests = closure.objects(node, RDF_FIRST), closure.objects(node, RDF_REST)
        if not firsts or not rests:
            break
        triples += [_t(node, RDF_FIRST, firsts[0]), _t(node, RDF_REST, rests[0])]
        node = rests[0]
    return triples


# --------------------------------------------------------------------------------------------
# Rules: each yields (rule, title, reading, premises) for a target triple s p o

Instance = tuple[str, str, str, list[ox.Triple]]
Target = tuple[Node, ox.NamedNode, Term]
RuleFinder = Callable[[_Closure, Labeller, Target], Iterator[Instance]]


def _type_rules(c: _Closure, lab: Labeller, t: Target) -> Iterator[Instance]:
    s, predicate, cls = t
    if predicate != RDF_TYPE or not isinstance(cls, ox.NamedNode | ox.BlankNode):
        return
    name = lab.label
    for sub in c.subjects(SUBCLASS_OF, cls):
        if sub != cls and c.has(s, RDF_TYPE, sub):
            yield (
                "cax-sco",
                "class hierarchy",
                f"Every {name(sub)} is {_a(name(cls))}, and {name(s)} is {_a(name(sub))}.",
                [_t(s, RDF_TYPE, sub), _t(sub, SUBCLASS_OF, cls)],
            )
    for other in {*c.subjects(EQUIVALENT_CLASS, cls), *c.objects(cls, EQUIVALENT_CLASS)}:
        if other != cls and c.has(s, RDF_TYPE, other):
            axiom = (
                _t(other, EQUIVALENT_CLASS, cls)
                if c.has(other, EQUIVALENT_CLASS, cls)
                else _t(cls, EQUIVALENT_CLASS, other)
            )
            yield (
                "cax-eqc",
                "equivalent classes",
                f"{name(other)} and {name(cls)} are the same class, and {name(s)} is "
                f"{_a(name(other))}.",
                [_t(s, RDF_TYPE, other), axiom],
            )
    for prop in c.subjects(DOMAIN, cls):
        if isinstance(prop, ox.NamedNode):
            for value in c.objects(s, prop)[:3]:
                yield (
                    "prp-dom",
                    "property domain",
                    f"Whatever has {_a(name(prop))} is {_a(name(cls))}.",
                    [_t(s, prop, value), _t(prop, DOMAIN, cls)],
                )
    for prop in c.subjects(RANGE, cls):
        if isinstance(prop, ox.NamedNode):
            for subject in c.subjects(prop, s)[:3]:
                yield (
                    "prp-rng",
                    "property range",
                    f"Every value of {name(prop)} is {_a(name(cls))}.",
                    [_t(subject, prop, s), _t(prop, RANGE, cls)],
                )
    yield from _restriction_rules(c, lab, s, cls)
    for members_head in c.objects(cls, INTERSECTION_OF):
        members = c.items(members_head)
        if members and all(c.has(s, RDF_TYPE, m) for m in members):
            yield (
                "cls-int1",
                "intersection of classes",
                f"{name(s)} is an instance of every class of the intersection {name(cls)}.",
                [_t(s, RDF_TYPE, m) for m in members]
                + [_t(cls, INTERSECTION_OF, members_head), *_list_triples(c, members_head)],
            )
    for members_head in c.objects(cls, UNION_OF):
        for member in c.items(members_head) or []:
            if c.has(s, RDF_TYPE, member):
                yield (
                    "cls-uni",
                    "union of classes",
                    f"{name(s)} is {_a(name(member))}, one of the classes of {name(cls)}.",
                    [
                        _t(s, RDF_TYPE, member),
                        _t(cls, UNION_OF, members_head),
                        *_list_triples(c, members_head),
                    ],
                )


def _restriction_rules(c: _Closure, lab: Labeller, s: Term, cls: Node) -> Iterator[Instance]:
    name = lab.label
    for prop in c.objects(cls, ON_PROPERTY):
        if not isinstance(prop, ox.NamedNode):
            continue
        for filler in c.objects(cls, SOME_VALUES_FROM):
            for value in c.objects(s, prop):
                if filler == THING or c.has(value, RDF_TYPE, filler):
                    premises = [_t(s, prop, value), _t(cls, ON_PROPERTY, prop)]
                    premises.append(_t(cls, SOME_VALUES_FROM, filler))
                    if filler != THING:
                        premises.append(_t(value, RDF_TYPE, filler))
                    yield (
                        "cls-svf1",
                        "existential restriction",
                        f"Whatever has a {name(prop)} that is a {name(filler)} is a {name(cls)}.",
                        premises,
                    )
                    break
        for value in c.objects(cls, HAS_VALUE):
            if c.has(s, prop, value):
                yield (
                    "cls-hv2",
                    "value restriction",
                    f"Whatever has {_term_text(value, lab)} as {name(prop)} is a {name(cls)}.",
                    [
                        _t(s, prop, value),
                        _t(cls, ON_PROPERTY, prop),
                        _t(cls, HAS_VALUE, value),
                    ],
                )


def _a(word: str) -> str:
    """``word`` with its indefinite article."""
    return f"an {word}" if word[:1].lower() in "aeiou" else f"a {word}"


def _term_text(term: Term, lab: Labeller) -> str:
    return term.value if isinstance(term, ox.Literal) else lab.label(term)


def _property_rules(c: _Closure, lab: Labeller, t: Target) -> Iterator[Instance]:
    s, p, o = t
    if p == RDF_TYPE:
        return
    name = lab.label
    text_o = _term_text(o, lab)
    for sub in c.subjects(SUBPROPERTY_OF, p):
        if sub != p and isinstance(sub, ox.NamedNode) and c.has(s, sub, o):
            yield (
                "prp-spo1",
                "property hierarchy",
                f"{name(sub)} implies {name(p)}: {name(s)} {name(sub)} {text_o}.",
                [_t(s, sub, o), _t(sub, SUBPROPERTY_OF, p)],
            )
    for other in {*c.subjects(EQUIVALENT_PROPERTY, p), *c.objects(p, EQUIVALENT_PROPERTY)}:
        if other != p and isinstance(other, ox.NamedNode) and c.has(s, other, o):
            axiom = (
                _t(other, EQUIVALENT_PROPERTY, p)
                if c.has(other, EQUIVALENT_PROPERTY, p)
                else _t(p, EQUIVALENT_PROPERTY, other)
            )
            yield (
                "prp-eqp",
                "equivalent properties",
                f"{name(other)} and {name(p)} are the same property.",
                [_t(s, other, o), axiom],
            )
    if isinstance(o, ox.NamedNode | ox.BlankNode):
        for inverse in {*c.objects(p, INVERSE_OF), *c.subjects(INVERSE_OF, p)}:
            if isinstance(inverse, ox.NamedNode) and c.has(o, inverse, s):
                axiom = (
                    _t(p, INVERSE_OF, inverse)
                    if c.has(p, INVERSE_OF, inverse)
                    else _t(inverse, INVERSE_OF, p)
                )
                yield (
                    "prp-inv",
                    "inverse properties",
                    f"{name(p)} is the inverse of {name(inverse)}, and {name(o)} "
                    f"{name(inverse)} {name(s)}.",
                    [_t(o, inverse, s), axiom],
                )
        if c.has(p, RDF_TYPE, SYMMETRIC) and c.has(o, p, s):
            yield (
                "prp-symp",
                "symmetric property",
                f"{name(p)} is symmetric, and {name(o)} {name(p)} {name(s)}.",
                [_t(o, p, s), _t(p, RDF_TYPE, SYMMETRIC)],
            )
        if c.has(p, RDF_TYPE, TRANSITIVE):
            for middle in c.objects(s, p):
                if middle not in (s, o) and c.has(middle, p, o):
                    yield (
                        "prp-trp",
                        "transitive property",
                        f"{name(p)} is transitive: {name(s)} {name(p)} {name(middle)}, which "
                        f"{name(p)} {name(o)}.",
                        [_t(s, p, middle), _t(middle, p, o), _t(p, RDF_TYPE, TRANSITIVE)],
                    )
    yield from _chain_rule(c, lab, t)
    for cls in c.objects(s, RDF_TYPE):
        if c.has(cls, HAS_VALUE, o) and c.has(cls, ON_PROPERTY, p):
            yield (
                "cls-hv1",
                "value restriction",
                f"Every {name(cls)} has {text_o} as {name(p)}.",
                [_t(s, RDF_TYPE, cls), _t(cls, HAS_VALUE, o), _t(cls, ON_PROPERTY, p)],
            )
    yield from _schema_rules(c, lab, t)


def _chain_rule(c: _Closure, lab: Labeller, t: Target) -> Iterator[Instance]:
    s, p, o = t
    name = lab.label
    for head in c.objects(p, CHAIN):
        chain = c.items(head)
        if not chain or not all(isinstance(q, ox.NamedNode) for q in chain):
            continue
        steps: list[ox.NamedNode] = chain  # type: ignore[assignment]
        for path in _paths(c, s, steps, o):
            words = " then ".join(name(q) for q in steps)
            yield (
                "prp-spo2",
                "property chain",
                f"{words} implies {name(p)}.",
                [*path, _t(p, CHAIN, head), *_list_triples(c, head)],
            )


def _paths(
    c: _Closure, start: Term, steps: Sequence[ox.NamedNode], end: Term
) -> list[list[ox.Triple]]:
    """The paths ``start steps[0] x1 ... steps[-1] end`` in the closure (at most a few)."""
    paths: list[list[ox.Triple]] = [[]]
    nodes: list[Term] = [start]
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        next_paths: list[list[ox.Triple]] = []
        next_nodes: list[Term] = []
        for path, node in zip(paths, nodes, strict=True):
            targets = (
                [end] if last and c.has(node, step, end) else [] if last else c.objects(node, step)
            )
            for target in targets:
                next_paths.append([*path, _t(node, step, target)])
                next_nodes.append(target)
        paths, nodes = next_paths[:_MAX_CHAIN_PATHS], next_nodes[:_MAX_CHAIN_PATHS]
    return paths


def _schema_rules(c: _Closure, lab: Labeller, t: Target) -> Iterator[Instance]:
    s, p, o = t
    name = lab.label
    for relation, rule, word in (
        (SUBCLASS_OF, "scm-sco", "class"),
        (SUBPROPERTY_OF, "scm-spo", "property"),
    ):
        if p != relation:
            continue
        for middle in c.objects(s, relation):
            if middle not in (s, o) and c.has(middle, relation, o):
                yield (
                    rule,
                    f"{word} hierarchy is transitive",
                    f"{name(s)} is a sub-{word} of {name(middle)}, a sub-{word} of {name(o)}.",
                    [_t(s, relation, middle), _t(middle, relation, o)],
                )


def _domain_range_rules(c: _Closure, lab: Labeller, t: Target) -> Iterator[Instance]:
    """scm-dom1/2, scm-rng1/2: domains and ranges passed along the hierarchies."""
    s, p, o = t
    name = lab.label
    if p not in (DOMAIN, RANGE) or not isinstance(o, ox.NamedNode | ox.BlankNode):
        return
    word = "domain" if p == DOMAIN else "range"
    for narrower in c.objects(s, p):
        if narrower != o and c.has(narrower, SUBCLASS_OF, o):
            yield (
                f"scm-{word[:3]}1",
                f"{word} widened along the class hierarchy",
                f"The {word} of {name(s)} is {name(narrower)}, a sub-class of {name(o)}.",
                [_t(s, p, narrower), _t(narrower, SUBCLASS_OF, o)],
            )
    for broader in c.objects(s, SUBPROPERTY_OF):
        if broader != s and c.has(broader, p, o):
            yield (
                f"scm-{word[:3]}2",
                f"{word} inherited from a super-property",
                f"{name(s)} is a sub-property of {name(broader)}, whose {word} is {name(o)}.",
                [_t(s, SUBPROPERTY_OF, broader), _t(broader, p, o)],
            )


def _same_as_rules(c: _Closure, lab: Labeller, t: Target) -> Iterator[Instance]:
    s, p, o = t
    name = lab.label
    if p == SAME_AS and isinstance(o, ox.NamedNode | ox.BlankNode) and c.has(o, SAME_AS, s):
        yield (
            "eq-sym",
            "sameAs is symmetric",
            f"{name(o)} is the same as {name(s)}.",
            [_t(o, SAME_AS, s)],
        )
        return
    for alias in {*c.objects(s, SAME_AS), *c.subjects(SAME_AS, s)}:
        if alias != s and c.has(alias, p, o):
            link = _t(s, SAME_AS, alias) if c.has(s, SAME_AS, alias) else _t(alias, SAME_AS, s)
            yield (
                "eq-rep-s",
                "same individual",
                f"{name(s)} is the same as {name(alias)}.",
                [link, _t(alias, p, o)],
            )
    if isinstance(o, ox.NamedNode | ox.BlankNode):
        for alias in {*c.objects(o, SAME_AS), *c.subjects(SAME_AS, o)}:
            if alias != o and c.has(s, p, alias):
                link = _t(o, SAME_AS, alias) if c.has(o, SAME_AS, alias) else _t(alias, SAME_AS, o)
                yield (
                    "eq-rep-o",
                    "same individual",
                    f"{name(o)} is the same as {name(alias)}.",
                    [link, _t(s, p, alias)],
                )


# --------------------------------------------------------------------------------------------
# SPARQL rules (CONSTRUCT with one-triple templates)


@dataclass(frozen=True)
class SparqlRule:
    """A CONSTRUCT rule: its template, the SELECT form of its body, its positive patterns."""

    name: str
    title: str
    template: tuple[tuple[Any, Any, Any], ...]
    select: str
    patterns: tuple[tuple[Any, Any, Any], ...]


def _bgp_triples(node: Any) -> list[tuple[Any, Any, Any]]:
    """The triple patterns of the algebra's basic graph patterns, outside filters."""
    from rdflib.plugins.sparql.parserutils import CompValue

    found: list[tuple[Any, Any, Any]] = []
    if isinstance(node, CompValue):
        if node.name == "BGP":
            found += [tuple(t) for t in node.triples]
        for key in ("p", "p1", "p2"):
            if key in node:
                found += _bgp_triples(node[key])
    return found


@lru_cache(maxsize=32)
def _parse_rule(name: str, text: str) -> SparqlRule | None:
    # rdflib's SPARQL parser is imported on the first explanation, not at start-up
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    query = translateQuery(parseQuery(text))
    algebra = query.algebra
    if algebra.name != "ConstructQuery" or not algebra.template:
        return None
    comment = next(
        (line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#")), ""
    )
    title = re.sub(r"^Rule:\s*", "", comment) or name
    select = re.sub(r"CONSTRUCT\s*\{[^{}]*\}", "SELECT *", text, count=1, flags=re.IGNORECASE)
    return SparqlRule(
        name, title, tuple(tuple(t) for t in algebra.template), select, tuple(_bgp_triples(algebra))
    )


_converter = TermConverter()


def _ox(term: Any, solution: ox.QuerySolution | None = None) -> Term | None:
    if isinstance(term, Variable):
        if solution is None:
            return None
        value = solution[str(term)]
        return value if isinstance(value, ox.NamedNode | ox.BlankNode | ox.Literal) else None
    if isinstance(term, URIRef | Literal | BNode):
        converted = _converter.term(term)
        return converted if not isinstance(converted, ox.Triple) else None
    return None


def _nt(term: Term) -> str:
    return str(term)


def _sparql_rule(c: _Closure, rule: SparqlRule, lab: Labeller, t: Target) -> Iterator[Instance]:
    target = t
    for pattern in rule.template:
        bindings: dict[str, Term] = {}
        matches = True
        for part, value in zip(pattern, target, strict=True):
            if isinstance(part, Variable):
                if bindings.setdefault(str(part), value) != value:
                    matches = False
            elif _ox(part) != value:
                matches = False
        if not matches:
            continue
        names = sorted(bindings)
        values = " ".join(_nt(bindings[n]) for n in names)
        sparql = rule.select + f"\nVALUES ({' '.join('?' + n for n in names)}) {{ ({values}) }}"
        result = c.store.query(sparql, default_graph=DEFAULT_GRAPH)
        for solution in list(result)[:MAX_DERIVATIONS]:  # type: ignore[arg-type]
            premises: list[ox.Triple] = []
            for triple in rule.patterns:
                terms = [_ox(x, solution) for x in triple]
                if all(x is not None for x in terms) and isinstance(terms[1], ox.NamedNode):
                    premises.append(_t(terms[0], terms[1], terms[2]))  # type: ignore[arg-type]
            yield (f"rule {rule.name}", "project rule", rule.title, premises)


def _rule_finder(rule: SparqlRule, c: _Closure, lab: Labeller, t: Target) -> Iterator[Instance]:
    return _sparql_rule(c, rule, lab, t)


# --------------------------------------------------------------------------------------------
# Explaining


def statement(
    store: ox.Store, triple: ox.Triple, labeller: Labeller, catalogue: SourceCatalogue | None = None
) -> Statement:
    """``triple`` with its labels and where it is held."""
    catalogue = catalogue or SourceCatalogue(labeller)
    holds = inferred = False
    graphs: list[ox.NamedNode | ox.BlankNode] = []
    if not isinstance(triple.subject, ox.Triple):
        for quad in store.quads_for_pattern(triple.subject, triple.predicate, triple.object, None):
            graph = quad.graph_name
            if isinstance(graph, ox.DefaultGraph):
                holds = True
            elif graph == _INFERRED:
                inferred = True
            elif graph != _ASSERTED:
                graphs.append(graph)
    axiom = triple.predicate in AXIOM_PREDICATES or (
        triple.predicate == RDF_TYPE and triple.object in AXIOM_CLASSES
    )
    return Statement(
        triple,
        view(triple.subject, labeller),  # type: ignore[arg-type]
        view(triple.predicate, labeller),
        view(triple.object, labeller),  # type: ignore[arg-type]
        holds,
        inferred,
        tuple(sorted({catalogue.ref(g) for g in graphs}, key=lambda r: r.graph)),
        axiom,
    )


def explain(
    store: ox.Store,
    triple: ox.Triple,
    *,
    rules: Sequence[Path] = (),
    labeller: Labeller | None = None,
) -> Explanation:
    """The derivations of ``triple`` whose premises hold in the closure, those with the
    fewest inferred premises first (at most ``MAX_DERIVATIONS``). Asserted triples get
    derivations too when inference would also conclude them."""
    labeller = labeller or Labeller(store)
    catalogue = SourceCatalogue(labeller)
    closure = _Closure(store)
    finders: list[RuleFinder] = [_type_rules, _property_rules, _domain_range_rules, _same_as_rules]
    for path in rules:
        rule = _parse_rule(path.name, path.read_text(encoding="utf-8"))
        if rule is not None:
            finders.append(partial(_rule_finder, rule))
    target = _target(triple)
    derivations: list[Derivation] = []
    seen: set[tuple[str, tuple[ox.Triple, ...]]] = set()
    for finder in finders:
        for rule_name, title, reading, premises in finder(closure, labeller, target):
            key = (rule_name, tuple(premises))
            if triple in premises or key in seen:
                continue
            seen.add(key)
            statements = tuple(statement(store, p, labeller, catalogue) for p in premises)
            if all(s.holds for s in statements):
                derivations.append(Derivation(rule_name, title, reading, statements))
    derivations.sort(key=lambda d: (d.inferred_premises, d.rule))
    return Explanation(
        statement(store, triple, labeller, catalogue), tuple(derivations[:MAX_DERIVATIONS])
    )


def _target(triple: ox.Triple) -> Target:
    s, p, o = triple.subject, triple.predicate, triple.object
    if isinstance(s, ox.Triple) or isinstance(o, ox.Triple):
        raise InputError("quoted triples cannot be explained", where=str(triple))
    return s, p, o


def parse_term(text: str, *, what: str) -> Term:
    """An N-Triples term (``<iri>``, ``_:b``, ``"lex"@en``, ``"lex"^^<dt>``) or a bare IRI."""
    text = text.strip()
    if text and not text.startswith(("<", '"', "_:")):
        text = f"<{text}>"
    try:
        quads = list(
            ox.parse(f"<urn:x:s> <urn:x:p> {text} .".encode(), format=ox.RdfFormat.N_TRIPLES)
        )
    except SyntaxError as exc:
        raise InputError(f"{what} is not an RDF term: {exc}", where=what) from exc
    if len(quads) != 1:
        raise InputError(f"{what} is not one RDF term", where=what)
    term = quads[0].object
    assert isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal)
    return term


def parse_triple(subject: str, predicate: str, obj: str) -> ox.Triple:
    """The triple named by three terms (see :func:`parse_term`); InputError if malformed."""
    s = parse_term(subject, what="subject")
    p = parse_term(predicate, what="predicate")
    o = parse_term(obj, what="object")
    if isinstance(s, ox.Literal):
        raise InputError("the subject of a triple cannot be a literal", where="subject")
    if not isinstance(p, ox.NamedNode):
        raise InputError("the predicate of a triple must be an IRI", where="predicate")
    return ox.Triple(s, p, o)
