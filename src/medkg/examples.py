"""The example queries of ``queries/``, as the query editor offers them.

Each ``NAME.rq`` starts with ``# title:``, ``# question:`` and ``# inference:`` header
lines. :func:`load_examples` reads them, sorted by file name, and gives each one the
``PREFIX`` declarations of the known prefixes it uses (the endpoint needs none, but
editors check prefixes), so that every example reads and runs as it stands. It reads a
directory again only when its ``.rq`` files changed (names, sizes, modification times).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from medkg.namespaces import PREFIXES

_HEADER = re.compile(r"^#\s*(title|question|inference)\s*:\s*(.*)$")
_DECLARED = re.compile(r"^\s*PREFIX\s+([A-Za-z][\w.-]*)?:", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Example:
    name: str  # the file name without .rq
    title: str
    question: str
    inference: str
    query: str  # the query with the PREFIX declarations it needs


def prefix_declarations(query: str) -> str:
    """``PREFIX`` lines for the known prefixes ``query`` uses and does not declare."""
    declared = {m.group(1) or "" for m in _DECLARED.finditer(query)}
    body = re.sub(r"(?m)#.*$", "", query)
    body = re.sub(r'"[^"\n]*"|<[^>\s]*>', "", body)
    lines = [
        f"PREFIX {prefix}: <{namespace}>"
        for prefix, namespace in PREFIXES.items()
        if prefix not in declared and re.search(rf"(?<![\w:?$]){re.escape(prefix)}:", body)
    ]
    return "\n".join(lines)


def with_prefixes(query: str) -> str:
    """``query`` with the declarations it needs put after its header comment lines."""
    declarations = prefix_declarations(query)
    if not declarations:
        return query
    lines = query.splitlines()
    split = 0
    while split < len(lines) and lines[split].startswith("#"):
        split += 1
    return "\n".join([*lines[:split], declarations, *lines[split:]]) + "\n"


def load_example(path: Path) -> Example:
    text = path.read_text(encoding="utf-8")
    headers: dict[str, str] = {}
    for line in text.splitlines():
        match = _HEADER.match(line)
        if match:
            headers.setdefault(match.group(1), match.group(2).strip())
        elif line.strip() and not line.startswith("#"):
            break
    return Example(
        name=path.stem,
        title=headers.get("title", path.stem),
        question=headers.get("question", ""),
        inference=headers.get("inference", ""),
        query=with_prefixes(text),
    )


#: What the files of a directory looked like when read: (name, size, mtime) of each.
Signature = tuple[tuple[str, int, int], ...]
_READ: dict[Path, tuple[Signature, tuple[Example, ...]]] = {}


def load_examples(directory: Path | None) -> list[Example]:
    """Every ``*.rq`` of ``directory`` (none when it is None or missing), by file name."""
    if directory is None or not directory.is_dir():
        return []
    paths = sorted(directory.glob("*.rq"))
    stats = [path.stat() for path in paths]
    signature = tuple(
        (p.name, st.st_size, st.st_mtime_ns) for p, st in zip(paths, stats, strict=True)
    )
    read = _READ.get(directory)
    if read is None or read[0] != signature:
        read = (signature, tuple(load_example(path) for path in paths))
        _READ[directory] = read  # one entry per directory; a concurrent reader may redo it
    return list(read[1])
