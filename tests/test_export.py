"""Exports: every syntax re-parses (rdflib and pyoxigraph) to an isomorphic dataset, output is
deterministic, graphs are selected, vocabulary views come from the closure and are valid,
and ``GET /export`` / ``medkg export`` answer as documented."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic
from typer.testing import CliRunner

from conftest import Bundled, kg_args
from medkg.cli import app
from medkg.config import Settings
from medkg.errors import GraphNotFound, InputError, NotAcceptable, UnknownFormatError
from medkg.export import (
    ExportRequest,
    GraphSelection,
    LocalSource,
    canonical,
    choose_syntax,
    export,
    export_request,
    selected_quads,
)
from medkg.formats import RdfSyntax
from medkg.jsonld import context_document, mkg_context, published_context, shipped_context
from medkg.namespaces import GRAPH_BASE, INFERRED_GRAPH, ONTOLOGY_GRAPH, PREFIXES, RES
from medkg.store import KnowledgeGraph
from medkg.views import SCHEMA_NS, Vocabulary
from medkg.web import LocalEngine, create_app

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA_TERMS = FIXTURES / "schema-org-terms.txt"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABELS = {PREFIXES["rdfs"] + "label", PREFIXES["skos"] + "altLabel"}
runner = CliRunner()


class StoreSource:
    """A QuadSource over any pyoxigraph store (for exports of re-imported data)."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store

    def graph_names(self) -> list[str]:
        return sorted(g.value for g in self.store.named_graphs() if isinstance(g, ox.NamedNode))

    def quads(self, graphs: list[str]) -> list[ox.Quad]:
        return [
            q
            for g in graphs
            for q in self.store.quads_for_pattern(None, None, None, ox.NamedNode(g))
        ]


@pytest.fixture(scope="module")
def source(bundled: Bundled) -> LocalSource:
    return LocalSource(bundled.kg)


def _nquads(quads: list[ox.Quad], graphs: bool) -> list[str]:
    """Canonical N-Quads lines (blank nodes canonicalized); triples only if not ``graphs``."""
    if not graphs:
        quads = [ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in quads]
    return [str(q) for q in canonical(quads)]


def _rdflib(data: bytes, syntax: RdfSyntax) -> rdflib.Dataset:
    """``data`` parsed by rdflib. (rdflib's own Dataset.parse warns about its deprecated
    default_context internally; that warning is rdflib's, not this code's.)"""
    dataset = rdflib.Dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        dataset.parse(data=data, format=syntax.rdflib_format)
    return dataset


@pytest.mark.parametrize("syntax", list(RdfSyntax), ids=lambda s: s.cli_name)
def test_every_syntax_round_trips(source: LocalSource, syntax: RdfSyntax) -> None:
    request = ExportRequest(syntax=syntax)
    expected = selected_quads(source, request)
    data = export(source, request)
    assert data == export(source, request), "two exports differ"
    parsed = list(ox.parse(data, format=syntax.oxigraph_format))
    assert _nquads(parsed, syntax.carries_graphs) == _nquads(expected, syntax.carries_graphs)
    original = _rdflib(export(source, ExportRequest(syntax=RdfSyntax.NQUADS)), RdfSyntax.NQUADS)
    again = _rdflib(data, syntax)
    if syntax.carries_graphs:
        names = {g.identifier for g in original.graphs()} - {rdflib.URIRef("urn:x-rdflib:default")}
        assert names == {g.identifier for g in again.graphs()} - {
            rdflib.URIRef("urn:x-rdflib:default")
        }
        for name in names:
            assert isomorphic(original.graph(name), again.graph(name)), name
    else:
        merged = rdflib.Graph()
        for s, p, o, _ in original.quads():
            merged.add((s, p, o))
        assert isomorphic(merged, again.default_graph)
    for s, p, _o, _g in again.quads():
        assert isinstance(s, rdflib.URIRef | rdflib.BNode) and isinstance(p, rdflib.URIRef)


@pytest.mark.parametrize("syntax", list(RdfSyntax), ids=lambda s: s.cli_name)
def test_reimported_export_gives_the_same_bytes(source: LocalSource, syntax: RdfSyntax) -> None:
    """Determinism beyond one store: blank node labels and order do not matter."""
    request = ExportRequest(syntax=RdfSyntax.NQUADS)
    store = ox.Store()
    store.extend(reversed(list(ox.parse(export(source, request), format=ox.RdfFormat.N_QUADS))))
    assert export(StoreSource(store), ExportRequest(syntax=syntax)) == export(
        source, ExportRequest(syntax=syntax)
    )


def test_prefixes_are_fixed_and_only_used_ones(source: LocalSource) -> None:
    turtle = export(source, ExportRequest(syntax=RdfSyntax.TURTLE, vocab=Vocabulary.ORG))
    text = turtle.decode()
    assert "ns1:" not in text and "@prefix org:" in text and "@prefix res:" in text
    assert "@prefix sh:" not in text and "@prefix schema:" not in text
    full = export(source, ExportRequest(syntax=RdfSyntax.TRIG)).decode()
    assert "ns1:" not in full and "@prefix mkg:" in full
    lines = export(source, ExportRequest(syntax=RdfSyntax.NQUADS)).decode().splitlines()
    assert lines == sorted(lines, key=lambda line: (line.split(" ")[-2], line))


def test_graph_selection(source: LocalSource, bundled: Bundled) -> None:
    names = bundled.kg.graph_names()
    assert GraphSelection.parse([]).resolve(names) == names
    asserted = GraphSelection.parse(["asserted"]).resolve(names)
    assert INFERRED_GRAPH not in asserted and len(asserted) == len(names) - 1
    assert GraphSelection.parse(["inferred"]).resolve(names) == [INFERRED_GRAPH]
    picked = GraphSelection.parse(["graph:ontology,graph:world", GRAPH_BASE + "world"])
    assert picked.resolve(names) == [ONTOLOGY_GRAPH, GRAPH_BASE + "world"]
    with pytest.raises(GraphNotFound):
        GraphSelection.parse(["graph:nothing"]).resolve(names)
    with pytest.raises(InputError):
        GraphSelection.parse(["not a graph"])
    inferred = selected_quads(source, ExportRequest(graphs=GraphSelection(("inferred",))))
    assert {q.graph_name.value for q in inferred} == {INFERRED_GRAPH}  # type: ignore[union-attr]


def test_provenance_travels_in_graph_syntaxes(source: LocalSource) -> None:
    for syntax in (RdfSyntax.TRIG, RdfSyntax.NQUADS, RdfSyntax.JSONLD):
        quads = list(
            ox.parse(export(source, ExportRequest(syntax=syntax)), format=syntax.oxigraph_format)
        )
        graphs = {q.graph_name.value for q in quads if isinstance(q.graph_name, ox.NamedNode)}
        assert GRAPH_BASE + "sources" in graphs and GRAPH_BASE + "000_8b8f98a58fe20d8e" in graphs
        assert not any(isinstance(q.graph_name, ox.DefaultGraph) for q in quads)


def test_clean_output_no_noise_no_blank_node_explosion(source: LocalSource) -> None:
    everything = selected_quads(source, ExportRequest())
    inferred = [q for q in everything if q.graph_name == ox.NamedNode(INFERRED_GRAPH)]
    assert inferred and not any(
        isinstance(t, ox.BlankNode) for q in inferred for t in (q.subject, q.object)
    )
    blanks = {t for q in everything for t in (q.subject, q.object) if isinstance(t, ox.BlankNode)}
    assert len(blanks) < 20  # the ontology's restrictions and lists, nothing derived


# --------------------------------------------------------------------------------------------
# JSON-LD and the context


def test_shipped_context_matches_the_ontology(bundled: Bundled) -> None:
    ontology = bundled.kg.store.quads_for_pattern(None, None, None, ox.NamedNode(ONTOLOGY_GRAPH))
    assert shipped_context() == context_document(mkg_context(ontology)), (
        "src/medkg/context.jsonld is out of date: regenerate it with medkg.jsonld.mkg_context"
    )
    context = published_context()
    assert context["partnerOf"] == {"@id": "mkg:partnerOf", "@type": "@id"}
    assert context["mkg"] == PREFIXES["mkg"]


def test_jsonld_is_compact_with_the_published_context(source: LocalSource) -> None:
    document = json.loads(export(source, ExportRequest(syntax=RdfSyntax.JSONLD)))
    assert document["@context"] == published_context()
    graphs = {g["@id"]: g["@graph"] for g in document["@graph"]}
    node = next(n for n in graphs["graph:inferred"] if n["@id"] == "res:sjtusm")
    assert "res:ntu" in node["partnerOf"]


# --------------------------------------------------------------------------------------------
# Vocabulary views


def _schema_terms(bundled: Bundled) -> set[str]:
    """schema.org terms: those the alignments declare, plus the committed list."""
    declared = {
        q.subject.value
        for q in bundled.kg.store.quads_for_pattern(
            None, ox.NamedNode(RDF_TYPE), None, ox.NamedNode(GRAPH_BASE + "alignments")
        )
        if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(SCHEMA_NS)
    }
    listed = {
        SCHEMA_NS + line.strip()
        for line in SCHEMA_TERMS.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert len(declared) > 30 and listed
    return declared | listed


@pytest.mark.parametrize("syntax", list(RdfSyntax), ids=lambda s: s.cli_name)
@pytest.mark.parametrize("vocab", [Vocabulary.MKG, Vocabulary.SCHEMA, Vocabulary.ORG])
def test_views_round_trip(source: LocalSource, vocab: Vocabulary, syntax: RdfSyntax) -> None:
    request = ExportRequest(syntax=syntax, vocab=vocab)
    data = export(source, request)
    parsed = list(ox.parse(data, format=syntax.oxigraph_format))
    assert _nquads(parsed, False) == _nquads(selected_quads(source, request), False)
    again = _rdflib(data, syntax)
    assert len(list(again.quads())) == len(parsed) > 100


def test_schema_view_is_valid_schema_org(source: LocalSource, bundled: Bundled) -> None:
    allowed = _schema_terms(bundled)
    triples = selected_quads(source, ExportRequest(vocab=Vocabulary.SCHEMA))
    assert len(triples) > 300
    awards = []
    for t in triples:
        assert t.predicate.value == RDF_TYPE or t.predicate.value in allowed, t
        if t.predicate.value == RDF_TYPE:
            assert isinstance(t.object, ox.NamedNode) and t.object.value in allowed, t
        if t.predicate.value == SCHEMA_NS + "award":
            assert isinstance(t.object, ox.Literal)
            awards.append(t.object.value)
    assert "Legion of Honour" in " ".join(awards) or len(awards) >= 3


def test_views_come_from_the_closure(source: LocalSource) -> None:
    """Asserted graphs alone state nothing in schema.org or ORG: the view needs inference."""
    asserted = GraphSelection(("asserted",))
    for vocab in (Vocabulary.SCHEMA, Vocabulary.ORG):
        full = selected_quads(source, ExportRequest(vocab=vocab))
        bare = selected_quads(source, ExportRequest(vocab=vocab, graphs=asserted))
        full_types = {q for q in full if q.predicate.value == RDF_TYPE}
        assert full_types and not [q for q in bare if q.predicate.value == RDF_TYPE]


@pytest.mark.parametrize("vocab", [Vocabulary.MKG, Vocabulary.ORG])
def test_views_keep_their_namespace(source: LocalSource, vocab: Vocabulary) -> None:
    namespace = vocab.namespace
    assert namespace is not None
    quads = selected_quads(source, ExportRequest(vocab=vocab))
    for q in quads:
        p, o = q.predicate.value, q.object
        assert (
            p.startswith(namespace)
            or p in LABELS
            or (p == RDF_TYPE and isinstance(o, ox.NamedNode) and o.value.startswith(namespace))
        ), q
        assert not q.subject.value.startswith(namespace)  # type: ignore[union-attr]


def test_schema_org_document_of_an_organisation(source: LocalSource) -> None:
    request = export_request(RdfSyntax.JSONLD, vocab="schema", entity="res:sjtusm")
    assert request.filename == "medkg-schema-sjtusm.jsonld"
    document = json.loads(export(source, request))
    assert document["@context"]["@vocab"] == SCHEMA_NS
    node = next(n for n in document["@graph"] if n["@id"] == "res:sjtusm")
    assert "CollegeOrUniversity" in node["@type"]
    assert node["name"]["@value"] == "Shanghai Jiao Tong University School of Medicine"
    assert node["parentOrganization"] == {"@id": "res:sjtu"}
    linked = {n["@id"] for n in document["@graph"]}
    assert "res:sjtu" in linked
    person = json.loads(
        export(source, export_request(RdfSyntax.JSONLD, (), "schema", "res:wang-yifei"))
    )
    (me,) = [n for n in person["@graph"] if n["@id"] == "res:wang-yifei"]
    awards = me["award"] if isinstance(me["award"], list) else [me["award"]]
    assert all(isinstance(a, str) for a in awards)


# --------------------------------------------------------------------------------------------
# Requests, HTTP and CLI


def test_request_parsing() -> None:
    assert choose_syntax(None, None) is RdfSyntax.TRIG
    assert choose_syntax("ttl", "application/n-quads") is RdfSyntax.TURTLE
    assert choose_syntax(None, "application/ld+json") is RdfSyntax.JSONLD
    assert choose_syntax("application/rdf+xml", None) is RdfSyntax.RDFXML
    with pytest.raises(NotAcceptable):
        choose_syntax(None, "text/csv")
    with pytest.raises(NotAcceptable):
        choose_syntax("yaml", None)
    with pytest.raises(UnknownFormatError):
        export_request(RdfSyntax.TURTLE, vocab="dublin")
    assert export_request(RdfSyntax.TRIG, entity=RES + "x").entity == RES + "x"


@pytest.mark.anyio
async def test_http_export(tmp_path: Path, kg: KnowledgeGraph) -> None:
    settings = Settings(workers=0, cache_dir=tmp_path)
    web = create_app(settings, engine=LocalEngine(kg), kg=kg)
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        trig = await client.get("/export")
        assert trig.status_code == 200
        assert trig.headers["content-type"] == "application/trig"
        assert trig.headers["content-disposition"] == 'attachment; filename="medkg.trig"'
        assert trig.content == export(LocalSource(kg), ExportRequest())
        turtle = await client.get("/export", headers={"Accept": "text/turtle"})
        assert turtle.headers["content-type"] == "text/turtle; charset=utf-8"
        chosen = await client.get("/export", params={"format": "nquads", "graphs": "inferred"})
        assert chosen.headers["content-type"] == "application/n-quads"
        assert {line.split(" ")[-2] for line in chosen.text.splitlines()} == {f"<{INFERRED_GRAPH}>"}
        head = await client.head("/export", params={"format": "jsonld"})
        assert head.status_code == 200 and head.content == b""
        assert (await client.get("/export", headers={"Accept": "text/csv"})).status_code == 406
        missing = await client.get("/export", params={"graphs": "graph:nothing"})
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        context = await client.get("/context.jsonld")
        assert context.headers["content-type"] == "application/ld+json"
        assert context.json()["@context"] == published_context()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_cli_export(tmp_path: Path) -> None:
    target = tmp_path / "out.ttl"
    result = runner.invoke(app, ["export", "-o", str(target), "--vocab", "mkg", *kg_args(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "@prefix mkg:" in target.read_text(encoding="utf-8")
    stdout = runner.invoke(app, ["export", "-f", "nquads", "-g", "asserted", *kg_args(tmp_path)])
    assert stdout.exit_code == 0 and "/graph/inferred>" not in stdout.stdout
    assert stdout.stdout.splitlines() == sorted(
        stdout.stdout.splitlines(), key=lambda line: (line.split(" ")[-2], line)
    )
    bad = runner.invoke(app, ["export", "-g", "graph:nothing", *kg_args(tmp_path)])
    assert bad.exit_code == 2
    assert bad.stderr.startswith("medkg: error: no such graph") and bad.stderr.count("\n") == 1
