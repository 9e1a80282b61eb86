from __future__ import annotations

from pathlib import Path

import pytest

from medkg.cli import build_settings
from medkg.config import Settings, default_cache_dir, resolve_resources
from medkg.errors import ConfigError


def _project(root: Path, *names: str) -> Path:
    for name in names:
        (root / name).mkdir(parents=True)
    return root


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    settings = Settings()
    assert settings.ontology_dir is None
    assert settings.data_dir is None
    assert settings.queries_dir is None
    assert settings.cache_dir == tmp_path / "medkg"
    assert settings.use_cache is True
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.public_url is None
    assert (settings.timeout, settings.workers, settings.max_rows) == (30.0, 2, 100_000)
    assert (settings.max_query_bytes, settings.max_url_bytes) == (1_000_000, 16_384)
    assert (settings.max_nesting, settings.log_level) == (100, "info")


@pytest.mark.parametrize(
    "bad",
    [
        {"max_nesting": 0},
        {"max_nesting": 10_000},  # above what the query parser survives
        {"workers": -1},
        {"max_rows": 0},
        {"timeout": -1},
        {"log_level": "loud"},
    ],
)
def test_endpoint_settings_are_validated(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="invalid setting"):
        build_settings(bad)


def test_cache_dir_without_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / ".cache" / "medkg"


def test_env_overrides_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDKG_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("MEDKG_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("MEDKG_USE_CACHE", "false")
    monkeypatch.setenv("MEDKG_PORT", "9001")
    monkeypatch.setenv("MEDKG_TIMEOUT", "2.5")
    monkeypatch.setenv("MEDKG_WORKERS", "0")
    monkeypatch.setenv("MEDKG_PUBLIC_URL", "https://kg.example.org")
    monkeypatch.setenv("MEDKG_LOG_LEVEL", "WARNING")
    settings = Settings()
    assert settings.data_dir == tmp_path / "d"
    assert settings.cache_dir == tmp_path / "c"
    assert settings.use_cache is False
    assert settings.port == 9001
    assert (settings.timeout, settings.workers) == (2.5, 0)
    assert (settings.public_url, settings.log_level) == ("https://kg.example.org", "warning")
    assert Settings(timeout=9).timeout == 9.0  # keyword arguments (CLI flags) win


def test_cli_flags_override_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDKG_DATA_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("MEDKG_ONTOLOGY_DIR", str(tmp_path / "onto-env"))
    settings = build_settings({"data_dir": tmp_path / "from-flag", "use_cache": False})
    assert settings.data_dir == tmp_path / "from-flag"
    assert settings.ontology_dir == tmp_path / "onto-env"  # not overridden: env stays
    assert settings.use_cache is False


def test_invalid_env_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDKG_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="port"):
        build_settings({})


def test_resolve_prefers_bundled_then_checkout(tmp_path: Path) -> None:
    bundled = _project(tmp_path / "bundled", "ontology")
    checkout = _project(tmp_path / "checkout", "ontology", "data", "queries")
    resources = resolve_resources(Settings(), roots=(bundled, checkout))
    assert resources.ontology_dir == bundled / "ontology"
    assert resources.data_dir == checkout / "data"
    assert resources.queries_dir == checkout / "queries"


def test_resolve_explicit_wins(tmp_path: Path) -> None:
    checkout = _project(tmp_path / "checkout", "ontology", "data")
    mine = _project(tmp_path / "mine", "onto")
    resources = resolve_resources(Settings(ontology_dir=mine / "onto"), roots=(checkout,))
    assert resources.ontology_dir == (mine / "onto").resolve()
    assert resources.data_dir == checkout / "data"
    assert resources.queries_dir is None  # optional


def test_resolve_missing_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no ontology directory"):
        resolve_resources(Settings(), roots=(tmp_path,))
    _project(tmp_path, "ontology")
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_resources(Settings(data_dir=tmp_path / "nope"), roots=(tmp_path,))


def test_default_resolution_finds_a_project_layout() -> None:
    """Installed or editable, the package finds ontology/ and data/ somewhere real."""
    resources = resolve_resources(Settings())
    assert resources.ontology_dir.is_dir()
    assert resources.data_dir.is_dir()
