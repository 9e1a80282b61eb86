"""The inferred triples: OWL 2 RL closure plus the project's SPARQL CONSTRUCT rules, to a fixpoint.

One round = an OWL 2 RL expansion of the union of all asserted graphs, then every rule of
``ontology/rules/*.rq`` (sorted by name) evaluated on the result, its triples added.
Rounds repeat until a round's rules add nothing (the OWL 2 RL expansion is itself a
fixpoint), at most :data:`MAX_ROUNDS` times. ``owl:imports`` is never interpreted.

Two reasoners compute the OWL 2 RL part (:class:`medkg.config.Reasoner`): ``fast``
(:mod:`medkg.reasoner`, the default) and ``owlrl`` (the owlrl package, the reference the
fast one is tested against). Both give the same inferred triples and the same clashes.

What is *inferred* is closure minus asserted, minus :func:`is_noise` triples (the
reasoner's tautologies and bookkeeping that nobody wants to query).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence, Set
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import owlrl
import pyoxigraph as ox
import rdflib
from rdflib import BNode, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.term import Node

from medkg import reasoner as fast
from medkg.config import Reasoner
from medkg.errors import InconsistencyError, InputError, MedkgError, QuerySyntaxError
from medkg.loading import SourceFile, read_bytes
from medkg.namespaces import (
    ASSERTED_GRAPH,
    INFERRED_GRAPH,
    OWL_NS,
    PREFIXES,
    RDF_NS,
    RDFS_NS,
    XSD_NS,
)
from medkg.terms import TermConverter, triples_to_rdflib

#: Bump whenever the closure computation or the noise filter changes (invalidates caches).
INFERENCE_VERSION = "3"  # 3: the reasoner choice (fast by default) is part of the key

#: owlrl's vocabulary for inconsistency reports.
ERRNS = Namespace("http://www.daml.org/2002/03/agents/agent-ont#")

MAX_ROUNDS = fast.MAX_ROUNDS

Triple = tuple[Node, Node, Node]

_VOCAB_NAMESPACES = (RDF_NS, RDFS_NS, OWL_NS, XSD_NS)
_REFLEXIVE_NOISE = frozenset(
    {OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty, RDFS.subClassOf, RDFS.subPropertyOf}
)
_TOP_CLASSES = frozenset({OWL.Thing, RDFS.Resource})
_TOP_CLASS_PREDICATES = frozenset({RDF.type, RDFS.subClassOf, RDFS.domain, RDFS.range})
# rdf:type values that make a blank node an individual rather than a class expression.
_INDIVIDUAL_TYPES = frozenset({OWL.Thing, OWL.NamedIndividual})


def _in_vocab_namespace(node: Node) -> bool:
    return isinstance(node, URIRef) and str(node).startswith(_VOCAB_NAMESPACES)


def is_noise(triple: Triple, individual_bnodes: Set[Node] = frozenset()) -> bool:
    """True if an inferred ``triple`` is reasoner noise that must not be kept.

    Noise: a literal subject; owlrl's error bookkeeping; reflexive sameAs / equivalence /
    subclass / subproperty; typing, subclassing, domain or range to owl:Thing or
    rdfs:Resource; any statement about a term of the rdf/rdfs/owl/xsd vocabularies.

    ``individual_bnodes`` are the blank nodes of the asserted data that stand for things
    (see :func:`individual_bnodes`); a triple mentioning any other blank node (class
    expressions, lists, restriction nodes) is noise.
    """
    s, p, o = triple
    if isinstance(s, Literal):
        return True
    if str(p).startswith(str(ERRNS)) or o == ERRNS.ErrorMessage:
        return True
    if s == o and p in _REFLEXIVE_NOISE:
        return True
    if p in _TOP_CLASS_PREDICATES and o in _TOP_CLASSES:
        return True
    if _in_vocab_namespace(s):
        return True
    return any(isinstance(n, BNode) and n not in individual_bnodes for n in (s, o))


def individual_bnodes(graph: Iterable[Triple]) -> frozenset[Node]:
    """Blank nodes of ``graph`` (any triples) that are individuals, not OWL/RDF(S) syntax.

    A blank node is *syntax* when it is typed with a term of the rdf/rdfs/owl/xsd
    vocabularies (other than owl:Thing / owl:NamedIndividual), is a list cell
    (rdf:first/rdf:rest), or is the subject of any owl: property (restrictions,
    class expressions, axioms).
    """
    candidates: set[Node] = set()
    syntax: set[Node] = set()
    for s, p, o in graph:
        for node in (s, o):
            if isinstance(node, BNode):
                candidates.add(node)
        if not isinstance(s, BNode):
            continue
        if p == RDF.type:
            if _in_vocab_namespace(o) and o not in _INDIVIDUAL_TYPES:
                syntax.add(s)
        elif p in (RDF.first, RDF.rest) or str(p).startswith(OWL_NS):
            syntax.add(s)
    return frozenset(candidates - syntax)


def _clashes(graph: Graph) -> list[str]:
    messages: list[str] = []
    for report in graph.subjects(RDF.type, ERRNS.ErrorMessage):
        messages.extend(str(m) for m in graph.objects(report, ERRNS.error))
    return sorted(set(messages))


def _prepare_rule(path: Path) -> tuple[str, Any]:
    """The rule's text and its rdflib form; QuerySyntaxError/InputError when it is no
    CONSTRUCT query (checked with rdflib whichever reasoner runs it)."""
    from rdflib.plugins.sparql import prepareQuery  # imported only to compute a closure

    text = read_bytes(path).decode("utf-8")
    try:
        query = prepareQuery(text, initNs=PREFIXES)
    except Exception as exc:  # pyparsing.ParseException and friends
        line = getattr(exc, "lineno", None)
        column = getattr(exc, "col", None)
        message = getattr(exc, "msg", None) or str(exc)
        raise QuerySyntaxError(
            str(message),
            line if isinstance(line, int) else None,
            column if isinstance(column, int) else None,
            source=path,
        ) from exc
    if query.algebra.name != "ConstructQuery":
        raise InputError("inference rule is not a CONSTRUCT query", where=str(path))
    return text, query


def _read_predicates(algebra: Any) -> frozenset[str] | None:
    """The IRIs a query reads in predicate position, or None when a triple pattern has a
    variable or a property path there (it may then read any triple)."""
    found: set[str] = set()
    pending: list[Any] = [algebra]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):  # rdflib's CompValue is an OrderedDict
            for key, value in node.items():
                if key == "template":
                    continue  # what a CONSTRUCT writes, not what it reads
                if key == "triples":
                    for triple in value:
                        if not isinstance(triple[1], URIRef):
                            return None
                        found.add(str(triple[1]))
                else:
                    pending.append(value)
        elif isinstance(node, list | tuple):
            pending.extend(node)
    return frozenset(found)


def _fast_rule(path: Path) -> fast.Rule:
    text, query = _prepare_rule(path)
    return fast.Rule(path.name, text, _read_predicates(query.algebra))


def _asserted_triples(dataset: Dataset) -> set[Triple]:
    inferred = URIRef(INFERRED_GRAPH)
    return {
        triple
        for context in dataset.graphs()
        if context.identifier != inferred
        for triple in context
    }


def _owlrl_derived(asserted: Set[Triple], rules: Sequence[tuple[Path, Any]]) -> list[Triple]:
    """What owlrl's closure and the rules (evaluated by rdflib) add to ``asserted``."""
    closure = Graph()
    for triple in asserted:
        closure.add(triple)
    reasoner = owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
    )
    for _round in range(MAX_ROUNDS):
        reasoner.expand(closure)
        clashes = _clashes(closure)
        if clashes:
            raise InconsistencyError(clashes)
        before = len(closure)
        for _path, query in rules:
            for row in closure.query(query):
                closure.add(row)  # type: ignore[arg-type]
        if len(closure) == before:
            return [triple for triple in closure if triple not in asserted]
    raise MedkgError(
        f"inference did not reach a fixpoint in {MAX_ROUNDS} rounds "
        "(does a rule construct fresh blank nodes?)",
        where=", ".join(p.name for p, _query in rules) or "owlrl",
    )


def compute_inferred(
    dataset: Dataset, rules: Sequence[Path], *, reasoner: Reasoner = Reasoner.FAST
) -> Graph:
    """The noise-free inferred triples of ``dataset``'s asserted graphs (not stored).

    Raises InconsistencyError when the closure has a clash, QuerySyntaxError for a rule
    that does not parse, MedkgError when no fixpoint is reached within MAX_ROUNDS rounds.
    """
    prepared = [(path, _prepare_rule(path)) for path in rules]
    asserted = _asserted_triples(dataset)
    if reasoner is Reasoner.OWLRL:
        derived = _owlrl_derived(asserted, [(path, query) for path, (_t, query) in prepared])
    else:
        rule_texts = [
            fast.Rule(path.name, text, _read_predicates(query.algebra))
            for path, (text, query) in prepared
        ]
        derived = fast.derive(asserted, rule_texts)
    keep = individual_bnodes(asserted)
    inferred = Graph()
    for triple in derived:
        if not is_noise(triple, keep):
            inferred.add(triple)
    return inferred


def infer_triples(
    asserted: Collection[ox.Triple | ox.Quad],
    rules: Sequence[Path],
    *,
    reasoner: Reasoner = Reasoner.FAST,
) -> list[ox.Triple]:
    """:func:`compute_inferred` for pyoxigraph triples or quads (their graphs ignored: the
    union of the asserted graphs is what is closed): the same inferred triples, with the
    fast reasoner and no rdflib graph in between. Every term keeps its exact form."""
    if reasoner is Reasoner.OWLRL:
        dataset = Dataset()
        graph = dataset.graph(URIRef(ASSERTED_GRAPH))
        for triple in triples_to_rdflib(asserted):
            graph.add(triple)
        converter = TermConverter()
        return [
            ox.Triple(converter.subject(s), converter.predicate(p), converter.term(o))
            for s, p, o in compute_inferred(dataset, rules, reasoner=reasoner)
        ]
    engine, terms = fast.close(asserted, [_fast_rule(path) for path in rules])
    nodes = engine.terms.nodes
    blank = {i for i, node in enumerate(nodes) if isinstance(node, BNode)}
    keep = individual_bnodes(
        (nodes[s], nodes[p], nodes[o])
        for s, p, o in engine.asserted_ids()
        if s in blank or o in blank  # no other triple makes or unmakes an individual
    )
    noise = _NoiseFilter(nodes, keep)
    return [terms.triple(*triple) for triple in engine.derived_ids() if not noise(triple)]


class _NoiseFilter:
    """:func:`is_noise` on the engine's integer triples, each term classified once."""

    def __init__(self, nodes: Sequence[Node], keep: Set[Node]) -> None:
        self.nodes = nodes
        self.keep = keep
        self.subjects: dict[int, bool] = {}  # noise whatever the rest of the triple
        self.objects: dict[int, bool] = {}
        self.predicates: dict[int, bool] = {}

    def _stray_bnode(self, node: Node) -> bool:
        return isinstance(node, BNode) and node not in self.keep

    def __call__(self, triple: tuple[int, int, int]) -> bool:
        s, p, o = triple
        bad = self.subjects.get(s)
        if bad is None:
            node = self.nodes[s]
            bad = self.subjects[s] = (
                isinstance(node, Literal) or _in_vocab_namespace(node) or self._stray_bnode(node)
            )
        if bad:
            return True
        bad = self.objects.get(o)
        if bad is None:
            node = self.nodes[o]
            bad = self.objects[o] = node == ERRNS.ErrorMessage or self._stray_bnode(node)
        if bad:
            return True
        bad = self.predicates.get(p)
        if bad is None:
            bad = self.predicates[p] = str(self.nodes[p]).startswith(str(ERRNS))
        if bad:
            return True
        predicate = self.nodes[p]
        if s == o and predicate in _REFLEXIVE_NOISE:
            return True
        return predicate in _TOP_CLASS_PREDICATES and self.nodes[o] in _TOP_CLASSES


def _package_version(name: str, fallback: str = "unknown") -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return fallback


def tool_fingerprint(reasoner: Reasoner = Reasoner.FAST) -> str:
    """What, besides the input, decides a closure: this inference version, the reasoner and
    the versions of the libraries involved (part of every closure cache key)."""
    return (
        f"medkg-closure\0{INFERENCE_VERSION}\0reasoner={reasoner.value}\0"
        f"rdflib={rdflib.__version__}\0"
        f"owlrl={_package_version('owlrl')}\0pyoxigraph={_package_version('pyoxigraph')}\0"
    )


def cache_key(
    sources: Iterable[SourceFile], rules: Iterable[Path], *, reasoner: Reasoner = Reasoner.FAST
) -> str:
    """sha256 over every input's name and bytes, the rules, the reasoner and tool versions."""
    digest = hashlib.sha256()
    digest.update(tool_fingerprint(reasoner).encode())
    for source in sources:
        digest.update(f"{source.name}\0{source.graph}\0".encode())
        digest.update(hashlib.sha256(read_bytes(source.path)).digest())
    for rule in rules:
        digest.update(f"rules/{rule.name}\0".encode())
        digest.update(hashlib.sha256(read_bytes(rule)).digest())
    return digest.hexdigest()
