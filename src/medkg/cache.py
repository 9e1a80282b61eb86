"""On-disk cache of the closed knowledge graph, keyed by :func:`medkg.inference.cache_key`.

An entry is ``<cache_dir>/<key>.nq``: the whole closed dataset (every asserted named
graph, the inferred graph and the default-graph union) as N-Quads. Keeping asserted and
inferred triples in one file keeps their blank nodes the same nodes, which a cache of the
inferred triples alone could not do (parsers give blank nodes fresh labels on each run).
Entries are written atomically (temporary file + ``os.replace``); an unreadable entry is
treated as a miss. Entries are read with their blank node labels kept (pyoxigraph's
``Store.load`` would give them new ones), so that a cached closure and a store directory's
asserted graphs name the same blank nodes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pyoxigraph as ox

_FORMAT = ox.RdfFormat.N_QUADS
SUFFIX = ".nq"


def read_nquads_into(store: ox.Store, path: Path) -> None:
    """Add the quads of the N-Quads file ``path`` to ``store``, blank node labels kept."""
    store.extend(ox.parse(path=path, format=_FORMAT))


class ClosureCache:
    """A directory of cached closures."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, key: str) -> Path:
        return self.directory / f"{key}{SUFFIX}"

    def load_into(self, key: str, store: ox.Store) -> bool:
        """Load the entry for ``key`` into the (empty) ``store``; False on a miss."""
        path = self.path_for(key)
        if not path.is_file():
            return False
        try:
            read_nquads_into(store, path)
        except (SyntaxError, ValueError, OSError):
            store.clear()
            return False
        return True

    def save(self, key: str, store: ox.Store) -> Path | None:
        """Write ``store`` as the entry for ``key``; None if the cache is not writable."""
        target = self.path_for(key)
        tmp_name: str | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.directory)
            with os.fdopen(fd, "wb") as handle:
                store.dump(handle, format=_FORMAT)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, target)
            tmp_name = None
        except OSError:
            return None
        finally:
            if tmp_name is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)
        return target
