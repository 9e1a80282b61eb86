"""Who may write: a bearer token (``--update-token`` / ``MEDKG_UPDATE_TOKEN``).

Reads are public. A write needs ``Authorization: Bearer <token>`` matching the configured
token (compared in constant time). With no token configured, every write is refused (403),
whatever the request carries; a missing or wrong token is answered 401 with
``WWW-Authenticate: Bearer``. The token never appears in logs or error messages.
"""

from __future__ import annotations

import hmac

from medkg.config import Settings
from medkg.errors import Forbidden, Unauthorized


def authorize(authorization: str | None, settings: Settings) -> None:
    """Return if ``authorization`` (the header value) allows a write, else raise."""
    if settings.update_token is None:
        raise Forbidden(
            "writes are disabled on this server",
            where="start it with --store DIR and an update token (MEDKG_UPDATE_TOKEN)",
        )
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthorized()
    expected = settings.update_token.get_secret_value().encode("utf-8")
    if not hmac.compare_digest(credentials.strip().encode("utf-8"), expected):
        raise Unauthorized("the bearer token is not valid")
