"""Settings (``MEDKG_*`` environment, overridable by CLI flags) and resource resolution.

There is deliberately no module-level settings object: callers build a :class:`Settings`
(CLI flags passed as keyword arguments win over the environment, which wins over defaults)
and hand it down.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from medkg.errors import ConfigError
from medkg.lexer import SAFE_NESTING

#: Shortest bearer token accepted for writes (e.g. ``python -c "import secrets;
#: print(secrets.token_urlsafe(32))"`` gives 43 characters).
MIN_TOKEN_LENGTH = 16


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/medkg``, or ``~/.cache/medkg`` when XDG_CACHE_HOME is unset/empty."""
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "medkg"


class Reasoner(Enum):
    """Which engine computes the OWL 2 RL closure (both give the same inferred triples)."""

    FAST = "fast"  # medkg's own forward chainer (medkg.reasoner)
    OWLRL = "owlrl"  # the owlrl package, the reference


class Settings(BaseSettings):
    """Runtime settings. Environment variables use the ``MEDKG_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="MEDKG_", extra="forbid", frozen=True)

    ontology_dir: Path | None = None
    data_dir: Path | None = None
    queries_dir: Path | None = None
    extra_data: tuple[Path, ...] = ()
    cache_dir: Path = Field(default_factory=default_cache_dir)
    use_cache: bool = True
    reasoner: Reasoner = Reasoner.FAST

    # -- the SPARQL endpoint (``medkg serve``) ---------------------------------------------
    host: str = "127.0.0.1"  # loopback only unless asked otherwise
    port: int = Field(default=8000, ge=0, le=65535)
    #: The service's public base URL behind a proxy (``sd:endpoint`` is ``<it>/sparql``);
    #: None: taken from each request.
    public_url: str | None = None
    timeout: float = Field(default=30.0, gt=0)  # seconds per query
    workers: int = Field(default=2, ge=0)  # query worker processes; 0 runs queries in-process
    max_rows: int = Field(default=100_000, ge=1)  # SELECT rows / CONSTRUCT triples per answer
    max_result_bytes: int = Field(default=64_000_000, ge=1_000)  # response body of an answer
    max_query_bytes: int = Field(default=1_000_000, ge=1)  # /sparql request body (query, update)
    max_url_bytes: int = Field(default=16_384, ge=1)  # request query string
    max_nesting: int = Field(default=100, ge=1, le=SAFE_NESTING)  # brackets in a query
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    #: SERVICE endpoints queries may call (exact IRIs); empty: SERVICE is refused.
    service_allow: tuple[str, ...] = ()

    # -- fairness: per client (by address), 0 turns a limit off -----------------------------
    client_concurrency: int = Field(default=8, ge=0)  # requests in flight at once
    client_rate: float = Field(default=50.0, ge=0)  # requests per second, sustained
    client_burst: int = Field(default=200, ge=1)  # requests at once above the rate

    # -- writes (SPARQL Update, Graph Store Protocol, ``medkg load`` / ``update``) ----------
    #: The directory holding the asserted graphs and the journal of writes; None: the
    #: curated files only, read-only.
    store_dir: Path | None = None
    #: The bearer token writes must carry; None: every write over HTTP is refused.
    update_token: SecretStr | None = None
    max_upload_bytes: int = Field(default=16_000_000, ge=1)  # RDF uploaded to /store

    #: ``sparql:QUERY_URL[,UPDATE_URL]``: serve from a remote SPARQL store (``medkg push``
    #: fills it); None: the embedded store.
    backend: str | None = None

    @field_validator("update_token", "store_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("update_token", mode="after")
    @classmethod
    def _strong_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value()
        if len(token) < MIN_TOKEN_LENGTH or token.strip() != token:
            raise ValueError(
                f"the update token must have at least {MIN_TOKEN_LENGTH} characters "
                "and no surrounding spaces"
            )
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case_level(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


@dataclass(frozen=True)
class Resources:
    """Resolved directories holding the ontology, the data and the stored queries."""

    ontology_dir: Path
    data_dir: Path
    queries_dir: Path | None  # stored queries are optional: None when there are none
    #: Whether the ontology directory's graphs (``medkg.ttl``, ``alignments.ttl``) and the
    #: data directory's files are loaded. ``--data`` turns off whichever of the two was
    #: not given explicitly: it replaces the bundled graph. Rules and shapes always come
    #: from ``ontology_dir``.
    load_ontology: bool = True
    load_data: bool = True


def _bundled_root() -> Path:
    """Where a (non-editable) wheel carries the project's directories."""
    return Path(__file__).resolve().parent / "_bundled"


def _checkout_root() -> Path:
    """The repository checkout (editable install): ``src/medkg/config.py`` -> repo root."""
    return Path(__file__).resolve().parents[2]


def _find_dir(name: str, explicit: Path | None, roots: tuple[Path, ...]) -> Path | None:
    if explicit is not None:
        path = explicit.expanduser()
        if not path.is_dir():
            raise ConfigError(f"{name} directory does not exist", where=str(path))
        return path.resolve()
    for root in roots:
        candidate = root / name
        if candidate.is_dir():
            return candidate
    return None


def _resolve_one(name: str, explicit: Path | None, roots: tuple[Path, ...]) -> Path:
    found = _find_dir(name, explicit, roots)
    if found is not None:
        return found
    raise ConfigError(
        f"no {name} directory found; set --{name}-dir or MEDKG_{name.upper()}_DIR",
        where=", ".join(str(root / name) for root in roots),
    )


def resolve_resources(
    settings: Settings,
    *,
    roots: tuple[Path, ...] | None = None,
) -> Resources:
    """Resolve each directory: explicit setting, else bundled copy, else repo checkout.

    With ``extra_data`` (``--data``), the files given replace the bundled graph: the
    ontology and data directories' files are loaded only when that directory was set
    explicitly (flag or environment). The rules and shapes still come from the (explicit or
    bundled) ontology directory.

    ``roots`` replaces the (bundled, checkout) search roots; it exists for tests.
    """
    search = roots if roots is not None else (_bundled_root(), _checkout_root())
    replacing = bool(settings.extra_data)
    return Resources(
        ontology_dir=_resolve_one("ontology", settings.ontology_dir, search),
        data_dir=_resolve_one("data", settings.data_dir, search),
        queries_dir=_find_dir("queries", settings.queries_dir, search),
        load_ontology=not replacing or settings.ontology_dir is not None,
        load_data=not replacing or settings.data_dir is not None,
    )
