"""What the pages keep per graph version (labels, n-ary nodes, the ontology document) and
the example queries they keep while their files are unchanged: a write's new version, or a
changed file, shows on the next request. Plus the HTML fragments against the escaping
rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from fastapi import FastAPI
from markupsafe import escape

from conftest import KG_DATA, KG_ONTOLOGY, Bundled
from medkg.config import Settings
from medkg.describe import Fact, TermView
from medkg.examples import load_examples
from medkg.store import KnowledgeGraph
from medkg.versioned import PerVersion
from medkg.web import create_app
from medkg.web.rendering import Fragments, explain_href, text

pytestmark = pytest.mark.anyio

TOKEN = "page-versions-token-0123456789"
P = (
    "PREFIX mkg: <https://w3id.org/medkg/ontology#> "
    "PREFIX res: <https://w3id.org/medkg/resource/> "
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
)
ONTOLOGY = "https://w3id.org/medkg/graph/ontology"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def writable_app(tmp_path: Path) -> FastAPI:
    settings = Settings(
        ontology_dir=KG_ONTOLOGY,
        data_dir=KG_DATA,
        cache_dir=tmp_path / "cache",
        store_dir=tmp_path / "store",
        update_token=TOKEN,
        workers=0,
    )
    return create_app(settings)


@pytest.fixture
async def client(writable_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=writable_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _update(client: httpx.AsyncClient, update: str) -> None:
    response = await client.post(
        "/sparql",
        content=(P + update).encode(),
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 204, response.text


async def test_a_write_shows_on_the_next_page(client: httpx.AsyncClient) -> None:
    ward = (await client.get("/resource/ward.html")).text
    assert ">Alice</a>" in ward and "Dan" not in ward
    assert "mkg:Hospital" in (await client.get("/ontology")).text
    await _update(
        client,
        "DELETE WHERE { GRAPH ?g { res:alice rdfs:label ?name } } ; "
        'INSERT DATA { res:alice rdfs:label "Alice Liddell" . '
        'res:dan rdfs:label "Dan" ; mkg:worksAt res:ward . '
        f'GRAPH <{ONTOLOGY}> {{ mkg:Hospital rdfs:label "Teaching hospital" }} }}',
    )
    ward = (await client.get("/resource/ward.html")).text
    assert ">Alice Liddell</a>" in ward and ">Alice</a>" not in ward  # the new label map
    assert 'href="/resource/dan.html">Dan</a>' in ward
    hospital = (await client.get("/resource/hospital.html")).text
    assert ">Teaching hospital</a>" in hospital
    ontology = (await client.get("/ontology")).text
    assert "<h3>Teaching hospital <code>mkg:Hospital</code></h3>" in ontology


def test_per_version_values_are_built_once_per_graph(bundled: Bundled, kg: KnowledgeGraph) -> None:
    built: list[KnowledgeGraph] = []

    def build(graph: KnowledgeGraph) -> int:
        built.append(graph)
        return len(built)

    sizes = PerVersion(build)
    assert (sizes(bundled.kg), sizes(bundled.kg), sizes(kg), sizes(bundled.kg)) == (1, 1, 2, 1)
    assert built == [bundled.kg, kg]


def test_fragments_escape_every_value() -> None:
    html = Fragments("/base")
    hostile = "<b>\u202e'&\"</b>"
    foreign = TermView(ox.NamedNode("http://example.org/x?a=1&b='2'"), hostile)
    local = TermView(ox.NamedNode("https://w3id.org/medkg/resource/x"), hostile)
    literal = TermView(ox.Literal("1", datatype=ox.NamedNode("urn:x")), hostile, "x<y", "en")
    shown = str(escape(hostile)).replace("\u202e", "\\u202E")  # as the templates write it
    assert text(hostile) == shown
    assert html.term(local) == f'<a href="/base/resource/x.html">{shown}</a>'
    assert html.term(foreign) == (
        f'<span class="foreign" title="http://example.org/x?a=1&amp;b=&#39;2&#39;">{shown}</span>'
    )
    assert '<span class="datatype">x&lt;y</span>' in html.term(literal)
    triple = ox.Triple(local.term, ox.NamedNode("urn:p"), ox.Literal("a&b <c>", language="en"))
    inferred = Fact(triple, literal, True, ())
    for base in ("", "/a&b"):
        href = text(explain_href(triple, base))
        assert Fragments(base).status(inferred) == (
            f'<a class="badge inferred" href="{href}">inferred <span class="why">· why?</span></a>'
        )
    assert text(None) == "None"


def test_examples_are_read_again_when_a_file_changes(tmp_path: Path) -> None:
    query = tmp_path / "one.rq"
    query.write_text("# title: One\nSELECT * WHERE { ?s ?p ?o }\n", encoding="utf-8")
    assert [e.title for e in load_examples(tmp_path)] == ["One"]
    query.write_text("# title: The first\nSELECT * WHERE { ?s ?p ?o }\n", encoding="utf-8")
    (tmp_path / "two.rq").write_text("# title: Two\nASK {}\n", encoding="utf-8")
    assert [e.title for e in load_examples(tmp_path)] == ["The first", "Two"]
