"""The ``fast`` reasoner: OWL 2 RL (:mod:`medkg.owl2rl`) and the CONSTRUCT rules, jointly.

Same rounds as the owlrl path of :mod:`medkg.inference`: an OWL 2 RL pass to its fixpoint,
a consistency check, then every rule in order, each seeing the triples the previous ones
added; repeated until the rules add nothing. The rules run on pyoxigraph over a mirror of
the closure that is kept up to date incrementally (triples pyoxigraph cannot hold, with a
literal subject or a blank node predicate, are not mirrored). Each OWL pass after the first
only processes what the rules added, so a round costs what it derives.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import BNode
from rdflib.term import Node

from medkg.errors import InconsistencyError, MedkgError
from medkg.namespaces import PREFIXES
from medkg.owl2rl import Owl2RlEngine, TermTable
from medkg.terms import OxTerm, TermConverter, to_rdflib

#: At most this many rounds of OWL pass + rules (a rule minting blank nodes never ends).
MAX_ROUNDS = 10

Triple = tuple[Node, Node, Node]


@dataclass(frozen=True)
class Rule:
    """A SPARQL CONSTRUCT rule: its name (for messages) and its text."""

    name: str
    sparql: str
    #: The predicate IRIs the rule reads (None: it may read any triple). Only triples with
    #: these predicates are copied into the store the rules run on.
    reads: frozenset[str] | None = None


class OxTerms:
    """pyoxigraph terms <-> the engine's integer ids. A pyoxigraph term is converted to
    rdflib once, when first interned; an id maps back to the pyoxigraph term it came from
    (so a literal keeps its exact lexical form), or to a conversion of its rdflib term."""

    def __init__(self, table: TermTable) -> None:
        self.table = table
        self.ids: dict[OxTerm, int] = {}
        self.terms: dict[int, OxTerm] = {}
        self.converter = TermConverter()

    def intern(self, term: OxTerm) -> int:
        found = self.ids.get(term)
        if found is None:
            found = self.ids[term] = self.table.intern(to_rdflib(term))
            self.terms.setdefault(found, term)
        return found

    def term(self, term_id: int) -> OxTerm:
        found = self.terms.get(term_id)
        if found is None:
            found = self.terms[term_id] = self.converter.term(self.table.nodes[term_id])
            self.ids.setdefault(found, term_id)
        return found

    def triple(self, s: int, p: int, o: int) -> ox.Triple:
        subject, predicate = self.term(s), self.term(p)
        assert isinstance(subject, ox.NamedNode | ox.BlankNode)
        assert isinstance(predicate, ox.NamedNode)
        return ox.Triple(subject, predicate, self.term(o))


class _Mirror:
    """The engine's closure in a pyoxigraph store, for evaluating the rules."""

    def __init__(self, engine: Owl2RlEngine, terms: OxTerms, rules: Sequence[Rule]) -> None:
        self.engine = engine
        self.store = ox.Store()
        self.terms = terms
        self.synced = 0
        self.reads: set[int] | None = set()
        for rule in rules:
            if rule.reads is None:
                self.reads = None
                break
            self.reads.update(terms.intern(ox.NamedNode(iri)) for iri in rule.reads)

    def sync(self) -> None:
        table, log, reads = self.engine.terms, self.engine.log, self.reads
        literals, nodes, triple = table.literals, table.nodes, self.terms.triple
        quads = [
            ox.Quad(*triple(s, p, o))
            for s, p, o in log[self.synced :]
            if (reads is None or p in reads)
            and s not in literals
            and not isinstance(nodes[p], BNode)
        ]
        self.store.extend(quads)
        self.synced = len(log)

    def construct(self, rule: Rule) -> list[tuple[int, int, int]]:
        self.sync()
        result = self.store.query(rule.sparql, prefixes=PREFIXES)
        assert isinstance(result, ox.QueryTriples)
        intern = self.terms.intern
        return [(intern(t.subject), intern(t.predicate), intern(t.object)) for t in result]


def _close(engine: Owl2RlEngine, terms: OxTerms, rules: Sequence[Rule]) -> None:
    """Run OWL 2 RL passes and the rules on ``engine``'s input until nothing changes."""
    engine.mark_asserted()
    mirror = _Mirror(engine, terms, rules)
    for _round in range(MAX_ROUNDS):
        engine.run_pass()
        clashes = engine.clashes()
        if clashes:
            raise InconsistencyError(clashes)
        added = sum(engine.add(mirror.construct(rule)) for rule in rules)
        if not added:
            return
    raise MedkgError(
        f"inference did not reach a fixpoint in {MAX_ROUNDS} rounds "
        "(does a rule construct fresh blank nodes?)",
        where=", ".join(rule.name for rule in rules) or "OWL 2 RL",
    )


def derive(asserted: Iterable[Triple], rules: Sequence[Rule] = ()) -> list[Triple]:
    """The triples the OWL 2 RL closure + rules add to ``asserted`` (noise included).

    Raises InconsistencyError with owlrl's clash messages, MedkgError when no fixpoint is
    reached within MAX_ROUNDS rounds.
    """
    table = TermTable()
    engine = Owl2RlEngine(table)
    intern = table.intern
    engine.add((intern(s), intern(p), intern(o)) for s, p, o in asserted)
    _close(engine, OxTerms(table), rules)
    return list(engine.derived())


def close(
    asserted: Iterable[ox.Triple | ox.Quad], rules: Sequence[Rule] = ()
) -> tuple[Owl2RlEngine, OxTerms]:
    """The closed engine of pyoxigraph ``asserted`` triples (or quads: graphs ignored) and
    the ids of their terms:
    :meth:`Owl2RlEngine.derived_ids` are what :func:`derive` returns, without rdflib in
    between. Raises as :func:`derive` does."""
    table = TermTable()
    engine = Owl2RlEngine(table)
    terms = OxTerms(table)
    intern = terms.intern
    engine.add((intern(t.subject), intern(t.predicate), intern(t.object)) for t in asserted)
    _close(engine, terms, rules)
    return engine, terms
