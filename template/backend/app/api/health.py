"""Liveness for the platforms' health checks, readiness for humans and monitors."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.api.deps import SessionDep

router = APIRouter(tags=["health"])
logger = logging.getLogger(__name__)

# Render counts a health check as failed after 5 s; answer well before that.
DATABASE_TIMEOUT_SECONDS = 3


@router.get("/health")
async def health() -> dict[str, str]:
    """The process answers. No I/O, so a slow database never restarts the service."""
    return {"status": "ok"}


@router.get("/health/ready", response_model=None)
async def ready(session: SessionDep) -> dict[str, str] | JSONResponse:
    """The database answers too."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        logger.warning("Database not ready: %r", exc)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return {"status": "ok", "database": "ok"}
