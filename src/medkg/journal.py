"""The append-only, fsynced journal of committed writes.

One line of JSON per committed write (a :class:`~medkg.changes.Change` plus when and what)::

    {"seq": 3, "time": "2026-11-23T10:00:00Z", "operation": "update",
     "created": [...], "dropped": [...], "removed": "<N-Quads>", "added": "<N-Quads>",
     "prev": "<hash of entry 2>", "hash": "<sha256 of this entry without its hash>"}

A write is *committed* once its line is written and ``fsync`` returned; only then is it
acknowledged. The hashes chain the entries, so the last hash names the whole history (it
keys the closure cache).

Recovery on open: entries are read in order. A last line that is incomplete (no newline,
bad JSON, wrong hash: a write interrupted by a crash, never acknowledged) is cut off. A bad
line followed by good ones is not a torn write but damage: :class:`StorageError`, and
nothing is changed, so no acknowledged write is ever dropped silently.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from medkg.changes import Change
from medkg.errors import StorageError

GENESIS = "0" * 64
_NQ = ox.RdfFormat.N_QUADS


@dataclass(frozen=True)
class Entry:
    """One committed write."""

    seq: int
    time: str
    operation: str
    change: Change
    prev: str
    hash: str


def _nquads(quads: tuple[ox.Quad, ...]) -> str:
    if not quads:
        return ""
    data = ox.serialize(list(quads), format=_NQ)
    assert data is not None
    return data.decode("utf-8")


def _quads(text: str) -> tuple[ox.Quad, ...]:
    if not text:
        return ()
    return tuple(ox.parse(text.encode("utf-8"), format=_NQ))


def _digest(record: dict[str, Any]) -> str:
    body = json.dumps(record, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(body.encode("ascii")).hexdigest()


def _record(seq: int, time: str, operation: str, change: Change, prev: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "time": time,
        "operation": operation,
        "created": list(change.created),
        "dropped": list(change.dropped),
        "removed": _nquads(change.removed),
        "added": _nquads(change.added),
        "prev": prev,
    }


def _entry(record: dict[str, Any]) -> Entry:
    change = Change(
        created=tuple(record["created"]),
        dropped=tuple(record["dropped"]),
        removed=_quads(record["removed"]),
        added=_quads(record["added"]),
    )
    return Entry(
        record["seq"], record["time"], record["operation"], change, record["prev"], record["hash"]
    )


def _parse_line(line: bytes, prev: str, seq: int) -> Entry | None:
    """The entry on ``line`` if it is complete and chains onto ``prev``; else None."""
    if not line.endswith(b"\n"):
        return None
    try:
        record = json.loads(line)
        stored = record.pop("hash")
        if not isinstance(record, dict) or stored != _digest(record):
            return None
        if record["prev"] != prev or record["seq"] != seq:
            return None
        record["hash"] = stored
        return _entry(record)
    except (ValueError, KeyError, TypeError, SyntaxError):
        return None


def fsync_directory(directory: Path) -> None:
    """Make a file's creation or rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """The journal file of a store directory. Not thread-safe: one writer at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.head = GENESIS
        self.seq = 0
        self._size = 0

    def recover(self) -> list[Entry]:
        """Every committed entry, in order; cuts off a torn last line (see module doc)."""
        if not self.path.exists():
            self.path.touch()
            fsync_directory(self.path.parent)
        entries: list[Entry] = []
        good_size = 0
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise StorageError(f"cannot read the journal: {exc}", where=str(self.path)) from exc
        lines = data.splitlines(keepends=True)
        for index, line in enumerate(lines):
            entry = _parse_line(line, self.head, self.seq + 1)
            if entry is None:
                if any(_looks_complete(later) for later in lines[index + 1 :]):
                    raise StorageError(
                        f"journal damaged at entry {self.seq + 1} (line {index + 1}), "
                        "with entries after it; refusing to guess",
                        where=str(self.path),
                    )
                break
            entries.append(entry)
            self.head, self.seq = entry.hash, entry.seq
            good_size += len(line)
        if good_size != len(data):
            self._truncate(good_size)
        self._size = good_size
        return entries

    def entries(self) -> Iterator[Entry]:
        """Re-read the committed entries (for exports and tests)."""
        head, seq = GENESIS, 0
        with self.path.open("rb") as handle:
            for line in handle:
                entry = _parse_line(line, head, seq + 1)
                if entry is None:
                    return
                head, seq = entry.hash, entry.seq
                yield entry

    def append(self, operation: str, change: Change) -> Entry:
        """Write and fsync one entry. On any failure the file is cut back and StorageError
        raised: the write is then not committed."""
        time = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        record = _record(self.seq + 1, time, operation, change, self.head)
        record["hash"] = _digest(record)
        line = (json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n").encode()
        try:
            with self.path.open("ab") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            self._truncate(self._size)
            raise StorageError(f"cannot write the journal: {exc}", where=str(self.path)) from exc
        self._size += len(line)
        self.head, self.seq = record["hash"], record["seq"]
        return Entry(record["seq"], time, operation, change, record["prev"], record["hash"])

    def _truncate(self, size: int) -> None:
        try:
            with self.path.open("r+b") as handle:
                handle.truncate(size)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise StorageError(f"cannot repair the journal: {exc}", where=str(self.path)) from exc


def _looks_complete(line: bytes) -> bool:
    """A line that is a whole JSON object (damage before it is not a torn write)."""
    if not line.endswith(b"\n"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False
