from __future__ import annotations

import pyoxigraph as ox
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medkg.errors import UnknownFormatError
from medkg.formats import RdfSyntax, ResultFormat, negotiate, parse_accept

JSON = "application/sparql-results+json"
XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
RESULTS = [JSON, XML, CSV, TSV]

TURTLE = "text/turtle"
NT = "application/n-triples"
JSONLD = "application/ld+json"
RDFXML = "application/rdf+xml"
RDF = [TURTLE, NT, JSONLD, RDFXML]

HTML = "text/html"
PAGE = [HTML, JSON]

SPARQLSTORE = "application/sparql-results+xml, application/rdf+xml"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "offered", "expected"),
    [
        # absent / empty / wildcard
        (None, RESULTS, JSON),
        ("", RESULTS, JSON),
        ("   ", RESULTS, JSON),
        ("*/*", RESULTS, JSON),
        ("*/*", RDF, TURTLE),
        ("*/*;q=0", RESULTS, None),
        ("*/*; q=0", RDF, None),
        (None, [], None),
        ("*/*", [], None),
        # real clients
        (SPARQLSTORE, RESULTS, XML),
        (SPARQLSTORE, RDF, RDFXML),
        (BROWSER, RESULTS, JSON),  # only */*;q=0.8 matches: server order decides
        (BROWSER, PAGE, HTML),
        (BROWSER, [JSON, HTML], HTML),  # text/html q=1 beats */* q=0.8
        ("application/json, text/javascript, */*; q=0.01", RESULTS, JSON),
        ("text/turtle, application/rdf+xml;q=0.8, */*;q=0.1", RDF, TURTLE),
        ("application/ld+json", RDF, JSONLD),
        # exact, case-insensitive, whitespace
        (CSV, RESULTS, CSV),
        ("TEXT/CSV", RESULTS, CSV),
        (" text/csv ; q=0.3 , image/png", RESULTS, CSV),
        (",,, text/csv,,", RESULTS, CSV),
        ("image/png", RESULTS, None),
        # type/* wildcards and server preference
        ("text/*", RESULTS, CSV),
        ("application/*", RESULTS, JSON),
        ("application/*;q=0.2, text/csv;q=0.1", RESULTS, JSON),
        ("text/*;q=0.5, text/tab-separated-values", RESULTS, TSV),
        # specificity: the most specific matching range decides, even when lower
        ("text/*;q=0.9, text/csv;q=0.1", [CSV, TSV], TSV),
        ("application/sparql-results+json;q=0, */*", RESULTS, XML),
        ("*/*;q=0.5, application/sparql-results+json;q=0", [JSON], None),
        ("text/csv;q=0", RESULTS, None),
        ("*/*;q=0.1, text/csv;q=0.2", RESULTS, CSV),
        # equal q: server order
        ("text/csv;q=0.5, application/sparql-results+xml;q=0.5", RESULTS, XML),
        ("text/tab-separated-values, text/csv", RESULTS, CSV),
        # q-value grammar
        ("text/csv;q=0.001", RESULTS, CSV),
        ("text/csv;q=1.000", RESULTS, CSV),
        ("text/csv;q=1.0, text/tab-separated-values;q=0.999", RESULTS, CSV),
        ("text/csv;q=0.0001, text/tab-separated-values", RESULTS, TSV),  # malformed q skipped
        ("text/csv;q=abc, text/tab-separated-values", RESULTS, TSV),
        ("text/csv;q=1.5", RESULTS, JSON),  # sole entry malformed: as if no Accept
        ("text/csv;q=-1", RESULTS, JSON),
        ("application/sparql-results+json;q=0.9;foo=bar", RESULTS, JSON),  # params after q
        # media-range parameters
        ("application/sparql-results+json;charset=utf-8", RESULTS, JSON),
        ('text/html;level="1", text/csv;q=0.5', [HTML, CSV], CSV),
        ("text/html;level=1", ["text/html;level=1", HTML], "text/html;level=1"),
        ("text/turtle;profile=x;q=0.5, text/turtle;q=0.9", [TURTLE], TURTLE),
        # garbage
        ("garbage", RESULTS, JSON),
        ("garbage, text/csv", RESULTS, CSV),
        ("*/csv", RESULTS, JSON),
        ("text/", RESULTS, JSON),
        ("/csv", RESULTS, JSON),
        ("text/csv/x", RESULTS, JSON),
        ("text/csv;;;", RESULTS, CSV),
        ("text/csv;novalue, text/tab-separated-values", RESULTS, TSV),
        ("\x00\xff;;q==", RESULTS, JSON),
        ('text/csv;x="a,b", text/tab-separated-values;q=0.1', [TSV], TSV),
    ],
)
def test_negotiate(accept: str | None, offered: list[str], expected: str | None) -> None:
    assert negotiate(accept, offered) == expected


@given(st.text(max_size=80), st.lists(st.sampled_from(RESULTS + RDF + [HTML]), max_size=5))
def test_negotiate_total(accept: str, offered: list[str]) -> None:
    """Any header: never raises, answers with something offered or None."""
    chosen = negotiate(accept, offered)
    assert chosen is None or chosen in offered


@given(st.lists(st.sampled_from(RESULTS + RDF), min_size=1, max_size=6, unique=True))
def test_negotiate_without_header_prefers_server_order(offered: list[str]) -> None:
    assert negotiate(None, offered) == offered[0]
    assert negotiate("*/*", offered) == offered[0]


def test_parse_accept_skips_malformed() -> None:
    ranges = parse_accept("text/csv;q=0.5, nonsense, */*;q=0")
    assert [(r.type, r.subtype, r.q) for r in ranges] == [("text", "csv", 0.5), ("*", "*", 0.0)]


@pytest.mark.parametrize(
    ("member", "media", "ext", "rdflib_name", "ox_format", "graphs"),
    [
        (RdfSyntax.TURTLE, "text/turtle", "ttl", "turtle", ox.RdfFormat.TURTLE, False),
        (RdfSyntax.NTRIPLES, "application/n-triples", "nt", "nt", ox.RdfFormat.N_TRIPLES, False),
        (RdfSyntax.NQUADS, "application/n-quads", "nq", "nquads", ox.RdfFormat.N_QUADS, True),
        (RdfSyntax.TRIG, "application/trig", "trig", "trig", ox.RdfFormat.TRIG, True),
        (RdfSyntax.JSONLD, "application/ld+json", "jsonld", "json-ld", ox.RdfFormat.JSON_LD, True),
        (RdfSyntax.RDFXML, "application/rdf+xml", "rdf", "xml", ox.RdfFormat.RDF_XML, False),
    ],
)
def test_rdf_syntax_values(
    member: RdfSyntax,
    media: str,
    ext: str,
    rdflib_name: str,
    ox_format: ox.RdfFormat,
    graphs: bool,
) -> None:
    assert member.media_type == media
    assert member.extension == ext
    assert member.rdflib_format == rdflib_name
    assert member.oxigraph_format == ox_format
    assert member.carries_graphs is graphs
    assert RdfSyntax.from_media_type(media) is member
    assert RdfSyntax.from_media_type(media.upper() + "; charset=utf-8") is member
    assert RdfSyntax.from_extension(ext) is member
    assert RdfSyntax.from_extension(f".{ext}") is member
    assert RdfSyntax.from_extension(f"dir/file.{ext}.gz") is member
    assert RdfSyntax.from_name(member.cli_name) is member
    assert RdfSyntax.from_name(member.name) is member
    assert ox_format.media_type == media


def test_rdf_syntax_aliases() -> None:
    assert RdfSyntax.from_name("ttl") is RdfSyntax.TURTLE
    assert RdfSyntax.from_name("nt") is RdfSyntax.NTRIPLES
    assert RdfSyntax.from_name("json-ld") is RdfSyntax.JSONLD
    assert RdfSyntax.from_extension("ontology.owl") is RdfSyntax.RDFXML


@pytest.mark.parametrize(
    ("member", "media", "ext", "ox_format"),
    [
        (ResultFormat.JSON, JSON, "srj", ox.QueryResultsFormat.JSON),
        (ResultFormat.XML, XML, "srx", ox.QueryResultsFormat.XML),
        (ResultFormat.CSV, CSV, "csv", ox.QueryResultsFormat.CSV),
        (ResultFormat.TSV, TSV, "tsv", ox.QueryResultsFormat.TSV),
    ],
)
def test_result_format_values(
    member: ResultFormat, media: str, ext: str, ox_format: ox.QueryResultsFormat
) -> None:
    assert member.media_type == media
    assert member.extension == ext
    assert member.oxigraph_format == ox_format
    assert ResultFormat.from_media_type(media) is member
    assert ResultFormat.from_extension(ext) is member
    assert ResultFormat.from_extension(f"out.{ext}") is member
    assert ResultFormat.from_name(member.cli_name) is member


@pytest.mark.parametrize(
    "call",
    [
        lambda: RdfSyntax.from_name("yaml"),
        lambda: RdfSyntax.from_media_type("text/plain"),
        lambda: RdfSyntax.from_extension("file.txt"),
        lambda: ResultFormat.from_name("turtle"),
        lambda: ResultFormat.from_media_type("text/turtle"),
        lambda: ResultFormat.from_extension("x.ttl"),
    ],
)
def test_unknown_lookups_raise(call: object) -> None:
    with pytest.raises(UnknownFormatError):
        call()  # type: ignore[operator]
