"""The service over real HTTP, as a deployment pipeline checks it before going live."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest
from fastapi import FastAPI

from app.core.config import Settings
from app.core.features import PLATFORM_HOSTS
from main import create_app


async def test_health_and_readiness_over_http(live_url: str) -> None:
    async with httpx2.AsyncClient(base_url=live_url, timeout=10) as client:
        health = await client.get("/health")
        ready = await client.get("/health/ready")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "database": "ok"})


async def test_unknown_paths_are_json_404s(live_url: str) -> None:
    async with httpx2.AsyncClient(base_url=live_url, timeout=10) as client:
        response = await client.get("/no-such-page")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://app.example.com", True),  # CORS_ORIGINS in the tests
        ("http://localhost:5173", True),  # any localhost port outside production
        ("https://evil.example", False),
    ],
)
async def test_cors_allows_the_configured_origins_only(
    live_url: str, origin: str, allowed: bool
) -> None:
    async with httpx2.AsyncClient(base_url=live_url, timeout=10) as client:
        response = await client.options(
            "/health",
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        )
    assert (response.headers.get("access-control-allow-origin") == origin) is allowed


@pytest.fixture
async def production_app(production_settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(production_settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret detail that must not leak")

    yield app
    await app.state.engine.dispose()


def production_client(app: FastAPI, host: str = "api.product.test") -> httpx2.AsyncClient:
    transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx2.AsyncClient(transport=transport, base_url=f"https://{host}")


async def test_production_hides_errors_behind_a_plain_500(production_app: FastAPI) -> None:
    async with production_client(production_app) as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    assert "secret detail" not in response.text
    assert "Traceback" not in response.text


async def test_production_has_no_interactive_docs(production_app: FastAPI) -> None:
    async with production_client(production_app) as client:
        assert (await client.get("/docs")).status_code == 404
        assert (await client.get("/openapi.json")).status_code == 404


@pytest.mark.parametrize("host", ["api.product.test", "localhost", *PLATFORM_HOSTS])
async def test_production_answers_its_own_hosts(production_app: FastAPI, host: str) -> None:
    async with production_client(production_app, host) as client:
        assert (await client.get("/health")).status_code == 200


async def test_production_refuses_other_hosts(production_app: FastAPI) -> None:
    async with production_client(production_app, "evil.example") as client:
        assert (await client.get("/health")).status_code == 400
