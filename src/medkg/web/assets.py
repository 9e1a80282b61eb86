"""The static files shipped in the package (stylesheet, scripts, vendored JavaScript)."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse

from medkg.errors import ResourceNotFound

STATIC_DIR = Path(__file__).resolve().parent / "static"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".md": "text/markdown; charset=utf-8",
}
_NO_EXTENSION = "text/plain; charset=utf-8"  # LICENSE files


def static_file(path: str) -> FileResponse:
    """The file at ``path`` under the static directory; ResourceNotFound for anything else
    (including paths that try to leave it)."""
    target = (STATIC_DIR / path).resolve()
    if not target.is_relative_to(STATIC_DIR) or not target.is_file():
        raise ResourceNotFound("static file", path)
    media_type = _TYPES.get(target.suffix, _NO_EXTENSION if not target.suffix else None)
    if media_type is None:
        raise ResourceNotFound("static file", path)
    return FileResponse(
        target,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
