"""The ``medkg`` command line: ``query``, ``validate``, ``stats``, ``serve``, the writes
``load`` and ``update``, ``store log`` / ``store export`` for reviewing a store, and
``export`` / ``push`` for moving the graph into other graphs.

Options that locate resources (``--ontology-dir``, ``--data-dir``, ``--data``,
``--cache-dir``, ``--no-cache``) are accepted before the command (global) and after it;
the later wins. They override ``MEDKG_*`` environment variables, which override defaults.
Every expected failure (a :class:`~medkg.errors.MedkgError`) is reported as one line on
stderr, ``medkg: error: <what> (<where>)``, with exit status 2 for bad input or
configuration and 1 for failed validation or an inconsistent graph.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from medkg import __version__
from medkg.errors import (
    ConfigError,
    InputError,
    MedkgError,
    SourceNotFoundError,
    UnknownFormatError,
    ValidationFailed,
)
from medkg.formats import RdfSyntax, ResultFormat

if TYPE_CHECKING:
    from fastapi import FastAPI
    from rich.table import Table

    from medkg.config import Settings
    from medkg.export import QuadSource
    from medkg.graphstore import Target
    from medkg.store import QueryResult
    from medkg.validation import Violation

# Each command imports what it needs when it runs: `medkg serve` must not pay for SHACL,
# the HTTP client or the table printer before it answers its first query.

app = typer.Typer(
    name="medkg",
    help="Query, validate and summarize the medkg knowledge graph.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

QUERY_FILE_SUFFIXES = (".rq", ".sparql")
UPDATE_FILE_SUFFIXES = (".ru", ".rq", ".sparql")
TABLE = "table"
FORMAT_NAMES = (
    TABLE,
    *(f.cli_name for f in ResultFormat),
    "turtle",
    "ntriples",
    "nquads",
    "trig",
    "jsonld",
    "rdfxml",
)

OntologyDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--ontology-dir", help="Directory with medkg.ttl, alignments.ttl, shapes.ttl, rules/."
    ),
]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Directory whose *.ttl files are the data.")
]
ExtraDataOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--data",
        help="RDF file or directory to serve instead of the bundled graph (repeatable; "
        "include the ontology).",
    ),
]
CacheDirOpt = Annotated[
    Path | None, typer.Option("--cache-dir", help="Where computed closures are cached.")
]
NoCacheOpt = Annotated[
    bool, typer.Option("--no-cache", help="Recompute the closure; do not read or write the cache.")
]
StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        metavar="DIR",
        help="Store directory holding the asserted graphs and the journal of writes "
        "(created from the curated files when missing; env MEDKG_STORE_DIR).",
    ),
]
ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        metavar="URL",
        help="Write through the medkg server at URL (e.g. http://127.0.0.1:8000) instead of "
        "opening the store directory; the token comes from MEDKG_UPDATE_TOKEN or --token.",
    ),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="Bearer token for --server (prefer MEDKG_UPDATE_TOKEN: flags show up in ps).",
    ),
]


def _overrides(
    ontology_dir: Path | None,
    data_dir: Path | None,
    extra_data: list[Path] | None,
    cache_dir: Path | None,
    no_cache: bool,
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if ontology_dir is not None:
        found["ontology_dir"] = ontology_dir
    if data_dir is not None:
        found["data_dir"] = data_dir
    if extra_data:
        found["extra_data"] = tuple(extra_data)
    if cache_dir is not None:
        found["cache_dir"] = cache_dir
    if no_cache:
        found["use_cache"] = False
    return found


def build_settings(overrides: dict[str, Any]) -> Settings:
    """Settings from defaults < ``MEDKG_*`` environment < ``overrides`` (CLI flags)."""
    import pydantic

    from medkg.config import Settings

    try:
        return Settings(**overrides)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first.get("loc", ())) or "settings"
        raise ConfigError(f"invalid setting {name}: {first.get('msg', 'invalid value')}") from exc


def _settings(ctx: typer.Context, local: dict[str, Any]) -> Settings:
    merged: dict[str, Any] = dict(ctx.obj or {})
    merged.update(local)
    return build_settings(merged)


@contextmanager
def _reported_errors() -> Iterator[None]:
    """Turn a MedkgError into one stderr line and the error's exit status."""
    try:
        yield
    except MedkgError as exc:
        typer.echo(f"medkg: error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"medkg {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    ontology_dir: OntologyDirOpt = None,
    data_dir: DataDirOpt = None,
    extra_data: ExtraDataOpt = None,
    cache_dir: CacheDirOpt = None,
    no_cache: NoCacheOpt = False,
    reasoner: Annotated[
        str | None,
        typer.Option(
            "--reasoner",
            help="OWL 2 RL reasoner: fast (default) or owlrl (the reference; slow). "
            "Env MEDKG_REASONER.",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Query, validate and summarize the medkg knowledge graph."""
    ctx.obj = _overrides(ontology_dir, data_dir, extra_data, cache_dir, no_cache)
    if reasoner is not None:
        ctx.obj["reasoner"] = reasoner


# --------------------------------------------------------------------------------------------
# query


def parse_output_format(name: str | None) -> str | ResultFormat | RdfSyntax | None:
    """``table``, a ResultFormat, an RdfSyntax, or None (the default for the result kind)."""
    if name is None:
        return None
    key = name.strip().lower()
    if key == TABLE:
        return TABLE
    for result_format in ResultFormat:
        if key == result_format.cli_name:
            return result_format
    try:
        return RdfSyntax.from_name(key)
    except UnknownFormatError:
        raise UnknownFormatError(name, "output format", FORMAT_NAMES) from None


def read_query(query_or_file: str) -> tuple[str, str | None]:
    """The query text and where it came from (a file path, ``<stdin>``, or None)."""
    return read_text_argument(query_or_file, QUERY_FILE_SUFFIXES, "query file")


def read_text_argument(
    text_or_file: str, suffixes: tuple[str, ...], what: str
) -> tuple[str, str | None]:
    """Inline text, a file (by existence or suffix), or ``-`` for standard input; and where
    it came from (a file path, ``<stdin>``, or None)."""
    if text_or_file == "-":
        return sys.stdin.read(), "<stdin>"
    path = Path(text_or_file)
    try:
        is_file = path.is_file()
    except (OSError, ValueError):  # e.g. inline text longer than a file name may be
        is_file = False
    if is_file or text_or_file.lower().endswith(suffixes):
        if not is_file:
            raise SourceNotFoundError(path, what)
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except UnicodeDecodeError as exc:
            raise InputError(f"{what} is not UTF-8 text", where=str(path)) from exc
        except OSError as exc:
            raise InputError(f"cannot read {what}: {exc.strerror}", where=str(path)) from exc
    return text_or_file, None


def _row_table(headers: list[str], rows: list[list[str]], title: str | None = None) -> Table:
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _print_table(result: QueryResult) -> None:
    from rich.console import Console

    from medkg.store import QueryKind
    from medkg.terms import display

    console = Console(file=sys.stdout)
    if result.kind is QueryKind.ASK:
        console.print("true" if result.boolean else "false")
        return
    if result.kind is QueryKind.SELECT:
        headers = [f"?{v}" for v in result.variables]
        rows = [[display(term) for term in row] for row in result.rows]
        noun = "row" if len(rows) == 1 else "rows"
    else:
        headers = ["subject", "predicate", "object"]
        rows = [
            [display(t.subject), display(t.predicate), display(t.object)] for t in result.triples
        ]
        noun = "triple" if len(rows) == 1 else "triples"
    console.print(_row_table(headers, rows))
    console.print(f"{len(rows)} {noun}")


@app.command()
def query(
    ctx: typer.Context,
    query_or_file: Annotated[
        str,
        typer.Argument(
            metavar="QUERY_OR_FILE",
            help="SPARQL text, a .rq/.sparql file, or - for standard input.",
        ),
    ],
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help=f"Output format: {', '.join(FORMAT_NAMES)} "
            "(default: table; turtle for CONSTRUCT/DESCRIBE).",
        ),
    ] = None,
    asserted_only: Annotated[
        bool, typer.Option("--asserted-only", help="Query asserted triples only.")
    ] = False,
    inferred_only: Annotated[
        bool, typer.Option("--inferred-only", help="Query inferred triples only.")
    ] = False,
    ontology_dir: OntologyDirOpt = None,
    data_dir: DataDirOpt = None,
    extra_data: ExtraDataOpt = None,
    cache_dir: CacheDirOpt = None,
    no_cache: NoCacheOpt = False,
    store: StoreOpt = None,
) -> None:
    """Run a SPARQL query over the knowledge graph (asserted + inferred by default)."""
    from medkg.store import GraphMode, KnowledgeGraph, QueryKind

    with _reported_errors():
        fmt = parse_output_format(output_format)
        if asserted_only and inferred_only:
            raise InputError("--asserted-only and --inferred-only exclude each other")
        mode = (
            GraphMode.ASSERTED
            if asserted_only
            else GraphMode.INFERRED
            if inferred_only
            else GraphMode.ALL
        )
        text, source = read_query(query_or_file)
        settings = _settings(
            ctx,
            {
                **_overrides(ontology_dir, data_dir, extra_data, cache_dir, no_cache),
                **_given(store_dir=store),
            },
        )
        kg = KnowledgeGraph.open(settings)
        result = kg.query(text, mode=mode, source=source)
        if fmt is None:
            fmt = RdfSyntax.TURTLE if result.kind is QueryKind.GRAPH else TABLE
        if fmt == TABLE:
            _print_table(result)
            return
        assert isinstance(fmt, ResultFormat | RdfSyntax)
        data = result.serialize(fmt)
    typer.echo(data, nl=False)


# --------------------------------------------------------------------------------------------
# validate


def _print_violations(violations: list[Violation]) -> None:
    from medkg.terms import compact_iri

    for v in violations:
        focus = compact_iri(v.focus_node) if not v.focus_node.startswith("_:") else v.focus_node
        path = ""
        if v.path is not None:
            path = " " + (compact_iri(v.path) if "://" in v.path else v.path)
        typer.echo(f"{v.severity}: {focus}{path}: {v.message}")


@app.command("validate")
def validate_command(
    ctx: typer.Context,
    ontology_dir: OntologyDirOpt = None,
    data_dir: DataDirOpt = None,
    extra_data: ExtraDataOpt = None,
    cache_dir: CacheDirOpt = None,
    no_cache: NoCacheOpt = False,
    store: StoreOpt = None,
) -> None:
    """Validate asserted + inferred triples against ontology/shapes.ttl (exit 1 if not)."""
    from medkg.loading import shapes_file
    from medkg.store import KnowledgeGraph
    from medkg.validation import validate

    with _reported_errors():
        settings = _settings(
            ctx,
            {
                **_overrides(ontology_dir, data_dir, extra_data, cache_dir, no_cache),
                **_given(store_dir=store),
            },
        )
        kg = KnowledgeGraph.open(settings)
        shapes = shapes_file(kg.resources)
        violations = validate(kg, shapes)
        if violations:
            _print_violations(violations)
            raise ValidationFailed(violations, shapes)
        typer.echo(f"conforms: the knowledge graph satisfies {shapes.name}")


# --------------------------------------------------------------------------------------------
# stats


@app.command()
def stats(
    ctx: typer.Context,
    ontology_dir: OntologyDirOpt = None,
    data_dir: DataDirOpt = None,
    extra_data: ExtraDataOpt = None,
    cache_dir: CacheDirOpt = None,
    no_cache: NoCacheOpt = False,
    store: StoreOpt = None,
) -> None:
    """Print triples per named graph and instances per class."""
    from rich.console import Console

    from medkg.store import KnowledgeGraph
    from medkg.terms import compact_iri

    with _reported_errors():
        settings = _settings(
            ctx,
            {
                **_overrides(ontology_dir, data_dir, extra_data, cache_dir, no_cache),
                **_given(store_dir=store),
            },
        )
        kg = KnowledgeGraph.open(settings)
        summary = kg.stats()
    console = Console(file=sys.stdout)
    graphs = _row_table(
        ["graph", "triples"],
        [[compact_iri(g), str(n)] for g, n in summary.graphs],
        title="Triples per named graph",
    )
    graphs.columns[1].justify = "right"
    graphs.add_section()
    graphs.add_row("total", str(summary.total_triples))
    console.print(graphs)
    classes = _row_table(
        ["class", "instances"],
        [[compact_iri(c), str(n)] for c, n in summary.classes],
        title="Instances per class (asserted + inferred)",
    )
    classes.columns[1].justify = "right"
    console.print(classes)
    console.print(f"closure: {'from cache' if kg.from_cache else 'computed'}")


# --------------------------------------------------------------------------------------------
# serve


def _given(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _workers_likely(workers: int | None, backend: str | None) -> bool:
    """Whether ``serve`` will run query worker processes, guessed from its flags and the
    environment before the settings are built (which takes a third of a second), so that
    their fork server can start first. A wrong guess costs an idle process or a later start.
    """
    if backend or os.environ.get("MEDKG_BACKEND", "").strip():
        return False
    if workers is not None:
        return workers > 0
    text = os.environ.get("MEDKG_WORKERS", "").strip()
    try:
        return not text or int(text) > 0  # unset: the default, 2 workers
    except ValueError:
        return False  # the settings refuse it


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="Interface to listen on (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="TCP port (default 8000).")] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", metavar="SECONDS", help="Time limit per query (default 30)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            metavar="N",
            help="Query worker processes (default 2); 0 runs queries in the server process.",
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option("--public-url", metavar="URL", help="Public base URL behind a proxy."),
    ] = None,
    max_rows: Annotated[
        int | None,
        typer.Option(
            "--max-rows", metavar="N", help="Rows or triples per answer (default 100000)."
        ),
    ] = None,
    log_level: Annotated[
        str | None, typer.Option("--log-level", help="critical, error, warning, info, debug.")
    ] = None,
    service_allow: Annotated[
        list[str] | None,
        typer.Option(
            "--service-allow",
            metavar="URL",
            help="A SERVICE endpoint queries may call (repeatable); none by default.",
        ),
    ] = None,
    store: StoreOpt = None,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            metavar="sparql:QUERY_URL[,UPDATE_URL]",
            help="Serve from a remote SPARQL 1.1 store filled by medkg push (queries, export).",
        ),
    ] = None,
    update_token: Annotated[
        str | None,
        typer.Option(
            "--update-token",
            help="Enable writes for requests bearing this token (needs --store; prefer "
            "MEDKG_UPDATE_TOKEN: flags show up in ps).",
        ),
    ] = None,
    ontology_dir: OntologyDirOpt = None,
    data_dir: DataDirOpt = None,
    extra_data: ExtraDataOpt = None,
    cache_dir: CacheDirOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Serve the SPARQL 1.1 endpoint at http://HOST:PORT/sparql (read-only unless an update
    token and a store are given; then also SPARQL Update and the Graph Store at /store)."""
    from medkg.processes import start_worker_server

    if _workers_likely(workers, backend):
        # First thing: the workers' imports then overlap with all of the server's start-up.
        start_worker_server()
    with _reported_errors():
        local = _overrides(ontology_dir, data_dir, extra_data, cache_dir, no_cache)
        local.update(
            _given(
                host=host,
                port=port,
                timeout=timeout,
                workers=workers,
                public_url=public_url,
                max_rows=max_rows,
                log_level=log_level,
                service_allow=tuple(service_allow) if service_allow else None,
                store_dir=store,
                update_token=update_token,
                backend=backend,
            )
        )
        settings = _settings(ctx, local)
        if settings.backend is None and settings.workers > 0:
            start_worker_server()  # (if the guess above missed it)
        # Imported here: the web stack is only needed by this command.
        if settings.backend is not None:
            from medkg.backend import BackendSpec
            from medkg.web.remote import create_remote_app

            web_app = create_remote_app(settings, BackendSpec.parse(settings.backend))
        else:
            web_app = _local_app(settings)
        from medkg.web.server import run
    run(web_app, settings)


#: What ``serve`` imports while the graph's store is assembled (``pydantic.v1``: FastAPI
#: imports it on its first route, to check whether a parameter is a pydantic 1 model).
_WEB_MODULES = ("medkg.web.app", "medkg.web.server", "pydantic.v1")


def _local_app(settings: Settings) -> FastAPI:
    """``create_app(settings)``, started so that little waits: the query workers first
    (they start while the graph loads), and once the closure is inferred, a thread hands it
    to them and imports the web stack (about half a second) while this one assembles the
    store (pyoxigraph, which leaves the interpreter free). With an update token, the
    curator opens the graph in ``create_app``."""
    import importlib
    import threading

    from medkg.store import Closure, KnowledgeGraph
    from medkg.web.engine import early_snapshot, start_workers

    if settings.update_token is not None:
        from medkg.web import create_app

        return create_app(settings)
    workers = start_workers(settings)
    hand_over = early_snapshot(settings, workers)
    threads: list[threading.Thread] = []

    def meanwhile(closure: Closure) -> None:
        hand_over(closure)
        for module in _WEB_MODULES:
            importlib.import_module(module)

    def on_closure(closure: Closure) -> None:
        thread = threading.Thread(target=meanwhile, args=(closure,), name="medkg-start-up")
        threads.append(thread)
        thread.start()

    try:
        kg = KnowledgeGraph.open(settings, on_closure=on_closure)
        for thread in threads:
            thread.join()  # (an import that failed there fails again below, and says why)
        from medkg.web import create_app

        return create_app(settings, kg=kg, workers=workers)
    except BaseException:
        if workers is not None:
            workers.close()
        raise


# --------------------------------------------------------------------------------------------
# export, push

GraphsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--graphs",
        "-g",
        metavar="GRAPHS",
        help="all (default), asserted, inferred or a graph IRI (repeatable, or comma-separated).",
    ),
]


def _quad_source(settings: Settings) -> QuadSource:
    from medkg.export import LocalSource
    from medkg.store import KnowledgeGraph

    if settings.backend is not None:
        from medkg.backend import BackendSpec, RemoteSource, RemoteStore

        spec = BackendSpec.parse(settings.backend)
        return RemoteSource(RemoteStore(spec, timeout=settings.timeout))
    return LocalSource(KnowledgeGraph.open(settings))


@app.command("export")
def export_command(
    ctx: typer.Context,
    graphs: GraphsOpt = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="turtle, ntriples, nquads, trig, jsonld, rdfxml (default: by -o's extension, "
            "else trig).",
        ),
    ] = None,
    vocab: Annotated[
        str | None,
        typer.Option("--vocab", help="all (default: every triple), mkg, schema or org."),
    ] = None,
    entity: Annotated[
        str | None,
        typer.Option("--entity", metavar="IRI", help="Only this entity's document (e.g. res:ntu)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Default: stdout.")
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option("--backend", metavar="sparql:QUERY_URL", help="Read a remote store."),
    ] = None,
    store: StoreOpt = None,
    ontology_dir: OntologyDirOpt = None,
    data_dir: DataDirOpt = None,
    extra_data: ExtraDataOpt = None,
    cache_dir: CacheDirOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Export the graph, or chosen graphs, as sorted RDF (TriG, N-Quads and JSON-LD keep one
    named graph per source)."""
    from medkg.export import export_request, selected_quads, serialize_chunks

    with _reported_errors():
        if output_format is not None:
            syntax = RdfSyntax.from_name(output_format)
        else:
            syntax = RdfSyntax.from_extension(output) if output is not None else RdfSyntax.TRIG
        wanted = export_request(syntax, graphs or (), vocab, entity)
        local = _overrides(ontology_dir, data_dir, extra_data, cache_dir, no_cache)
        settings = _settings(ctx, {**local, **_given(store_dir=store, backend=backend)})
        chunks = serialize_chunks(
            selected_quads(_quad_source(settings), wanted), syntax, wanted.vocab
        )
        if output is None:
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return
        try:
            with output.open("wb") as sink:
                for chunk in chunks:
                    sink.write(chunk)
        except OSError as exc:
            raise InputError(f"cannot write the export: {exc.strerror}", where=str(output)) from exc


@app.command()
def push(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The Graph Store Protocol endpoint of the store.")],
    graphs: GraphsOpt = None,
    auth: Annotated[
        str | None,
        typer.Option(
            "--auth",
            help="bearer:TOKEN or basic:USER:PASSWORD (prefer MEDKG_PUSH_AUTH: flags show in ps).",
        ),
    ] = None,
    chunk: Annotated[
        int, typer.Option("--chunk", metavar="N", help="Triples per request (PUT, then POSTs).")
    ] = 50_000,
    default_graph: Annotated[
        bool,
        typer.Option(
            "--default-graph/--no-default-graph",
            help="Also write the union of the pushed graphs as the store's default graph.",
        ),
    ] = True,
    store: StoreOpt = None,
    ontology_dir: OntologyDirOpt = None,
    data_dir: DataDirOpt = None,
    extra_data: ExtraDataOpt = None,
    cache_dir: CacheDirOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Write named graphs to a SPARQL 1.1 Graph Store Protocol endpoint, then check counts."""
    from medkg.export import GraphSelection, LocalSource
    from medkg.push import GraphStoreClient, authorization
    from medkg.push import push as push_graphs
    from medkg.store import KnowledgeGraph

    with _reported_errors():
        local = _overrides(ontology_dir, data_dir, extra_data, cache_dir, no_cache)
        settings = _settings(ctx, {**local, **_given(store_dir=store)})
        header = authorization(auth or os.environ.get("MEDKG_PUSH_AUTH"))
        client = GraphStoreClient(url, header)
        selection = GraphSelection.parse(graphs or ())
        source = LocalSource(KnowledgeGraph.open(settings))
        for pushed in push_graphs(
            source, client, selection, chunk=chunk, default_graph=default_graph
        ):
            name = pushed.graph or "default graph (union)"
            typer.echo(f"{name}\t{pushed.triples} triples\t{pushed.requests} request(s)")
        typer.echo("counts checked: the store holds every triple sent")


# --------------------------------------------------------------------------------------------
# writes: load, update


def _write_settings(
    ctx: typer.Context,
    store: Path | None,
    server: str | None,
    resources: dict[str, Any] | None = None,
) -> Settings:
    settings = _settings(ctx, {**(resources or {}), **_given(store_dir=store)})
    if server is None and settings.store_dir is None:
        raise ConfigError("name where to write: --store DIR (or MEDKG_STORE_DIR) or --server URL")
    if server is not None and store is not None:
        raise ConfigError("--store and --server exclude each other")
    return settings


def _token(settings: Settings, token: str | None) -> str | None:
    if token is not None:
        return token
    return settings.update_token.get_secret_value() if settings.update_token else None


def _read_rdf_file(path: Path) -> tuple[bytes, RdfSyntax]:
    from medkg.loading import read_bytes

    if not path.is_file():
        raise SourceNotFoundError(path, "RDF file")
    syntax = RdfSyntax.from_extension(path)
    try:
        data = read_bytes(path)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", where=str(path)) from exc
    return data, syntax


def _target_for(path: Path, syntax: RdfSyntax, graph: str | None) -> Target:
    from urllib.parse import urlencode

    from medkg.graphstore import Target, parse_target
    from medkg.namespaces import graph_iri_for

    if graph is not None:
        return parse_target(urlencode({"graph": graph}).encode())
    if syntax.carries_graphs and syntax is not RdfSyntax.JSONLD:
        return Target(None)
    return Target(graph_iri_for(path))


@app.command()
def load(
    ctx: typer.Context,
    files: Annotated[
        list[Path], typer.Argument(metavar="FILE", help="RDF files (syntax by extension).")
    ],
    graph: Annotated[
        str | None,
        typer.Option(
            "--graph",
            metavar="IRI",
            help="Target graph (default: graph:<file stem>; TriG/N-Quads keep their graphs).",
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace the target graph instead of adding to it.")
    ] = False,
    store: StoreOpt = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    ontology_dir: OntologyDirOpt = None,
    data_dir: DataDirOpt = None,
    extra_data: ExtraDataOpt = None,
    cache_dir: CacheDirOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Add RDF files to the store (one committed write per file), validated like any write."""
    from medkg import graphstore
    from medkg.client import Client
    from medkg.curation import Curator
    from medkg.namespaces import graph_iri_for
    from medkg.uploads import parse_upload

    with _reported_errors():
        resources = _overrides(ontology_dir, data_dir, extra_data, cache_dir, no_cache)
        settings = _write_settings(ctx, store, server, resources)
        plans = []
        for path in files:
            data, syntax = _read_rdf_file(path)
            plans.append((path, data, syntax, _target_for(path, syntax, graph)))
        if server is not None:
            client = Client(server, _token(settings, token))
            for path, data, syntax, target in plans:
                ack = client.upload(data, syntax, graph=target.graph, replace=replace)
                typer.echo(f"{path}: committed as write {ack.seq} ({ack.status})")
            return
        with Curator.open(settings) as curator:
            for path, data, syntax, target in plans:
                base = target.graph or graph_iri_for(path)
                quads = parse_upload(data, syntax, where=str(path), base_iri=base)
                make = graphstore.put if replace else graphstore.post
                outcome = curator.write(f"load {path.name}", make(target, quads, syntax))
                typer.echo(f"{path}: write {curator.seq}: {outcome.change.summary()}")


@app.command()
def update(
    ctx: typer.Context,
    update_or_file: Annotated[
        str,
        typer.Argument(
            metavar="UPDATE_OR_FILE",
            help="SPARQL Update text, a .ru file, or - for standard input.",
        ),
    ],
    store: StoreOpt = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    ontology_dir: OntologyDirOpt = None,
    data_dir: DataDirOpt = None,
    extra_data: ExtraDataOpt = None,
    cache_dir: CacheDirOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Run a SPARQL Update on the store, validated like any write."""
    from medkg.client import Client
    from medkg.curation import Curator, sparql_update

    with _reported_errors():
        resources = _overrides(ontology_dir, data_dir, extra_data, cache_dir, no_cache)
        settings = _write_settings(ctx, store, server, resources)
        text, source = read_text_argument(update_or_file, UPDATE_FILE_SUFFIXES, "update file")
        if server is not None:
            ack = Client(server, _token(settings, token)).update(text)
            typer.echo(f"committed as write {ack.seq}")
            return
        compute = sparql_update(text, source=source)
        with Curator.open(settings) as curator:
            outcome = curator.write("update", compute)
            if outcome.change.empty:
                typer.echo("no change")
            else:
                typer.echo(f"write {curator.seq}: {outcome.change.summary()}")


# --------------------------------------------------------------------------------------------
# store: log, export


store_app = typer.Typer(help="Review a store directory: its journal and its changes.")
app.add_typer(store_app, name="store")


@store_app.command("log")
def store_log(ctx: typer.Context, store: StoreOpt = None) -> None:
    """List the committed writes: number, time, operation, size."""
    from medkg.review import read_journal

    with _reported_errors():
        settings = _write_settings(ctx, store, None)
        assert settings.store_dir is not None
        for entry in read_journal(settings.store_dir):
            typer.echo(f"{entry.seq}\t{entry.time}\t{entry.operation}\t{entry.change.summary()}")


@store_app.command("export")
def store_export(
    ctx: typer.Context,
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="DIR", help="Directory to write into.")
    ],
    store: StoreOpt = None,
) -> None:
    """Write the store's changes for review: a Turtle file per changed graph (its whole
    current content), and added.nq / removed.nq against the store's base."""
    from medkg.review import export_changes

    with _reported_errors():
        settings = _write_settings(ctx, store, None)
        assert settings.store_dir is not None
        for path in export_changes(settings.store_dir, output):
            typer.echo(str(path))


def main() -> None:
    """Console-script entry point."""
    try:
        app(prog_name="medkg")
    except BrokenPipeError:  # e.g. `medkg query ... | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
