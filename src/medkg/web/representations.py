"""Content negotiation for documents about resources: HTML for browsers, RDF for clients.

A resource's IRI (``/resource/x``) is a thing, not a document, so it answers
``303 See Other`` pointing at the document in the negotiated representation
(``/resource/x.html``, ``.ttl``, ``.jsonld``, ``.nt``, ``.rdf``). A document URL that
negotiates itself (``/ontology``) answers ``200`` with ``Content-Location`` naming the
representation it chose.
"""

from __future__ import annotations

from dataclasses import dataclass

from medkg.errors import NotAcceptable
from medkg.formats import RdfSyntax, negotiate

HTML = "text/html"


@dataclass(frozen=True)
class Representation:
    extension: str
    media_type: str
    syntax: RdfSyntax | None  # None: the HTML page


REPRESENTATIONS: tuple[Representation, ...] = (
    Representation("html", HTML, None),
    Representation("ttl", RdfSyntax.TURTLE.media_type, RdfSyntax.TURTLE),
    Representation("jsonld", RdfSyntax.JSONLD.media_type, RdfSyntax.JSONLD),
    Representation("nt", RdfSyntax.NTRIPLES.media_type, RdfSyntax.NTRIPLES),
    Representation("rdf", RdfSyntax.RDFXML.media_type, RdfSyntax.RDFXML),
)
BY_EXTENSION = {r.extension: r for r in REPRESENTATIONS}
OFFERED = [r.media_type for r in REPRESENTATIONS]


def choose(accept: str | None, what: str) -> Representation:
    """The representation ``accept`` prefers (HTML when it does not say); 406 if none."""
    chosen = negotiate(accept, OFFERED)
    if chosen is None:
        raise NotAcceptable(OFFERED, what)
    return next(r for r in REPRESENTATIONS if r.media_type == chosen)


def split_name(name: str) -> tuple[str, Representation | None]:
    """``x.ttl`` -> (``x``, Turtle); ``x`` -> (``x``, None)."""
    stem, dot, extension = name.rpartition(".")
    if dot and stem and extension in BY_EXTENSION:
        return stem, BY_EXTENSION[extension]
    return name, None


def prefers_html(accept: str | None, alternatives: list[str]) -> bool:
    """Whether ``accept`` ranks HTML above every one of ``alternatives`` (which win ties
    and a missing header)."""
    return negotiate(accept, [*alternatives, HTML]) == HTML
