"""Every response carries the security headers; HSTS only in production."""

from __future__ import annotations

import httpx2
from fastapi import FastAPI

from app.core.config import Settings
from app.security_headers import HSTS
from main import create_app
from tests.conftest import PRODUCTION_BACKEND_URL


async def responses(app: FastAPI, base_url: str) -> list[httpx2.Response]:
    """A route's answer, a 404, a 413 from the body limit and a CORS preflight."""
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url=base_url) as client:
        return [
            await client.get("/health"),
            await client.get("/nowhere"),
            await client.post("/health", content=b"x" * (app.state.settings.max_request_bytes + 1)),
            await client.options(
                "/health",
                headers={"Origin": "https://nowhere.test", "Access-Control-Request-Method": "GET"},
            ),
        ]


async def test_every_response_has_nosniff_and_no_referrer(app: FastAPI) -> None:
    for response in await responses(app, "http://testserver"):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers


async def test_production_adds_hsts(production_settings: Settings) -> None:
    app = create_app(production_settings)
    for response in await responses(app, PRODUCTION_BACKEND_URL):
        assert response.headers["strict-transport-security"] == HSTS
        assert response.headers["x-content-type-options"] == "nosniff"
    await app.state.engine.dispose()
