"""The journal of writes and the store directory: commit, recovery, locking, reading."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest

from medkg.changes import Change, apply_change
from medkg.errors import StorageError, StoreLocked
from medkg.journal import GENESIS, Journal
from medkg.storage import BASE, JOURNAL, MANIFEST, StoreDirectory

G = ox.NamedNode("http://example.org/g")


def _quad(n: int) -> ox.Quad:
    return ox.Quad(
        ox.NamedNode(f"http://example.org/s{n}"),
        ox.NamedNode("http://example.org/p"),
        ox.Literal(f"line\n{n}"),
        G,
    )


def _change(n: int) -> Change:
    return Change(created=(G.value,) if n == 1 else (), added=(_quad(n),))


def test_append_then_recover_round_trips(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    assert journal.recover() == []
    first = journal.append("update", _change(1))
    second = journal.append("load a.ttl", Change(removed=(_quad(1),), added=(_quad(2),)))
    assert (first.seq, second.seq, second.prev) == (1, 2, first.hash)
    reopened = Journal(tmp_path / "j")
    entries = reopened.recover()
    assert [e.change for e in entries] == [first.change, second.change]
    assert [e.operation for e in entries] == ["update", "load a.ttl"]
    assert (reopened.seq, reopened.head) == (2, second.hash)
    assert list(reopened.entries()) == entries


def test_a_torn_last_line_is_cut_off(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    journal.recover()
    journal.append("update", _change(1))
    good = (tmp_path / "j").read_bytes()
    line = json.dumps({"seq": 2, "half": "a write interrupted by a crash"})
    (tmp_path / "j").write_bytes(good + line[:20].encode())
    reopened = Journal(tmp_path / "j")
    assert len(reopened.recover()) == 1
    assert (tmp_path / "j").read_bytes() == good
    reopened.append("update", _change(2))  # appends after the repaired end
    assert [e.seq for e in Journal(tmp_path / "j").recover()] == [1, 2]


def test_a_complete_line_with_a_wrong_hash_is_not_committed(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    journal.recover()
    journal.append("update", _change(1))
    journal.append("update", _change(2))
    lines = (tmp_path / "j").read_bytes().splitlines(keepends=True)
    record = json.loads(lines[1])
    record["added"] = ""
    (tmp_path / "j").write_bytes(lines[0] + json.dumps(record).encode() + b"\n")
    assert [e.seq for e in Journal(tmp_path / "j").recover()] == [1]


def test_damage_before_good_entries_refuses_to_guess(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    journal.recover()
    for n in (1, 2, 3):
        journal.append("update", _change(n))
    lines = (tmp_path / "j").read_bytes().splitlines(keepends=True)
    damaged = lines[0] + b"garbage\n" + lines[2]
    (tmp_path / "j").write_bytes(damaged)
    with pytest.raises(StorageError, match="journal damaged at entry 2"):
        Journal(tmp_path / "j").recover()
    assert (tmp_path / "j").read_bytes() == damaged  # nothing was cut


def test_empty_journal_has_the_genesis_head(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    journal.recover()
    assert (journal.seq, journal.head) == (0, GENESIS)


def _base() -> ox.Store:
    store = ox.Store()
    store.add(_quad(0))
    store.add(ox.Quad(ox.BlankNode("b0"), ox.NamedNode("http://example.org/p"), ox.Literal("x"), G))
    return store


def test_store_directory_creates_locks_and_replays(tmp_path: Path) -> None:
    path = tmp_path / "store"
    with StoreDirectory.open(path, base=_base(), sources_key="abc") as directory:
        assert {p.name for p in path.iterdir()} >= {MANIFEST, BASE, "lock"}
        assert directory.manifest.sources_key == "abc"
        state, entries = directory.load()
        assert entries == [] and len(state) == 2
        empty_key = directory.state_key()
        with pytest.raises(StoreLocked, match="in use by process"):
            StoreDirectory.open(path)
        directory.commit("update", Change(removed=(_quad(0),), added=(_quad(1),)))
        assert directory.state_key() != empty_key
        read, key = StoreDirectory.read(path)  # beside the lock holder
        assert key == directory.state_key()
        assert _quad(1) in read and _quad(0) not in read
    with StoreDirectory.open(path) as reopened:  # the lock was released
        state, entries = reopened.load()
        assert len(entries) == 1 and _quad(1) in state
        assert any(isinstance(q.subject, ox.BlankNode) for q in state)
        assert (path / JOURNAL).is_file()


def test_a_changed_base_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store"
    StoreDirectory.open(path, base=_base()).close()
    (path / BASE).write_bytes((path / BASE).read_bytes() + b"\n")
    with StoreDirectory.open(path) as directory, pytest.raises(StorageError, match=r"base\.nq"):
        directory.load()


def test_an_unknown_store_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store"
    StoreDirectory.open(path, base=_base()).close()
    manifest = json.loads((path / MANIFEST).read_text())
    (path / MANIFEST).write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(StorageError, match="format 99 is not supported"):
        StoreDirectory.open(path)


def test_apply_change_drops_and_creates_graphs() -> None:
    store = _base()
    other = ox.NamedNode("http://example.org/empty")
    apply_change(store, Change(created=(other.value,), dropped=(G.value,)))
    assert list(store.named_graphs()) == [other]
    assert len(store) == 0
