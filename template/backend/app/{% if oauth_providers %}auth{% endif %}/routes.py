"""Sign-in with OpenID Connect (authorization-code flow, PKCE) and the handoff of its
session token to the app.

The app makes a PKCE verifier and sends the browser to
/api/auth/{provider}/login?redirect_to=<app URL>&code_challenge=<S256 of the verifier>.
After the provider's consent screen the callback sends it back to <app URL>#code=<one-time
code> (in the fragment, so it never reaches a server log), or #error=sign_in_failed
(#error=not_allowed for an account ALLOWED_EMAIL_DOMAINS or MICROSOFT_ALLOWED_TENANTS keep
out). The app swaps code and verifier for the token at POST /api/auth/token: a link that
carries someone else's code is useless to a browser that did not start that sign-in."""

from __future__ import annotations

import logging
import traceback
from typing import Any
from urllib.parse import urlsplit

from authlib.integrations.starlette_client import StarletteOAuth2App
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import RedirectResponse
from sqlalchemy import select, update

from app.auth.accounts import Account, account_from, refusal
from app.auth.codes import CodeRefused, issue_code, redeem_code
from app.auth.dependencies import CurrentUser
from app.auth.oidc import issuer_check
from app.auth.schemas import AccessToken, CodeExchange, UserOut
from app.auth.security import CODE_CHALLENGE, create_access_token
from app.core import features
from app.core.config import Settings
from app.deps import SessionDep, SettingsDep
from app.models import User

router = APIRouter(prefix="/api", tags=["auth"])
logger = logging.getLogger(__name__)

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
# How far this server's clock may be off the provider's when checking the ID token's
# iat, nbf and exp: beyond a few minutes is a broken clock, not drift.
ID_TOKEN_LEEWAY_SECONDS = 300
# Libraries whose exception messages say what failed (an endpoint, a claim, the
# provider's error code) and carry no token and nothing the user typed: logged in full.
# Any other exception is logged by its type and where it was raised.
DESCRIPTIVE_ERRORS = {"authlib", "joserfc", "httpx", "httpx2", "httpcore", "httpcore2"}


class SignInFailed(Exception):
    pass


def oauth_client(request: Request, provider: str) -> StarletteOAuth2App:
    if provider not in features.OAUTH_PROVIDERS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Unknown sign-in provider")
    client: StarletteOAuth2App = request.app.state.oauth.create_client(provider)
    return client


def is_allowed_redirect(url: str, settings: Settings) -> bool:
    """Only back to the app itself: no open redirect that would hand a code to a stranger.
    The web app's origins, localhost outside production, and the phone apps' exact
    callback addresses (NATIVE_REDIRECT_URIS)."""
    if url in settings.native_redirect_uri_list:
        return True
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if f"{parts.scheme}://{parts.netloc}" in settings.cors_origin_list:
        return True
    return not settings.is_production and parts.hostname in LOCAL_HOSTS


def cause(exc: BaseException) -> str:
    """What to log of a failed sign-in: enough to act on, no tokens, no user text."""
    kind = type(exc)
    name = f"{kind.__module__}.{kind.__qualname__}"
    if kind.__module__.partition(".")[0] in DESCRIPTIVE_ERRORS:
        return f"{name}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{name} at {frames[-1].filename}:{frames[-1].lineno}" if frames else name


def back_to_app(redirect_to: str, fragment: str) -> RedirectResponse:
    return RedirectResponse(f"{redirect_to.split('#', 1)[0]}#{fragment}", status.HTTP_302_FOUND)


@router.get("/auth/{provider}/login")
async def login(
    provider: str,
    redirect_to: str,
    request: Request,
    settings: SettingsDep,
    code_challenge: str = "",
) -> RedirectResponse:
    client = oauth_client(request, provider)
    if not is_allowed_redirect(redirect_to, settings):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "redirect_to is not an allowed origin")
    if not CODE_CHALLENGE.fullmatch(code_challenge):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "code_challenge must be the app's PKCE S256 challenge:"
            " base64url(SHA-256(code_verifier)), 43 characters",
        )
    request.session["redirect_to"] = redirect_to
    request.session["code_challenge"] = code_challenge
    callback_url = f"{settings.backend_url.rstrip('/')}/api/auth/{provider}/callback"
    try:
        response: RedirectResponse = await client.authorize_redirect(request, callback_url)
    except Exception as exc:  # the provider's discovery document, unreachable or malformed
        logger.warning("Sign-in with %s failed at login: %s", provider, cause(exc))
        return back_to_app(redirect_to, "error=sign_in_failed")
    return response


async def provider_account(client: StarletteOAuth2App, provider: str, request: Request) -> Account:
    """The account the provider's callback vouches for; raises whatever went wrong."""
    metadata = await client.load_server_metadata()
    # Checks the state against the session, swaps the code (and PKCE verifier) for
    # tokens, and verifies the ID token's signature, audience, nonce, issuer and times.
    token: dict[str, Any] = await client.authorize_access_token(
        request,
        claims_options={
            "iss": {"essential": True, "validate": issuer_check(metadata["issuer"])},
            # OIDC Core 3.1.3.7: the audience must include this client (Authlib checks
            # only the authorized party, `azp`).
            "aud": {"essential": True, "values": [client.client_id]},
        },
        leeway=ID_TOKEN_LEEWAY_SECONDS,
    )
    claims = dict(token["userinfo"])
    userinfo: dict[str, Any] = {}
    # A provider may keep the profile out of the ID token and serve it at UserInfo for
    # the access token it issued (OIDC Core 5.4).
    if not (claims.get("email") and claims.get("name")) and metadata.get("userinfo_endpoint"):
        userinfo = dict(await client.userinfo(token=token))
        if userinfo.get("sub") != claims["sub"]:
            # OIDC Core 5.3.2: a UserInfo response about anyone else must not be used.
            raise SignInFailed("the UserInfo response names another subject")
    return account_from(provider, claims, userinfo)


@router.get("/auth/{provider}/callback")
async def callback(
    provider: str, request: Request, session: SessionDep, settings: SettingsDep
) -> RedirectResponse:
    client = oauth_client(request, provider)
    redirect_to = request.session.pop("redirect_to", None)
    code_challenge = request.session.pop("code_challenge", None)
    if redirect_to is None or code_challenge is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Sign-in was not started here")
    try:
        account = await provider_account(client, provider, request)
    except Exception as exc:  # network, the provider's error, an invalid ID token: anything
        logger.warning("Sign-in with %s failed at the callback: %s", provider, cause(exc))
        return back_to_app(redirect_to, "error=sign_in_failed")
    if reason := refusal(provider, account, settings):
        logger.info("Sign-in with %s refused: %s", provider, reason)
        return back_to_app(redirect_to, "error=not_allowed")

    try:
        user = await session.scalar(
            select(User).where(User.provider == provider, User.subject == account.subject)
        )
        if user is None:
            user = User(provider=provider, subject=account.subject)
            session.add(user)
        user.email = account.email
        user.name = account.name or account.email
        await session.flush()
        code = await issue_code(session, user.id, code_challenge)
        await session.commit()
    except Exception as exc:  # the database
        logger.warning("Sign-in with %s failed storing the user: %s", provider, cause(exc))
        return back_to_app(redirect_to, "error=sign_in_failed")
    return back_to_app(redirect_to, f"code={code}")


@router.post("/auth/token")
async def token(body: CodeExchange, session: SessionDep, settings: SettingsDep) -> AccessToken:
    """The session token for a sign-in's one-time code and the app's PKCE verifier."""
    try:
        user_id = await redeem_code(session, body.code, body.code_verifier)
    except CodeRefused as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    user = await session.get(User, user_id)
    await session.commit()
    if user is None:  # deleted since: its codes went with it, unless just now
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Unknown sign-in code. Sign in again.")
    return AccessToken(
        access_token=create_access_token(user.id, settings.secret_key, user.token_version)
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(user: CurrentUser, session: SessionDep) -> None:
    """Revokes every token issued to the user so far, on every device and instance."""
    await session.execute(
        update(User).where(User.id == user.id).values(token_version=User.token_version + 1)
    )
    await session.commit()


@router.get("/me")
async def me(user: CurrentUser) -> UserOut:
    return UserOut(id=user.id, email=user.email, name=user.name, provider=user.provider)
