"""Cheap lexical checks on SPARQL text, made before any parser sees it.

A small tokenizer skips what can hide keywords and brackets (string literals, IRIs,
comments) and recognizes variables, prefixed names, bare words and brackets. On its
tokens rest three checks:

- :func:`refuse_service`: the ``SERVICE`` keyword (federated query) is refused, so no query
  reaches the network;
- :func:`check_nesting`: brackets nested deeper than a limit are refused. pyoxigraph's
  parser is recursive and crashes the whole process (stack overflow) on deeply nested
  text, so this runs first and never parses;
- :func:`dataset_clause`: the IRIs of ``FROM`` / ``FROM NAMED``, resolved against the
  query's ``PREFIX`` and ``BASE`` declarations, so that medkg can build the query's
  dataset itself (and map its virtual graph names);
- :func:`refuse_load`: the ``LOAD`` operation of SPARQL Update is refused (it fetches);
- :func:`inject_using`: the protocol's ``using-graph-uri`` / ``using-named-graph-uri``
  written into an update as ``USING`` / ``USING NAMED`` clauses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urljoin

from medkg.errors import ProtocolError, QuerySyntaxError, QueryTooComplex

#: Deepest bracket nesting any caller may allow. pyoxigraph (0.5) overflows its stack at
#: about 1000 nested blank-node brackets in a thread; 500 keeps a wide margin.
SAFE_NESTING = 500

#: Tokens every scan needs: what hides keywords and brackets (strings, IRIs, comments),
#: variables and prefixed names.
_COMMON = r"""
      (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''
        | \"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
        | '(?:[^'\\\n\r]|\\.)*'
        | "(?:[^"\\\n\r]|\\.)*")
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<comment>\#[^\n\r]*)
    | (?P<var>[?$]\w+)
    | (?P<pname>(?:[^\W\d]\w*(?:[.\-]+\w+)*)?:(?:(?:[\w\-:%]|\\.)+(?:\.+(?:[\w\-:%]|\\.)+)*)?)
"""

_TOKENS = re.compile(
    _COMMON
    + r"""
    | (?P<word>[^\W\d]\w*)
    | (?P<open>[{(\[]|<<)
    | (?P<close>[})\]]|>>)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str  # string, iri, comment, var, pname, word, open, close
    text: str
    start: int


def tokens(sparql: str) -> Iterator[Token]:
    """The tokens of ``sparql`` that matter to the checks here (punctuation is skipped)."""
    for match in _TOKENS.finditer(sparql):
        kind = match.lastgroup
        assert kind is not None
        yield Token(kind, match.group(), match.start())


#: Texts up to this long have their tokens remembered (:func:`token_list`), the last 128 of
#: them (about 20 MB at the very most, for texts made of one-character tokens).
REMEMBERED_CHARS = 4096


@lru_cache(maxsize=128)
def _remembered_tokens(sparql: str) -> tuple[Token, ...]:
    return tuple(tokens(sparql))


def token_list(sparql: str) -> tuple[Token, ...]:
    """:func:`tokens` as a tuple. Every check of a query reads the same tokens, and a
    service gets the same queries again and again: those of short texts are remembered."""
    if len(sparql) <= REMEMBERED_CHARS:
        return _remembered_tokens(sparql)
    return tuple(tokens(sparql))


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def refuse_service(
    sparql: str, source: str | Path | None = None, *, allowed: Collection[str] = ()
) -> None:
    """Raise QuerySyntaxError for a ``SERVICE`` call, unless its endpoint is written as a
    full IRI that is in ``allowed`` (the operator's allow-list)."""
    significant = [t for t in token_list(sparql) if t.kind != "comment"]
    for index, token in enumerate(significant):
        if token.kind != "word" or token.text.upper() != "SERVICE":
            continue
        following = significant[index + 1 : index + 3]
        if following and following[0].kind == "word" and following[0].text.upper() == "SILENT":
            following = following[1:]
        endpoint = following[0] if following else None
        if endpoint is not None and endpoint.kind == "iri" and endpoint.text[1:-1] in allowed:
            continue
        line, column = position(sparql, token.start)
        detail = (
            f"endpoint {endpoint.text} is not in the allow-list"
            if allowed and endpoint is not None
            else "no SERVICE endpoint is allowed on this server"
        )
        raise QuerySyntaxError(f"SERVICE is not supported: {detail}", line, column, source=source)


def mentions_graph(sparql: str) -> bool:
    """Whether ``sparql`` has the ``GRAPH`` keyword (outside strings, IRIs and comments)."""
    if "graph" not in sparql.lower():
        return False  # the common case, without tokenizing
    return any(t.kind == "word" and t.text.upper() == "GRAPH" for t in token_list(sparql))


def check_nesting(sparql: str, limit: int) -> None:
    """Raise QueryTooComplex if ``{ ( [ <<`` nest more than ``limit`` levels deep."""
    depth = 0
    for token in token_list(sparql):
        if token.kind == "open":
            depth += 1
            if depth > limit:
                raise QueryTooComplex(limit, *position(sparql, token.start))
        elif token.kind == "close":
            depth = max(depth - 1, 0)


@dataclass(frozen=True)
class DatasetClause:
    """The graph IRIs of a query's ``FROM`` (default) and ``FROM NAMED`` (named) clauses."""

    default: tuple[str, ...]
    named: tuple[str, ...]


def _unescape_local(name: str) -> str:
    return re.sub(r"\\(.)", r"\1", name)


def dataset_clause(
    sparql: str, prefixes: Mapping[str, str], base_iri: str | None = None
) -> DatasetClause | None:
    """The query's dataset clause; None if it has none or an IRI in it cannot be resolved.

    ``prefixes`` are the predeclared ones; ``PREFIX`` declarations in the text override
    them, and ``BASE`` (or ``base_iri``) resolves relative IRIs, as the parser would.
    """
    if "from" not in sparql.lower():
        return None  # no FROM keyword: no dataset clause (the common case, not tokenized)
    declared = dict(prefixes)
    base = base_iri
    default: list[str] = []
    named: list[str] = []
    pending: str | None = None  # the keyword whose operand comes next
    for token in token_list(sparql):
        if token.kind == "comment":
            continue
        word = token.text.upper() if token.kind == "word" else None
        if pending == "FROM" and word == "NAMED":
            pending = "FROM NAMED"
            continue
        if pending is not None and pending.startswith("PREFIX:"):
            if token.kind == "iri":
                declared[pending[len("PREFIX:") :]] = _resolve(token.text[1:-1], base)
            pending = None
            continue
        if pending == "PREFIX" and token.kind == "pname" and token.text.endswith(":"):
            pending = "PREFIX:" + token.text[:-1]
            continue
        if pending == "BASE" and token.kind == "iri":
            base = _resolve(token.text[1:-1], base)
        elif pending in ("FROM", "FROM NAMED"):
            iri = _operand_iri(token, declared, base)
            if iri is None:
                return None
            (named if pending == "FROM NAMED" else default).append(iri)
        pending = word if word in ("PREFIX", "BASE", "FROM") else None
    if not default and not named:
        return None
    return DatasetClause(tuple(default), tuple(named))


#: An IRI with a scheme and no dot segment: resolving it against any base gives itself.
_PLAIN_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:(?!.*/\.)")


def _resolve(iri: str, base: str | None) -> str:
    if not base or _PLAIN_ABSOLUTE.match(iri):
        return iri
    return urljoin(base, iri)


def _operand_iri(token: Token, declared: Mapping[str, str], base: str | None) -> str | None:
    if token.kind == "iri":
        return _resolve(token.text[1:-1], base)
    if token.kind == "pname":
        prefix, _, local = token.text.partition(":")
        namespace = declared.get(prefix)
        return None if namespace is None else namespace + _unescape_local(local)
    return None


def _top_level_words(sparql: str) -> Iterator[tuple[Token, Token | None]]:
    """Each bare word outside all brackets, with the significant token before it."""
    depth = 0
    previous: Token | None = None
    for token in token_list(sparql):
        if token.kind == "comment":
            continue
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            depth = max(depth - 1, 0)
        elif token.kind == "word" and depth == 0:
            yield token, previous
        previous = token


def refuse_load(update: str) -> None:
    """Raise QuerySyntaxError for a ``LOAD`` operation: medkg never fetches."""
    for token, _previous in _top_level_words(update):
        if token.text.upper() == "LOAD":
            line, column = position(update, token.start)
            raise QuerySyntaxError(
                "LOAD is not supported: medkg never fetches; upload the data to /store",
                line,
                column,
            )


def inject_using(update: str, default: Sequence[str], named: Sequence[str]) -> str:
    """``update`` with ``USING <g>`` / ``USING NAMED <g>`` before the ``WHERE`` of every
    DELETE/INSERT operation (SPARQL 1.1 Protocol ``using-graph-uri`` /
    ``using-named-graph-uri``). ProtocolError if the update has its own USING or WITH, or
    a ``DELETE WHERE`` the clauses cannot apply to."""
    if not default and not named:
        return update
    clauses = "".join(f"USING <{iri}> " for iri in default)
    clauses += "".join(f"USING NAMED <{iri}> " for iri in named)
    offsets: list[int] = []
    for token, previous in _top_level_words(update):
        word = token.text.upper()
        if word in ("USING", "WITH"):
            raise ProtocolError(
                f"using-graph-uri / using-named-graph-uri cannot be combined with {word} "
                "in the update"
            )
        if word != "WHERE":
            continue
        if previous is not None and previous.kind == "word" and previous.text.upper() == "DELETE":
            raise ProtocolError(
                "using-graph-uri / using-named-graph-uri cannot apply to DELETE WHERE; "
                "write DELETE { ... } WHERE { ... }"
            )
        offsets.append(token.start)
    for offset in reversed(offsets):
        update = update[:offset] + clauses + update[offset:]
    return update


# --------------------------------------------------------------------------------------------
# Wide basic graph patterns

#: A group with more triple patterns than this is split (see :func:`split_wide_groups`).
WIDE_GROUP = 40
#: Triple patterns per subquery when a wide group is split.
CHUNK = 20

_BGP_TOKENS = re.compile(
    _COMMON
    + r"""
    | (?P<number>[+-]?(?:\d+\.\d*[eE][+-]?\d+|\.?\d+[eE][+-]?\d+|\d*\.\d+|\d+))
    | (?P<word>[^\W\d]\w*)
    | (?P<lbrace>\{)
    | (?P<rbrace>\})
    | (?P<bracket>[()\[\]]|<<|>>)
    | (?P<dot>\.)
    | (?P<semi>;)
    | (?P<space>\s+)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass
class _Group:
    start: int  # offset of "{"
    flat: bool  # only triples so far: no nested group, bracket, keyword or blank node label
    separators: list[tuple[str, int]]  # ("dot" | "semi", offset) at this group's level
    where: bool  # the group is a WHERE clause (of a query or subquery, not CONSTRUCT WHERE)


@dataclass(frozen=True)
class FlatGroup:
    """A group holding only triple patterns: the offsets of its braces, its separators, and
    whether it is a whole ``WHERE`` clause (where a join of subqueries may stand instead)."""

    start: int
    end: int
    separators: list[tuple[str, int]]
    where: bool


def _flat_groups(sparql: str) -> list[FlatGroup]:
    """Every group holding only triples, the last first (so that rewriting one leaves the
    offsets of those before it as they are)."""
    found: list[FlatGroup] = []
    stack: list[_Group] = []
    previous = ""
    keywords: list[str] = []  # the words since the last brace, dot or semicolon
    for match in _BGP_TOKENS.finditer(sparql):
        kind, text = match.lastgroup, match.group()
        if kind in ("space", "comment"):
            continue
        top = stack[-1] if stack else None
        if kind == "lbrace":
            if top is not None:
                top.flat = False
            # A CONSTRUCT template is a set of triples to build, not a pattern.
            stack.append(
                _Group(match.start(), previous.upper() != "CONSTRUCT", [], _opens_where(keywords))
            )
        elif kind == "rbrace":
            if top is not None:
                stack.pop()
                if top.flat:
                    found.append(FlatGroup(top.start, match.start(), top.separators, top.where))
        elif top is not None:
            if kind == "bracket" or (kind == "word" and text != "a"):
                top.flat = False
            elif kind == "pname" and text.startswith("_:"):
                top.flat = False  # blank node labels are scoped to one pattern
            elif kind in ("dot", "semi"):
                top.separators.append((kind, match.start()))
        previous = text if kind == "word" else ""
        if kind in ("lbrace", "rbrace", "dot", "semi"):
            keywords = []
        elif kind == "word" and text != "a":
            keywords.append(text.upper())
    return sorted(found, key=lambda group: group.start, reverse=True)


#: The last keyword before a ``{`` that opens a query's or subquery's WHERE clause (the
#: keyword ``WHERE`` is optional but for CONSTRUCT).
_WHERE_OPENERS = frozenset({"WHERE", "SELECT", "DISTINCT", "REDUCED", "ASK", "DESCRIBE"})


def _opens_where(keywords: list[str]) -> bool:
    """Whether a ``{`` after these keywords opens a WHERE clause (not ``CONSTRUCT WHERE``,
    whose group is its template too)."""
    if not keywords or keywords[-1] not in _WHERE_OPENERS:
        return False
    return keywords[-2:] != ["CONSTRUCT", "WHERE"]


def _patterns(body: str, separators: list[tuple[str, int]], offset: int) -> list[str]:
    """The triple patterns of a flat group's text, ``;`` lists expanded."""
    patterns: list[str] = []
    cut = 0
    blocks: list[tuple[str, list[int]]] = []
    semis: list[int] = []
    for kind, at in separators:
        if kind == "dot":
            blocks.append((body[cut : at - offset], [s - offset - cut for s in semis]))
            cut, semis = at - offset + 1, []
        else:
            semis.append(at)
    blocks.append((body[cut:], [s - offset - cut for s in semis]))
    for block, semi_offsets in blocks:
        if not block.strip():
            continue
        pieces, start = [], 0
        for at in semi_offsets:
            pieces.append(block[start:at])
            start = at + 1
        pieces.append(block[start:])
        subject_match = _BGP_TOKENS.match(block.lstrip())
        if subject_match is None:
            return []
        subject = subject_match.group()
        first = pieces[0].lstrip()[len(subject) :]
        for piece in [first, *pieces[1:]]:
            if piece.strip():
                patterns.append(f"{subject} {piece.strip()}")
    return patterns


def split_wide_groups(sparql: str, wide: int = WIDE_GROUP, chunk: int = CHUNK) -> str:
    """``sparql`` with every group of more than ``wide`` triple patterns (and nothing else)
    rewritten as a join of ``{ SELECT * WHERE { ... } }`` subqueries of ``chunk`` patterns.

    The same solutions (a basic graph pattern is a join of its triple patterns, and joins
    associate), but pyoxigraph (0.5) plans each subquery on its own: its join planner takes
    seconds for 100 patterns sharing a variable and minutes for 200, while 300 patterns in
    subqueries of 20 take well under a second. Groups with blank nodes, nested groups,
    brackets or keywords are left alone, and so are CONSTRUCT templates.
    """
    if sparql.count(".") + sparql.count(";") < wide:
        return sparql  # too few separators for a group of more than ``wide`` patterns
    rewritten = sparql
    for group in _flat_groups(sparql):
        start, end = group.start, group.end
        patterns = _patterns(sparql[start + 1 : end], group.separators, start + 1)
        if len(patterns) <= wide:
            continue
        subqueries = " ".join(
            "{ SELECT * WHERE { " + " . ".join(patterns[i : i + chunk]) + " } }"
            for i in range(0, len(patterns), chunk)
        )
        rewritten = rewritten[: start + 1] + " " + subqueries + " " + rewritten[end:]
    return rewritten


# --------------------------------------------------------------------------------------------
# Join order hints


def _has_comment(text: str) -> bool:
    return "#" in text and any(t.kind == "comment" for t in tokens(text))


def rewrite_flat_groups(
    sparql: str, rewrite: Callable[[list[str], bool], str | None], most: int = WIDE_GROUP
) -> str:
    """``sparql`` with the body of every group that holds only triple patterns (as
    :func:`split_wide_groups` finds them, at most ``most`` of them, ``;`` lists written out,
    no comment) replaced by ``rewrite(patterns, where)`` unless that is None; ``where``
    says the group is a whole ``WHERE`` clause (see :class:`FlatGroup`)."""
    if "{" not in sparql:
        return sparql
    rewritten = sparql
    for group in _flat_groups(sparql):
        start, end = group.start, group.end
        body = sparql[start + 1 : end]
        patterns = _patterns(body, group.separators, start + 1)
        if len(patterns) < 2 or len(patterns) > most or _has_comment(body):
            continue
        replacement = rewrite(patterns, group.where)
        if replacement is not None:
            rewritten = rewritten[: start + 1] + " " + replacement + " " + rewritten[end:]
    return rewritten


def reorder_flat_groups(sparql: str, key: Callable[[str], float], most: int = WIDE_GROUP) -> str:
    """``sparql`` with the triple patterns of every group that holds only triple patterns
    (as :func:`rewrite_flat_groups` finds them) sorted by ``key`` (stable: equal keys keep
    their order), ``;`` lists written out.

    The same solutions: a basic graph pattern is a set of triple patterns, and its
    solutions do not depend on the order they are written in (only the order in which
    solutions come out may change, which SPARQL leaves open without ORDER BY). Groups
    with comments are left alone (a comment would swallow the text joined after it).
    """
    return rewrite_flat_groups(sparql, lambda patterns, _where: sorted_body(patterns, key), most)


def sorted_body(patterns: list[str], key: Callable[[str], float]) -> str | None:
    """A group body of ``patterns`` sorted by ``key`` (stable); None when they are in order
    already."""
    ordered = sorted(patterns, key=key)
    return None if ordered == patterns else " . ".join(ordered)


def pattern_terms(pattern: str) -> list[str]:
    """The significant tokens of one triple pattern (as :func:`reorder_flat_groups` passes
    it to its key): terms, and any other punctuation (paths, object lists, datatypes)."""
    return [
        m.group() for m in _BGP_TOKENS.finditer(pattern) if m.lastgroup not in ("space", "comment")
    ]


def declared_prefixes(sparql: str, prefixes: Mapping[str, str]) -> dict[str, str]:
    """``prefixes`` updated with the query's own ``PREFIX`` declarations (absolute
    namespaces only: a prefix declared with a relative one, which ``BASE`` resolves, is
    left out)."""
    declared = dict(prefixes)
    if "prefix" not in sparql.lower():
        return declared
    after_keyword = False  # the previous token was PREFIX
    pending: str | None = None  # the prefix whose namespace comes next
    for token in token_list(sparql):
        if token.kind == "comment":
            continue
        if pending is not None:
            if token.kind == "iri" and ":" in token.text:
                declared[pending] = token.text[1:-1]
            else:
                declared.pop(pending, None)  # relative: unknown here
            pending = None
        elif after_keyword and token.kind == "pname" and token.text.endswith(":"):
            pending = token.text[:-1]
        after_keyword = token.kind == "word" and token.text.upper() == "PREFIX"
    return declared
