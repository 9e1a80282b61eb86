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
from rdflib import BNode, Literal
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


class _Mirror:
    """The engine's closure in a pyoxigraph store, for evaluating the rules."""

    def __init__(self, engine: Owl2RlEngine) -> None:
        self.engine = engine
        self.store = ox.Store()
        self.converter = TermConverter()
        self.terms: dict[int, OxTerm] = {}
        self.ids: dict[OxTerm, int] = {}
        self.synced = 0

    def _term(self, term: int) -> OxTerm:
        found = self.terms.get(term)
        if found is None:
            found = self.terms[term] = self.converter.term(self.engine.terms.nodes[term])
            self.ids[found] = term
        return found

    def sync(self) -> None:
        nodes, log = self.engine.terms.nodes, self.engine.log
        quads = []
        for s, p, o in log[self.synced :]:
            if isinstance(nodes[s], Literal) or isinstance(nodes[p], BNode):
                continue
            subject, predicate = self._term(s), self._term(p)
            assert isinstance(subject, ox.NamedNode | ox.BlankNode)
            assert isinstance(predicate, ox.NamedNode)
            quads.append(ox.Quad(subject, predicate, self._term(o), ox.DefaultGraph()))
        self.store.extend(quads)
        self.synced = len(log)

    def id_of(self, term: OxTerm) -> int:
        found = self.ids.get(term)
        return found if found is not None else self.engine.terms.intern(to_rdflib(term))

    def construct(self, rule: Rule) -> list[tuple[int, int, int]]:
        self.sync()
        result = self.store.query(rule.sparql, prefixes=PREFIXES)
        assert isinstance(result, ox.QueryTriples)
        return [
            (self.id_of(t.subject), self.id_of(t.predicate), self.id_of(t.object)) for t in result
        ]


def derive(asserted: Iterable[Triple], rules: Sequence[Rule] = ()) -> list[Triple]:
    """The triples the OWL 2 RL closure + rules add to ``asserted`` (noise included).

    Raises InconsistencyError with owlrl's clash messages, MedkgError when no fixpoint is
    reached within MAX_ROUNDS rounds.
    """
    terms = TermTable()
    engine = Owl2RlEngine(terms)
    intern = terms.intern
    engine.add((intern(s), intern(p), intern(o)) for s, p, o in asserted)
    engine.mark_asserted()
    mirror = _Mirror(engine)
    for _round in range(MAX_ROUNDS):
        engine.run_pass()
        clashes = engine.clashes()
        if clashes:
            raise InconsistencyError(clashes)
        added = sum(engine.add(mirror.construct(rule)) for rule in rules)
        if not added:
            return list(engine.derived())
    raise MedkgError(
        f"inference did not reach a fixpoint in {MAX_ROUNDS} rounds "
        "(does a rule construct fresh blank nodes?)",
        where=", ".join(rule.name for rule in rules) or "OWL 2 RL",
    )
