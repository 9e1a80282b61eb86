"""Running the endpoint app with uvicorn (``medkg serve``)."""

from __future__ import annotations

import copy
from typing import Any

import uvicorn
import uvicorn.config
from fastapi import FastAPI

from medkg.config import Settings

#: Room for the request line's method and path and for the headers, beyond the query string.
HEADER_ALLOWANCE = 64 * 1024


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging set-up, plus medkg's loggers (access log, errors) at ``level``."""
    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["medkg"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def run(app: FastAPI, settings: Settings) -> None:
    """Serve ``app`` on ``settings.host``:``settings.port`` until interrupted."""
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=log_config(settings.log_level),
        access_log=False,  # medkg.web.access logs each request, with its duration
        server_header=False,
        # Long query strings must reach the app (which answers 414), not fail in the parser.
        h11_max_incomplete_event_size=settings.max_url_bytes + HEADER_ALLOWANCE,
    )
