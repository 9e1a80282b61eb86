from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from rdflib import Literal, URIRef

from conftest import KG_DATA, KG_ONTOLOGY
from medkg.config import Resources, Settings, resolve_resources
from medkg.errors import ConfigError, RdfSyntaxError, SourceNotFoundError, UnknownFormatError
from medkg.loading import discover, discover_rules, load_dataset, shapes_file
from medkg.namespaces import ALIGNMENTS_GRAPH, GRAPH_BASE, ONTOLOGY_GRAPH

EX = "http://example.org/"


def _resources(ontology: Path = KG_ONTOLOGY, data: Path = KG_DATA) -> Resources:
    return Resources(ontology_dir=ontology, data_dir=data, queries_dir=None)


def _project(tmp_path: Path) -> Resources:
    onto, data = tmp_path / "ontology", tmp_path / "data"
    shutil.copytree(KG_ONTOLOGY, onto)
    shutil.copytree(KG_DATA, data)
    return _resources(onto, data)


def test_discover_fixture() -> None:
    sources = discover(_resources())
    assert [(s.role, s.path.name, s.graph) for s in sources] == [
        ("ontology", "medkg.ttl", ONTOLOGY_GRAPH),
        ("alignments", "alignments.ttl", ALIGNMENTS_GRAPH),
        ("data", "people.ttl", GRAPH_BASE + "people"),
        ("data", "units.ttl", GRAPH_BASE + "units"),
    ]
    assert all(s.path.name != "shapes.ttl" for s in sources)
    assert [p.name for p in discover_rules(_resources())] == ["colleagues.rq"]
    assert shapes_file(_resources()).name == "shapes.ttl"


def test_load_puts_each_file_in_its_graph() -> None:
    dataset = load_dataset(discover(_resources()))
    names = {str(g.identifier) for g in dataset.graphs() if len(g)}
    assert names == {ONTOLOGY_GRAPH, ALIGNMENTS_GRAPH, GRAPH_BASE + "people", GRAPH_BASE + "units"}
    units = dataset.graph(URIRef(GRAPH_BASE + "units"))
    assert (None, None, Literal("Ward 7")) in units


def test_missing_ontology_and_data(tmp_path: Path) -> None:
    (tmp_path / "o").mkdir()
    (tmp_path / "d").mkdir()
    with pytest.raises(ConfigError, match="ontology file missing"):
        discover(_resources(tmp_path / "o", KG_DATA))
    with pytest.raises(ConfigError, match="no data files"):
        discover(_resources(KG_ONTOLOGY, tmp_path / "d"))
    with pytest.raises(ConfigError, match="shapes"):
        shapes_file(_resources(tmp_path / "o", KG_DATA))


def test_reserved_and_duplicate_graphs(tmp_path: Path) -> None:
    res = _project(tmp_path)
    (res.data_dir / "inferred.ttl").write_text("")
    with pytest.raises(ConfigError, match="reserved"):
        discover(res)
    (res.data_dir / "inferred.ttl").unlink()
    other = tmp_path / "other"
    other.mkdir()
    (other / "people.nt").write_text("")
    with pytest.raises(ConfigError, match="two files"):
        discover(res, [other / "people.nt"])


def test_turtle_error_has_line_and_column(tmp_path: Path) -> None:
    res = _project(tmp_path)
    bad = res.data_dir / "bad.ttl"
    bad.write_text(
        "@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:d ex:e \n ex:f ex:g .\n"
    )
    with pytest.raises(RdfSyntaxError) as info:
        load_dataset(discover(res))
    err = info.value
    assert err.path == bad
    assert (err.line, err.column) == (4, 7)
    assert str(err).endswith(f"({bad}:4:7)")
    assert "\n" not in str(err)


def test_rdfxml_error_has_line_and_column(tmp_path: Path) -> None:
    res = _project(tmp_path)
    bad = tmp_path / "bad.rdf"
    bad.write_text(
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        "  <rdf:Description><x></rdf:RDF>\n"
    )
    with pytest.raises(RdfSyntaxError) as info:
        load_dataset(discover(res, [bad]))
    assert info.value.line == 2
    assert info.value.column is not None


def test_extra_files_in_every_syntax(tmp_path: Path) -> None:
    res = _project(tmp_path)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "a.nt").write_text(f'<{EX}a> <{EX}p> "nt" .\n')
    (extra / "b.nq").write_text(
        f'<{EX}b> <{EX}p> "nq-default" .\n<{EX}b> <{EX}p> "nq-named" <{EX}g> .\n'
    )
    (extra / "c.trig").write_text(f'<{EX}c> <{EX}p> "trig" .\n<{EX}h> {{ <{EX}c> <{EX}p> 1 }}\n')
    (extra / "d.jsonld").write_text(
        '{"@context": {"p": "http://example.org/p"}, "@id": "http://example.org/d", "p": "jsonld"}'
    )
    (extra / "e.ttl.gz").write_bytes(gzip.compress(f'<{EX}e> <{EX}p> "gz" .\n'.encode()))
    (extra / "f.rdf").write_text(
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:ex="http://example.org/"><rdf:Description rdf:about="http://example.org/f">'
        "<ex:p>rdfxml</ex:p></rdf:Description></rdf:RDF>"
    )
    (extra / "README.md").write_text("not rdf, skipped")
    sources = discover(res, [extra])
    extras = [s for s in sources if s.role == "extra"]
    assert [s.path.name for s in extras] == [
        "a.nt",
        "b.nq",
        "c.trig",
        "d.jsonld",
        "e.ttl.gz",
        "f.rdf",
    ]
    dataset = load_dataset(sources)
    p = URIRef(EX + "p")

    def objects(graph: str) -> set[str]:
        return {str(o) for o in dataset.graph(URIRef(graph)).objects(None, p)}

    assert objects(GRAPH_BASE + "a") == {"nt"}
    assert objects(GRAPH_BASE + "b") == {"nq-default"}
    assert objects(EX + "g") == {"nq-named"}
    assert objects(GRAPH_BASE + "c") == {"trig"}
    assert objects(EX + "h") == {"1"}
    assert objects(GRAPH_BASE + "d") == {"jsonld"}
    assert objects(GRAPH_BASE + "e") == {"gz"}
    assert objects(GRAPH_BASE + "f") == {"rdfxml"}


def test_extra_errors(tmp_path: Path) -> None:
    res = _project(tmp_path)
    with pytest.raises(SourceNotFoundError):
        discover(res, [tmp_path / "missing.ttl"])
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(UnknownFormatError):
        discover(res, [tmp_path / "x.txt"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="no RDF files"):
        discover(res, [empty])


def test_quad_syntax_error_has_position(tmp_path: Path) -> None:
    res = _project(tmp_path)
    bad = tmp_path / "bad.nq"
    bad.write_text(f"<{EX}a> <{EX}p> <{EX}o> .\n<{EX}a> <{EX}p> .\n")
    with pytest.raises(RdfSyntaxError) as info:
        load_dataset(discover(res, [bad]))
    assert info.value.line == 2
    assert info.value.column is not None


def test_jsonld_remote_context_is_never_fetched(tmp_path: Path) -> None:
    res = _project(tmp_path)
    doc = tmp_path / "remote.jsonld"
    doc.write_text('{"@context": "http://127.0.0.1:9/context.jsonld", "@id": "http://x/a"}')
    with pytest.raises(RdfSyntaxError, match=r"remote\.jsonld"):
        load_dataset(discover(res, [doc]))


def test_relative_iris_resolve_against_the_graph(tmp_path: Path) -> None:
    res = _project(tmp_path)
    rel = tmp_path / "rel.ttl"
    rel.write_text('<thing> <p> "x" .\n')
    dataset = load_dataset(discover(res, [rel]))
    subjects = set(dataset.graph(URIRef(GRAPH_BASE + "rel")).subjects())
    assert subjects == {URIRef(GRAPH_BASE + "thing")}


def test_bad_gzip(tmp_path: Path) -> None:
    res = _project(tmp_path)
    bad = tmp_path / "bad.ttl.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(RdfSyntaxError, match="gzip"):
        load_dataset(discover(res, [bad]))


@pytest.mark.parametrize("stem", ["inferred", "all", "asserted"])
def test_virtual_and_inferred_graph_names_are_reserved(tmp_path: Path, stem: str) -> None:
    res = _project(tmp_path)
    (res.data_dir / f"{stem}.ttl").write_text("")
    with pytest.raises(ConfigError, match="reserved graph"):
        discover(res)


@pytest.mark.parametrize("name", ["all", "asserted", "inferred"])
def test_no_quad_file_loads_into_a_reserved_graph(tmp_path: Path, name: str) -> None:
    quads = tmp_path / "q.trig"
    quads.write_text(f"<{GRAPH_BASE}{name}> {{ <{EX}a> <{EX}p> <{EX}b> }}\n")
    with pytest.raises(RdfSyntaxError, match="cannot load into graph"):
        load_dataset(discover(_resources(), [quads]))


# --------------------------------------------------------------------------------------------
# --data replaces the bundled graph


def _roots(tmp_path: Path) -> tuple[Path, ...]:
    """A stand-in for the bundled directories: ``<root>/ontology`` and ``<root>/data``."""
    root = tmp_path / "bundled"
    shutil.copytree(KG_ONTOLOGY, root / "ontology")
    shutil.copytree(KG_DATA, root / "data")
    return (root,)


def test_data_replaces_the_bundled_graph(tmp_path: Path) -> None:
    mine = tmp_path / "mine.nt"
    mine.write_text(f"<{EX}a> <{EX}p> <{EX}b> .\n")
    roots = _roots(tmp_path)
    bundled = discover(resolve_resources(Settings(), roots=roots))
    assert {s.role for s in bundled} == {"ontology", "alignments", "data"}

    resources = resolve_resources(Settings(extra_data=(mine,)), roots=roots)
    assert not resources.load_ontology and not resources.load_data
    sources = discover(resources, [mine])
    assert [(s.role, s.path.name) for s in sources] == [("extra", "mine.nt")]
    # rules and shapes still come from the (bundled) ontology directory
    assert [p.name for p in discover_rules(resources)] == ["colleagues.rq"]
    assert shapes_file(resources).is_file()


def test_explicit_directories_stay_with_data(tmp_path: Path) -> None:
    mine = tmp_path / "mine.nt"
    mine.write_text(f"<{EX}a> <{EX}p> <{EX}b> .\n")
    roots = _roots(tmp_path)
    only_ontology = resolve_resources(
        Settings(ontology_dir=KG_ONTOLOGY, extra_data=(mine,)), roots=roots
    )
    roles = [s.role for s in discover(only_ontology, [mine])]
    assert roles == ["ontology", "alignments", "extra"]
    both = resolve_resources(
        Settings(ontology_dir=KG_ONTOLOGY, data_dir=KG_DATA, extra_data=(mine,)), roots=roots
    )
    roles = [s.role for s in discover(both, [mine])]
    assert roles[:2] == ["ontology", "alignments"] and roles[-1] == "extra"
    assert "data" in roles


def test_nothing_to_load(tmp_path: Path) -> None:
    resources = Resources(
        ontology_dir=KG_ONTOLOGY,
        data_dir=KG_DATA,
        queries_dir=None,
        load_ontology=False,
        load_data=False,
    )
    with pytest.raises(ConfigError, match="nothing to load"):
        discover(resources)
