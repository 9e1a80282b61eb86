"""The store directory (``--store DIR``): where user writes live, durably.

The curated files in ``data/`` and ``ontology/`` stay the reviewed source; writes never
touch them. A store directory holds::

    DIR/
      medkg-store.json   manifest: format, creation time, medkg version, base hash,
                         and the fingerprint of the curated files the base was made from
      base.nq            the asserted graphs when the store was created (N-Quads)
      journal.jsonl      every committed write since, fsynced before it is acknowledged
                         (see medkg.journal)
      lock               held (flock) by the one process that owns the store; holds its pid

The asserted state is ``base.nq`` with every journal entry applied in order. The closure is
derived (and cached by :func:`state_key`), never stored here. Files are created atomically
(temporary file, fsync, rename, fsync of the directory), so a crash while creating a store
leaves either no manifest (the store is created again) or a complete one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pyoxigraph as ox

from medkg import __version__
from medkg.cache import read_nquads_into
from medkg.changes import Change, apply_change
from medkg.errors import StorageError, StoreLocked
from medkg.journal import Entry, Journal, fsync_directory

FORMAT = 1
MANIFEST = "medkg-store.json"
BASE = "base.nq"
JOURNAL = "journal.jsonl"
LOCK = "lock"
_NQ = ox.RdfFormat.N_QUADS


@dataclass(frozen=True)
class Manifest:
    format: int
    created: str
    medkg_version: str
    base_sha256: str
    sources_key: str  # fingerprint of the curated inputs the base was made from


def _write_atomically(path: Path, write: Any) -> None:
    """``write(handle)`` into a temporary file beside ``path``, fsync, rename, fsync dir."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        tmp = ""
        fsync_directory(path.parent)
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _state_key(manifest: Manifest, head: str) -> str:
    return hashlib.sha256(f"{manifest.base_sha256}\0{head}".encode()).hexdigest()


class StoreDirectory:
    """An opened (and locked) store directory. Use :meth:`open`; :meth:`close` unlocks."""

    def __init__(self, path: Path, manifest: Manifest, journal: Journal, lock: IO[str]) -> None:
        self.path = path
        self.manifest = manifest
        self.journal = journal
        self._lock = lock

    # -- opening -----------------------------------------------------------------------------

    @staticmethod
    def exists(path: Path) -> bool:
        return (path / MANIFEST).is_file()

    @classmethod
    def open(
        cls, path: Path, *, base: ox.Store | None = None, sources_key: str = ""
    ) -> StoreDirectory:
        """Lock ``path`` and open it; create it from ``base`` (the curated asserted graphs)
        if it holds no store yet. StoreLocked if another process holds it."""
        try:
            path.mkdir(parents=True, exist_ok=True)
            lock = cls._acquire_lock(path)
        except OSError as exc:
            raise StorageError(f"cannot open the store directory: {exc}", where=str(path)) from exc
        try:
            if not cls.exists(path):
                if base is None:
                    raise StorageError("no store in this directory", where=str(path))
                cls._create(path, base, sources_key)
            manifest = cls._read_manifest(path)
            return cls(path, manifest, Journal(path / JOURNAL), lock)
        except BaseException:
            lock.close()
            raise

    @staticmethod
    def _acquire_lock(path: Path) -> IO[str]:
        handle = (path / LOCK).open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            raise StoreLocked(path, f"process {holder}" if holder else "") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        return handle

    @staticmethod
    def _create(path: Path, base: ox.Store, sources_key: str) -> None:
        for stale in (path / JOURNAL, path / BASE):
            stale.unlink(missing_ok=True)  # left by a creation that crashed
        _write_atomically(path / BASE, lambda h: base.dump(h, format=_NQ))
        manifest = Manifest(
            format=FORMAT,
            created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            medkg_version=__version__,
            base_sha256=_sha256_file(path / BASE),
            sources_key=sources_key,
        )
        text = json.dumps(manifest.__dict__, indent=2, sort_keys=True) + "\n"
        _write_atomically(path / MANIFEST, lambda h: h.write(text.encode("utf-8")))

    @staticmethod
    def _read_manifest(path: Path) -> Manifest:
        try:
            data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
            manifest = Manifest(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise StorageError(f"unreadable store manifest: {exc}", where=str(path)) from exc
        if manifest.format != FORMAT:
            raise StorageError(
                f"store format {manifest.format} is not supported (this medkg reads {FORMAT})",
                where=str(path),
            )
        return manifest

    # -- reading -----------------------------------------------------------------------------

    @classmethod
    def read(cls, path: Path) -> tuple[ox.Store, str]:
        """The asserted state and its :meth:`state_key`, read without the lock and without
        repairing anything (for read-only use beside a running server)."""
        manifest = cls._read_manifest(path)
        store = cls._load_base(path, manifest)
        journal = Journal(path / JOURNAL)
        if journal.path.exists():
            for entry in journal.entries():
                apply_change(store, entry.change)
                journal.head, journal.seq = entry.hash, entry.seq
        return store, _state_key(manifest, journal.head)

    @classmethod
    def read_base(cls, path: Path) -> ox.Store:
        """The store's base (the asserted graphs when it was created), without the lock."""
        return cls._load_base(path, cls._read_manifest(path))

    @staticmethod
    def _load_base(path: Path, manifest: Manifest) -> ox.Store:
        base = path / BASE
        if _sha256_file(base) != manifest.base_sha256:
            raise StorageError("base.nq does not match the manifest's hash", where=str(base))
        store = ox.Store()
        try:
            read_nquads_into(store, base)
        except (OSError, SyntaxError, ValueError) as exc:
            raise StorageError(f"cannot read base.nq: {exc}", where=str(base)) from exc
        return store

    def load(self) -> tuple[ox.Store, list[Entry]]:
        """The asserted state: the base plus every committed journal entry (recovering the
        journal first). StorageError if the base does not match its recorded hash."""
        store = self._load_base(self.path, self.manifest)
        entries = self.journal.recover()
        for entry in entries:
            apply_change(store, entry.change)
        return store, entries

    def state_key(self) -> str:
        """Names the asserted state: the base's hash and the journal's head hash."""
        return _state_key(self.manifest, self.journal.head)

    # -- writing -----------------------------------------------------------------------------

    def commit(self, operation: str, change: Change) -> Entry:
        """Make ``change`` durable (journal + fsync). After this returns, it survives a crash."""
        return self.journal.append(operation, change)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._lock.close()

    def __enter__(self) -> StoreDirectory:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
