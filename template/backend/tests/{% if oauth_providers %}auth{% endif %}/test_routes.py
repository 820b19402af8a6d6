"""Sign-in: the whole authorization-code flow against a local OpenID Connect provider,
then the session token on /api/me."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx2
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.oidc import OIDC_METADATA
from app.auth.security import ALGORITHM, create_access_token
from app.core.config import Settings
from app.core.features import OAUTH_PROVIDERS
from app.models import User
from main import create_app
from tests.auth.fake_oidc import FakeOIDC
from tests.conftest import serve

APP_URL = "https://app.example.com/"  # in CORS_ORIGINS for the tests


@pytest.fixture(params=OAUTH_PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def oidc(provider: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOIDC]:
    multi_tenant = provider == "microsoft"
    fake = FakeOIDC(f"{provider}-client", f"{provider}-secret", multi_tenant=multi_tenant)
    # A fresh account per test, so tests never see each other's users.
    fake.account["sub"] = f"user-{uuid.uuid4()}"
    with serve(fake.app, lifespan="off") as url:
        monkeypatch.setitem(OIDC_METADATA, provider, f"{url}/.well-known/openid-configuration")
        yield fake


@pytest.fixture
async def sign_in_app(oidc: FakeOIDC, provider: str, settings: Settings) -> AsyncIterator[FastAPI]:
    client = {
        f"{provider}_client_id": oidc.client_id,
        f"{provider}_client_secret": oidc.client_secret,
    }
    app = create_app(settings.model_copy(update=client))
    yield app
    await app.state.engine.dispose()


@pytest.fixture
async def browser(sign_in_app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    """The app in-process, keeping cookies like a browser."""
    transport = httpx2.ASGITransport(app=sign_in_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def start_sign_in(browser: httpx2.AsyncClient, provider: str) -> str:
    """Log in at the app, consent at the provider; the callback URL the provider returns."""
    login = await browser.get(f"/api/auth/{provider}/login", params={"redirect_to": APP_URL})
    assert login.status_code == 302
    async with httpx2.AsyncClient(timeout=10) as client:
        consent = await client.get(login.headers["location"])
    assert consent.status_code == 302
    callback = urlsplit(consent.headers["location"])
    assert callback.path == f"/api/auth/{provider}/callback"
    return f"{callback.path}?{callback.query}"


async def sign_in(browser: httpx2.AsyncClient, provider: str) -> str:
    response = await browser.get(await start_sign_in(browser, provider))
    assert response.status_code == 302
    target, _, fragment = response.headers["location"].partition("#")
    assert target == APP_URL
    assert fragment.startswith("token=")
    return fragment.removeprefix("token=")


async def test_signing_in_returns_a_session_token_for_the_stored_user(
    browser: httpx2.AsyncClient, provider: str, settings: Settings, db: AsyncSession
) -> None:
    token = await sign_in(browser, provider)

    claims = jwt.decode(token, settings.secret_key, algorithms=[ALGORITHM])
    assert {"sub", "exp"} <= claims.keys()
    me = await browser.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json() == {
        "id": claims["sub"],
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "provider": provider,
    }
    user = await db.get(User, uuid.UUID(claims["sub"]))
    assert user is not None
    assert (user.provider, user.email) == (provider, "ada@example.com")


async def test_signing_in_again_finds_the_same_user(
    browser: httpx2.AsyncClient, provider: str, settings: Settings
) -> None:
    first = jwt.decode(await sign_in(browser, provider), settings.secret_key, [ALGORITHM])
    second = jwt.decode(await sign_in(browser, provider), settings.secret_key, [ALGORITHM])
    assert first["sub"] == second["sub"]


async def test_a_forged_state_is_refused(
    browser: httpx2.AsyncClient, provider: str, oidc: FakeOIDC, db: AsyncSession
) -> None:
    callback = await start_sign_in(browser, provider)
    path, _, query = callback.partition("?")
    code = parse_qs(query)["code"][0]
    response = await browser.get(path, params={"code": code, "state": "forged"})
    assert response.status_code == 302
    assert response.headers["location"] == f"{APP_URL}#error=sign_in_failed"
    count = await db.scalar(select(func.count()).where(User.subject == oidc.account["sub"]))
    assert count == 0


async def test_a_refusal_at_the_provider_goes_back_to_the_app(
    browser: httpx2.AsyncClient, provider: str
) -> None:
    callback = await start_sign_in(browser, provider)
    state = parse_qs(callback.partition("?")[2])["state"][0]
    response = await browser.get(
        f"/api/auth/{provider}/callback", params={"error": "access_denied", "state": state}
    )
    assert response.headers["location"] == f"{APP_URL}#error=sign_in_failed"


async def test_a_callback_without_a_login_is_400(
    browser: httpx2.AsyncClient, provider: str
) -> None:
    response = await browser.get(f"/api/auth/{provider}/callback?code=x&state=y")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "redirect_to",
    [
        "https://evil.example/",
        "https://app.example.com.evil.example/",
        "javascript:alert(1)",
        "/relative",
    ],
)
async def test_login_refuses_to_redirect_anywhere_but_the_app(
    browser: httpx2.AsyncClient, provider: str, redirect_to: str
) -> None:
    response = await browser.get(f"/api/auth/{provider}/login", params={"redirect_to": redirect_to})
    assert response.status_code == 400


async def test_login_accepts_localhost_outside_production(
    browser: httpx2.AsyncClient, provider: str
) -> None:
    response = await browser.get(
        f"/api/auth/{provider}/login", params={"redirect_to": "http://localhost:5173/"}
    )
    assert response.status_code == 302


async def test_an_unknown_provider_is_404(client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/auth/nobody/login", params={"redirect_to": APP_URL})
    assert response.status_code == 404


def expired_token(settings: Settings) -> str:
    past = datetime.now(UTC) - timedelta(hours=1)
    claims = {"sub": str(uuid.uuid4()), "exp": past}
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer not-a-jwt",
        "Basic dXNlcjpwYXNz",
        "expired",
        "wrong-key",
        "no-such-user",
    ],
)
async def test_me_without_a_valid_token_is_401(
    client: httpx2.AsyncClient, settings: Settings, authorization: str | None
) -> None:
    tokens = {
        "expired": expired_token(settings),
        "wrong-key": create_access_token(uuid.uuid4(), "another-secret-key-of-32-bytes-or-more"),
        "no-such-user": create_access_token(uuid.uuid4(), settings.secret_key),
    }
    headers = {}
    if authorization in tokens:
        headers["Authorization"] = f"Bearer {tokens[authorization]}"
    elif authorization:
        headers["Authorization"] = authorization
    response = await client.get("/api/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
