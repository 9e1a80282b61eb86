"""Shared fixtures: tiny ontology/data directories under tests/fixtures, isolated settings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from medkg.config import Settings
from medkg.store import KnowledgeGraph

FIXTURES = Path(__file__).parent / "fixtures"
KG_ONTOLOGY = FIXTURES / "kg" / "ontology"
KG_DATA = FIXTURES / "kg" / "data"
KG_DATA_INVALID = FIXTURES / "kg" / "data_invalid"
INCONSISTENT = FIXTURES / "inconsistent"


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No MEDKG_* variable from the caller's shell leaks into a test; caches go to tmp."""
    import os

    for name in list(os.environ):
        if name.startswith("MEDKG_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(ontology_dir=KG_ONTOLOGY, data_dir=KG_DATA, cache_dir=tmp_path / "cache")


@pytest.fixture(scope="session")
def kg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeGraph]:
    """The fixture knowledge graph, opened once (read-only use only)."""
    cache = tmp_path_factory.mktemp("kg-cache")
    yield KnowledgeGraph.open(
        Settings(ontology_dir=KG_ONTOLOGY, data_dir=KG_DATA, cache_dir=cache, use_cache=False)
    )


def fixture_server_args(root: Path, *, store: bool = False, workers: int = 0) -> list[str]:
    """``medkg serve`` flags for the fixture graph, a private cache under ``root`` (and a
    store directory there), and ``workers`` query worker processes."""
    args = [*kg_args(root), "--workers", str(workers)]
    return [*args, "--store", str(root / "store")] if store else args


def kg_args(
    tmp_path: Path, data_dir: Path = KG_DATA, ontology_dir: Path = KG_ONTOLOGY
) -> list[str]:
    """CLI flags pointing at a fixture and a private cache."""
    return [
        "--ontology-dir",
        str(ontology_dir),
        "--data-dir",
        str(data_dir),
        "--cache-dir",
        str(tmp_path / "cache"),
    ]


@dataclass(frozen=True)
class Bundled:
    """The bundled knowledge graph, computed once per test session, and its cache dir."""

    kg: KnowledgeGraph
    cache_dir: Path


@pytest.fixture(scope="session")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Bundled:
    """The real ontology + data, closure computed (not read from a cache) once."""
    cache = tmp_path_factory.mktemp("bundled-cache")
    kg = KnowledgeGraph.open(Settings(cache_dir=cache))
    assert not kg.from_cache
    return Bundled(kg, cache)
