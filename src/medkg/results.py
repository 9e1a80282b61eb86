"""SPARQL 1.1 query results writers: JSON, XML, CSV and TSV, for any list of solutions.

pyoxigraph serializes only the complete solution sequence of a query it ran; the endpoint
needs to write a *capped* prefix of it, so medkg writes the four W3C formats itself:

- JSON: `SPARQL 1.1 Query Results JSON Format <https://www.w3.org/TR/sparql11-results-json/>`_
- XML: `SPARQL Query Results XML Format <https://www.w3.org/TR/rdf-sparql-XMLres/>`_
- CSV and TSV: `SPARQL 1.1 Query Results CSV and TSV Formats
  <https://www.w3.org/TR/sparql11-results-csv-tsv/>`_. CSV holds plain values (an IRI, a
  literal's lexical form, ``_:label``) with RFC 4180 quoting and CRLF line ends; TSV holds
  RDF terms in Turtle syntax (``<iri>``, ``"text"@en``, ``"x"^^<dt>``, and numbers and
  booleans in Turtle's short form when their lexical form allows it), LF line ends.

The output is byte for byte what pyoxigraph writes for the same solutions, except that
CSV quotes every field that holds a comma (pyoxigraph leaves IRIs with commas unquoted).

A whole answer is written by pyoxigraph itself, several times faster (see
:mod:`medkg.execution`): :data:`NATIVE` lists the formats it writes as medkg does, and
:func:`count_rows` counts the solutions in what it wrote without parsing it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import pyoxigraph as ox

from medkg.formats import ResultFormat
from medkg.terms import RDF_LANG_STRING, XSD_STRING, OxTerm

XSD = "http://www.w3.org/2001/XMLSchema#"
RESULTS_NS = "http://www.w3.org/2005/sparql-results#"
ITS_NS = "http://www.w3.org/2005/11/its"

Row = Sequence[OxTerm | None]

# Turtle's short forms (Turtle grammar productions INTEGER, DECIMAL, DOUBLE, BooleanLiteral).
_TURTLE_SHORT = {
    XSD + "integer": re.compile(r"[+-]?[0-9]+", re.ASCII),
    XSD + "decimal": re.compile(r"[+-]?[0-9]*\.[0-9]+", re.ASCII),
    XSD + "double": re.compile(
        r"[+-]?(?:[0-9]+\.[0-9]*[eE][+-]?[0-9]+|\.[0-9]+[eE][+-]?[0-9]+|[0-9]+[eE][+-]?[0-9]+)",
        re.ASCII,
    ),
    XSD + "boolean": re.compile(r"true|false"),
}


def write_solutions(variables: Sequence[str], rows: Iterable[Row], fmt: ResultFormat) -> bytes:
    """The SELECT result with ``variables`` and ``rows`` (one term or None per variable)."""
    if fmt is ResultFormat.JSON:
        return _json_solutions(variables, rows)
    if fmt is ResultFormat.XML:
        return _xml_solutions(variables, rows)
    if fmt is ResultFormat.CSV:
        return _table(",".join(variables), rows, ",", "\r\n", _csv_field)
    return _table("\t".join("?" + v for v in variables), rows, "\t", "\n", _tsv_term)


#: The formats whose answers pyoxigraph writes the way medkg does (CSV is not one: above).
NATIVE = frozenset({ResultFormat.JSON, ResultFormat.XML, ResultFormat.TSV})

# A row of pyoxigraph's JSON begins ``{"name":`` after the row before it; a string never
# holds ``},{"`` followed by a name (its ``"`` would end the string, and a string is
# followed by ``}`` or ``,``), so only those two counted apart are not row starts.
_JSON_NEXT_ROW = b'},{"'
_JSON_NOT_ROWS = (b'},{"}', b'},{",')


def count_rows(body: bytes, fmt: ResultFormat) -> int:
    """The number of solutions in ``body``, a SELECT answer as pyoxigraph writes it in
    ``fmt`` (one of :data:`NATIVE`), counted in its bytes: a TSV line each after the
    header, an XML ``<result>`` each (text holds ``&lt;``, never ``<``), and in JSON by the
    row separators (parsed instead if a row may be empty: ``{}``)."""
    if fmt is ResultFormat.TSV:
        return body.count(b"\n") - 1
    if fmt is ResultFormat.XML:
        return body.count(b"<result>")
    if fmt is not ResultFormat.JSON:
        raise ValueError(f"rows of {fmt.cli_name} answers are not counted in their bytes")
    if body.endswith(b'"bindings":[]}}'):
        return 0
    if b"{}" in body:
        return len(json.loads(body)["results"]["bindings"])
    return 1 + body.count(_JSON_NEXT_ROW) - sum(body.count(s) for s in _JSON_NOT_ROWS)


def write_boolean(value: bool, fmt: ResultFormat) -> bytes:
    """The ASK result ``value``."""
    text = "true" if value else "false"
    if fmt is ResultFormat.JSON:
        return ('{"head":{},"boolean":' + text + "}").encode()
    if fmt is ResultFormat.XML:
        return (
            f'<?xml version="1.0"?><sparql xmlns="{RESULTS_NS}"><head></head>'
            f"<boolean>{text}</boolean></sparql>"
        ).encode()
    return text.encode()


# --------------------------------------------------------------------------------------------
# JSON


def _json_term(term: OxTerm) -> dict[str, Any]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
            if term.direction is not None:
                out["its:dir"] = str(term.direction)
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    return {
        "type": "triple",
        "value": {
            "subject": _json_term(term.subject),
            "predicate": _json_term(term.predicate),
            "object": _json_term(term.object),
        },
    }


_json_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) writes


def _json_term_text(term: OxTerm) -> str:
    """``_json_term(term)`` as compact JSON text, written directly (no dict, no encoder)."""
    if isinstance(term, ox.NamedNode):
        return '{"type":"uri","value":' + _json_string(term.value) + "}"
    if isinstance(term, ox.BlankNode):
        return '{"type":"bnode","value":' + _json_string(term.value) + "}"
    if isinstance(term, ox.Literal):
        extra = ""
        if term.language:
            extra = ',"xml:lang":' + _json_string(term.language)
            if term.direction is not None:
                extra += ',"its:dir":' + _json_string(str(term.direction))
        elif term.datatype.value != XSD_STRING:
            extra = ',"datatype":' + _json_string(term.datatype.value)
        return '{"type":"literal","value":' + _json_string(term.value) + extra + "}"
    return json.dumps(_json_term(term), ensure_ascii=False, separators=(",", ":"))


def _json_solutions(variables: Sequence[str], rows: Iterable[Row]) -> bytes:
    """The same bytes as ``json.dumps`` of the document of dicts (compact, UTF-8), written
    as text directly: twice as fast on large answers."""
    keys = [_json_string(name) + ":" for name in variables]
    bindings = ",".join(
        "{"
        + ",".join(
            key + _json_term_text(term)
            for key, term in zip(keys, row, strict=True)
            if term is not None
        )
        + "}"
        for row in rows
    )
    head = json.dumps({"vars": list(variables)}, ensure_ascii=False, separators=(",", ":"))
    return ('{"head":' + head + ',"results":{"bindings":[' + bindings + "]}}").encode()


# --------------------------------------------------------------------------------------------
# XML

_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"})


def _xml(text: str) -> str:
    return text.translate(_XML_ESCAPES)


_XML_SPACE = " \t\n\r"


def _xml_text(text: str) -> str:
    """A literal's text as pyoxigraph writes it: escaped, and the whitespace it begins or
    ends with as character references (XML readers may trim it otherwise)."""
    start = len(text) - len(text.lstrip(_XML_SPACE))
    if start == len(text):
        return "".join(f"&#{ord(c)};" for c in text)
    end = len(text.rstrip(_XML_SPACE))
    lead = "".join(f"&#{ord(c)};" for c in text[:start])
    trail = "".join(f"&#{ord(c)};" for c in text[end:])
    return lead + _xml(text[start:end]) + trail


def _xml_term(term: OxTerm) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{_xml(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{_xml(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        attributes = ""
        if term.language:
            attributes = f' xml:lang="{_xml(term.language)}"'
            if term.direction is not None:
                attributes += f' its:dir="{term.direction}" xmlns:its="{ITS_NS}" its:version="2.0"'
        elif term.datatype.value not in (XSD_STRING, RDF_LANG_STRING):
            attributes = f' datatype="{_xml(term.datatype.value)}"'
        return f"<literal{attributes}>{_xml_text(term.value)}</literal>"
    return (
        f"<triple><subject>{_xml_term(term.subject)}</subject>"
        f"<predicate>{_xml_term(term.predicate)}</predicate>"
        f"<object>{_xml_term(term.object)}</object></triple>"
    )


def _xml_solutions(variables: Sequence[str], rows: Iterable[Row]) -> bytes:
    parts = [f'<?xml version="1.0"?><sparql xmlns="{RESULTS_NS}"><head>']
    parts.extend(f'<variable name="{_xml(v)}"/>' for v in variables)
    parts.append("</head><results>")
    for row in rows:
        parts.append("<result>")
        for name, term in zip(variables, row, strict=True):
            if term is not None:
                parts.append(f'<binding name="{_xml(name)}">{_xml_term(term)}</binding>')
        parts.append("</result>")
    parts.append("</results></sparql>")
    return "".join(parts).encode()


# --------------------------------------------------------------------------------------------
# CSV and TSV


def _table(
    header: str,
    rows: Iterable[Row],
    separator: str,
    end: str,
    cell: Any,
) -> bytes:
    lines = [header]
    lines.extend(separator.join("" if t is None else cell(t) for t in row) for row in rows)
    return (end.join(lines) + end).encode()


def _plain(term: OxTerm) -> str:
    if isinstance(term, ox.NamedNode | ox.Literal):
        return term.value
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    return f"{_plain(term.subject)} {_plain(term.predicate)} {_plain(term.object)}"


def _csv_field(term: OxTerm) -> str:
    value = _plain(term)
    if any(ch in value for ch in '",\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _tsv_term(term: OxTerm) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal):
        quoted = '"' + term.value.translate(_TSV_ESCAPES) + '"'
        if term.language:
            direction = f"--{term.direction}" if term.direction is not None else ""
            return f"{quoted}@{term.language}{direction}"
        datatype = term.datatype.value
        if datatype == XSD_STRING:
            return quoted
        short = _TURTLE_SHORT.get(datatype)
        if short is not None and short.fullmatch(term.value):
            return term.value
        return f"{quoted}^^<{datatype}>"
    parts = (_tsv_term(term.subject), _tsv_term(term.predicate), _tsv_term(term.object))
    return "<<( " + " ".join(parts) + " )>>"
