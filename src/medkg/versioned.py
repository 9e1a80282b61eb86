"""Data computed once per graph version, kept while that version lives.

A :class:`~medkg.store.KnowledgeGraph` is never changed in place: a write publishes a new
graph object. So what the pages derive from a graph (its terms' labels and views, its
n-ary nodes' facts, the ontology document) can be kept with that object:
:class:`PerVersion` holds one value per live graph in a weak-keyed map, builds it on first
use and drops it with the graph; the next version, being a new object, gets its own.
Rendered pages are never kept: every request renders its page.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from medkg.describe import TermIndex
from medkg.labels import Labeller
from medkg.vocabulary import OntologyDocument, ontology_document

if TYPE_CHECKING:
    from medkg.store import KnowledgeGraph

T = TypeVar("T")


class PerVersion(Generic[T]):
    """``build(kg)``, computed once per graph object (thread-safe) and kept while it lives."""

    def __init__(self, build: Callable[[KnowledgeGraph], T]) -> None:
        self._build = build
        self._values: weakref.WeakKeyDictionary[KnowledgeGraph, T] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, kg: KnowledgeGraph) -> T:
        found = self._values.get(kg)
        if found is None:
            with self._lock:
                found = self._values.get(kg)
                if found is None:
                    found = self._build(kg)
                    self._values[kg] = found
        return found


#: The labeller of one graph version: each term's label is looked up once per version.
labeller_for: PerVersion[Labeller] = PerVersion(lambda kg: Labeller(kg.store))
#: The term views and n-ary nodes' facts that entity descriptions read, per graph version.
terms_of: PerVersion[TermIndex] = PerVersion(lambda kg: TermIndex(labeller_for(kg)))


#: The ontology's terms and axioms as ``/ontology`` shows them, per graph version.
ontology_of: PerVersion[OntologyDocument] = PerVersion(
    lambda kg: ontology_document(kg.store, labeller_for(kg))
)
