"""HTML pages: the Jinja2 environment (autoescaping every value), links, security headers.

Every value that comes from the graph is data, so templates autoescape all of it: a label
such as ``<script>`` renders as text. :func:`local_href` maps the project's IRIs to the
pages of this server (``res:x`` -> ``/resource/x.html``, ``graph:x`` -> ``/graph/x.html``,
``mkg:X`` -> ``/ontology#X``); other IRIs get no link, so no page ever points a browser
away from the server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pyoxigraph as ox
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from medkg import __version__
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


def explain_href(triple: ox.Triple, base: str = "") -> str:
    """The explanation page of ``triple`` (terms in N-Triples syntax)."""
    query = urlencode(
        {"s": str(triple.subject), "p": str(triple.predicate), "o": str(triple.object)}
    )
    return f"{base}/explain?{query}"


#: Characters shown as ``\uXXXX`` instead of being written into a page: C0 and C1 controls
#: (but tab, newline, carriage return), DEL, and the bidirectional embedding, override and
#: isolate controls, which could make a label display as something it is not.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def visible(value: Any) -> Any:
    r"""``value`` with every invisible control character written as ``\uXXXX`` (plain
    strings only, not markup the templates built; applied to every expression a template
    outputs, before escaping)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04X}", value)
    return value


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
    """``template`` rendered with ``context``, ``base`` (the root path), link helpers."""
    base = root_path(request)
    page = _environment().get_template(template)
    body = page.render(
        {
            **context,
            "base": base,
            "href": lambda iri: local_href(iri, base),
            "explain_href": lambda triple: explain_href(triple, base),
        }
    )
    return HTMLResponse(
        body, status_code=status_code, headers={**HTML_HEADERS, "Vary": "Accept", **(headers or {})}
    )
