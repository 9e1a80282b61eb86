"""The browser routes in-process: 303 documents, negotiation, pages, search, explanations,
escaping, static files."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox
import pytest
from fastapi import FastAPI

from conftest import FIXTURES, KG_DATA, KG_ONTOLOGY, Bundled
from medkg.config import Settings
from medkg.store import KnowledgeGraph
from medkg.web import create_app
from medkg.web.assets import STATIC_DIR

pytestmark = pytest.mark.anyio

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
RES = "https://w3id.org/medkg/resource/"
MKG = "https://w3id.org/medkg/ontology#"
PROBLEM = "application/problem+json"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
QUERIES = Path(__file__).resolve().parents[1] / "queries"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def seed_app(bundled: Bundled, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    cache = bundled.cache_dir
    return create_app(Settings(cache_dir=cache, workers=0), kg=bundled.kg)


@pytest.fixture
async def client(seed_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=seed_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


# --------------------------------------------------------------------------------------------
# Dereferencing


@pytest.mark.parametrize(
    ("accept", "extension"),
    [
        (BROWSER, "html"),
        ("text/turtle", "ttl"),
        ("application/ld+json", "jsonld"),
        ("application/n-triples", "nt"),
        ("application/rdf+xml, text/n3;q=0.5", "rdf"),
        (None, "html"),
    ],
)
async def test_an_entity_iri_answers_303(
    client: httpx.AsyncClient, accept: str | None, extension: str
) -> None:
    headers = {"Accept": accept} if accept else {}
    response = await client.get("/resource/sjtusm", headers=headers)
    assert response.status_code == 303
    assert response.headers["location"] == f"/resource/sjtusm.{extension}"
    assert "Accept" in response.headers["vary"]


async def test_the_public_url_makes_locations_absolute(bundled: Bundled) -> None:
    app = create_app(
        Settings(cache_dir=bundled.cache_dir, workers=0, public_url="https://kg.example.org/"),
        kg=bundled.kg,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/resource/ntu", headers={"Accept": "text/turtle"})
    assert response.headers["location"] == "https://kg.example.org/resource/ntu.ttl"


@pytest.mark.parametrize(
    ("extension", "syntax"),
    [
        ("ttl", ox.RdfFormat.TURTLE),
        ("jsonld", ox.RdfFormat.JSON_LD),
        ("nt", ox.RdfFormat.N_TRIPLES),
        ("rdf", ox.RdfFormat.RDF_XML),
    ],
)
async def test_rdf_documents_describe_the_entity(
    client: httpx.AsyncClient, extension: str, syntax: ox.RdfFormat
) -> None:
    response = await client.get(f"/resource/lkcmedicine.{extension}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(syntax.media_type)
    triples = {
        (q.subject, q.predicate, q.object) for q in ox.parse(response.content, format=syntax)
    }
    entity, ntu = ox.NamedNode(RES + "lkcmedicine"), ox.NamedNode(RES + "ntu")
    label = ox.Literal("Lee Kong Chian School of Medicine", language="en")
    assert (entity, ox.NamedNode(RDFS + "label"), label) in triples
    assert (entity, ox.NamedNode(MKG + "subOrganizationOf"), ntu) in triples
    # incoming links too, and inferred ones
    assert (ntu, ox.NamedNode(MKG + "hasSubOrganization"), entity) in triples


async def test_unknown_entities_and_unacceptable_types(client: httpx.AsyncClient) -> None:
    missing = await client.get("/resource/nobody-at-all", headers={"Accept": BROWSER})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert "nobody-at-all" in missing.json()["detail"]
    refused = await client.get("/resource/sjtusm", headers={"Accept": "image/png"})
    assert refused.status_code == 406
    assert "text/turtle" in refused.json()["offered"]
    assert (await client.get("/resource/sjtusm.xyz")).status_code == 404


async def test_named_graphs_are_dereferenceable(client: httpx.AsyncClient) -> None:
    redirect = await client.get("/graph/000_8b8f98a58fe20d8e", headers={"Accept": BROWSER})
    assert redirect.headers["location"] == "/graph/000_8b8f98a58fe20d8e.html"
    page = await client.get("/graph/000_8b8f98a58fe20d8e.html")
    assert "Facts from source 000" in page.text
    assert 'href="/resource/source-000_8b8f98a58fe20d8e.html"' in page.text


async def test_the_ontology_is_negotiated_with_content_location(client: httpx.AsyncClient) -> None:
    page = await client.get("/ontology", headers={"Accept": BROWSER})
    assert page.status_code == 200
    assert page.headers["content-location"] == "/ontology.html"
    assert 'id="partnerOf"' in page.text and "symmetric" in page.text
    turtle = await client.get("/ontology", headers={"Accept": "text/turtle"})
    assert turtle.headers["content-location"] == "/ontology.ttl"
    parsed = ox.parse(turtle.content, format=ox.RdfFormat.TURTLE)
    triples = {(q.subject, q.predicate, q.object) for q in parsed}
    symmetric = ox.NamedNode("http://www.w3.org/2002/07/owl#SymmetricProperty")
    assert (ox.NamedNode(MKG + "partnerOf"), ox.NamedNode(RDF_TYPE), symmetric) in triples
    assert (await client.get("/ontology.nt")).status_code == 200
    assert (await client.get("/ontology.exe")).status_code == 404


# --------------------------------------------------------------------------------------------
# Pages


async def test_the_entity_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/resource/sjtusm.html")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page = response.text
    assert '<h1 id="entity-title">Shanghai Jiao Tong University School of Medicine</h1>' in page
    assert "SJTUSM" in page  # alternative name
    assert 'href="/resource/ntu.html">Nanyang Technological University</a>' in page
    assert 'href="/resource/source-000_8b8f98a58fe20d8e.html"' in page  # a fact's source
    assert "/explain?" in page and "inferred" in page
    assert "<main" in page and "<nav" in page and 'role="search"' in page


async def test_n_ary_nodes_read_as_sentences(client: httpx.AsyncClient) -> None:
    page = (await client.get("/resource/joseph-sung.html")).text
    assert "Joseph Sung: Dean of LKCMedicine" in page
    assert 'href="/resource/role-dean.html">Dean</a>' in page
    assert "xsd:date" in page  # a literal's datatype


async def test_the_explanation_page(client: httpx.AsyncClient) -> None:
    query = urlencode({"s": f"<{RES}sjtusm>", "p": f"<{MKG}partnerOf>", "o": f"<{RES}ntu>"})
    page = (await client.get(f"/explain?{query}")).text
    assert "rule partnership.rq" in page
    assert "prp-symp" in page
    assert "Facts from source 000" in page
    assert "badge axiom" in page


async def test_bad_explanation_requests(client: httpx.AsyncClient) -> None:
    assert (await client.get("/explain?s=x")).status_code == 400
    bad = await client.get("/explain?" + urlencode({"s": "<a b>", "p": "<p>", "o": "<o>"}))
    assert bad.status_code == 400
    assert bad.headers["content-type"] == PROBLEM


async def test_search_json_and_page(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/search", params={"q": "ruijin"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert first["iri"] == RES + "ruijin-hospital"
    assert first["label"] == "Ruijin Hospital"
    assert first["types"]
    page = await client.get("/search", params={"q": "lkc"}, headers={"Accept": BROWSER})
    assert 'href="/resource/lkcmedicine.html"' in page.text
    missing = await client.get("/search", headers={"Accept": "application/json"})
    assert missing.status_code == 400


async def test_the_neighbourhood(client: httpx.AsyncClient) -> None:
    response = await client.get("/neighbourhood", params={"iri": RES + "lkcmedicine", "depth": 1})
    network = response.json()
    iris = {node["iri"] for node in network["nodes"]}
    assert {RES + "lkcmedicine", RES + "ntu"} <= iris
    assert all(e["source"] in iris and e["target"] in iris for e in network["edges"])
    assert (await client.get("/neighbourhood", params={"iri": RES + "nobody"})).status_code == 404
    assert (
        await client.get("/neighbourhood", params={"iri": RES + "ntu", "depth": 3})
    ).status_code == 422


async def test_the_editor(client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text
    assert "/static/vendor/yasgui/yasgui.min.js" in page
    start = page.index('<script type="application/json" id="editor-config">') + len(
        '<script type="application/json" id="editor-config">'
    )
    config = json.loads(page[start : page.index("</script>", start)])
    assert len(config["examples"]) == len(list(QUERIES.glob("*.rq")))
    assert config["endpoint"] == "/sparql"
    assert all(e["query"] and e["title"] for e in config["examples"])


async def test_sparql_answers_the_editor_to_browsers_only(client: httpx.AsyncClient) -> None:
    browser = await client.get("/sparql", headers={"Accept": BROWSER})
    assert browser.headers["content-type"].startswith("text/html")
    assert "yasgui" in browser.text
    tool = await client.get("/sparql", headers={"Accept": "*/*"})
    assert tool.headers["content-type"].startswith("text/turtle")
    named = await client.get("/sparql?format=turtle", headers={"Accept": BROWSER})
    assert named.headers["content-type"].startswith("text/turtle")


async def test_static_files(client: httpx.AsyncClient) -> None:
    script = await client.get("/static/vendor/cytoscape/cytoscape.min.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert (await client.get("/static/vendor/yasgui/LICENSE")).status_code == 200
    assert (await client.get("/static/../pages.py")).status_code == 404
    assert (await client.get("/static/%2e%2e/pages.py")).status_code == 404
    assert (await client.get("/static/nothing.js")).status_code == 404


def test_vendored_files_have_licences() -> None:
    for package in ("yasgui", "cytoscape"):
        assert (STATIC_DIR / "vendor" / package / "LICENSE").is_file()
    assert (STATIC_DIR / "vendor" / "README.md").is_file()


def test_no_cdn_urls_in_pages_or_scripts() -> None:
    templates = STATIC_DIR.parent / "templates"
    for path in [*templates.glob("*.html"), *STATIC_DIR.glob("*.js"), *STATIC_DIR.glob("*.css")]:
        text = path.read_text(encoding="utf-8")
        for host in ("cdn", "unpkg", "jsdelivr", "googleapis", "gstatic"):
            assert host not in text, f"{path.name} mentions {host}"


# --------------------------------------------------------------------------------------------
# Escaping: labels are data


@pytest.fixture(scope="module")
def hostile_kg(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeGraph:
    return KnowledgeGraph.open(
        Settings(
            ontology_dir=KG_ONTOLOGY,
            data_dir=KG_DATA,
            extra_data=(FIXTURES / "hostile" / "hostile.ttl",),
            cache_dir=tmp_path_factory.mktemp("hostile-cache"),
            use_cache=False,
        )
    )


async def test_every_value_is_escaped(hostile_kg: KnowledgeGraph, tmp_path: Path) -> None:
    app = create_app(Settings(cache_dir=tmp_path, workers=0), kg=hostile_kg)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        page = (await http.get("/resource/hostile.html")).text
        ward = (await http.get("/resource/ward.html")).text
        found = (await http.get("/search?q=script", headers={"Accept": BROWSER})).text
    for html in (page, ward, found):
        assert "<script>window.pwned" not in html
        assert "<b>bold</b>" not in html
        assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; &amp;" in html
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "\u202e" not in page  # a bidi override is shown, never obeyed
    assert "\\u202egnp.exe" in page.lower()
    assert 'lang="ar"' not in page or "مستشفى" in page
