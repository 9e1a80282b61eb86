"""Formats are values: RDF syntaxes, SPARQL result formats, and HTTP content negotiation.

Each enum member carries everything needed to use it (media type, file extension, the
rdflib and pyoxigraph format handles). :func:`negotiate` is a pure RFC 9110 ``Accept``
matcher used by the CLI today and by the HTTP endpoint later.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import PurePath

import pyoxigraph as ox

from medkg.errors import UnknownFormatError

#: Namespace of the W3C "Unique URIs for file formats" (used by service descriptions).
W3C_FORMATS = "http://www.w3.org/ns/formats/"


@dataclass(frozen=True)
class RdfSyntaxInfo:
    """What one RDF syntax is, for every library medkg talks to."""

    names: tuple[str, ...]  # first is canonical (CLI spelling)
    media_types: tuple[str, ...]  # first is canonical
    extensions: tuple[str, ...]  # without dot; first is canonical
    rdflib_format: str
    oxigraph_format: ox.RdfFormat
    carries_graphs: bool
    format_iri: str  # the W3C "Unique URIs for file formats" IRI (service descriptions)


class RdfSyntax(Enum):
    """An RDF serialization syntax."""

    TURTLE = RdfSyntaxInfo(
        ("turtle", "ttl"),
        ("text/turtle", "application/x-turtle"),
        ("ttl",),
        "turtle",
        ox.RdfFormat.TURTLE,
        False,
        W3C_FORMATS + "Turtle",
    )
    NTRIPLES = RdfSyntaxInfo(
        ("ntriples", "nt", "n-triples"),
        ("application/n-triples",),
        ("nt",),
        "nt",
        ox.RdfFormat.N_TRIPLES,
        False,
        W3C_FORMATS + "N-Triples",
    )
    NQUADS = RdfSyntaxInfo(
        ("nquads", "nq", "n-quads"),
        ("application/n-quads",),
        ("nq",),
        "nquads",
        ox.RdfFormat.N_QUADS,
        True,
        W3C_FORMATS + "N-Quads",
    )
    TRIG = RdfSyntaxInfo(
        ("trig",),
        ("application/trig",),
        ("trig",),
        "trig",
        ox.RdfFormat.TRIG,
        True,
        W3C_FORMATS + "TriG",
    )
    JSONLD = RdfSyntaxInfo(
        ("jsonld", "json-ld"),
        ("application/ld+json",),
        ("jsonld",),
        "json-ld",
        ox.RdfFormat.JSON_LD,
        True,
        W3C_FORMATS + "JSON-LD",
    )
    RDFXML = RdfSyntaxInfo(
        ("rdfxml", "rdf/xml", "rdf"),
        ("application/rdf+xml",),
        ("rdf", "owl"),
        "xml",
        ox.RdfFormat.RDF_XML,
        False,
        W3C_FORMATS + "RDF_XML",
    )

    @property
    def info(self) -> RdfSyntaxInfo:
        info: RdfSyntaxInfo = self.value
        return info

    @property
    def cli_name(self) -> str:
        return self.info.names[0]

    @property
    def media_type(self) -> str:
        return self.info.media_types[0]

    @property
    def extension(self) -> str:
        return self.info.extensions[0]

    @property
    def rdflib_format(self) -> str:
        return self.info.rdflib_format

    @property
    def oxigraph_format(self) -> ox.RdfFormat:
        return self.info.oxigraph_format

    @property
    def carries_graphs(self) -> bool:
        return self.info.carries_graphs

    @property
    def format_iri(self) -> str:
        return self.info.format_iri

    @classmethod
    def from_name(cls, name: str) -> RdfSyntax:
        key = name.strip().lower()
        for member in cls:
            if key in member.info.names or key == member.name.lower():
                return member
        raise UnknownFormatError(name, "RDF syntax", [m.cli_name for m in cls])

    @classmethod
    def from_media_type(cls, media_type: str) -> RdfSyntax:
        key = _bare_media_type(media_type)
        for member in cls:
            if key in member.info.media_types:
                return member
        raise UnknownFormatError(media_type, "RDF media type", [m.media_type for m in cls])

    @classmethod
    def from_extension(cls, ext_or_path: str | PurePath) -> RdfSyntax:
        """By extension (``"ttl"``, ``".ttl"``) or file name; a trailing ``.gz`` is ignored."""
        ext = _extension(ext_or_path)
        for member in cls:
            if ext in member.info.extensions:
                return member
        raise UnknownFormatError(
            str(ext_or_path),
            "RDF file extension",
            [f".{e}" for m in cls for e in m.info.extensions],
        )


@dataclass(frozen=True)
class ResultFormatInfo:
    """What one SPARQL query-results format is."""

    name: str
    media_type: str
    extension: str
    oxigraph_format: ox.QueryResultsFormat
    format_iri: str  # the W3C "Unique URIs for file formats" IRI (service descriptions)


class ResultFormat(Enum):
    """A SPARQL 1.1 query results format (SELECT / ASK)."""

    JSON = ResultFormatInfo(
        "json",
        "application/sparql-results+json",
        "srj",
        ox.QueryResultsFormat.JSON,
        W3C_FORMATS + "SPARQL_Results_JSON",
    )
    XML = ResultFormatInfo(
        "xml",
        "application/sparql-results+xml",
        "srx",
        ox.QueryResultsFormat.XML,
        W3C_FORMATS + "SPARQL_Results_XML",
    )
    CSV = ResultFormatInfo(
        "csv", "text/csv", "csv", ox.QueryResultsFormat.CSV, W3C_FORMATS + "SPARQL_Results_CSV"
    )
    TSV = ResultFormatInfo(
        "tsv",
        "text/tab-separated-values",
        "tsv",
        ox.QueryResultsFormat.TSV,
        W3C_FORMATS + "SPARQL_Results_TSV",
    )

    @property
    def info(self) -> ResultFormatInfo:
        info: ResultFormatInfo = self.value
        return info

    @property
    def cli_name(self) -> str:
        return self.info.name

    @property
    def media_type(self) -> str:
        return self.info.media_type

    @property
    def extension(self) -> str:
        return self.info.extension

    @property
    def oxigraph_format(self) -> ox.QueryResultsFormat:
        return self.info.oxigraph_format

    @property
    def format_iri(self) -> str:
        return self.info.format_iri

    @classmethod
    def from_name(cls, name: str) -> ResultFormat:
        key = name.strip().lower()
        for member in cls:
            if key == member.info.name:
                return member
        raise UnknownFormatError(name, "result format", [m.cli_name for m in cls])

    @classmethod
    def from_media_type(cls, media_type: str) -> ResultFormat:
        key = _bare_media_type(media_type)
        for member in cls:
            if key == member.media_type:
                return member
        raise UnknownFormatError(media_type, "result media type", [m.media_type for m in cls])

    @classmethod
    def from_extension(cls, ext_or_path: str | PurePath) -> ResultFormat:
        ext = _extension(ext_or_path)
        for member in cls:
            if ext == member.extension or ext == member.info.name:
                return member
        raise UnknownFormatError(
            str(ext_or_path), "result file extension", [f".{m.extension}" for m in cls]
        )


def _bare_media_type(media_type: str) -> str:
    return media_type.split(";", 1)[0].strip().lower()


def _extension(ext_or_path: str | PurePath) -> str:
    text = str(ext_or_path).strip().lower()
    if "." not in text and "/" not in text:
        return text
    name = PurePath(text).name
    if name.endswith(".gz"):
        name = name[:-3]
    return name.rsplit(".", 1)[-1] if "." in name else ""


# --------------------------------------------------------------------------------------------
# Content negotiation (RFC 9110 section 12.5.1)

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_QVALUE = re.compile(r"^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$")


@dataclass(frozen=True)
class MediaRange:
    """One parsed entry of an ``Accept`` header."""

    type: str
    subtype: str
    params: tuple[tuple[str, str], ...]
    q: float

    @property
    def specificity(self) -> int:
        if self.type == "*":
            return 0
        if self.subtype == "*":
            return 1
        return 3 if self.params else 2

    def matches(self, mtype: str, subtype: str, params: tuple[tuple[str, str], ...]) -> bool:
        if self.type != "*" and self.type != mtype:
            return False
        if self.subtype != "*" and self.subtype != subtype:
            return False
        return all(p in params for p in self.params)


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\" and quoted:
            current.append(ch)
            escaped = True
        elif ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _parse_media_type(text: str) -> tuple[str, str, tuple[tuple[str, str], ...], float] | None:
    """Parse ``type/subtype;p=v;q=0.5`` -> (type, subtype, params, q); None if malformed."""
    pieces = _split_outside_quotes(text, ";")
    full = pieces[0].strip().lower()
    if full.count("/") != 1:
        return None
    mtype, subtype = full.split("/")
    if not (_TOKEN.match(mtype) and _TOKEN.match(subtype)):
        return None
    if mtype == "*" and subtype != "*":
        return None
    params: list[tuple[str, str]] = []
    q = 1.0
    for raw in pieces[1:]:
        if not raw.strip():
            continue
        if "=" not in raw:
            return None
        name, value = (s.strip() for s in raw.split("=", 1))
        name = name.lower()
        if not _TOKEN.match(name):
            return None
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        elif not _TOKEN.match(value):
            return None
        if name == "q":
            if not _QVALUE.match(value):
                return None
            q = float(value)
            break  # RFC 9110: the weight ends the media-range parameters
        if name == "charset":
            continue  # every medkg representation is UTF-8; a charset never excludes one
        params.append((name, value.lower()))
    return mtype, subtype, tuple(sorted(params)), q


def parse_accept(accept: str) -> list[MediaRange]:
    """The well-formed media ranges of an ``Accept`` header; malformed entries are skipped."""
    ranges: list[MediaRange] = []
    for entry in _split_outside_quotes(accept, ","):
        if not entry.strip():
            continue
        parsed = _parse_media_type(entry)
        if parsed is not None:
            ranges.append(MediaRange(*parsed))
    return ranges


def negotiate(accept: str | None, offered: Sequence[str]) -> str | None:
    """Pick the media type from ``offered`` that best satisfies an ``Accept`` header.

    - Each offered type gets the q of the *most specific* matching range
      (``type/subtype;params`` > ``type/subtype`` > ``type/*`` > ``*/*``); no match or
      ``q=0`` makes it unacceptable.
    - The highest q wins; among equal q the earlier entry of ``offered`` (server
      preference) wins.
    - ``charset`` parameters are ignored (all output is UTF-8); other parameters must match.
    - Malformed entries are skipped. A missing or empty header, or one with no well-formed
      entry at all, accepts anything: the first offered type is returned.
    - Returns None when nothing offered is acceptable (or nothing is offered).
    """
    return _negotiate(accept, tuple(offered))


@lru_cache(maxsize=512)
def _negotiate(accept: str | None, offered: tuple[str, ...]) -> str | None:
    """:func:`negotiate`, remembered: a server sees the same few ``Accept`` headers."""
    if not offered:
        return None
    ranges = parse_accept(accept) if accept else []
    if not ranges:
        return offered[0]
    best: str | None = None
    best_q = 0.0
    for candidate in offered:
        parsed = _parse_media_type(candidate)
        if parsed is None:
            continue
        mtype, subtype, params, _ = parsed
        matching = [r for r in ranges if r.matches(mtype, subtype, params)]
        if not matching:
            continue
        top = max(r.specificity for r in matching)
        q = max(r.q for r in matching if r.specificity == top)
        if q > best_q:
            best, best_q = candidate, q
    return best
