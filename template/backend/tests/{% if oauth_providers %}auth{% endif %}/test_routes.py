"""Sign-in: the whole authorization-code flow against a local OpenID Connect provider,
the one-time code the app swaps for its session token, the token on /api/me, and every
way the sign-in can fail."""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import jwt
import pytest
from authlib.integrations.starlette_client import StarletteOAuth2App
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.oidc import OIDC_METADATA
from app.auth.security import ALGORITHM, code_hash, create_access_token, s256
from app.core.config import Settings
from app.core.features import OAUTH_PROVIDERS
from app.models import SignInCode, User
from main import create_app
from tests.auth.fake_oidc import WORK_TENANT_ID, FakeOIDC, another_key
from tests.conftest import serve

APP_URL = "https://app.example.com/"  # in CORS_ORIGINS for the tests
NATIVE_CALLBACK = "com.example.tests://auth/callback"

Browser = Callable[..., Any]


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
def browser_for(oidc: FakeOIDC, provider: str, settings: Settings) -> Callable[..., Any]:
    """browser_for(**settings) -> the app in-process with those settings, and a client
    that keeps cookies like a browser."""
    client = {
        f"{provider}_client_id": oidc.client_id,
        f"{provider}_client_secret": oidc.client_secret,
    }

    @asynccontextmanager
    async def open_browser(**overrides: str) -> AsyncIterator[httpx2.AsyncClient]:
        app = create_app(settings.model_copy(update={**client, **overrides}))
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c
        await app.state.engine.dispose()

    return open_browser


@pytest.fixture
async def browser(browser_for: Callable[..., Any]) -> AsyncIterator[httpx2.AsyncClient]:
    async with browser_for() as client:
        yield client


class App:
    """What the Flutter app keeps for one sign-in: its PKCE verifier."""

    def __init__(self, redirect_to: str = APP_URL) -> None:
        self.redirect_to = redirect_to
        self.verifier = secrets.token_urlsafe(32)

    @property
    def challenge(self) -> str:
        return s256(self.verifier)


async def start_sign_in(browser: httpx2.AsyncClient, provider: str, app: App) -> str:
    """Log in at the backend, consent at the provider; the callback URL it returns."""
    params = {"redirect_to": app.redirect_to, "code_challenge": app.challenge}
    login = await browser.get(f"/api/auth/{provider}/login", params=params)
    assert login.status_code == 302, login.text
    async with httpx2.AsyncClient(timeout=10) as client:
        consent = await client.get(login.headers["location"])
    assert consent.status_code == 302, consent.text
    callback = urlsplit(consent.headers["location"])
    assert callback.path == f"/api/auth/{provider}/callback"
    return f"{callback.path}?{callback.query}"


async def finish(browser: httpx2.AsyncClient, provider: str, app: App) -> str:
    """The whole sign-in up to the redirect back to the app: its fragment."""
    response = await browser.get(await start_sign_in(browser, provider, app))
    assert response.status_code == 302
    target, _, fragment = response.headers["location"].partition("#")
    assert target == app.redirect_to
    return fragment


async def signed_in_code(browser: httpx2.AsyncClient, provider: str, app: App) -> str:
    fragment = await finish(browser, provider, app)
    assert fragment.startswith("code="), fragment
    return fragment.removeprefix("code=")


async def exchange(browser: httpx2.AsyncClient, code: str, verifier: str) -> httpx2.Response:
    return await browser.post("/api/auth/token", json={"code": code, "code_verifier": verifier})


async def sign_in(browser: httpx2.AsyncClient, provider: str) -> str:
    """A session token, as the app gets one: sign in, then swap code and verifier."""
    app = App()
    response = await exchange(browser, await signed_in_code(browser, provider, app), app.verifier)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def users_with_subject(db: AsyncSession, subject: str) -> int:
    return await db.scalar(select(func.count()).where(User.subject == subject)) or 0


# ---------------------------------------------------------------- the sign-in


async def test_signing_in_returns_a_session_token_for_the_stored_user(
    browser: httpx2.AsyncClient, provider: str, settings: Settings, db: AsyncSession
) -> None:
    token = await sign_in(browser, provider)

    claims = jwt.decode(token, settings.secret_key, algorithms=[ALGORITHM])
    assert {"sub", "exp", "ver"} <= claims.keys()
    me = await browser.get("/api/me", headers=bearer(token))
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


async def test_the_authorization_request_uses_pkce(
    browser: httpx2.AsyncClient, provider: str, oidc: FakeOIDC
) -> None:
    """The backend's own S256 challenge goes to the provider (the fake refuses a token
    request whose verifier does not match it), never the app's."""
    app = App()
    await signed_in_code(browser, provider, app)
    (request,) = oidc.authorize_requests
    assert request["code_challenge_method"] == "S256"
    assert len(request["code_challenge"]) == 43
    assert request["code_challenge"] != app.challenge


@pytest.mark.parametrize("challenge", [None, "", "short", "x" * 42 + "=", "+" * 43])
async def test_login_needs_the_apps_code_challenge(
    browser: httpx2.AsyncClient, provider: str, challenge: str | None
) -> None:
    params = {"redirect_to": APP_URL}
    if challenge is not None:
        params["code_challenge"] = challenge
    response = await browser.get(f"/api/auth/{provider}/login", params=params)
    assert response.status_code == 400
    assert "code_challenge" in response.json()["detail"]


async def test_a_forged_state_is_refused(
    browser: httpx2.AsyncClient, provider: str, oidc: FakeOIDC, db: AsyncSession
) -> None:
    callback = await start_sign_in(browser, provider, App())
    path, _, query = callback.partition("?")
    code = parse_qs(query)["code"][0]
    response = await browser.get(path, params={"code": code, "state": "forged"})
    assert response.status_code == 302
    assert response.headers["location"] == f"{APP_URL}#error=sign_in_failed"
    assert await users_with_subject(db, oidc.account["sub"]) == 0


async def test_a_refusal_at_the_provider_goes_back_to_the_app(
    browser: httpx2.AsyncClient, provider: str
) -> None:
    callback = await start_sign_in(browser, provider, App())
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


# ---------------------------------------------------------------- where it returns to


@pytest.mark.parametrize(
    "redirect_to",
    [
        "https://evil.example/",
        "https://app.example.com.evil.example/",
        "javascript:alert(1)",
        "/relative",
        NATIVE_CALLBACK,  # not listed in NATIVE_REDIRECT_URIS here
    ],
)
async def test_login_refuses_to_redirect_anywhere_but_the_app(
    browser_for: Browser, provider: str, redirect_to: str
) -> None:
    async with browser_for(native_redirect_uris="") as browser:
        params = {"redirect_to": redirect_to, "code_challenge": App().challenge}
        response = await browser.get(f"/api/auth/{provider}/login", params=params)
    assert response.status_code == 400


async def test_login_accepts_localhost_outside_production(
    browser: httpx2.AsyncClient, provider: str
) -> None:
    params = {"redirect_to": "http://localhost:5173/", "code_challenge": App().challenge}
    response = await browser.get(f"/api/auth/{provider}/login", params=params)
    assert response.status_code == 302


@pytest.mark.parametrize(
    "redirect_to",
    [
        "com.example.tests://auth/callback/",
        "com.example.tests://auth/other",
        "com.example.testsx://auth/callback",
        "com.evil://auth/callback",
    ],
)
async def test_a_native_callback_is_accepted_only_exactly_as_listed(
    browser_for: Browser, provider: str, redirect_to: str
) -> None:
    async with browser_for(native_redirect_uris=f"{NATIVE_CALLBACK}, dev.acme.x://cb") as browser:
        listed = await browser.get(
            f"/api/auth/{provider}/login",
            params={"redirect_to": NATIVE_CALLBACK, "code_challenge": App().challenge},
        )
        unlisted = await browser.get(
            f"/api/auth/{provider}/login",
            params={"redirect_to": redirect_to, "code_challenge": App().challenge},
        )
    assert listed.status_code == 302
    assert unlisted.status_code == 400


async def test_a_phone_app_signs_in_through_its_callback(
    browser_for: Browser, provider: str
) -> None:
    async with browser_for(native_redirect_uris=NATIVE_CALLBACK) as browser:
        app = App(NATIVE_CALLBACK)
        code = await signed_in_code(browser, provider, app)
        response = await exchange(browser, code, app.verifier)
        assert response.status_code == 200
        me = await browser.get("/api/me", headers=bearer(response.json()["access_token"]))
    assert me.json()["email"] == "ada@example.com"


async def test_the_answers_default_native_callback_is_allowed(
    browser: httpx2.AsyncClient, provider: str, settings: Settings
) -> None:
    """NATIVE_REDIRECT_URIS unset: the phone apps' address from the answers, if any."""
    for uri in settings.native_redirect_uri_list:
        params = {"redirect_to": uri, "code_challenge": App().challenge}
        response = await browser.get(f"/api/auth/{provider}/login", params=params)
        assert response.status_code == 302


async def test_an_unknown_provider_is_404(client: httpx2.AsyncClient) -> None:
    params = {"redirect_to": APP_URL, "code_challenge": App().challenge}
    response = await client.get("/api/auth/nobody/login", params=params)
    assert response.status_code == 404


# ---------------------------------------------------------------- failing gracefully


def failed_sign_in(response: httpx2.Response) -> None:
    assert response.status_code == 302, response.text
    assert response.headers["location"] == f"{APP_URL}#error=sign_in_failed"


def logged_cause(caplog: pytest.LogCaptureFixture, oidc: FakeOIDC, *words: str) -> str:
    """The one warning the failure logged; it names `words` and nothing of the user's."""
    (record,) = [r for r in caplog.records if r.name == "app.auth.routes"]
    message = record.getMessage()
    assert record.levelno == logging.WARNING
    assert all(word in message for word in words), message
    assert oidc.account["email"] not in message and oidc.account["name"] not in message
    assert record.exc_info is None  # no traceback: its frames would show what was sent
    return message


async def test_an_unreachable_token_endpoint_goes_back_to_the_app(
    browser: httpx2.AsyncClient,
    provider: str,
    oidc: FakeOIDC,
    db: AsyncSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with serve(FakeOIDC("x", "y").app, lifespan="off") as closed:
        pass  # a port that was just free, now closed: nothing listens there
    oidc.token_endpoint = f"{closed}/token"
    callback = await start_sign_in(browser, provider, App())

    failed_sign_in(await browser.get(callback))
    logged_cause(caplog, oidc, "ConnectError")
    assert await users_with_subject(db, oidc.account["sub"]) == 0


@pytest.mark.parametrize(
    ("status", "body", "cause"),
    [
        (400, '{"error": "invalid_grant"}', "invalid_grant"),
        (503, "Service Unavailable", "503"),
        (200, "<html>not json</html>", "ValueError"),
        (200, '{"access_token": "a", "token_type": "Bearer"}', "KeyError"),
    ],
)
async def test_an_error_from_the_provider_goes_back_to_the_app(
    browser: httpx2.AsyncClient,
    provider: str,
    oidc: FakeOIDC,
    caplog: pytest.LogCaptureFixture,
    status: int,
    body: str,
    cause: str,
) -> None:
    callback = await start_sign_in(browser, provider, App())
    oidc.token_error = (status, body)
    failed_sign_in(await browser.get(callback))
    logged_cause(caplog, oidc, cause)


async def test_an_unreachable_provider_at_login_goes_back_to_the_app(
    browser: httpx2.AsyncClient, provider: str, oidc: FakeOIDC, caplog: pytest.LogCaptureFixture
) -> None:
    oidc.discovery_error = True
    params = {"redirect_to": APP_URL, "code_challenge": App().challenge}
    failed_sign_in(await browser.get(f"/api/auth/{provider}/login", params=params))
    logged_cause(caplog, oidc, "503")


@pytest.mark.parametrize(
    ("claims", "cause"),
    [
        ({"exp": int(datetime.now(UTC).timestamp()) - 301}, "expired"),
        ({"aud": "another-client"}, "aud"),
        ({"nonce": "replayed"}, "nonce"),
        ({"iat": int(datetime.now(UTC).timestamp()) + 3600}, "issued in the future"),
        ({"nbf": int(datetime.now(UTC).timestamp()) + 3600}, "not yet valid"),
        ({"iss": "https://someone-else.example"}, "iss"),
    ],
    ids=[
        "expired",
        "wrong-audience",
        "wrong-nonce",
        "issued-in-the-future",
        "not-yet-valid",
        "wrong-issuer",
    ],
)
async def test_an_invalid_id_token_goes_back_to_the_app(
    browser: httpx2.AsyncClient,
    provider: str,
    oidc: FakeOIDC,
    db: AsyncSession,
    caplog: pytest.LogCaptureFixture,
    claims: dict[str, Any],
    cause: str,
) -> None:
    oidc.id_token_overrides = claims
    failed_sign_in(await browser.get(await start_sign_in(browser, provider, App())))
    logged_cause(caplog, oidc, cause)
    assert await users_with_subject(db, oidc.account["sub"]) == 0


async def test_an_id_token_for_another_client_goes_back_to_the_app(
    browser: httpx2.AsyncClient, provider: str, oidc: FakeOIDC, caplog: pytest.LogCaptureFixture
) -> None:
    """Naming this client as the authorized party does not make it the audience."""
    oidc.id_token_overrides = {"aud": "another-client", "azp": oidc.client_id}
    failed_sign_in(await browser.get(await start_sign_in(browser, provider, App())))
    logged_cause(caplog, oidc, "aud")


async def test_a_forged_id_token_signature_goes_back_to_the_app(
    browser: httpx2.AsyncClient, provider: str, oidc: FakeOIDC, caplog: pytest.LogCaptureFixture
) -> None:
    oidc.sign_with = another_key()
    failed_sign_in(await browser.get(await start_sign_in(browser, provider, App())))
    logged_cause(caplog, oidc, "BadSignatureError")


@pytest.mark.parametrize("offset", [240, -840], ids=["provider-ahead", "provider-behind"])
async def test_a_clock_a_few_minutes_off_still_signs_in(
    browser: httpx2.AsyncClient, provider: str, oidc: FakeOIDC, offset: int
) -> None:
    """Ahead: iat and nbf 4 minutes in this server's future. Behind: exp (10 minutes
    after iat) 4 minutes in its past."""
    oidc.clock_offset = offset
    await sign_in(browser, provider)


@pytest.mark.parametrize(
    "exception",
    [KeyError("id_token"), RuntimeError('Missing "jwks_uri" in metadata'), ValueError(), OSError()],
)
async def test_anything_the_client_raises_goes_back_to_the_app(
    browser: httpx2.AsyncClient,
    provider: str,
    oidc: FakeOIDC,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    exception: Exception,
) -> None:
    callback = await start_sign_in(browser, provider, App())

    async def fail(*args: object, **kwargs: object) -> None:
        raise exception

    monkeypatch.setattr(StarletteOAuth2App, "fetch_access_token", fail)
    failed_sign_in(await browser.get(callback))
    logged_cause(caplog, oidc, type(exception).__name__, "test_routes.py")


# ---------------------------------------------------------------- claims


async def test_email_and_name_come_from_userinfo_when_the_id_token_lacks_them(
    browser: httpx2.AsyncClient, provider: str, oidc: FakeOIDC
) -> None:
    oidc.userinfo_only = {"email", "email_verified", "name"}
    me = await browser.get("/api/me", headers=bearer(await sign_in(browser, provider)))
    assert (me.json()["email"], me.json()["name"]) == ("ada@example.com", "Ada Lovelace")


async def test_userinfo_about_someone_else_is_refused(
    browser: httpx2.AsyncClient, provider: str, oidc: FakeOIDC, db: AsyncSession
) -> None:
    oidc.userinfo_only = {"email", "email_verified", "name"}
    oidc.userinfo_overrides = {"sub": "someone-else"}
    failed_sign_in(await browser.get(await start_sign_in(browser, provider, App())))
    assert await users_with_subject(db, oidc.account["sub"]) == 0


def make_email_unverified(oidc: FakeOIDC, provider: str) -> None:
    if provider == "microsoft":
        # A work account: its email is whatever the tenant's admin typed.
        oidc.tenant = WORK_TENANT_ID
    else:
        oidc.account["email_verified"] = False


async def test_an_unverified_email_is_not_stored(
    browser: httpx2.AsyncClient, provider: str, oidc: FakeOIDC
) -> None:
    make_email_unverified(oidc, provider)
    me = await browser.get("/api/me", headers=bearer(await sign_in(browser, provider)))
    assert (me.json()["email"], me.json()["name"]) == ("", "Ada Lovelace")


async def test_an_email_the_provider_vouches_for_is_stored(
    browser: httpx2.AsyncClient, provider: str, oidc: FakeOIDC
) -> None:
    if provider == "microsoft":
        oidc.tenant = WORK_TENANT_ID
        oidc.account["xms_edov"] = True  # the optional claim: domain owner verified
    else:
        oidc.account["email_verified"] = "true"  # as some providers send it
    me = await browser.get("/api/me", headers=bearer(await sign_in(browser, provider)))
    assert me.json()["email"] == "ada@example.com"


# ---------------------------------------------------------------- who may sign in


async def test_an_email_domain_outside_the_allowed_ones_is_refused(
    browser_for: Browser, provider: str, oidc: FakeOIDC, db: AsyncSession
) -> None:
    async with browser_for(allowed_email_domains="acme.example, other.example") as browser:
        fragment = await finish(browser, provider, App())
    assert fragment == "error=not_allowed"
    assert await users_with_subject(db, oidc.account["sub"]) == 0


async def test_an_allowed_email_domain_signs_in(
    browser_for: Browser, provider: str, oidc: FakeOIDC
) -> None:
    async with browser_for(allowed_email_domains="acme.example,EXAMPLE.com") as browser:
        await sign_in(browser, provider)


async def test_an_unverified_email_does_not_pass_the_domain_check(
    browser_for: Browser, provider: str, oidc: FakeOIDC, db: AsyncSession
) -> None:
    make_email_unverified(oidc, provider)
    async with browser_for(allowed_email_domains="example.com") as browser:
        assert await finish(browser, provider, App()) == "error=not_allowed"
    assert await users_with_subject(db, oidc.account["sub"]) == 0


async def test_microsoft_tenants_outside_the_allowed_ones_are_refused(
    browser_for: Browser, provider: str, oidc: FakeOIDC, db: AsyncSession
) -> None:
    """Only Microsoft accounts have a tenant: Google's pass whatever the setting says."""
    async with browser_for(microsoft_allowed_tenants=WORK_TENANT_ID) as browser:
        fragment = await finish(browser, provider, App())
        expected = "error=not_allowed" if provider == "microsoft" else "code="
        assert fragment.startswith(expected)
        oidc.tenant = WORK_TENANT_ID
        assert (await finish(browser, provider, App())).startswith("code=")
    rows = await users_with_subject(db, oidc.account["sub"])
    assert rows == 1


# ---------------------------------------------------------------- the one-time code


async def test_a_code_buys_one_token_only(browser: httpx2.AsyncClient, provider: str) -> None:
    app = App()
    code = await signed_in_code(browser, provider, app)
    assert (await exchange(browser, code, app.verifier)).status_code == 200

    again = await exchange(browser, code, app.verifier)
    assert again.status_code == 400
    assert "already used" in again.json()["detail"]


async def test_two_exchanges_at_once_get_one_token(
    browser: httpx2.AsyncClient, provider: str
) -> None:
    app = App()
    code = await signed_in_code(browser, provider, app)
    responses = await asyncio.gather(*(exchange(browser, code, app.verifier) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [200, 400, 400, 400, 400]


async def test_a_wrong_verifier_buys_nothing_and_spends_nothing(
    browser: httpx2.AsyncClient, provider: str
) -> None:
    app = App()
    code = await signed_in_code(browser, provider, app)
    for verifier in (App().verifier, "too-short"):
        wrong = await exchange(browser, code, verifier)
        assert wrong.status_code == 400
        assert "code_verifier" in wrong.json()["detail"]
    # Whoever tried a guess did not spend the app's code.
    assert (await exchange(browser, code, app.verifier)).status_code == 200


async def test_an_expired_code_is_refused(
    browser: httpx2.AsyncClient, provider: str, db: AsyncSession
) -> None:
    app = App()
    code = await signed_in_code(browser, provider, app)
    past = datetime.now(UTC) - timedelta(seconds=1)
    await db.execute(
        update(SignInCode).where(SignInCode.code_hash == code_hash(code)).values(expires_at=past)
    )
    await db.commit()
    response = await exchange(browser, code, app.verifier)
    assert response.status_code == 400
    assert "expired" in response.json()["detail"]


async def test_an_unknown_code_is_refused(browser: httpx2.AsyncClient) -> None:
    response = await exchange(browser, secrets.token_urlsafe(32), App().verifier)
    assert response.status_code == 400
    assert "Unknown" in response.json()["detail"]


async def test_a_planted_code_is_useless_to_the_victims_app(
    browser_for: Browser, provider: str, oidc: FakeOIDC
) -> None:
    """An attacker signs in with their own account and sends the victim a link to the
    app carrying the code: the victim's app holds the verifier of its own sign-in."""
    async with browser_for() as attacker:
        planted = await signed_in_code(attacker, provider, App())
    async with browser_for() as victim:
        victims_app = App()
        # The victim's app started a sign-in of its own; the link arrives instead.
        params = {"redirect_to": APP_URL, "code_challenge": victims_app.challenge}
        await victim.get(f"/api/auth/{provider}/login", params=params)
        response = await exchange(victim, planted, victims_app.verifier)
    assert response.status_code == 400
    assert "code_verifier does not match" in response.json()["detail"]


async def test_the_database_keeps_no_usable_code(
    browser: httpx2.AsyncClient, provider: str, db: AsyncSession
) -> None:
    app = App()
    code = await signed_in_code(browser, provider, app)
    row = await db.get(SignInCode, code_hash(code))
    assert row is not None and row.code_challenge == app.challenge
    assert code not in {row.code_hash, row.code_challenge}
    # Sixty seconds or so, whatever the database's clock precision.
    expires_at = row.expires_at.replace(tzinfo=row.expires_at.tzinfo or UTC)
    assert timedelta(seconds=30) < expires_at - datetime.now(UTC) <= timedelta(seconds=60)


# ---------------------------------------------------------------- signing out


async def test_logout_revokes_every_token_issued_so_far(
    browser: httpx2.AsyncClient, provider: str
) -> None:
    phone, laptop = await sign_in(browser, provider), await sign_in(browser, provider)
    assert (await browser.get("/api/me", headers=bearer(laptop))).status_code == 200

    response = await browser.post("/api/auth/logout", headers=bearer(phone))
    assert response.status_code == 204

    for token in (phone, laptop):
        assert (await browser.get("/api/me", headers=bearer(token))).status_code == 401
        assert (await browser.post("/api/auth/logout", headers=bearer(token))).status_code == 401
    # Signing in again gives a token that works.
    fresh = await sign_in(browser, provider)
    assert (await browser.get("/api/me", headers=bearer(fresh))).status_code == 200


async def test_logout_needs_a_token(client: httpx2.AsyncClient) -> None:
    assert (await client.post("/api/auth/logout")).status_code == 401


# ---------------------------------------------------------------- caching


def no_store(response: httpx2.Response) -> bool:
    return response.headers.get("cache-control") == "no-store"


async def test_no_sign_in_response_may_be_cached(
    browser: httpx2.AsyncClient, provider: str, oidc: FakeOIDC
) -> None:
    app = App()
    params = {"redirect_to": APP_URL, "code_challenge": app.challenge}
    login = await browser.get(f"/api/auth/{provider}/login", params=params)
    async with httpx2.AsyncClient(timeout=10) as client:
        consent = await client.get(login.headers["location"])
    back = urlsplit(consent.headers["location"])
    callback = await browser.get(f"{back.path}?{back.query}")
    code = callback.headers["location"].partition("#code=")[2]
    swap = await exchange(browser, code, app.verifier)
    token = swap.json()["access_token"]
    responses = {
        "login": login,
        "callback": callback,
        "token": swap,
        "token refused": await exchange(browser, code, app.verifier),
        "logout": await browser.post("/api/auth/logout", headers=bearer(token)),
        "logout refused": await browser.post("/api/auth/logout", headers=bearer(token)),
        "providers": await browser.get("/api/auth/providers"),
        "bad login": await browser.get(f"/api/auth/{provider}/login"),
    }
    assert {name: no_store(r) for name, r in responses.items()} == dict.fromkeys(responses, True)
    assert all(r.headers["pragma"] == "no-cache" for r in responses.values())


# ---------------------------------------------------------------- session tokens


def expired_token(settings: Settings) -> str:
    past = datetime.now(UTC) - timedelta(hours=1)
    claims = {"sub": str(uuid.uuid4()), "ver": 0, "exp": past}
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
        "no-version",
        "stale-version",
    ],
)
async def test_me_without_a_valid_token_is_401(
    client: httpx2.AsyncClient, settings: Settings, db: AsyncSession, authorization: str | None
) -> None:
    user = User(provider="google", subject=f"user-{uuid.uuid4()}", email="a@example.com", name="A")
    db.add(user)
    await db.commit()
    unversioned = {"sub": str(user.id), "exp": datetime.now(UTC) + timedelta(hours=1)}
    tokens = {
        "expired": expired_token(settings),
        "wrong-key": create_access_token(user.id, "another-secret-key-of-32-bytes-or-more"),
        "no-such-user": create_access_token(uuid.uuid4(), settings.secret_key),
        # Issued before token versions existed.
        "no-version": jwt.encode(unversioned, settings.secret_key, algorithm=ALGORITHM),
        "stale-version": create_access_token(user.id, settings.secret_key, version=-1),
    }
    headers = {}
    if authorization in tokens:
        headers["Authorization"] = f"Bearer {tokens[authorization]}"
    elif authorization:
        headers["Authorization"] = authorization
    response = await client.get("/api/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    current = create_access_token(user.id, settings.secret_key, user.token_version)
    assert (await client.get("/api/me", headers=bearer(current))).status_code == 200
