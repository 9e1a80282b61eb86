"""The exception tree of medkg. Every expected failure is a ``MedkgError``.

::

    MedkgError
     +-- InputError                 bad input from the user (exit 2)
     |    +-- QuerySyntaxError      SPARQL text that does not parse
     |    +-- RdfSyntaxError        an RDF file that does not parse
     |    +-- UnknownFormatError    a format name / media type / extension we do not know
     |    +-- SourceNotFoundError   a named file or directory that does not exist
     +-- InconsistencyError         the OWL 2 RL closure found a clash (exit 1)
     +-- ValidationFailed           SHACL validation reported results (exit 1)
     +-- ConfigError                settings or project layout unusable (exit 2)

``str()`` of each is one line: what went wrong, then where in parentheses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_MAX_MESSAGE = 240


def one_line(text: str, limit: int = _MAX_MESSAGE) -> str:
    """Collapse whitespace (incl. newlines) and cut ``text`` to ``limit`` characters."""
    flat = re.sub(r"\s+", " ", text).strip()
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "\u2026"
    return flat


def _where(source: str | Path | None, line: int | None, column: int | None) -> str:
    parts: list[str] = []
    if source is not None:
        parts.append(str(source))
    if line is not None:
        if source is not None:
            parts.append(str(line) if column is None else f"{line}:{column}")
            return ":".join(parts)
        parts.append(f"line {line}" if column is None else f"line {line}, column {column}")
    return ", ".join(parts)


class MedkgError(Exception):
    """Base of every expected medkg failure."""

    exit_code: int = 1

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        what = one_line(self.message)
        return f"{what} ({one_line(self.where)})" if self.where else what


class InputError(MedkgError):
    """The user gave us something unusable."""

    exit_code = 2


class QuerySyntaxError(InputError):
    """A SPARQL query (or rule) that does not parse."""

    def __init__(
        self,
        message: str,
        line: int | None = None,
        column: int | None = None,
        *,
        source: str | Path | None = None,
    ) -> None:
        self.line = line
        self.column = column
        self.source = source
        where = _where(source, line, column) or None
        super().__init__(f"SPARQL syntax error: {message}", where=where)


class RdfSyntaxError(InputError):
    """An RDF file that does not parse (or holds terms that are not valid RDF)."""

    def __init__(
        self,
        path: str | Path,
        message: str,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        super().__init__(f"RDF syntax error: {message}", where=_where(path, line, column))


class UnknownFormatError(InputError):
    """A format name, media type or file extension that medkg does not know."""

    def __init__(self, value: str, kind: str = "format", choices: Sequence[str] = ()) -> None:
        self.value = value
        self.kind = kind
        self.choices = tuple(choices)
        where = f"choose one of: {', '.join(self.choices)}" if self.choices else None
        super().__init__(f"unknown {kind} {value!r}", where=where)


class SourceNotFoundError(InputError):
    """A file or directory the user named does not exist."""

    def __init__(self, path: str | Path, what: str = "file") -> None:
        self.path = Path(path)
        super().__init__(f"{what} not found", where=str(path))


class InconsistencyError(MedkgError):
    """The OWL 2 RL closure is inconsistent; ``clashes`` holds the reasoner's messages."""

    def __init__(self, clashes: list[str]) -> None:
        self.clashes = list(clashes)
        first = self.clashes[0] if self.clashes else "unknown clash"
        more = f"; and {len(self.clashes) - 1} more" if len(self.clashes) > 1 else ""
        super().__init__(f"inconsistent knowledge graph: {first}{more}", where="OWL 2 RL closure")


class ValidationFailed(MedkgError):
    """SHACL validation produced results; ``violations`` holds them."""

    def __init__(self, violations: Sequence[Any], shapes: str | Path | None = None) -> None:
        self.violations = list(violations)
        n = len(self.violations)
        noun = "result" if n == 1 else "results"
        super().__init__(
            f"SHACL validation failed with {n} {noun}",
            where=str(shapes) if shapes is not None else None,
        )


class ConfigError(MedkgError):
    """Settings or the project layout are unusable."""

    exit_code = 2
