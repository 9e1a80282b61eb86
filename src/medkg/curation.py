"""Writes, one at a time: compute the change, re-infer, validate, commit, publish.

A :class:`Curator` owns a store directory (:mod:`medkg.storage`) and the current version of
the knowledge graph. Every write (SPARQL Update, Graph Store request, ``medkg load`` /
``update``) goes through :meth:`Curator.write`::

    change = compute(asserted state, current closure)     # nothing touched yet
    candidate asserted = asserted + change                # a copy
    candidate graph    = closure of the candidate          # full recomputation: retractions
                                                           # are exact (owlrl cannot retract)
    inconsistency?  new SHACL violations?  -> WriteRejected, nothing changed
    journal append + fsync                                 # the commit point
    publish: the candidate becomes the current version     # one reference swap
    listeners (query workers) move to the new version

Writers are serialised by a lock. Readers never wait: they take :attr:`Curator.kg` once
per request and keep that version (pyoxigraph stores are never modified after publication),
so they see the old or the new state, never a mix. A failed write changes nothing on disk
or in memory; a crash before the fsync loses only an unacknowledged write.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from medkg.cache import ClosureCache
from medkg.changes import Outcome, apply_change, run_update
from medkg.config import Reasoner, Settings, resolve_resources
from medkg.errors import (
    ConfigError,
    InconsistencyError,
    InputError,
    QueryTimeout,
    WriteRejected,
)
from medkg.lexer import SAFE_NESTING, check_nesting, refuse_load, refuse_service
from medkg.loading import discover, discover_rules, shapes_file
from medkg.sandbox import sandboxed
from medkg.storage import StoreDirectory
from medkg.store import KnowledgeGraph, closure_key, query_errors
from medkg.threads import call_with_large_stack
from medkg.validation import Violation, validate

log = logging.getLogger(__name__)

#: Computes a write's effect from the asserted state and the current closed graph.
Compute = Callable[[ox.Store, KnowledgeGraph], Outcome]
Listener = Callable[[KnowledgeGraph], None]

#: Closure cache entries kept for the latest versions this curator published.
_KEEP_VERSIONS = 3


def sparql_update(
    update: str,
    *,
    base_iri: str | None = None,
    source: str | Path | None = None,
    timeout: float | None = None,
) -> Compute:
    """The write a SPARQL Update makes (see :func:`medkg.changes.run_update`). ``LOAD``,
    ``SERVICE`` and over-deep nesting are refused before anything parses it; evaluation past
    ``timeout`` seconds raises QueryTimeout (the throwaway working copy is abandoned)."""
    refuse_load(update)
    refuse_service(update, source)
    check_nesting(update, SAFE_NESTING)

    def compute(asserted: ox.Store, kg: KnowledgeGraph) -> Outcome:
        with query_errors(update, source):
            try:
                change = call_with_large_stack(
                    run_update, asserted, kg.store, update, base_iri, timeout=timeout
                )
            except TimeoutError:
                assert timeout is not None
                raise QueryTimeout(timeout) from None
            except RuntimeError as exc:  # pyoxigraph's evaluation errors
                raise InputError(f"the update failed: {exc}", where=_where(source)) from exc
        return Outcome(change)

    return compute


def _where(source: str | Path | None) -> str | None:
    return str(source) if source is not None else None


def copy_store(store: ox.Store) -> ox.Store:
    """A new store with the same named graphs (empty ones too) and quads."""
    copy = ox.Store()
    for graph in store.named_graphs():
        copy.add_graph(graph)
    copy.extend(store.quads_for_pattern(None, None, None, None))
    return copy


#: A SHACL violation as compared between versions (the shape's blank-node label is not
#: stable across parses of the shapes file, so it is left out).
ViolationKey = tuple[str, str | None, str]


def _errors(violations: list[Violation]) -> set[ViolationKey]:
    return {(v.focus_node, v.path, v.message) for v in violations if v.severity == "Violation"}


class Curator:
    """The writable knowledge graph of a store directory. Build it with :meth:`open`."""

    def __init__(
        self,
        directory: StoreDirectory,
        asserted: ox.Store,
        kg: KnowledgeGraph,
        *,
        shapes: Path | None,
        cache: ClosureCache | None,
        reasoner: Reasoner = Reasoner.FAST,
    ) -> None:
        self.reasoner = reasoner
        self.directory = directory
        self._asserted = asserted
        self._kg = kg
        self._shapes = shapes
        self._cache = cache
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._violations: set[ViolationKey] | None = None
        self._saved: deque[str] = deque()

    @classmethod
    def open(cls, settings: Settings) -> Curator:
        """Lock and open ``settings.store_dir``, creating it from the curated files (and
        ``extra_data``) when it holds no store yet."""
        if settings.store_dir is None:
            raise ConfigError("writes need a store directory: set --store DIR")
        path = settings.store_dir.expanduser()
        resources = resolve_resources(settings)
        cache = ClosureCache(settings.cache_dir) if settings.use_cache else None
        rules = discover_rules(resources)
        shapes = shapes_file(resources)
        if not StoreDirectory.exists(path):
            curated = KnowledgeGraph.open(settings.model_copy(update={"store_dir": None}))
            directory = StoreDirectory.open(
                path, base=curated.asserted_store(), sources_key=curated.cache_key
            )
        else:
            directory = StoreDirectory.open(path)
            curated = None
        try:
            asserted, entries = directory.load()
            key = closure_key(directory.state_key(), rules, settings.reasoner)
            if curated is not None and not entries:
                kg = curated  # the same asserted graphs: reuse their closure
                kg.cache_key = key
                if cache is not None:
                    cache.save(key, kg.store)
            else:
                kg = KnowledgeGraph.from_asserted(
                    asserted,
                    resources=resources,
                    sources=discover(resources, settings.extra_data),
                    rules=rules,
                    key=key,
                    cache=cache,
                    reasoner=settings.reasoner,
                )
        except BaseException:
            directory.close()
            raise
        log.info(
            "store %s: %d committed writes replayed, closure %s",
            path,
            len(entries),
            "from cache" if kg.from_cache else "computed",
        )
        return cls(directory, asserted, kg, shapes=shapes, cache=cache, reasoner=settings.reasoner)

    # -- reading -----------------------------------------------------------------------------

    @property
    def kg(self) -> KnowledgeGraph:
        """The current version (take it once per request and keep it)."""
        return self._kg

    @property
    def seq(self) -> int:
        """How many writes the journal holds."""
        return self.directory.journal.seq

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(new_version)`` after every published write (under the write lock)."""
        self._listeners.append(listener)

    # -- writing -----------------------------------------------------------------------------

    def write(self, operation: str, compute: Compute) -> Outcome:
        """Run one write to the end: committed and published, or nothing changed."""
        with self._lock:
            current = self._kg
            with sandboxed():
                outcome = compute(self._asserted, current)
                if outcome.change.empty:
                    return outcome
                asserted = copy_store(self._asserted)
                apply_change(asserted, outcome.change)
                candidate = self._close(asserted, current)
                violations = self._check(candidate)
            self.directory.commit(operation, outcome.change)
            candidate.cache_key = closure_key(
                self.directory.state_key(), current.rules, self.reasoner
            )
            self._publish(asserted, candidate, violations)
            log.info("write %d (%s): %s", self.seq, operation, outcome.change.summary())
            return outcome

    def _close(self, asserted: ox.Store, current: KnowledgeGraph) -> KnowledgeGraph:
        try:
            return KnowledgeGraph.from_asserted(
                asserted,
                resources=current.resources,
                sources=current.sources,
                rules=current.rules,
                key="",  # keyed after the commit
                reasoner=self.reasoner,
            )
        except InconsistencyError as exc:
            raise WriteRejected(str(exc), exc.clashes) from exc

    def _check(self, candidate: KnowledgeGraph) -> set[ViolationKey] | None:
        """``candidate``'s SHACL violations; WriteRejected if it has any the current version
        has not (a store whose data already violates a shape stays writable)."""
        if self._shapes is None:
            return None
        if self._violations is None:
            self._violations = _errors(validate(self._kg, self._shapes))
        found = _errors(validate(candidate, self._shapes))
        new = sorted(found - self._violations)
        if new:
            reasons = [
                f"{focus} {path or ''}: {message}".replace("  ", " ")
                for focus, path, message in new
            ]
            raise WriteRejected(f"{len(new)} new SHACL violation(s): {reasons[0]}", reasons)
        return found

    def _publish(
        self, asserted: ox.Store, candidate: KnowledgeGraph, violations: set[ViolationKey] | None
    ) -> None:
        self._asserted = asserted
        self._kg = candidate
        self._violations = violations
        if self._cache is not None:
            self._cache.save(candidate.cache_key, candidate.store)
            self._saved.append(candidate.cache_key)
            while len(self._saved) > _KEEP_VERSIONS:
                old = self._saved.popleft()
                with contextlib.suppress(OSError):
                    self._cache.path_for(old).unlink(missing_ok=True)
        for listener in self._listeners:
            listener(candidate)

    def close(self) -> None:
        self.directory.close()

    def __enter__(self) -> Curator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
