"""Find entities by name: an in-memory index over labels and alternative names.

Every IRI subject with an ``rdfs:label``, ``skos:altLabel``, ``skos:prefLabel`` or
``skos:hiddenLabel`` (the printed forms of misspelt names) is indexed under each name,
folded so that matching ignores case, accents and punctuation: "Paris Cite" finds
"Université Paris Cité", "lkc" finds "LKCMedicine". Results rank exact names first, then
names that start with the query, then names with a word that starts with it, then any
other name containing it; a shorter name ranks higher within a rank.

:func:`index_for` builds the index of a knowledge graph once and keeps it while that
graph object lives (a new graph version gets a new index).
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from dataclasses import dataclass

import pyoxigraph as ox

from medkg.labels import (
    DEFAULT_GRAPH,
    RDF_TYPE,
    RDFS_LABEL,
    SKOS_ALT_LABEL,
    SKOS_HIDDEN_LABEL,
    SKOS_PREF_LABEL,
    Labeller,
)
from medkg.namespaces import ASSERTED_GRAPH
from medkg.store import KnowledgeGraph

MAX_RESULTS = 20
_ASSERTED = ox.NamedNode(ASSERTED_GRAPH)
_NAME_PROPERTIES = (RDFS_LABEL, SKOS_PREF_LABEL, SKOS_ALT_LABEL, SKOS_HIDDEN_LABEL)
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower case, no accents, punctuation and runs of spaces as one space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_WORD.sub(" ", bare).strip()


@dataclass(frozen=True)
class SearchHit:
    """One entity found: its IRI, label, the name that matched, and its asserted types."""

    iri: str
    label: str
    matched: str
    types: tuple[str, ...]
    type_labels: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "iri": self.iri,
            "label": self.label,
            "matched": self.matched,
            "types": list(self.types),
            "typeLabels": list(self.type_labels),
        }


@dataclass(frozen=True)
class _Entry:
    folded: str
    name: str
    subject: ox.NamedNode


class LabelIndex:
    """Names of every labelled IRI in one store."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self.labeller = Labeller(store)
        entries: list[_Entry] = []
        for predicate in _NAME_PROPERTIES:
            for quad in store.quads_for_pattern(None, predicate, None, DEFAULT_GRAPH):
                if isinstance(quad.subject, ox.NamedNode) and isinstance(quad.object, ox.Literal):
                    folded = fold(quad.object.value)
                    if folded:
                        entries.append(_Entry(folded, quad.object.value, quad.subject))
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, query: str, limit: int = MAX_RESULTS) -> list[SearchHit]:
        """The best ``limit`` entities for ``query`` (one hit per entity)."""
        needle = fold(query)
        if not needle:
            return []
        best: dict[ox.NamedNode, tuple[tuple[int, int, str], str]] = {}
        for entry in self._entries:
            rank = _rank(entry.folded, needle)
            if rank is None:
                continue
            key = (rank, len(entry.folded), entry.folded)
            current = best.get(entry.subject)
            if current is None or key < current[0]:
                best[entry.subject] = (key, entry.name)
        ordered = sorted(best.items(), key=lambda item: (item[1][0], item[0].value))
        return [self._hit(subject, matched) for subject, (_, matched) in ordered[:limit]]

    def _hit(self, subject: ox.NamedNode, matched: str) -> SearchHit:
        types = sorted(
            q.object.value
            for q in self.store.quads_for_pattern(subject, RDF_TYPE, None, _ASSERTED)
            if isinstance(q.object, ox.NamedNode)
        )
        return SearchHit(
            subject.value,
            self.labeller.label(subject),
            matched,
            tuple(types),
            tuple(self.labeller.label(ox.NamedNode(t)) for t in types),
        )


def _rank(folded: str, needle: str) -> int | None:
    if folded == needle:
        return 0
    if folded.startswith(needle):
        return 1
    if f" {needle}" in f" {folded}":
        return 2
    if needle in folded or needle.replace(" ", "") in folded.replace(" ", ""):
        return 3
    return None


_INDEXES: weakref.WeakKeyDictionary[KnowledgeGraph, LabelIndex] = weakref.WeakKeyDictionary()


def index_for(kg: KnowledgeGraph) -> LabelIndex:
    """The label index of ``kg``, built on first use and kept while ``kg`` lives."""
    index = _INDEXES.get(kg)
    if index is None:
        index = LabelIndex(kg.store)
        _INDEXES[kg] = index
    return index
