"""HTML pages: the Jinja2 environment (autoescaping every value), links, security headers.

Every value that comes from the graph is data, so templates autoescape all of it: a label
such as ``<script>`` renders as text. :func:`local_href` maps the project's IRIs to the
pages of this server (``res:x`` -> ``/resource/x.html``, ``graph:x`` -> ``/graph/x.html``,
``mkg:X`` -> ``/ontology#X``); other IRIs get no link, so no page ever points a browser
away from the server.

The fragments a page repeats for every fact (a term, a fact's status, its sources) are
written by :class:`Fragments` in Python rather than by template macros: an entity page
has hundreds of them, and a Jinja macro call costs more than the HTML it writes. They
escape every value as the templates do (:func:`text`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import pyoxigraph as ox
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from medkg import __version__
from medkg.describe import Fact, PropertyGroup, SourceRef, TermView
from medkg.labels import compact
from medkg.namespaces import GRAPH_BASE, MKG, RES

if TYPE_CHECKING:
    from jinja2 import Environment

#: No script, style, image or connection from anywhere but this server.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HTML_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
_ONTOLOGY_NS = str(MKG)


def root_path(request: Request) -> str:
    """The path the app is mounted under (``--root-path`` behind a proxy), without a
    trailing slash."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def local_href(iri: str | None, base: str = "") -> str | None:
    """The page of this server that describes ``iri``, or None for foreign IRIs."""
    if not iri:
        return None
    if iri.startswith(RES) and len(iri) > len(RES):
        return f"{base}/resource/{iri[len(RES) :]}.html"
    if iri.startswith(GRAPH_BASE) and len(iri) > len(GRAPH_BASE):
        return f"{base}/graph/{iri[len(GRAPH_BASE) :]}.html"
    if iri.startswith(_ONTOLOGY_NS):
        return f"{base}/ontology#{iri[len(_ONTOLOGY_NS) :]}"
    if iri == _ONTOLOGY_NS.rstrip("#"):
        return f"{base}/ontology"
    return None


@lru_cache(maxsize=8192)
def _query_value(term: str) -> str:
    """``term`` encoded as a query string value (as ``urlencode`` does)."""
    return quote_plus(term, safe="")


def explain_href(triple: ox.Triple, base: str = "") -> str:
    """The explanation page of ``triple`` (terms in N-Triples syntax)."""
    s, p, o = (_query_value(str(t)) for t in (triple.subject, triple.predicate, triple.object))
    return f"{base}/explain?s={s}&p={p}&o={o}"


#: Characters shown as ``\uXXXX`` instead of being written into a page: C0 and C1 controls
#: (but tab, newline, carriage return), DEL, and the bidirectional embedding, override and
#: isolate controls, which could make a label display as something it is not.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _shown(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04X}"


def visible(value: Any) -> Any:
    r"""``value`` with every invisible control character written as ``\uXXXX`` (plain
    strings only, not markup the templates built; applied to every expression a template
    outputs, before escaping)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _INVISIBLE.sub(_shown, value)
    return value


def text(value: str | None) -> str:
    """``value`` as a template writes ``{{ value }}``: controls made visible, then escaped
    as markupsafe escapes (``None`` as ``None``)."""
    if value is None:
        return "None"
    if isinstance(value, Markup):
        return value
    if _INVISIBLE.search(value) is not None:
        value = _INVISIBLE.sub(_shown, value)
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )


_ASSERTED_BADGE = '<span class="badge asserted">asserted</span>'
_WHY = 'inferred <span class="why">· why?</span>'


@dataclass(frozen=True)
class Fragments:
    """The HTML of the pieces pages repeat, with links under ``base`` (the root path).
    Every value goes through :func:`text`; the templates get :class:`Markup`. One per
    page: a term's HTML and a set of sources' links are memoized, as they repeat."""

    base: str = ""
    _terms: dict[TermView, str] = field(default_factory=dict, compare=False, repr=False)
    _sourced: dict[tuple[SourceRef, ...], str] = field(
        default_factory=dict, compare=False, repr=False
    )
    _quoted: dict[ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple, str] = field(
        default_factory=dict, compare=False, repr=False
    )

    def href(self, iri: str | None) -> str | None:
        return local_href(iri, self.base)

    def explain_href(self, triple: ox.Triple) -> str:
        return explain_href(triple, self.base)

    def term(self, view: TermView) -> Markup:
        """A term as a link to its page (when it has one), else as text; a literal with
        its datatype or language."""
        return Markup(self._term(view))

    def terms(self, views: Iterable[TermView], separator: str = ", ") -> Markup:
        """Terms (see :meth:`term`) one after the other, ``separator`` between them."""
        return Markup(text(separator).join(self._term(v) for v in views))

    def sources(self, refs: Iterable[SourceRef]) -> Markup:
        """Links to the source documents (else the named graphs) that state a fact."""
        return Markup(self._sources(refs))

    def status(self, fact: Fact) -> Markup:
        """Inferred (a link to why), or asserted and by which sources."""
        return Markup(self._status(fact))

    def fact_rows(self, group: PropertyGroup) -> Markup:
        """The ``<tbody>`` of one property in an entity's table of facts: a row per fact
        (its value, an n-ary node's details, its status), the property heading the first."""
        rows: list[str] = []
        for fact in group.facts:
            head = ""
            if not rows:
                size = len(group.facts)
                head = f'<th scope="rowgroup" rowspan="{size}">{self._term(group.property)}</th>'
            details = ""
            if fact.details:
                items = "".join(
                    f'<li><span class="prop">{text(d.property.label)}:</span> '
                    f"{self._term(d.value)}</li>"
                    for d in fact.details
                )
                details = f'<ul class="details">{items}</ul>'
            row_class = ' class="inferred"' if fact.inferred else ""
            rows.append(
                f"<tr{row_class}>\n{head}  <td>{self._term(fact.value)}\n{details}  </td>\n"
                f"  <td>{self._status(fact)}</td>\n</tr>\n"
            )
        return Markup("<tbody>\n" + "".join(rows) + "</tbody>")

    def _term(self, view: TermView) -> str:
        found = self._terms.get(view)
        if found is None:
            found = self._terms[view] = self._term_html(view)
        return found

    def _term_html(self, view: TermView) -> str:
        if isinstance(view.term, ox.Literal):
            language = view.language
            lang = f' lang="{text(language)}"' if language else ""
            html = f'<span class="literal"{lang}>{text(view.label)}</span>'
            if view.datatype:
                html += f' <span class="datatype">{text(view.datatype)}</span>'
            if language:
                html += f' <span class="datatype">@{text(language)}</span>'
            return html
        iri = view.iri
        link = local_href(iri, self.base)
        if link:
            return f'<a href="{text(link)}">{text(view.label)}</a>'
        return f'<span class="foreign" title="{text(iri or "")}">{text(view.label)}</span>'

    def _query(self, term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> str:
        found = self._quoted.get(term)
        if found is None:
            found = self._quoted[term] = _query_value(str(term))
        return found

    def _sources(self, refs: Iterable[SourceRef]) -> str:
        key = tuple(refs)
        found = self._sourced.get(key)
        if found is None:
            found = self._sourced[key] = self._sources_html(key)
        return found

    def _sources_html(self, refs: Iterable[SourceRef]) -> str:
        return " ".join(
            f'<a class="source" href="{text(self.href(ref.document) or self.href(ref.graph))}"'
            f' title="named graph {text(compact(ref.graph))}">{text(ref.label)}</a>'
            for ref in refs
        )

    def _status(self, fact: Fact) -> str:
        if fact.inferred:
            # explain_href, escaped: the quoted terms hold no character to escape.
            triple = fact.triple
            s, p, o = (
                self._query(triple.subject),
                self._query(triple.predicate),
                self._query(triple.object),
            )
            href = f"{text(self.base)}/explain?s={s}&amp;p={p}&amp;o={o}"
            return f'<a class="badge inferred" href="{href}">{_WHY}</a>'
        if fact.sources:
            return f"{_ASSERTED_BADGE} {self._sources(fact.sources)}"
        return _ASSERTED_BADGE


@cache
def _environment() -> Environment:
    """The template environment, built on the first page served (jinja2 is imported then:
    a server that only answers queries never needs it)."""
    from jinja2 import Environment, PackageLoader

    env = Environment(
        loader=PackageLoader("medkg.web", "templates"),
        autoescape=True,
        finalize=visible,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["compact"] = compact
    env.globals["version"] = __version__
    return env


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """``template`` rendered with ``context``, ``base`` (the root path), link helpers and
    the :class:`Fragments` functions (``term``, ``terms``, ``sources``, ``status``,
    ``fact_rows``)."""
    base = root_path(request)
    html = Fragments(base)
    body = (
        _environment()
        .get_template(template)
        .render(
            {
                **context,
                "base": base,
                "href": html.href,
                "explain_href": html.explain_href,
                "term": html.term,
                "terms": html.terms,
                "sources": html.sources,
                "status": html.status,
                "fact_rows": html.fact_rows,
            }
        )
    )
    return HTMLResponse(
        body, status_code=status_code, headers={**HTML_HEADERS, "Vary": "Accept", **(headers or {})}
    )
