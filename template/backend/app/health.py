"""Liveness for the platforms' health checks, readiness for humans and monitors."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.deps import SessionDep

logger = logging.getLogger(__name__)

# Render counts a health check as failed after 5 s; answer well before that.
DATABASE_TIMEOUT_SECONDS = 3


async def health() -> dict[str, str]:
    """The process answers. No I/O, so a slow database never restarts the service."""
    return {"status": "ok"}


async def ready(session: SessionDep) -> dict[str, str] | JSONResponse:
    """The database answers too."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        logger.warning("Database not ready: %r", exc)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return {"status": "ok", "database": "ok"}


def add_routes(app: FastAPI) -> None:
    """On the app itself, ahead of the API: the platforms poll liveness every few seconds,
    and a route of an included router costs a second, nested route match per request."""
    app.add_api_route("/health", health, tags=["health"])
    app.add_api_route("/health/ready", ready, response_model=None, tags=["health"])
