"""Finding the source files of the knowledge graph and parsing them into quads.

Every file goes into its own named graph (see :func:`medkg.namespaces.graph_iri_for`).
Relative IRIs in a file resolve against that file's graph IRI, so nothing depends on where
the checkout lives. Every syntax is parsed by pyoxigraph (no remote JSON-LD context is ever
fetched); where pyoxigraph cannot say where an error is, rdflib's parser is asked for the
line and column. ``.gz`` is unpacked. :func:`load_quads` gives pyoxigraph quads (the
knowledge graph's path), :func:`load_dataset` the same as an rdflib Dataset.
"""

from __future__ import annotations

import gzip
import re
import xml.sax
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph

from medkg.config import Resources
from medkg.errors import ConfigError, RdfSyntaxError, SourceNotFoundError, UnknownFormatError
from medkg.formats import RdfSyntax
from medkg.namespaces import (
    ALIGNMENTS_GRAPH,
    ONTOLOGY_GRAPH,
    RESERVED_GRAPHS,
    graph_iri_for,
)
from medkg.terms import to_rdflib

ONTOLOGY_FILE = "medkg.ttl"
ALIGNMENTS_FILE = "alignments.ttl"
SHAPES_FILE = "shapes.ttl"
RULES_DIR = "rules"


@dataclass(frozen=True)
class SourceFile:
    """One input file and the named graph it is loaded into."""

    path: Path
    graph: str
    role: str  # "ontology" | "alignments" | "data" | "extra"

    @property
    def name(self) -> str:
        """Stable, machine-independent name (used in cache keys and messages)."""
        return f"{self.role}/{self.path.name}"

    @property
    def syntax(self) -> RdfSyntax:
        return RdfSyntax.from_extension(self.path)


def _rdf_files_in(directory: Path) -> list[Path]:
    found: list[Path] = []
    for path in sorted(directory.iterdir()):
        if not path.is_file():
            continue
        try:
            RdfSyntax.from_extension(path)
        except UnknownFormatError:
            continue
        found.append(path)
    return found


def _extra_sources(extra: Iterable[Path]) -> list[SourceFile]:
    sources: list[SourceFile] = []
    for item in extra:
        if item.is_dir():
            files = _rdf_files_in(item)
            if not files:
                raise ConfigError("no RDF files in data directory", where=str(item))
        elif item.is_file():
            RdfSyntax.from_extension(item)  # raises UnknownFormatError early
            files = [item]
        else:
            raise SourceNotFoundError(item, "data file")
        sources.extend(SourceFile(f, graph_iri_for(f), "extra") for f in files)
    return sources


def discover(resources: Resources, extra: Sequence[Path] = ()) -> list[SourceFile]:
    """The files that make up the asserted knowledge graph, in load order.

    ``ontology/medkg.ttl`` -> ONTOLOGY_GRAPH, ``ontology/alignments.ttl`` (optional) ->
    ALIGNMENTS_GRAPH, every ``data/*.ttl`` -> ``graph_iri_for(file)``, then ``extra`` files
    or directories (any known RDF syntax). Shapes and rules are not data. The ontology
    and data directories' files are skipped when ``resources`` says so (``--data``
    replacing the bundled graph, see :func:`medkg.config.resolve_resources`).
    """
    sources: list[SourceFile] = []
    if resources.load_ontology:
        ontology = resources.ontology_dir / ONTOLOGY_FILE
        if not ontology.is_file():
            raise ConfigError("ontology file missing", where=str(ontology))
        sources.append(SourceFile(ontology, ONTOLOGY_GRAPH, "ontology"))
        alignments = resources.ontology_dir / ALIGNMENTS_FILE
        if alignments.is_file():
            sources.append(SourceFile(alignments, ALIGNMENTS_GRAPH, "alignments"))
    if resources.load_data:
        data_files = sorted(p for p in resources.data_dir.glob("*.ttl") if p.is_file())
        if not data_files:
            raise ConfigError("no data files (*.ttl) found", where=str(resources.data_dir))
        sources.extend(SourceFile(p, graph_iri_for(p), "data") for p in data_files)
    sources.extend(_extra_sources(extra))
    if not sources:
        raise ConfigError("nothing to load: no ontology, data or --data files")

    seen: dict[str, SourceFile] = {}
    for source in sources:
        if source.graph in RESERVED_GRAPHS:
            raise ConfigError(
                f"file name clashes with the reserved graph <{source.graph}>",
                where=str(source.path),
            )
        if source.graph in seen:
            raise ConfigError(
                f"two files map to graph <{source.graph}>",
                where=f"{seen[source.graph].path}, {source.path}",
            )
        seen[source.graph] = source
    return sources


def discover_rules(resources: Resources) -> list[Path]:
    """``ontology/rules/*.rq``, sorted by name (empty if there is no rules directory)."""
    rules_dir = resources.ontology_dir / RULES_DIR
    if not rules_dir.is_dir():
        return []
    return sorted(p for p in rules_dir.glob("*.rq") if p.is_file())


def shapes_file(resources: Resources) -> Path:
    """``ontology/shapes.ttl``; ConfigError if it is missing."""
    path = resources.ontology_dir / SHAPES_FILE
    if not path.is_file():
        raise ConfigError("SHACL shapes file missing", where=str(path))
    return path


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped if the name ends in ``.gz``."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise SourceNotFoundError(path) from exc
    except OSError as exc:
        raise RdfSyntaxError(path, f"cannot read file: {exc.strerror or exc}") from exc
    if path.name.lower().endswith(".gz"):
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise RdfSyntaxError(path, f"not a valid gzip file: {exc}") from exc
    return raw


def _rdflib_error(path: Path, exc: Exception) -> RdfSyntaxError:
    """Map an rdflib / SAX parse error to RdfSyntaxError, keeping line/column if known."""
    if isinstance(exc, xml.sax.SAXParseException):
        sax_column = exc.getColumnNumber()  # 0-based in expat
        return RdfSyntaxError(
            path,
            exc.getMessage(),
            exc.getLineNumber(),
            sax_column + 1 if sax_column is not None else None,
        )
    why = getattr(exc, "_why", None)
    lines = getattr(exc, "lines", None)
    if isinstance(why, str) and isinstance(lines, int):  # notation3.BadSyntax (Turtle)
        column: int | None = None
        buffer, offset = getattr(exc, "_str", None), getattr(exc, "_i", None)
        if isinstance(offset, int):
            if isinstance(buffer, bytes):
                column = offset - (buffer.rfind(b"\n", 0, offset) + 1) + 1
            elif isinstance(buffer, str):
                column = offset - (buffer.rfind("\n", 0, offset) + 1) + 1
        return RdfSyntaxError(path, why, lines + 1, column)
    message = str(exc) or type(exc).__name__
    match = re.search(r"line (\d+)", message)
    return RdfSyntaxError(path, message, int(match.group(1)) if match else None)


def _rdflib_diagnosis(source: SourceFile, data: bytes) -> RdfSyntaxError | None:
    """rdflib's error for ``data`` (it locates some errors pyoxigraph does not), if any."""
    try:
        Graph().parse(data=data, format=source.syntax.rdflib_format, publicID=source.graph)
    except Exception as exc:  # rdflib raises many unrelated types for bad input
        return _rdflib_error(source.path, exc)
    return None


def _syntax_error(source: SourceFile, data: bytes, exc: SyntaxError) -> RdfSyntaxError:
    rdflib_reads = not source.syntax.carries_graphs and source.syntax is not RdfSyntax.JSONLD
    if exc.lineno is None and rdflib_reads:
        located = _rdflib_diagnosis(source, data)
        if located is not None:
            return located
    message = re.sub(r"^Parser error at [^:]*: ", "", str(exc))
    message = re.sub(r" \((?:[^()]*, )?line \d+\)$", "", message)
    return RdfSyntaxError(source.path, message, exc.lineno, exc.offset)


def parse_quads(source: SourceFile) -> list[ox.Quad]:
    """The quads of one file, parsed by pyoxigraph (no remote JSON-LD context is fetched;
    blank nodes get fresh labels). Triples go into the file's graph, as does the default
    graph of a quad syntax; its named graphs stay named. Raises RdfSyntaxError."""
    data = read_bytes(source.path)
    home = ox.NamedNode(source.graph)
    try:
        parsed = list(
            ox.parse(
                input=data,
                format=source.syntax.oxigraph_format,
                base_iri=source.graph,
                rename_blank_nodes=True,
            )
        )
    except SyntaxError as exc:
        raise _syntax_error(source, data, exc) from exc
    except ValueError as exc:
        raise RdfSyntaxError(source.path, str(exc)) from exc
    if not source.syntax.carries_graphs:
        return [ox.Quad(q.subject, q.predicate, q.object, home) for q in parsed]
    quads: list[ox.Quad] = []
    for quad in parsed:
        name = quad.graph_name
        if isinstance(name, ox.DefaultGraph):
            quad = ox.Quad(quad.subject, quad.predicate, quad.object, home)
        elif not isinstance(name, ox.NamedNode | ox.BlankNode) or name.value in RESERVED_GRAPHS:
            raise RdfSyntaxError(source.path, f"cannot load into graph {name}")
        quads.append(quad)
    return quads


def load_quads(files: Sequence[SourceFile]) -> list[ox.Quad]:
    """Every file's quads (:func:`parse_quads`), in order."""
    return [quad for source in files for quad in parse_quads(source)]


def parse_source(dataset: Dataset, source: SourceFile) -> None:
    """Parse one file into ``dataset`` (its own named graph). Raises RdfSyntaxError."""
    for quad in parse_quads(source):
        name = to_rdflib(quad.graph_name)  # type: ignore[arg-type]
        triple = (to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object))
        dataset.graph(name).add(triple)  # type: ignore[arg-type]


def load_dataset(files: Sequence[SourceFile]) -> Dataset:
    """An rdflib Dataset holding each file in its own named graph."""
    dataset = Dataset()
    for source in files:
        parse_source(dataset, source)
    return dataset
