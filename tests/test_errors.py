from __future__ import annotations

from pathlib import Path

import pytest

from medkg.errors import (
    ConfigError,
    InconsistencyError,
    InputError,
    MedkgError,
    QuerySyntaxError,
    RdfSyntaxError,
    SourceNotFoundError,
    UnknownFormatError,
    ValidationFailed,
)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            QuerySyntaxError("expected '}'", 3, 14),
            "SPARQL syntax error: expected '}' (line 3, column 14)",
        ),
        (
            QuerySyntaxError("bad\n  token", 2, 5, source="q.rq"),
            "SPARQL syntax error: bad token (q.rq:2:5)",
        ),
        (QuerySyntaxError("oops"), "SPARQL syntax error: oops"),
        (
            RdfSyntaxError(Path("data/x.ttl"), "expected '.'", 4, 7),
            "RDF syntax error: expected '.' (data/x.ttl:4:7)",
        ),
        (RdfSyntaxError("data/x.nt", "Invalid line"), "RDF syntax error: Invalid line (data/x.nt)"),
        (
            UnknownFormatError("yaml", "output format", ["json", "csv"]),
            "unknown output format 'yaml' (choose one of: json, csv)",
        ),
        (SourceNotFoundError("q.rq", "query file"), "query file not found (q.rq)"),
        (
            InconsistencyError(["Irreflexive property used on ex:a", "second"]),
            "inconsistent knowledge graph: Irreflexive property used on ex:a; and 1 more "
            "(OWL 2 RL closure)",
        ),
        (
            ValidationFailed([1, 2], "shapes.ttl"),
            "SHACL validation failed with 2 results (shapes.ttl)",
        ),
        (ValidationFailed([1]), "SHACL validation failed with 1 result"),
        (
            ConfigError("ontology file missing", where="/x/medkg.ttl"),
            "ontology file missing (/x/medkg.ttl)",
        ),
    ],
)
def test_str_is_one_line_what_and_where(error: MedkgError, expected: str) -> None:
    assert str(error) == expected
    assert "\n" not in str(error)


def test_long_messages_are_cut() -> None:
    text = str(QuerySyntaxError("x" * 5000, 1, 1))
    assert len(text) < 400
    assert "\n" not in text


@pytest.mark.parametrize(
    ("cls", "base", "code"),
    [
        (QuerySyntaxError, InputError, 2),
        (RdfSyntaxError, InputError, 2),
        (UnknownFormatError, InputError, 2),
        (SourceNotFoundError, InputError, 2),
        (InconsistencyError, MedkgError, 1),
        (ValidationFailed, MedkgError, 1),
        (ConfigError, MedkgError, 2),
    ],
)
def test_tree_and_exit_codes(cls: type[MedkgError], base: type[MedkgError], code: int) -> None:
    assert issubclass(cls, base)
    assert cls.exit_code == code


def test_attributes_are_kept() -> None:
    err = RdfSyntaxError("a.ttl", "m", 1, 2)
    assert (err.path, err.line, err.column) == (Path("a.ttl"), 1, 2)
    q = QuerySyntaxError("m", 5, 6)
    assert (q.line, q.column) == (5, 6)
    assert InconsistencyError(["a"]).clashes == ["a"]
