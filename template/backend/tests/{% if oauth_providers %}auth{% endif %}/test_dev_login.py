"""The development sign-in: a Bearer token for a local developer in development, and no
such route anywhere else; the sign-in options the app asks for first."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.security import token_subject
from app.core.config import Settings
from app.core.features import OAUTH_PROVIDERS
from app.models import User
from main import create_app
from tests.conftest import PRODUCTION_BACKEND_URL


def client_for(app: FastAPI, base_url: str = "http://localhost:8000") -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=base_url)


@pytest.fixture
async def development(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    app = create_app(settings.model_copy(update={"environment": "development"}))
    async with client_for(app) as client:
        yield client
    await app.state.engine.dispose()


async def sign_in(client: httpx2.AsyncClient, **body: str) -> dict[str, str]:
    response = await client.post("/api/auth/dev-login", json=body or None)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    token = response.json()
    assert token["token_type"] == "bearer"
    return {"Authorization": f"Bearer {token['access_token']}"}


async def test_dev_login_signs_in_a_developer(development: httpx2.AsyncClient) -> None:
    response = await development.get("/api/me", headers=await sign_in(development))
    assert response.status_code == 200
    me = response.json()
    assert (me["email"], me["name"], me["provider"]) == ("developer@localhost", "Developer", "dev")


async def test_dev_login_takes_an_email_and_a_name(
    development: httpx2.AsyncClient, db: AsyncSession
) -> None:
    email = "Ada@Example.com"
    first = await sign_in(development, email=email, name="Ada")
    again = await sign_in(development, email=email, name="Ada Lovelace")
    me = [(await development.get("/api/me", headers=h)).json() for h in (first, again)]
    assert me[0]["id"] == me[1]["id"]  # one user row per email, kept across sign-ins
    assert (me[1]["email"], me[1]["name"]) == ("ada@example.com", "Ada Lovelace")
    rows = await db.scalar(
        select(func.count()).select_from(User).where(User.subject == "ada@example.com")
    )
    assert rows == 1


async def test_the_token_is_a_session_token(
    development: httpx2.AsyncClient, settings: Settings
) -> None:
    """The same kind the OAuth callback issues: signed with SECRET_KEY, naming the user."""
    headers = await sign_in(development)
    token = headers["Authorization"].removeprefix("Bearer ")
    me = (await development.get("/api/me", headers=headers)).json()
    assert str(token_subject(token, settings.secret_key).user_id) == me["id"]


async def test_logout_revokes_a_developers_tokens(development: httpx2.AsyncClient) -> None:
    headers = await sign_in(development)
    response = await development.post("/api/auth/logout", headers=headers)
    assert response.status_code == 204
    assert (await development.get("/api/me", headers=headers)).status_code == 401
    # The next dev-login carries the new version.
    again = await sign_in(development)
    assert (await development.get("/api/me", headers=again)).status_code == 200


@pytest.mark.parametrize("body", [{"email": "not an address"}, {"name": ""}])
async def test_dev_login_refuses_nonsense(
    development: httpx2.AsyncClient, body: dict[str, str]
) -> None:
    response = await development.post("/api/auth/dev-login", json=body)
    assert response.status_code == 422


async def test_there_is_no_dev_login_in_test(client: httpx2.AsyncClient) -> None:
    assert (await client.post("/api/auth/dev-login")).status_code == 404


async def test_there_is_no_dev_login_in_production(production_settings: Settings) -> None:
    app = create_app(production_settings)
    async with client_for(app, PRODUCTION_BACKEND_URL) as client:
        response = await client.post("/api/auth/dev-login", json={})
        options = (await client.get("/api/auth/providers")).json()
    await app.state.engine.dispose()
    assert response.status_code == 404
    assert options == {"providers": list(OAUTH_PROVIDERS), "dev_login": False}


async def test_the_app_learns_the_sign_in_options(
    development: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    options = (await development.get("/api/auth/providers")).json()
    assert options == {"providers": list(OAUTH_PROVIDERS), "dev_login": True}
    assert (await client.get("/api/auth/providers")).json()["dev_login"] is False
